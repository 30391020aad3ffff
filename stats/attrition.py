"""Attrition: who is lost between waves, and were they different?

Pre/post change is computed on completers only. If people who dropped out started out
better or worse than completers, or had changed more or less by the end of training, the
completers' change may not describe everyone who began the training. This module compares
the two groups (their baseline scores, or their pre→post change: the same statistics fit
both) and builds the wave-by-wave retention funnel.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from stats.distributions import norm_ppf, t_ppf, t_sf

from .paired import _float, hedges_j

NAN = float("nan")


@dataclass(frozen=True)
class AttritionBias:
    """Completers minus dropouts (positive: completers scored higher, or improved more).

    ``difference_ci_low``/``difference_ci_high``: the difference's Welch CI."""

    difference: float
    difference_ci_low: float
    difference_ci_high: float
    hedges_g: float
    g_ci_low: float
    g_ci_high: float
    welch_t: float
    welch_df: float
    p: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def attrition_bias_from_moments(
    n_completers: int,
    mean_completers: float | None,
    sd_completers: float | None,
    n_dropouts: int,
    mean_dropouts: float | None,
    sd_dropouts: float | None,
    level: float = 0.95,
) -> AttritionBias:
    """Compare completers' and dropouts' scores from group sizes, means and SDs: baseline
    scores, or the pre→post change of those who answered both (signed so that improvement is
    positive, so a positive difference says completers improved more).

    Hedges' g uses the pooled SD with the exact small-sample J (df = n1 + n2 - 2) and a
    normal-approximation CI; the test is Welch's t, which does not assume equal variances
    (dropout groups are often small and more variable), and the difference's CI is Welch's,
    with the Welch-Satterthwaite df. Statistics that need at least two
    people per group, or a non-zero SD, are NaN otherwise; None (SQL NULL) reads as missing.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    n1, n2 = int(n_completers or 0), int(n_dropouts or 0)
    m1, m2 = _float(mean_completers), _float(mean_dropouts)
    s1, s2 = _float(sd_completers), _float(sd_dropouts)
    difference = m1 - m2 if n1 >= 1 and n2 >= 1 else NAN
    g = g_lo = g_hi = t = df = p = d_lo = d_hi = NAN
    if n1 >= 2 and n2 >= 2:
        df_pooled = n1 + n2 - 2
        # Borenstein et al. 2009, eq. 4.19: pooled within-group SD
        pooled_sd = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df_pooled)
        if pooled_sd > 0:
            d = difference / pooled_sd  # Borenstein et al. 2009, eq. 4.18
            j = hedges_j(df_pooled)  # exact J (Hedges 1981); eq. 4.22 is its approximation
            g = j * d  # Borenstein et al. 2009, eq. 4.23
            var_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))  # Borenstein 2009, eq. 4.20
            se_g = math.sqrt(j**2 * var_d)  # Borenstein et al. 2009, eq. 4.24
            z = norm_ppf(0.5 + level / 2)
            g_lo, g_hi = g - z * se_g, g + z * se_g
        a, b = s1**2 / n1, s2**2 / n2
        if a + b > 0:
            t = difference / math.sqrt(a + b)  # Welch 1947
            df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))  # Welch-Satterthwaite df
            p = 2 * t_sf(abs(t), df)
            half = t_ppf(0.5 + level / 2, df) * math.sqrt(a + b)  # Welch 1947: CI of the difference
            d_lo, d_hi = difference - half, difference + half
    return AttritionBias(
        difference=difference,
        difference_ci_low=d_lo,
        difference_ci_high=d_hi,
        hedges_g=g,
        g_ci_low=g_lo,
        g_ci_high=g_hi,
        welch_t=t,
        welch_df=df,
        p=p,
    )


def attrition_bias(
    baseline_completers: ArrayLike, baseline_dropouts: ArrayLike, level: float = 0.95
) -> AttritionBias:
    """Raw-score version of ``attrition_bias_from_moments`` (missing scores are dropped)."""
    groups = []
    for values in (baseline_completers, baseline_dropouts):
        x = np.asarray(values, dtype=float).ravel()
        x = x[np.isfinite(x)]
        mean = float(x.mean()) if x.size else NAN
        sd = float(x.std(ddof=1)) if x.size >= 2 else NAN
        groups.append((int(x.size), mean, sd))
    (n1, m1, s1), (n2, m2, s2) = groups
    return attrition_bias_from_moments(n1, m1, s1, n2, m2, s2, level=level)


class FunnelStep(NamedTuple):
    """One wave of the retention funnel: how many responded, as % of the first wave."""

    wave: Hashable
    n: int
    pct_of_pre: float


def attrition_funnel(counts: Mapping[Hashable, int]) -> list[FunnelStep]:
    """Retention per wave as (wave, n, pct_of_pre), in the mapping's order.

    The first entry is the baseline (pass waves in time order, e.g. pre, post, follow-up).
    Percentages are NaN when the baseline count is zero.
    """
    steps = [(wave, int(n)) for wave, n in counts.items()]
    if not steps:
        return []
    baseline = steps[0][1]
    return [FunnelStep(wave, n, 100.0 * n / baseline if baseline > 0 else NAN) for wave, n in steps]
