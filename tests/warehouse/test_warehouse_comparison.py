"""Comparison designs in the analysis layer: on a generated waitlist world the ANCOVA and the
difference in differences recover the generating effect, the per-cohort sums give exactly the
row-level OLS with CR1 by cohort, baseline g and attrition are those of the WWC computed by
hand, and the local evidence tier uses the design."""

from __future__ import annotations

import math
from dataclasses import replace

import duckdb
import numpy as np
import pytest
import statsmodels.api as sm

from tests.warehouse.waitlist_world import EFFECT, build_waitlist_db
from warehouse.comparison import compare_arms, g_words
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.evidence import program_evidence
from warehouse.filters import Filters

TOL = 1e-9


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_waitlist_db(tmp_path_factory.mktemp("compare") / "world.duckdb")


@pytest.fixture(scope="module")
def result(world):
    return compare_arms(Database(world), "CONF")


def programmes(result) -> dict[str, dict]:
    return {p["program_id"]: p for p in result["programs"]}


def _pairs(path, program: str) -> dict[str, np.ndarray]:
    """The matched pre -> post pairs of one programme, row by row, from the researchers' view."""
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "SELECT cohort_id, arm = 'intervention' AS trained, score_from, score_to "
        "FROM paired_scores WHERE scale_id = 'CONF' AND wave_from = 'pre' AND wave_to = 'post' "
        "AND program_id = ? ORDER BY cohort_id, participant_id", [program]).fetchall()
    con.close()
    cohort, trained, x, y = zip(*rows, strict=True)
    return {"cohort": np.unique(cohort, return_inverse=True)[1],
            "arm": np.array(trained, dtype=float), "x": np.array(x), "y": np.array(y)}


def _cr1(design: np.ndarray, y: np.ndarray, cohort: np.ndarray):
    return sm.OLS(y, design).fit(cov_type="cluster", use_t=True,
                                 cov_kwds={"groups": cohort, "use_correction": True,
                                           "df_correction": True})


def test_ancova_and_did_intervals_contain_the_generating_effect(result):
    shown = programmes(result)
    assert sorted(shown) == ["P0", "P1"]
    for program in shown.values():
        for model in ("ancova", "did"):
            figures = program[model]
            assert figures["ci_low"] < EFFECT < figures["ci_high"], (program["program_id"], model)
            assert figures["ci_low"] > 0  # the training's effect is detected
    p0 = shown["P0"]
    assert (p0["n_cohorts_intervention"], p0["n_cohorts_comparison"]) == (4, 4)
    assert p0["comparison_arms"] == ["waitlist"]
    assert shown["P1"]["comparison_arms"] == ["comparison"]


def test_cohort_sum_ancova_and_did_equal_row_level_ols_with_cr1_by_cohort(world, result):
    for program_id, program in programmes(result).items():
        pairs = _pairs(world, program_id)
        ones = np.ones_like(pairs["x"])
        ancova = _cr1(np.column_stack([ones, pairs["x"], pairs["arm"]]), pairs["y"],
                      pairs["cohort"])
        low, high = ancova.conf_int()[2]
        assert program["n_intervention"] + program["n_comparison"] == len(pairs["x"])
        assert program["ancova"]["estimate"] == pytest.approx(ancova.params[2], abs=TOL)
        assert program["ancova"]["se"] == pytest.approx(ancova.bse[2], rel=1e-7)
        assert program["ancova"]["p"] == pytest.approx(ancova.pvalues[2], rel=1e-6)
        assert (program["ancova"]["ci_low"], program["ancova"]["ci_high"]) == pytest.approx(
            (low, high), rel=1e-7)
        did = _cr1(np.column_stack([ones, pairs["arm"]]), pairs["y"] - pairs["x"],
                   pairs["cohort"])
        assert program["did"]["estimate"] == pytest.approx(did.params[1], abs=TOL)
        assert (program["did"]["ci_low"], program["did"]["ci_high"]) == pytest.approx(
            tuple(did.conf_int()[1]), rel=1e-7)


def test_baseline_g_is_hedges_g_of_the_analysed_pairs_baseline(world, result):
    for program_id, program in programmes(result).items():
        pairs = _pairs(world, program_id)
        trained, other = pairs["x"][pairs["arm"] == 1], pairs["x"][pairs["arm"] == 0]
        n_i, n_c = len(trained), len(other)
        pooled = math.sqrt(((n_i - 1) * trained.var(ddof=1) + (n_c - 1) * other.var(ddof=1))
                           / (n_i + n_c - 2))
        omega = 1 - 3 / (4 * (n_i + n_c) - 9)  # WWC small-sample correction
        g = omega * (trained.mean() - other.mean()) / pooled
        assert program["baseline_g"] == pytest.approx(g, rel=1e-9)
        verdict = ("satisfied" if abs(g) <= 0.05 else
                   "requires adjustment" if abs(g) <= 0.25 else "not equivalent")
        assert program["baseline_equivalence"] == verdict


def test_attrition_is_baseline_respondents_without_the_later_wave_against_the_cautious_boundary(
        world, result):
    con = duckdb.connect(str(world), read_only=True)
    counts = dict(((p, trained), (int(a), int(b))) for p, trained, a, b in con.execute(
        "SELECT c.program_id, c.arm = 'intervention', count(*) FILTER (WHERE r.wave = 'pre'), "
        "count(*) FILTER (WHERE r.wave = 'post') FROM responses AS r "
        "JOIN cohorts AS c USING (cohort_id) GROUP BY ALL").fetchall())
    con.close()
    p0, p1 = programmes(result)["P0"], programmes(result)["P1"]
    for program, row in (("P0", p0), ("P1", p1)):
        (ai, ki), (ac, kc) = counts[(program, True)], counts[(program, False)]
        assert (row["assigned_intervention"], row["assigned_comparison"]) == (ai, ac)
        assert (row["n_intervention"], row["n_comparison"]) == (ki, kc)
        assert row["attrition_overall"] == pytest.approx(1 - (ki + kc) / (ai + ac))
        assert row["attrition_differential"] == pytest.approx(abs(ki / ai - kc / ac))
        assert row["attrition_boundary"] == "cautious"
    # P0: 9% overall, 1 point differential (cautious limit 6.3 points at 9%): low.
    assert p0["attrition_standard"] == "low"
    assert p0["attrition_max_differential"] == pytest.approx(0.063)
    # P1's comparison arm misses post four times as often: high attrition.
    assert p1["attrition_standard"] == "high"
    assert p1["attrition_differential"] > 0.2


def test_programme_with_one_arm_is_left_out_with_its_reason(result):
    assert "P2" not in programmes(result)
    (only,) = result["left_out"]
    assert only["program_id"] == "P2"
    assert "no comparison or waitlist cohorts" in only["reason"]


def test_filters_apply_and_the_arm_restriction_is_lifted(world):
    database = Database(world)
    default = compare_arms(database, "CONF", filters=Filters())
    assert Filters().arm == "intervention"  # the default reads both arms all the same
    assert sorted(programmes(default)) == ["P0", "P1"]
    sp1 = compare_arms(database, "CONF", filters=Filters(sponsor=("SP1",)))
    assert sorted(programmes(sp1)) == ["P0"]
    assert [p["program_id"] for p in sp1["left_out"]] == ["P2"]
    one = compare_arms(database, "CONF", filters=Filters(program=("P1",)))
    assert programmes(one)["P1"] == programmes(default)["P1"]


def test_an_arm_under_the_minimum_cell_size_hides_that_programmes_figures(world, result):
    n_p1_comparison = programmes(result)["P1"]["n_comparison"]
    hidden = compare_arms(Database(world), "CONF", min_cell_size=n_p1_comparison + 1)
    p1 = programmes(hidden)["P1"]
    assert p1["suppressed"] is True
    assert "comparison arm" in p1["reason"]
    assert p1["ancova"] is None and p1["did"] is None and p1["n_comparison"] is None
    assert p1["baseline_g"] is None and p1["attrition_overall"] is None
    assert programmes(hidden)["P0"]["suppressed"] is False


def test_published_figures_are_refused(world):
    with pytest.raises(CannotShow, match="not published yet"):
        compare_arms(Database(world), "CONF", filters=Filters(published=True))


def test_unknown_scale_or_an_earlier_later_wave_cannot_be_shown(world):
    with pytest.raises(CannotShow, match="no scale 'NOPE'"):
        compare_arms(Database(world), "NOPE")
    with pytest.raises(CannotShow, match="does not come after"):
        compare_arms(Database(world), "CONF", "pre")


def test_lower_is_better_scale_is_signed_so_the_effect_is_still_positive(tmp_path, result):
    flipped = build_waitlist_db(tmp_path / "lower.duckdb", lower_is_better=True)
    lower = programmes(compare_arms(Database(flipped), "CONF"))
    for program_id, higher in programmes(result).items():
        for model in ("ancova", "did"):
            assert lower[program_id][model]["estimate"] == pytest.approx(
                higher[model]["estimate"], rel=1e-9)
        assert lower[program_id]["baseline_g"] == pytest.approx(higher["baseline_g"], rel=1e-9)


def test_g_in_words_shows_which_side_of_a_wwc_limit_it_is():
    assert g_words(0.3112) == "0.31"
    assert g_words(-0.2512) == "-0.251"
    assert g_words(-0.2503) == "-0.2503"  # not equivalent, though "-0.25" would read as the limit
    assert g_words(0.0496) == "0.0496"
    assert g_words(0.25) == "0.25"


def tiers(path) -> dict[str, dict]:
    return {r["program"]: r for r in program_evidence(Database(path), scale_id="CONF")}


def test_equivalent_comparison_with_low_attrition_lifts_the_tier_above_a_single_group(
        world, tmp_path):
    alone = tiers(build_waitlist_db(tmp_path / "alone.duckdb", with_comparison=False))["P0"]
    with_arm = tiers(world)["P0"]
    assert alone["n_pairs"] == with_arm["n_pairs"]  # the same trained people
    assert (alone["design"], alone["tier"]) == ("single_group_pre_post", 3)
    assert (with_arm["design"], with_arm["tier"]) == ("comparison_group", 4)
    assert with_arm["reasons"][0].startswith("Rated as a comparison-group design (a waitlist")
    assert "attrition low" in with_arm["reasons"][0]


def test_comparison_with_high_attrition_stays_single_group_and_says_why(world):
    p1 = tiers(world)["P1"]
    assert (p1["design"], p1["tier"]) == ("single_group_pre_post", 3)
    assert p1["reasons"][0].startswith("The comparison arm does not count: attrition high")
    assert "P2" in tiers(world) and tiers(world)["P2"]["design"] == "single_group_pre_post"


def test_non_equivalent_baseline_stays_single_group_with_g_in_the_reason(tmp_path):
    shifted = build_waitlist_db(tmp_path / "shifted.duckdb", comparison_shift=0.4)
    g = programmes(compare_arms(Database(shifted), "CONF"))["P0"]["baseline_g"]
    assert g < -0.25
    p0 = tiers(shifted)["P0"]
    assert (p0["design"], p0["tier"]) == ("single_group_pre_post", 3)
    assert p0["reasons"][0] == (f"The waitlist arm does not count: baseline not equivalent "
                                f"(g = {g_words(g)}).")


def test_a_published_tier_uses_the_design_without_showing_g(world):
    rows = {r["program"]: r for r in program_evidence(
        Database(world), scale_id="CONF", filters=replace(Filters(), published=True))}
    p0 = rows["P0"]
    assert p0["suppressed"] is False
    assert p0["design"] == "comparison_group"
    assert "g =" not in p0["reasons"][0] and "%" not in p0["reasons"][0]
