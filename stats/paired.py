"""Paired (within-person) change between two survey waves.

Attune's core question is "did the same people score better at the later wave?", so every
result here is computed on matched pairs only. Two entry points give identical numbers:

* ``paired_change`` takes the raw paired scores (used in tests, exports and notebooks);
* ``paired_change_from_moments`` takes the aggregates DuckDB can compute in one query
  (n, the two means, the two SDs and the SD of the differences), which is what the app uses.

Direction: raw means and SDs are reported as they are, but the mean change, its CI, t and
every effect size are signed so that improvement is positive (``higher_is_better=False``
flips the sign for symptom scales where lower is better).

Degenerate input (fewer than two pairs, or zero spread) does not raise: the affected
statistics are NaN so that a dashboard can show "not enough data" instead of crashing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special
from scipy import stats as sps

from stats.distributions import norm_ppf, norm_sf, t_ppf, t_sf

NAN = float("nan")


@dataclass(frozen=True)
class PairedChange:
    """Change from one wave to another in the same people (improvement is positive)."""

    n_pairs: int
    mean_from: float
    mean_to: float
    sd_from: float
    sd_to: float
    r: float
    mean_change: float
    sd_change: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    d_z: float
    d_z_ci_low: float
    d_z_ci_high: float
    d_av: float
    g_av: float
    d_rm: float
    wilcoxon_p: float | None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (for JSON, DataFrames and Dash tables)."""
        return asdict(self)


def hedges_j(df: float) -> float:
    """Exact small-sample bias correction J for a standardised mean difference.

    NaN for df <= 1, where the correction is undefined (as in metafor's ``.cmicalc``).
    """
    if not math.isfinite(df) or df <= 1:
        return NAN
    # Hedges 1981 (exact J): J = Gamma(df/2) / (sqrt(df/2) * Gamma((df-1)/2))
    return math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)


def _float(value: float | None) -> float:
    """float(), with None (a SQL NULL, e.g. DuckDB's stddev of one row) as NaN."""
    return NAN if value is None else float(value)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")


def _r_from_sds(sd_from: float, sd_to: float, sd_change: float) -> float:
    """Pearson r between the waves, recovered from the two SDs and the SD of differences."""
    if not (sd_from > 0 and sd_to > 0 and math.isfinite(sd_change)):
        return NAN
    # var(y - x) = var(x) + var(y) - 2 r sd(x) sd(y), solved for r
    r = (sd_from**2 + sd_to**2 - sd_change**2) / (2 * sd_from * sd_to)
    return min(1.0, max(-1.0, r))  # clip floating-point overshoot


def _noncentrality_ci(t_obs: float, df: float, level: float) -> tuple[float, float]:
    """CI of the noncentrality parameter of a t statistic, by inverting scipy's nct CDF.

    The search starts from the large-sample interval t ± z·sqrt(1 + t²/(2·df)) (Hedges &
    Olkin 1985), which brackets the exact root in a few steps. Where scipy's nct cannot be
    evaluated (t in the hundreds, i.e. tens of thousands of pairs), that large-sample
    interval is returned: there it agrees with the exact one to well under 1e-4.
    """
    alpha = 1 - level
    z = norm_ppf(1 - alpha / 2)
    spread = math.sqrt(1 + t_obs**2 / (2 * df))  # large-sample SE of the ncp estimate

    def root(target: float, approximate: float) -> float:
        # nct.cdf(t_obs; df, ncp) decreases in ncp: bracket the root, then brentq.
        def f(ncp: float) -> float:
            # scipy's nct.cdf is special.nctdtr behind a generic wrapper 25x its cost
            return float(special.nctdtr(df, ncp, t_obs)) - target

        step = 0.25 * spread
        low, high = approximate - step, approximate + step
        for _ in range(60):
            f_low, f_high = f(low), f(high)
            if math.isnan(f_low) or math.isnan(f_high):
                return approximate
            if f_low >= 0 >= f_high:
                return float(optimize.brentq(f, low, high, xtol=1e-12))
            step *= 2
            if f_low < 0:
                low = approximate - step
            if f_high > 0:
                high = approximate + step
        return NAN

    # Steiger & Fouladi 1997: the CI bounds are the ncps placing t_obs at 1-a/2 and a/2
    return root(1 - alpha / 2, t_obs - z * spread), root(alpha / 2, t_obs + z * spread)


def paired_t(n: int, mean_change: float, sd_change: float) -> tuple[float, float]:
    """The paired t statistic and its two-sided p, from n pairs and the mean and SD of their
    differences; NaN for both without spread (n < 2, or an SD that is 0 or not finite)."""
    if n < 2 or not (sd_change > 0 and math.isfinite(sd_change)):
        return NAN, NAN
    t = mean_change / (sd_change / math.sqrt(n))  # Student 1908: mean diff / (SD diff / sqrt(n))
    return t, 2 * t_sf(abs(t), float(n - 1))


def paired_change_from_moments(
    n: int,
    mean_from: float | None,
    mean_to: float | None,
    sd_from: float | None,
    sd_to: float | None,
    sd_change: float | None,
    higher_is_better: bool = True,
    level: float = 0.95,
    wilcoxon_p: float | None = None,
) -> PairedChange:
    """Paired change from aggregates: n pairs, wave means and SDs, SD of the differences.

    This is the form the app uses (DuckDB computes the moments). The correlation between
    waves is recovered from the three SDs, so no raw data are needed. ``wilcoxon_p`` is
    passed through (compute it with ``wilcoxon_p_from_ranks``) or left as None.
    All SDs use the n - 1 denominator; None (SQL NULL) is read as missing.
    """
    _check_level(level)
    n = int(n or 0)
    sign = 1.0 if higher_is_better else -1.0
    mean_from, mean_to = _float(mean_from), _float(mean_to)
    sd_from, sd_to, sd_change = _float(sd_from), _float(sd_to), _float(sd_change)
    mean_change = sign * (mean_to - mean_from) if n >= 1 else NAN
    r = _r_from_sds(sd_from, sd_to, sd_change) if n >= 2 else NAN
    df = float(n - 1) if n >= 2 else NAN

    ci_low = ci_high = t = p = d_z = d_z_lo = d_z_hi = NAN
    if n >= 2 and sd_change > 0 and math.isfinite(sd_change):
        se = sd_change / math.sqrt(n)
        t_crit = t_ppf(0.5 + level / 2, df)
        # Student 1908: t interval for the mean of the paired differences
        ci_low, ci_high = mean_change - t_crit * se, mean_change + t_crit * se
        t, p = paired_t(n, mean_change, sd_change)
        d_z = mean_change / sd_change  # Lakens 2013, eq. 6
        ncp_lo, ncp_hi = _noncentrality_ci(t, df, level)
        d_z_lo, d_z_hi = ncp_lo / math.sqrt(n), ncp_hi / math.sqrt(n)  # d_z = ncp / sqrt(n)

    d_av = g_av = d_rm = NAN
    if n >= 2 and sd_from + sd_to > 0:
        d_av = mean_change / ((sd_from + sd_to) / 2)  # Lakens 2013, eq. 10
        g_av = d_av * hedges_j(df)  # paired convention: J with df = n - 1 (as metafor)
    if n >= 2 and math.isfinite(r) and r < 1:
        denom = math.sqrt(max(sd_from**2 + sd_to**2 - 2 * r * sd_from * sd_to, 0.0))
        if denom > 0:
            # Lakens 2013, eq. 9 (Morris & DeShon 2002)
            d_rm = mean_change / denom * math.sqrt(2 * (1 - r))

    return PairedChange(
        n_pairs=n,
        mean_from=mean_from if n >= 1 else NAN,
        mean_to=mean_to if n >= 1 else NAN,
        sd_from=sd_from if n >= 2 else NAN,
        sd_to=sd_to if n >= 2 else NAN,
        r=r,
        mean_change=mean_change,
        sd_change=sd_change if n >= 2 else NAN,
        ci_low=ci_low,
        ci_high=ci_high,
        t=t,
        df=df,
        p=p,
        d_z=d_z,
        d_z_ci_low=d_z_lo,
        d_z_ci_high=d_z_hi,
        d_av=d_av,
        g_av=g_av,
        d_rm=d_rm,
        wilcoxon_p=None if wilcoxon_p is None else _float(wilcoxon_p),
    )


def _wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p (zeros dropped), NaN when undefined."""
    if differences.size < 2 or not np.any(differences != 0):
        return NAN
    magnitudes = np.abs(differences[differences != 0])
    has_ties_or_zeros = magnitudes.size < differences.size or (
        np.unique(magnitudes).size < magnitudes.size
    )
    # Like scipy's method='auto' (exact null distribution for n <= 50 without ties or zeros,
    # else the tie-corrected normal approximation without continuity correction), except
    # that 'auto' would run a permutation test for n <= 13 with ties, which takes seconds.
    # The approximation is what the SQL path (wilcoxon_p_from_ranks) computes as well.
    method = "exact" if differences.size <= 50 and not has_ties_or_zeros else "asymptotic"
    res = sps.wilcoxon(
        differences,
        zero_method="wilcox",
        alternative="two-sided",
        method=method,
        correction=False,
    )
    return float(res.pvalue)


def paired_change(
    scores_from: ArrayLike,
    scores_to: ArrayLike,
    higher_is_better: bool = True,
    level: float = 0.95,
) -> PairedChange:
    """Paired change from raw scores; position i in both arrays is the same person.

    Pairs with a missing (NaN/None) or non-finite score on either side are dropped:
    only people measured at both waves count. Adds the two-sided Wilcoxon signed-rank p
    (zero differences dropped): exact for n <= 50 without ties or zeros, otherwise the
    tie-corrected normal approximation, which equals ``wilcoxon_p_from_ranks``.
    """
    x = np.asarray(scores_from, dtype=float)
    y = np.asarray(scores_to, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("scores_from and scores_to must be 1-D arrays of equal length")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    if n == 0:
        return paired_change_from_moments(
            0, NAN, NAN, NAN, NAN, NAN, higher_is_better, level, wilcoxon_p=NAN
        )
    diffs = y - x
    ddof_ok = n >= 2
    return paired_change_from_moments(
        n,
        float(x.mean()),
        float(y.mean()),
        float(x.std(ddof=1)) if ddof_ok else NAN,
        float(y.std(ddof=1)) if ddof_ok else NAN,
        float(diffs.std(ddof=1)) if ddof_ok else NAN,
        higher_is_better=higher_is_better,
        level=level,
        wilcoxon_p=_wilcoxon_p(diffs),
    )


def wilcoxon_p_from_ranks(n_nonzero: int, w_plus: float, tie_term: float) -> float:
    """Two-sided normal-approximation p of the Wilcoxon signed-rank test from rank sums.

    ``n_nonzero`` is the number of non-zero differences, ``w_plus`` the sum of the (mid)ranks
    of |d| belonging to positive differences, and ``tie_term`` = sum(t^3 - t) over groups of
    tied |d|. These can all be computed in SQL with window functions. No continuity
    correction; equals ``scipy.stats.wilcoxon(d, method='asymptotic', correction=False)``.
    NaN when there are no non-zero differences.
    """
    n = int(n_nonzero)
    if n < 1:
        return NAN
    mean = n * (n + 1) / 4  # E[W+] under H0 (Wilcoxon 1945)
    # tie-corrected Var[W+] (Hollander, Wolfe & Chicken 2014, sec. 3.1)
    var = n * (n + 1) * (2 * n + 1) / 24 - float(tie_term) / 48
    if var <= 0:
        return NAN
    z = (float(w_plus) - mean) / math.sqrt(var)
    return 2 * norm_sf(abs(z))
