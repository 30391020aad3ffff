"""Two-arm comparison designs: ANCOVA, difference in differences, WWC equivalence and attrition.

A programme with intervention and comparison (or waitlist) cohorts can say more than a
before-and-after change: the later-wave score adjusted for baseline (ANCOVA) and the
difference in mean change (DiD) estimate the effect of being in the intervention arm. Both
are regressions (``stats.regression``) with CR1 standard errors by cohort, because people are
recruited and trained in cohorts. Arm is a property of a cohort, so each entry point has a
``*_from_cohort_sums`` twin that takes one row of sums per cohort (one DuckDB GROUP BY).

Whether a comparison is credible is judged as the What Works Clearinghouse does (WWC
Procedures and Standards Handbook, version 5.0, 2022): baseline equivalence from Hedges' g
of the baseline difference, and overall and differential attrition against the WWC
boundaries. Arm coding throughout: 1 = intervention, 0 = comparison.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .regression import Coefficient, RegressionFit, ols, ols_from_cluster_sums

NAN = float("nan")

ANCOVA_TERMS = ("intercept", "baseline", "arm")
DID_TERMS = ("intercept", "arm")

# WWC v5.0 baseline equivalence: |g| <= 0.05 satisfied; <= 0.25 satisfied only with
# statistical adjustment for the baseline; larger not equivalent.
EQUIVALENT = "satisfied"
REQUIRES_ADJUSTMENT = "requires adjustment"
NOT_EQUIVALENT = "not equivalent"
EQUIVALENCE_LIMITS = ((0.05, EQUIVALENT), (0.25, REQUIRES_ADJUSTMENT))

# Highest differential attrition (percentage points) that still counts as low attrition,
# for each overall attrition rate 0, 1, ..., 57 %: WWC Standards Handbook v4.0, Table II.1
# (p. 12), carried over unchanged into v5.0, as transcribed in the WWCr R package
# (github.com/HaiwenChu/RWWC-v.4-Group-Designs). Above 57 % overall attrition the table
# ends (the cautious boundary has reached 0): this project classes that as high attrition.
# The cautious column agrees with a second public transcription (of v4.1, in the baselinr R
# package); its optimistic column differs from row 13 on by one row and goes on to 65 %. The
# cautious boundary, the one comparisons here are judged by, is the same in both.
CAUTIOUS_BOUNDARY = (
    5.7,
    5.8,
    5.9,
    5.9,
    6.0,
    6.1,
    6.2,
    6.3,
    6.3,
    6.3,
    6.3,
    6.2,
    6.2,
    6.1,
    6.0,
    5.9,
    5.9,
    5.8,
    5.7,
    5.5,
    5.4,
    5.3,
    5.2,
    5.1,
    4.9,
    4.8,
    4.7,
    4.5,
    4.4,
    4.3,
    4.1,
    4.0,
    3.8,
    3.6,
    3.5,
    3.3,
    3.2,
    3.1,
    2.9,
    2.8,
    2.6,
    2.5,
    2.3,
    2.1,
    2.0,
    1.8,
    1.6,
    1.5,
    1.3,
    1.2,
    1.0,
    0.9,
    0.7,
    0.6,
    0.4,
    0.3,
    0.2,
    0.0,
)
OPTIMISTIC_BOUNDARY = (
    10.0,
    10.1,
    10.2,
    10.3,
    10.4,
    10.5,
    10.7,
    10.8,
    10.9,
    10.9,
    10.9,
    10.9,
    10.9,
    10.9,
    10.8,
    10.8,
    10.7,
    10.6,
    10.5,
    10.3,
    10.2,
    10.0,
    9.9,
    9.7,
    9.5,
    9.4,
    9.2,
    9.0,
    8.8,
    8.6,
    8.4,
    8.2,
    8.0,
    7.8,
    7.6,
    7.4,
    7.2,
    7.0,
    6.7,
    6.5,
    6.3,
    6.0,
    5.8,
    5.6,
    5.3,
    5.1,
    4.9,
    4.6,
    4.4,
    4.2,
    3.9,
    3.7,
    3.5,
    3.2,
    3.0,
    2.8,
    2.6,
    2.3,
)
BOUNDARIES = {"cautious": CAUTIOUS_BOUNDARY, "optimistic": OPTIMISTIC_BOUNDARY}


@dataclass(frozen=True)
class ArmEffect:
    """The intervention-minus-comparison effect from one regression, with its fit."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    n: int
    n_clusters: int | None
    fit: RegressionFit

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (the whole fit included)."""
        return asdict(self)


def _arm_effect(fit: RegressionFit) -> ArmEffect:
    arm: Coefficient = fit.coefficient("arm")
    return ArmEffect(
        estimate=arm.estimate,
        se=arm.se,
        ci_low=arm.ci_low,
        ci_high=arm.ci_high,
        t=arm.t,
        df=fit.df,
        p=arm.p,
        n=fit.n,
        n_clusters=fit.n_clusters,
        fit=fit,
    )


def _arm_column(arm: ArrayLike) -> np.ndarray:
    arm = np.asarray(arm, dtype=float)
    if not np.isin(arm, (0.0, 1.0)).all():
        raise ValueError("arm must be 1 (intervention) or 0 (comparison) for every row")
    return arm


def ancova(
    baseline: ArrayLike,
    later: ArrayLike,
    arm: ArrayLike,
    cohorts: ArrayLike | None = None,
    level: float = 0.95,
) -> ArmEffect:
    """ANCOVA: later = a + b·baseline + effect·arm, CR1 by cohort (classical if no cohorts).

    Only people with both scores enter (the caller passes matched pairs).
    """
    baseline = np.asarray(baseline, dtype=float)
    x = np.column_stack([np.ones_like(baseline), baseline, _arm_column(arm)])
    return _arm_effect(ols(x, later, ANCOVA_TERMS, clusters=cohorts, level=level))


def difference_in_differences(
    change: ArrayLike,
    arm: ArrayLike,
    cohorts: ArrayLike | None = None,
    level: float = 0.95,
) -> ArmEffect:
    """Mean change (later − baseline) of the intervention arm minus that of the comparison arm.

    The regression of change on arm: its slope is exactly the DiD of means, and its SE is
    CR1 by cohort (classical, i.e. the pooled two-sample t, without cohorts).
    """
    change = np.asarray(change, dtype=float)
    x = np.column_stack([np.ones_like(change), _arm_column(arm)])
    return _arm_effect(ols(x, change, DID_TERMS, clusters=cohorts, level=level))


def ancova_from_cohort_sums(
    arm: ArrayLike,
    n: ArrayLike,
    sum_baseline: ArrayLike,
    sum_baseline_sq: ArrayLike,
    sum_later: ArrayLike,
    sum_baseline_later: ArrayLike,
    sum_later_sq: ArrayLike,
    robust: bool = True,
    level: float = 0.95,
) -> ArmEffect:
    """``ancova`` from one row per cohort: its arm, pair count and the sums of x, x², y, xy, y².

    Because arm is constant within a cohort, X_g'X_g and X_g'y_g are these sums times 1 or
    the arm (x = baseline, y = later).
    """
    a = _arm_column(arm)
    n, sx, sxx, sy, sxy, syy = (
        np.asarray(v, dtype=float)
        for v in (n, sum_baseline, sum_baseline_sq, sum_later, sum_baseline_later, sum_later_sq)
    )
    xtx = np.stack(
        [
            np.stack([n, sx, a * n], axis=-1),
            np.stack([sx, sxx, a * sx], axis=-1),
            np.stack([a * n, a * sx, a * n], axis=-1),
        ],
        axis=1,
    )
    xty = np.stack([sy, sxy, a * sy], axis=-1)
    fit = ols_from_cluster_sums(xtx, xty, syy, n, ANCOVA_TERMS, robust=robust, level=level)
    return _arm_effect(fit)


def did_from_cohort_sums(
    arm: ArrayLike,
    n: ArrayLike,
    sum_change: ArrayLike,
    sum_change_sq: ArrayLike,
    robust: bool = True,
    level: float = 0.95,
) -> ArmEffect:
    """``difference_in_differences`` from one row per cohort: arm, n, Σ change, Σ change²."""
    a = _arm_column(arm)
    n, s, ss = (np.asarray(v, dtype=float) for v in (n, sum_change, sum_change_sq))
    xtx = np.stack([np.stack([n, a * n], axis=-1), np.stack([a * n, a * n], axis=-1)], axis=1)
    xty = np.stack([s, a * s], axis=-1)
    return _arm_effect(ols_from_cluster_sums(xtx, xty, ss, n, DID_TERMS, robust, level))


@dataclass(frozen=True)
class BaselineEquivalence:
    """WWC baseline equivalence: Hedges' g of intervention minus comparison at baseline."""

    hedges_g: float
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def baseline_equivalence_from_moments(
    n_intervention: int,
    mean_intervention: float,
    sd_intervention: float,
    n_comparison: int,
    mean_comparison: float,
    sd_comparison: float,
) -> BaselineEquivalence:
    """Hedges' g as the WWC computes it, and the WWC v5.0 verdict for it.

    g = ω · (mean_i − mean_c) / pooled SD, pooled SD with n − 1 weights, and the WWC's small
    sample correction ω = 1 − 3 / (4N − 9), N = n_i + n_c (WWC Procedures and Standards
    Handbook v5.0, appendix on effect sizes). The verdict uses |g|: ≤ 0.05 satisfied,
    ≤ 0.25 requires statistical adjustment for the baseline, else not equivalent. With
    fewer than two people in an arm or no spread, g is NaN and the verdict not equivalent
    (equivalence cannot be shown).
    """
    n_i, n_c = int(n_intervention), int(n_comparison)
    total = n_i + n_c
    if n_i < 2 or n_c < 2:
        return BaselineEquivalence(hedges_g=NAN, verdict=NOT_EQUIVALENT)
    pooled_var = ((n_i - 1) * sd_intervention**2 + (n_c - 1) * sd_comparison**2) / (total - 2)
    if not pooled_var > 0:
        return BaselineEquivalence(hedges_g=NAN, verdict=NOT_EQUIVALENT)
    omega = 1 - 3 / (4 * total - 9)
    g = omega * (mean_intervention - mean_comparison) / math.sqrt(pooled_var)
    return BaselineEquivalence(hedges_g=g, verdict=equivalence_verdict(g))


def baseline_equivalence(
    baseline_intervention: ArrayLike, baseline_comparison: ArrayLike
) -> BaselineEquivalence:
    """``baseline_equivalence_from_moments`` from the two arms' baseline scores."""
    i = np.asarray(baseline_intervention, dtype=float)
    c = np.asarray(baseline_comparison, dtype=float)
    sd = [float(np.std(v, ddof=1)) if len(v) > 1 else NAN for v in (i, c)]
    mean = [float(np.mean(v)) if len(v) else NAN for v in (i, c)]
    return baseline_equivalence_from_moments(len(i), mean[0], sd[0], len(c), mean[1], sd[1])


def equivalence_verdict(g: float) -> str:
    """The WWC v5.0 verdict for a baseline Hedges' g (NaN: not equivalent)."""
    for limit, verdict in EQUIVALENCE_LIMITS:
        if abs(g) <= limit:
            return verdict
    return NOT_EQUIVALENT


@dataclass(frozen=True)
class AttritionStandard:
    """Overall and differential attrition (as proportions) against the WWC boundaries."""

    overall: float
    differential: float
    attrition_intervention: float
    attrition_comparison: float
    cautious_max_differential: float
    optimistic_max_differential: float
    low_cautious: bool
    low_optimistic: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def attrition_standard(
    assigned_intervention: int,
    analysed_intervention: int,
    assigned_comparison: int,
    analysed_comparison: int,
) -> AttritionStandard:
    """WWC overall and differential attrition, and whether each boundary calls it low.

    Attrition of an arm = 1 − analysed / assigned; overall = 1 − (analysed total) / (assigned
    total); differential = |intervention − comparison|. The row of the boundary table is the
    overall rate rounded to a whole percentage point; attrition is low when the (unrounded)
    differential is at most that row's value. Beyond the table (over 57 %) it is high.
    """
    counts = (
        assigned_intervention,
        analysed_intervention,
        assigned_comparison,
        analysed_comparison,
    )
    if any(int(c) != c or c < 0 for c in counts):
        raise ValueError(f"attrition counts must be whole numbers >= 0, got {counts}")
    if assigned_intervention < 1 or assigned_comparison < 1:
        raise ValueError("each arm needs at least one person assigned")
    if analysed_intervention > assigned_intervention or analysed_comparison > assigned_comparison:
        raise ValueError("an arm cannot analyse more people than were assigned to it")
    rate_i = 1 - analysed_intervention / assigned_intervention
    rate_c = 1 - analysed_comparison / assigned_comparison
    overall = 1 - (analysed_intervention + analysed_comparison) / (
        assigned_intervention + assigned_comparison
    )
    differential = abs(rate_i - rate_c)
    row = math.floor(overall * 100 + 0.5)
    limits = {name: table[row] if row < len(table) else NAN for name, table in BOUNDARIES.items()}
    # compare in percentage points, with a hair of tolerance for binary floating point
    low = {name: differential * 100 <= limit + 1e-9 for name, limit in limits.items()}
    return AttritionStandard(
        overall=overall,
        differential=differential,
        attrition_intervention=rate_i,
        attrition_comparison=rate_c,
        cautious_max_differential=round(limits["cautious"] / 100, 6),
        optimistic_max_differential=round(limits["optimistic"] / 100, 6),
        low_cautious=low["cautious"],
        low_optimistic=low["optimistic"],
    )
