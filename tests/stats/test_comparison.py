"""Two-arm comparisons: ANCOVA, DiD, WWC baseline equivalence and attrition boundaries."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from stats.comparison import (
    EQUIVALENT,
    NOT_EQUIVALENT,
    REQUIRES_ADJUSTMENT,
    ancova,
    ancova_from_cohort_sums,
    attrition_standard,
    baseline_equivalence,
    baseline_equivalence_from_moments,
    did_from_cohort_sums,
    difference_in_differences,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def anorexia_ft_vs_control():
    """MASS::anorexia restricted to family therapy (arm 1) and control (arm 0)."""
    rows = [r for r in _rows("anorexia.csv") if r["Treat"] in ("FT", "Cont")]
    pre = np.array([float(r["Prewt"]) for r in rows])
    post = np.array([float(r["Postwt"]) for r in rows])
    arm = np.array([r["Treat"] == "FT" for r in rows], dtype=float)
    return pre, post, arm


@pytest.fixture
def cohort_data():
    rows = _rows("cohort_comparison.csv")
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


def _cohort_sums(d):
    labels = np.unique(d["cohort"])
    members = [d["cohort"] == g for g in labels]
    pre, post = d["pre"], d["post"]
    change = post - pre

    def per(values):
        return np.array([values[m].sum() for m in members])

    return {
        "arm": np.array([d["arm"][m][0] for m in members]),
        "n": per(np.ones_like(pre)),
        "sum_baseline": per(pre),
        "sum_baseline_sq": per(pre**2),
        "sum_later": per(post),
        "sum_baseline_later": per(pre * post),
        "sum_later_sq": per(post**2),
        "sum_change": per(change),
        "sum_change_sq": per(change**2),
    }


def test_anorexia_family_therapy_ancova_matches_lm(anorexia_ft_vs_control):
    # R: lm(Postwt ~ Prewt + ft) on FT and Cont (make_comparison_reference.Rout)
    pre, post, arm = anorexia_ft_vs_control
    effect = ancova(pre, post, arm)
    assert effect.estimate == pytest.approx(9.0335725744, abs=1e-8)
    assert effect.se == pytest.approx(2.0314862495, abs=1e-8)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((4.9277857098, 13.1393594391), abs=1e-8)
    assert effect.fit.coefficient("baseline").estimate == pytest.approx(0.2110717581, abs=1e-8)
    assert effect.n == 43


def test_anorexia_family_therapy_did_is_7_7147(anorexia_ft_vs_control):
    # reference README: difference in mean change FT minus Control 7.7147 (1e-4);
    # CI from R's confint(lm(change ~ ft)) (make_comparison_reference.Rout)
    pre, post, arm = anorexia_ft_vs_control
    effect = difference_in_differences(post - pre, arm)
    assert effect.estimate == pytest.approx(7.7147, abs=1e-4)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((2.880163943, 12.54924782), abs=1e-8)


def test_cohort_ancova_and_did_use_cr1_by_cohort(cohort_data):
    # R: vcovCL(..., cluster = ~cohort, type = "HC1"), t with 7 df
    d = cohort_data
    a = ancova(d["pre"], d["post"], d["arm"], cohorts=d["cohort"])
    assert (a.estimate, a.se, a.ci_low, a.ci_high) == pytest.approx(
        (0.8124953682, 0.2336600197, 0.2599772190, 1.3650135174), abs=1e-8
    )
    did = difference_in_differences(d["post"] - d["pre"], d["arm"], cohorts=d["cohort"])
    assert (did.estimate, did.se, did.ci_low, did.ci_high, did.p) == pytest.approx(
        (0.8222727273, 0.2259086597, 0.2880836319, 1.3564618226, 0.00828878904), abs=1e-8
    )
    assert (a.n_clusters, a.df) == (8, 7)


def test_cohort_sums_give_the_same_effects_as_rows(cohort_data):
    d = cohort_data
    s = _cohort_sums(d)
    rows = ancova(d["pre"], d["post"], d["arm"], cohorts=d["cohort"])
    sums = ancova_from_cohort_sums(
        s["arm"],
        s["n"],
        s["sum_baseline"],
        s["sum_baseline_sq"],
        s["sum_later"],
        s["sum_baseline_later"],
        s["sum_later_sq"],
    )
    assert (sums.estimate, sums.se, sums.p) == pytest.approx(
        (rows.estimate, rows.se, rows.p), rel=1e-9
    )
    rows = difference_in_differences(d["post"] - d["pre"], d["arm"], cohorts=d["cohort"])
    sums = did_from_cohort_sums(s["arm"], s["n"], s["sum_change"], s["sum_change_sq"])
    assert (sums.estimate, sums.se, sums.p) == pytest.approx(
        (rows.estimate, rows.se, rows.p), rel=1e-9
    )


def test_arm_other_than_zero_or_one_is_rejected():
    with pytest.raises(ValueError, match="arm must be 1"):
        difference_in_differences([1.0, 2.0, 3.0], [0, 1, 2])


def test_baseline_g_uses_the_wwc_correction_and_boundaries():
    # WWC: g = (1 - 3/(4N - 9)) * diff / pooled SD. Here N = 40, diff 0.1, SD 1:
    # g = (1 - 3/151) * 0.1 = 0.098013...
    result = baseline_equivalence_from_moments(20, 3.1, 1.0, 20, 3.0, 1.0)
    assert result.hedges_g == pytest.approx(0.1 * (1 - 3 / 151), rel=1e-12)
    assert result.verdict == REQUIRES_ADJUSTMENT
    assert baseline_equivalence_from_moments(50, 3.0, 1, 50, 3.05, 1).verdict == EQUIVALENT
    assert baseline_equivalence_from_moments(50, 3.3, 1, 50, 3.0, 1).verdict == NOT_EQUIVALENT
    assert baseline_equivalence_from_moments(1, 3.3, 1, 50, 3.0, 1).verdict == NOT_EQUIVALENT


def test_baseline_equivalence_from_scores_equals_from_moments(anorexia_ft_vs_control):
    pre, _, arm = anorexia_ft_vs_control
    i, c = pre[arm == 1], pre[arm == 0]
    from_scores = baseline_equivalence(i, c)
    from_moments = baseline_equivalence_from_moments(
        len(i), i.mean(), i.std(ddof=1), len(c), c.mean(), c.std(ddof=1)
    )
    assert from_scores == from_moments
    # anorexia: FT started 1.67 kg heavier than control, pooled SD 5.45, N = 43:
    # g = (1 - 3/163) * 1.6717 / 5.4481 = 0.3012 > 0.25, so not equivalent by WWC rules
    assert from_scores.hedges_g == pytest.approx(0.3012, abs=1e-4)
    assert from_scores.verdict == NOT_EQUIVALENT


@pytest.mark.parametrize(
    ("counts", "low_cautious", "low_optimistic"),
    [
        # WWCr's attritest examples (intervention analysed, assigned, comparison analysed,
        # assigned): high; low only under the optimistic boundary; low under both.
        ((20, 40, 31, 49), False, False),
        ((30, 40, 40, 48), False, True),
        ((10, 20, 100, 200), True, True),
    ],
)
def test_attrition_against_wwc_boundaries(counts, low_cautious, low_optimistic):
    ai, ni, ac, nc = counts
    result = attrition_standard(ni, ai, nc, ac)
    assert (result.low_cautious, result.low_optimistic) == (low_cautious, low_optimistic)


def test_attrition_rates_and_boundary_row():
    # 30 of 40 and 40 of 48 analysed: overall 1 - 70/88 = 20.45 % (row 20), differential
    # |25 % - 16.67 %| = 8.33 points; WWC Table II.1 row 20: cautious 5.4, optimistic 10.2.
    result = attrition_standard(40, 30, 48, 40)
    assert result.overall == pytest.approx(18 / 88)
    assert result.differential == pytest.approx(0.25 - 8 / 48)
    assert (result.cautious_max_differential, result.optimistic_max_differential) == (
        pytest.approx(0.054),
        pytest.approx(0.102),
    )


def test_attrition_beyond_the_table_is_high():
    result = attrition_standard(100, 40, 100, 40)  # 60 % overall, no differential
    assert not result.low_cautious and not result.low_optimistic


def test_more_analysed_than_assigned_is_a_clear_error():
    with pytest.raises(ValueError, match="more people than were assigned"):
        attrition_standard(10, 11, 10, 10)
