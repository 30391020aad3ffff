"""The wave model of the analysis layer: its per-pattern sums from DuckDB give exactly the fit
statsmodels' MixedLM makes participant by participant, it recovers the generating change when
drop-out depends on observed change, and a sponsor gets figures under disclosure control:
the same for the same query, off the exact ones by no more than the noise band, and without
the fit's internals. Every test gets its own random disclosure key, so the published tests
assert what holds for any key."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tests.warehouse.dropout_world import MEANS, build_dropout_db
from warehouse.cell_key import noise_band, noise_floor
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.filters import Filters
from warehouse.models import PUBLISHED_KEYS, difference_sentence, wave_model

TOL_MIXEDLM = 1e-5
PUBLISHED = Filters(published=True)
ROUNDING = 5e-4  # published figures are rounded to at least three decimals
COUNT_MOVE = 2  # the largest move of a perturbed count (cell_key.COUNT_PTABLE)
STEP = 0.5  # the answer step of the test instrument's CONF (two items)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    return build_dropout_db(tmp_path_factory.mktemp("models") / "small.duckdb",
                            people_per_format=150, seed=3)


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    """20 people per format: groups small enough for the largest noise band."""
    return build_dropout_db(tmp_path_factory.mktemp("models") / "tiny.duckdb",
                            people_per_format=20, seed=5)


@pytest.fixture(scope="module")
def large_world(tmp_path_factory):
    return build_dropout_db(tmp_path_factory.mktemp("models") / "large.duckdb")


def _responses(path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    frame = con.execute(
        "SELECT r.participant_id || '@' || r.cohort_id AS person, r.wave, p.format, "
        "r.score_CONF AS y FROM responses AS r JOIN cohorts AS c USING (cohort_id) "
        "JOIN programs AS p USING (program_id)").df()
    con.close()
    return frame


def test_model_by_format_equals_mixedlm_fitted_on_every_response(small_world):
    result = wave_model(Database(small_world), "CONF", by=("format",))
    frame = _responses(small_world)
    reference = smf.mixedlm(
        "y ~ C(wave, Treatment('pre')) * C(format)", frame, groups=frame["person"]
    ).fit(reml=True, method="bfgs", gtol=1e-10)
    estimates = {row["term"]: row["estimate"] for row in result["fixed_effects"]}
    fe = reference.fe_params
    post, year = "C(wave, Treatment('pre'))[T.post]", "C(wave, Treatment('pre'))[T.followup_12m]"
    online = "C(format)[T.online]"
    assert estimates["Intercept"] == pytest.approx(fe["Intercept"], abs=TOL_MIXEDLM)
    assert estimates["format[online]"] == pytest.approx(fe[online], abs=TOL_MIXEDLM)
    assert estimates["wave[followup_12m]"] == pytest.approx(fe[year], abs=TOL_MIXEDLM)
    assert estimates["wave[post]:format[online]"] == pytest.approx(
        fe[f"{post}:{online}"], abs=TOL_MIXEDLM)
    assert result["residual_sd"] == pytest.approx(reference.scale ** 0.5, abs=TOL_MIXEDLM)
    assert result["participant_sd"] == pytest.approx(
        reference.cov_re.iloc[0, 0] ** 0.5, abs=TOL_MIXEDLM)
    assert (result["n_participants"], result["n_observations"]) == (
        frame.person.nunique(), len(frame))
    online_year = next(g for g in result["groups"] if g["format"] == "online")["waves"][-1]
    assert online_year["change_from_pre"] == pytest.approx(
        fe[year] + fe[f"{year}:{online}"], abs=TOL_MIXEDLM)


def test_model_recovers_the_12_month_change_that_completers_overstate(large_world):
    result = wave_model(Database(large_world), "CONF")
    year = result["waves"][-1]
    truth = MEANS["followup_12m"] - MEANS["pre"]
    assert year["wave"] == "followup_12m"
    assert year["change_ci_low"] < truth < year["change_ci_high"]
    completers = result["completers"][-1]
    assert completers["wave"] == "followup_12m"
    assert completers["mean_change"] > year["change_ci_high"]  # biased upward, outside the CI
    tipping = result["tipping_point"]
    assert tipping["delta"] * tipping["share_missing"] == pytest.approx(year["change_from_pre"])


def _bound(n: int, sd: float) -> float:
    """The most a protected estimate of n people with this SD may move (cell_key)."""
    return noise_band(n)[0] * max(sd, noise_floor(n, STEP)) / n


def _noise_bands(frame: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """The noise bound of the mean before training and of each later wave's change, from
    the people who answered (pre; pre and the wave)."""
    wide = frame.pivot_table(index="person", columns="wave", values="y")
    pre = wide["pre"].dropna()
    changes = {}
    for wave in ("post", "followup_12m"):
        change = (wide[wave] - wide["pre"]).dropna()
        changes[wave] = _bound(len(change), change.std())
    return _bound(len(pre), pre.std()), changes


def test_published_model_gives_the_same_figures_for_the_same_query_twice(small_world):
    first = wave_model(Database(small_world), "CONF", by=("format",), filters=PUBLISHED)
    again = wave_model(Database(small_world), "CONF", by=("format",), filters=PUBLISHED)
    assert first == again  # a fresh snapshot: repeating the query averages nothing away
    assert set(first) == set(PUBLISHED_KEYS)
    assert not {"fixed_effects", "participant_sd", "residual_sd", "minus_two_reml_ll",
                "n_observations"} & set(first)


def test_published_figures_of_a_small_group_differ_from_exact_within_the_noise_band(tiny_world):
    online = Filters(format=("online",))
    exact = wave_model(Database(tiny_world), "CONF", filters=online)
    published = wave_model(Database(tiny_world), "CONF",
                           filters=Filters(format=("online",), published=True))
    frame = _responses(tiny_world)
    pre_band, change_band = _noise_bands(frame[frame.format == "online"])
    moved = []
    for e, p in zip(exact["waves"], published["waves"], strict=True):
        assert e["wave"] == p["wave"]
        band = pre_band + change_band.get(e["wave"], 0.0)  # a later mean: pre plus change
        assert abs(p["mean"] - e["mean"]) <= band + ROUNDING
        moved.append(abs(p["mean"] - e["mean"]))
        # the interval is widened for the noise, never narrowed (up to rounding)
        assert p["ci_high"] - p["ci_low"] >= e["ci_high"] - e["ci_low"] - 2 * ROUNDING
        assert p["ci_low"] <= p["mean"] <= p["ci_high"]
        if e["wave"] != "pre":
            assert abs(p["change_from_pre"] - e["change_from_pre"]) <= (
                change_band[e["wave"]] + ROUNDING)
            moved.append(abs(p["change_from_pre"] - e["change_from_pre"]))
            assert p["change_ci_low"] <= p["change_from_pre"] <= p["change_ci_high"]
    assert max(moved) > ROUNDING  # the noise is there
    tipping = published["tipping_point"]  # from the published change, not the exact one
    assert tipping["delta"] * tipping["share_missing"] == pytest.approx(
        published["waves"][-1]["change_from_pre"], abs=2e-3)
    assert abs(published["n_participants"] - exact["n_participants"]) <= COUNT_MOVE


def test_published_tipping_point_is_worked_out_from_the_published_figures(small_world):
    exact = wave_model(Database(small_world), "CONF")
    published = wave_model(Database(small_world), "CONF", filters=PUBLISHED)
    tipping, year = published["tipping_point"], published["waves"][-1]
    assert tipping["delta"] * tipping["share_missing"] == pytest.approx(
        year["change_from_pre"], abs=2e-3)  # both rounded to three decimals or more
    # the share missing rests on two perturbed counts of about 300 people
    assert abs(tipping["share_missing"] - exact["tipping_point"]["share_missing"]) <= 0.02
    assert f"{abs(tipping['delta']):.2f} scale points lower" in tipping["sentence"]
    assert f"{tipping['share_missing']:.0%} who did not answer" in tipping["sentence"]


def test_published_completers_change_is_the_published_matched_pairs_one(small_world):
    published = wave_model(Database(small_world), "CONF", filters=PUBLISHED)
    exact = wave_model(Database(small_world), "CONF")
    year, exact_year = published["completers"][-1], exact["completers"][-1]
    assert year["wave"] == "followup_12m"
    assert abs(year["n_pairs"] - exact_year["n_pairs"]) <= COUNT_MOVE
    assert year["mean_change"] == round(year["mean_change"], 6)  # rounded, as published
    assert f"{year['mean_change']:+.2f}" in published["difference"]["sentence"]


def test_difference_sentence_names_both_changes_and_which_is_larger():
    larger = difference_sentence("12 months", 0.31, 0.43)
    assert larger == ("At 12 months the completers' change (+0.43) is larger than the "
                      "model's estimate for everyone (+0.31): those who answered had "
                      "improved more.")
    assert "is smaller than" in difference_sentence("12 months", 0.31, 0.12)
    assert difference_sentence("12 months", 0.311, 0.309).endswith("agree.")
    assert "completers' change is not shown" in difference_sentence("12 months", 0.31, None)


def test_exact_model_sentence_compares_the_completers_with_the_model_at_12_months(large_world):
    result = wave_model(Database(large_world), "CONF")
    difference = result["difference"]
    assert difference["wave"] == "followup_12m"
    assert difference["completers_change"] > difference["model_change"]
    assert difference["sentence"].startswith("At 12 months the completers' change "
                                             f"({difference['completers_change']:+.2f}) is "
                                             "larger")
    assert math.isclose(difference["model_change"], result["waves"][-1]["change_from_pre"])


def test_groups_below_the_cell_size_are_left_out_and_marked(small_world):
    database = Database(small_world, min_cell_size=151)  # 150 per format: every group small
    with pytest.raises(CannotShow, match="The model is not shown for these filters"):
        wave_model(database, "CONF", by=("format",))
    overall = wave_model(database, "CONF")  # 300 together
    assert overall["n_participants"] == 300 and not overall["groups"][0]["suppressed"]


def test_filters_restrict_the_participants_modelled(small_world):
    result = wave_model(Database(small_world), "CONF", filters=Filters(format=("online",)))
    assert result["n_participants"] == 150


def test_a_group_without_improvement_gets_no_tipping_point_but_a_plain_sentence(demo_db):
    # in the demo, workshops' confidence at 12 months is back below where it started
    groups = wave_model(Database(demo_db), "CONF", by=("format",))["groups"]
    workshop = next(g for g in groups if g["format"] == "workshop")
    year = workshop["waves"][-1]
    assert year["change_from_pre"] <= 0
    tipping = workshop["tipping_point"]
    assert tipping["delta"] is None
    assert tipping["sentence"].startswith("The model finds no improvement")
    assert "would vanish" not in tipping["sentence"]
    improved = [g for g in groups if g["waves"] and g["waves"][-1]["change_ci_low"] > 0]
    assert improved and all("would vanish" in g["tipping_point"]["sentence"] for g in improved)
