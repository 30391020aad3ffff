"""Small-study bias and influence against R metafor 3.8-1 on dat.bcg (Colditz et al. 1994).

Headline values are those of the shared reference README ("dat_bcg.csv again"); the whole
vectors (every leave-one-out fit and Cook's distance, the fixed-effect and DL forms, the first
8 trials, tied variances) come from ``fixtures/make_bias_reference.R`` and its output
``fixtures/bias_reference.csv``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from stats import (
    cooks_distance,
    egger_classical,
    egger_test,
    funnel_contours,
    leave_one_out,
    rank_test,
    small_study_note,
    trim_and_fill,
)
from stats.distributions import norm_sf
from stats.meta import meta_analysis

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-4  # stated tolerance of the reference values
SUBSETS = {"bcg": 13, "bcg8": 8}  # all 13 trials; the first 8 (a second data set)


@pytest.fixture(scope="module")
def metafor() -> dict[str, float]:
    with open(FIXTURES / "bias_reference.csv", newline="") as handle:
        return {row["quantity"]: float(row["value"]) for row in csv.DictReader(handle)}


def test_egger_regtest_default_reproduces_metafor(bcg_yi_vi):
    egger = egger_test(*bcg_yi_vi)
    # metafor regtest(rma(yi, vi)): z = -0.8033, p = 0.4218, limit -0.5104 [-1.1182, 0.0974]
    assert egger.z == pytest.approx(-0.8033, abs=TOL)
    assert egger.p == pytest.approx(0.4218, abs=TOL)
    assert egger.limit_estimate == pytest.approx(-0.5104, abs=TOL)
    assert egger.limit_ci_low == pytest.approx(-1.1182, abs=TOL)
    assert egger.limit_ci_high == pytest.approx(0.0974, abs=TOL)


def test_classical_egger_is_weighted_regression_with_t_on_k_minus_2_df(bcg_yi_vi):
    classical = egger_classical(*bcg_yi_vi)
    # metafor regtest(model = "lm"): t(11) = -1.4013, p = 0.1887
    assert classical.t == pytest.approx(-1.4013, abs=TOL)
    assert classical.df == 11
    assert classical.p == pytest.approx(0.1887, abs=TOL)


def test_rank_test_uses_the_exact_kendall_p_without_ties(bcg_yi_vi):
    rank = rank_test(*bcg_yi_vi)
    # metafor ranktest: tau = 0.0256, p = 0.9524 (exact permutation p: no ties)
    assert rank.tau == pytest.approx(0.0256, abs=TOL)
    assert rank.p == pytest.approx(0.9524, abs=TOL)
    assert rank.exact


def test_rank_test_falls_back_to_tie_corrected_normal_p_with_tied_variances(bcg_yi_vi, metafor):
    yi, vi = bcg_yi_vi
    tied_vi = np.array([float(f"{value:.1g}") for value in vi[:11]])  # R signif(vi, 1)
    rank = rank_test(yi[:11], tied_vi)
    assert not rank.exact
    assert rank.tau == pytest.approx(metafor["bcg_tied.rank_test.tau"], abs=TOL)
    assert rank.p == pytest.approx(metafor["bcg_tied.rank_test.p"], abs=TOL)


def test_trim_and_fill_of_reml_fit_fills_one_study_on_the_right(bcg_yi_vi):
    yi, vi = bcg_yi_vi
    filled = trim_and_fill(yi, vi)
    # metafor trimfill(rma(yi, vi)): 1 filled (right), -0.6571 (SE 0.1785), tau^2 0.3313
    assert (filled.k0, filled.side) == (1, "right")
    assert filled.estimate == pytest.approx(-0.6571, abs=TOL)
    assert filled.se == pytest.approx(0.1785, abs=TOL)
    assert filled.tau2 == pytest.approx(0.3313, abs=TOL)
    # the filled study mirrors the most negative trial about the trimmed estimate, same vi
    trimmed_mu = meta_analysis(np.delete(yi, np.argmin(yi)), np.delete(vi, np.argmin(yi))).mu
    assert filled.filled_yi == pytest.approx((2 * trimmed_mu - yi.min(),))
    assert filled.filled_vi == pytest.approx((vi[np.argmin(yi)],))


def test_trim_and_fill_of_fixed_effect_fit_fills_four_studies(bcg_yi_vi):
    filled = trim_and_fill(*bcg_yi_vi, method="FE")
    # metafor trimfill(rma(yi, vi, method = "FE")): 4 filled, estimate -0.2910
    assert filled.k0 == 4
    assert filled.estimate == pytest.approx(-0.2910, abs=TOL)
    assert len(filled.filled_yi) == len(filled.filled_vi) == 4
    assert filled.tau2 == 0.0


@pytest.mark.parametrize("subset", SUBSETS)
@pytest.mark.parametrize("method", ["REML", "FE", "DL"])
def test_trim_and_fill_matches_metafor_for_each_method_and_forced_side(
    bcg_yi_vi, metafor, subset, method
):
    yi, vi = (column[: SUBSETS[subset]] for column in bcg_yi_vi)
    key = f"{subset}.trimfill_{method.lower()}"
    chosen = trim_and_fill(yi, vi, method=method)
    assert chosen.k0 == metafor[f"{key}.k0"]
    assert chosen.side == ("right" if metafor[f"{key}.side_right"] else "left")
    assert chosen.estimate == pytest.approx(metafor[f"{key}.estimate"], abs=TOL)
    assert chosen.se == pytest.approx(metafor[f"{key}.se"], abs=TOL)
    assert chosen.tau2 == pytest.approx(metafor[f"{key}.tau2"], abs=TOL)
    for side in ("left", "right"):
        forced = trim_and_fill(yi, vi, method=method, side=side)
        assert forced.k0 == metafor[f"{key}.{side}.k0"]
        assert forced.estimate == pytest.approx(metafor[f"{key}.{side}.estimate"], abs=TOL)


@pytest.mark.parametrize("subset", SUBSETS)
def test_egger_tests_match_metafor_on_both_data_sets_and_fixed_effect(bcg_yi_vi, metafor, subset):
    yi, vi = (column[: SUBSETS[subset]] for column in bcg_yi_vi)
    egger, fe, classical = (
        egger_test(yi, vi),
        egger_test(yi, vi, method="FE"),
        egger_classical(yi, vi),
    )
    for field in ("z", "p", "limit_estimate", "limit_ci_low", "limit_ci_high"):
        assert getattr(egger, field) == pytest.approx(metafor[f"{subset}.egger.{field}"], abs=TOL)
    assert fe.z == pytest.approx(metafor[f"{subset}.egger_fe.z"], abs=TOL)
    assert fe.limit_estimate == pytest.approx(metafor[f"{subset}.egger_fe.limit_estimate"], abs=TOL)
    assert classical.t == pytest.approx(metafor[f"{subset}.egger_classical.t"], abs=TOL)
    assert classical.p == pytest.approx(metafor[f"{subset}.egger_classical.p"], abs=TOL)
    # the classical form has the fixed-effect coefficients, only its SEs are rescaled
    assert classical.limit_estimate == pytest.approx(fe.limit_estimate)
    rank = rank_test(yi, vi)
    assert rank.tau == pytest.approx(metafor[f"{subset}.rank_test.tau"], abs=TOL)
    assert rank.p == pytest.approx(metafor[f"{subset}.rank_test.p"], abs=TOL)


def test_leave_one_out_without_study_8_reproduces_metafor(bcg_yi_vi):
    rows = leave_one_out(*bcg_yi_vi)
    dropped_8 = rows[7]
    # metafor leave1out(rma(yi, vi)), study 8: estimate -0.7948, Q 67.9858
    assert dropped_8.study_id == 8
    assert dropped_8.estimate == pytest.approx(-0.7948, abs=TOL)
    assert dropped_8.q == pytest.approx(67.9858, abs=TOL)


@pytest.mark.parametrize("subset", SUBSETS)
def test_every_leave_one_out_fit_matches_metafor(bcg_yi_vi, metafor, subset):
    yi, vi = (column[: SUBSETS[subset]] for column in bcg_yi_vi)
    for i, row in enumerate(leave_one_out(yi, vi), start=1):
        for field in ("estimate", "se", "q", "tau2"):
            expected = metafor[f"{subset}.leave1out.{i}.{field}"]
            assert getattr(row, field) == pytest.approx(expected, abs=TOL), (i, field)
    for i, row in enumerate(leave_one_out(yi, vi, method="FE"), start=1):
        assert row.estimate == pytest.approx(
            metafor[f"{subset}.leave1out_fe.{i}.estimate"], abs=TOL
        )


def test_largest_cooks_distance_is_study_4(bcg_yi_vi):
    distances = cooks_distance(*bcg_yi_vi)
    largest = max(distances, key=lambda row: row.value)
    # metafor cooks.distance(rma(yi, vi)): largest is study 4, 0.2295
    assert largest.study_id == 4
    assert largest.value == pytest.approx(0.2295, abs=TOL)


@pytest.mark.parametrize("subset", SUBSETS)
@pytest.mark.parametrize(("method", "name"), [("REML", "cooks"), ("FE", "cooks_fe")])
def test_every_cooks_distance_matches_metafor(bcg_yi_vi, metafor, subset, method, name):
    yi, vi = (column[: SUBSETS[subset]] for column in bcg_yi_vi)
    values = [row.value for row in cooks_distance(yi, vi, method=method)]
    expected = [metafor[f"{subset}.{name}.{i}"] for i in range(1, yi.size + 1)]
    assert values == pytest.approx(expected, abs=TOL)


def test_influence_rows_carry_the_given_study_ids(bcg_yi_vi):
    ids = [f"trial-{i}" for i in range(1, 14)]
    assert [row.study_id for row in leave_one_out(*bcg_yi_vi, study_ids=ids)] == ids
    assert [row.study_id for row in cooks_distance(*bcg_yi_vi, study_ids=ids)] == ids
    with pytest.raises(ValueError, match="study_ids"):
        leave_one_out(*bcg_yi_vi, study_ids=ids[:5])


def test_results_serialise_to_the_json_the_command_line_prints(bcg_yi_vi):
    yi, vi = bcg_yi_vi
    payload = {
        "egger": egger_test(yi, vi).as_dict(),
        "egger_classical": egger_classical(yi, vi).as_dict(),
        "rank_test": rank_test(yi, vi).as_dict(),
        "trim_and_fill": trim_and_fill(yi, vi).as_dict(),
        "leave_one_out": [row.as_dict() for row in leave_one_out(yi, vi)],
        "cooks_distance": [row.as_dict() for row in cooks_distance(yi, vi)],
    }
    decoded = json.loads(json.dumps(payload))
    assert {"z", "p", "limit_estimate", "limit_ci_low", "limit_ci_high"} <= set(decoded["egger"])
    assert {"t", "df", "p"} <= set(decoded["egger_classical"])
    assert {"tau", "p"} <= set(decoded["rank_test"])
    assert {"k0", "side", "estimate", "se", "tau2"} <= set(decoded["trim_and_fill"])
    assert {"study_id", "estimate", "q"} <= set(decoded["leave_one_out"][0])
    assert {"study_id", "value"} <= set(decoded["cooks_distance"][0])
    assert len(decoded["leave_one_out"]) == len(decoded["cooks_distance"]) == 13


def test_funnel_contours_are_two_sided_significance_lines_through_zero():
    contours = funnel_contours(0.5, levels=(0.99, 0.90, 0.95))
    assert [contour.level for contour in contours] == [0.90, 0.95, 0.99]
    ninety_five = contours[1]
    assert ninety_five.z == pytest.approx(1.959964, abs=1e-6)
    assert ninety_five.se == (0.0, 0.5)
    assert ninety_five.low == pytest.approx((0.0, -0.979982), abs=1e-6)
    assert ninety_five.high == pytest.approx((0.0, 0.979982), abs=1e-6)
    # a study on a contour line has two-sided p exactly 1 - level (Peters et al. 2008)
    for contour in contours:
        effect, se = contour.high[1], contour.se[1]
        assert 2 * norm_sf(effect / se) == pytest.approx(1 - contour.level)
    with pytest.raises(ValueError, match="se_max"):
        funnel_contours(0.0)


@pytest.mark.parametrize(
    "function",
    [egger_test, egger_classical, rank_test, trim_and_fill, leave_one_out, cooks_distance],
)
def test_fewer_than_three_studies_is_refused_with_a_clear_message(function):
    with pytest.raises(ValueError, match="at least 3 studies"):
        function([0.1, 0.3], [0.01, 0.02])


def test_small_study_bias_is_shown_only_from_ten_studies():
    assert small_study_note(10) is None
    note = small_study_note(9)
    assert note is not None and "at least 10 studies" in note and "has 9" in note


def test_exact_rank_p_stays_exact_for_many_studies():
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.5, size=200)
    yi = rng.normal(0.2, np.sqrt(vi)) + 1.5 * np.sqrt(vi)  # small studies show larger effects
    rank = rank_test(yi, vi)
    w = 1 / vi
    deviates = (yi - np.sum(w * yi) / np.sum(w)) / np.sqrt(vi - 1 / np.sum(w))
    expected = scipy_stats.kendalltau(deviates, vi, method="exact")  # no ties: exact p
    assert rank.exact
    assert rank.tau == pytest.approx(expected.statistic)
    assert rank.p == pytest.approx(expected.pvalue, rel=1e-9)
    assert 0 < rank.p < 0.05
