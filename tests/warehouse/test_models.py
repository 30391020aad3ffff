"""The wave model of the analysis layer: its per-pattern sums from DuckDB give exactly the fit
statsmodels' MixedLM makes participant by participant, it recovers the generating change when
drop-out depends on observed change, and a sponsor is refused."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tests.warehouse.dropout_world import MEANS, build_dropout_db
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.filters import Filters
from warehouse.models import NOT_PUBLISHED, wave_model

TOL_MIXEDLM = 1e-5


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    return build_dropout_db(tmp_path_factory.mktemp("models") / "small.duckdb",
                            people_per_format=150, seed=3)


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


def test_sponsor_is_refused_until_the_model_is_published(small_world):
    with pytest.raises(CannotShow, match=NOT_PUBLISHED):
        wave_model(Database(small_world), "CONF", filters=Filters(published=True))


def test_groups_below_the_cell_size_are_left_out_and_marked(small_world):
    database = Database(small_world, min_cell_size=151)  # 150 per format: every group small
    with pytest.raises(CannotShow, match="Fewer than 151 participants"):
        wave_model(database, "CONF", by=("format",))
    overall = wave_model(database, "CONF")  # 300 together
    assert overall["n_participants"] == 300 and not overall["groups"][0]["suppressed"]


def test_filters_restrict_the_participants_modelled(small_world):
    result = wave_model(Database(small_world), "CONF", filters=Filters(format=("online",)))
    assert result["n_participants"] == 150
