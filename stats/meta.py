"""Random-effects meta-analysis of published studies, following R metafor's conventions.

The research-evidence page pools published effect sizes for a programme so that local
results can be read against them. Estimators: fixed effect ("FE"), DerSimonian-Laird
("DL"), restricted maximum likelihood ("REML", metafor's default) and Paule-Mandel ("PM"),
optionally with the Hartung-Knapp-Sidik-Jonkman (HKSJ) t-based interval. statsmodels'
``combine_effects`` has no REML and a different I^2, hence this module. The effect-size
helpers at the bottom turn what papers report into (yi, vi) pairs as metafor's ``escalc``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize

from stats.distributions import chi2_sf, norm_ppf, norm_sf, t_ppf, t_sf

from .paired import hedges_j

NAN = float("nan")
METHODS = ("FE", "DL", "REML", "PM")


@dataclass(frozen=True)
class MetaResult:
    """Pooled estimate, its uncertainty and the between-study heterogeneity.

    ``z`` is set for the usual normal-theory test, ``t`` (with ``df`` = k - 1) when HKSJ is
    used; the other is None. ``i2`` is a percentage. ``tau2_se`` is reported for REML only.
    """

    k: int
    method: str
    hksj: bool
    mu: float
    se: float
    ci_low: float
    ci_high: float
    z: float | None
    t: float | None
    df: int | None
    p: float
    tau2: float
    tau2_se: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def _as_arrays(yi: Sequence[float], vi: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise ValueError("yi and vi must have the same length")
    if y.size == 0:
        raise ValueError("meta-analysis needs at least one study")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("yi must be finite and vi finite and > 0 (drop incomplete studies)")
    return y, v


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * y) / np.sum(w))


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian & Laird 1986 method-of-moments tau^2 (truncated at 0)."""
    w = 1 / v
    q = float(np.sum(w * (y - _weighted_mean(y, w)) ** 2))
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    # DerSimonian & Laird 1986: tau^2 = max(0, (Q - (k-1)) / (sum w - sum w^2 / sum w))
    return max(0.0, (q - (y.size - 1)) / c)


def _tau2_reml(y: np.ndarray, v: np.ndarray, tol: float = 1e-10, max_iter: int = 1000) -> float:
    """REML tau^2 by fixed-point iteration, truncated at 0, started from DerSimonian-Laird."""
    tau2 = _tau2_dl(y, v)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        mu = _weighted_mean(y, w)
        # Viechtbauer 2005, REML estimating equation written as a fixed point
        updated = float(np.sum(w**2 * ((y - mu) ** 2 - v)) / np.sum(w**2) + 1 / np.sum(w))
        updated = max(0.0, updated)
        if abs(updated - tau2) < tol:
            return updated
        tau2 = updated
    raise RuntimeError(f"REML tau^2 did not converge in {max_iter} iterations")


def _tau2_reml_se(v: np.ndarray, tau2: float) -> float:
    """SE of the REML tau^2 from the inverse expected information of the REML likelihood."""
    w = 1 / (v + tau2)
    sw = float(np.sum(w))
    # tr(P P) with P = W - w w' / sum(w); Var(tau^2) = 2 / tr(P P) (Viechtbauer 2005; metafor)
    trace_pp = float(np.sum(w**2) - 2 * np.sum(w**3) / sw + (np.sum(w**2) / sw) ** 2)
    return math.sqrt(2 / trace_pp)


def _generalised_q(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    w = 1 / (v + tau2)
    return float(np.sum(w * (y - _weighted_mean(y, w)) ** 2))


def _tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule & Mandel 1982 tau^2: the value at which the generalised Q equals k - 1."""
    target = y.size - 1
    if _generalised_q(y, v, 0.0) <= target:
        return 0.0

    # Paule & Mandel 1982: solve sum w*(y - mu*)^2 = k - 1, w* = 1/(v + tau^2); Q decreases
    def excess(tau2: float) -> float:
        return _generalised_q(y, v, tau2) - target

    upper = max(1.0, float(np.var(y, ddof=1)))
    while excess(upper) > 0:
        upper *= 2
    return float(optimize.brentq(excess, 0.0, upper, xtol=1e-12, rtol=1e-12))


def meta_analysis(
    yi: Sequence[float],
    vi: Sequence[float],
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
) -> MetaResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi`` (metafor's ``rma``).

    ``method`` is one of "FE", "DL", "REML", "PM". With ``hksj=True`` the SE, CI, p and
    prediction interval use the Hartung-Knapp-Sidik-Jonkman adjustment and t with k - 1 df.
    Raises ValueError for malformed input (no studies, non-finite values, vi <= 0): drop
    incomplete studies first (``to_yi_vi`` returns None for them). With k = 1 the estimate
    is that study's, tau^2 = 0 and heterogeneity statistics are NaN.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    y, v = _as_arrays(yi, vi)
    k = int(y.size)
    q_df = k - 1

    w_fe = 1 / v
    q = float(np.sum(w_fe * (y - _weighted_mean(y, w_fe)) ** 2))  # Cochran 1954: Q
    q_p = chi2_sf(q, q_df) if k >= 2 else NAN

    tau2, tau2_se = 0.0, None
    if k >= 2 and method == "DL":
        tau2 = _tau2_dl(y, v)
    elif k >= 2 and method == "REML":
        tau2 = _tau2_reml(y, v)
        tau2_se = _tau2_reml_se(v, tau2)
    elif k >= 2 and method == "PM":
        tau2 = _tau2_pm(y, v)

    w = 1 / (v + tau2)
    mu = _weighted_mean(y, w)
    se = math.sqrt(1 / np.sum(w))  # inverse-variance SE (Borenstein et al. 2009, chs. 11-12)
    if hksj:
        # Hartung & Knapp 2001; Sidik & Jonkman 2002: se^2 = sum w*(y-mu)^2 / ((k-1) sum w*)
        se = math.sqrt(np.sum(w * (y - mu) ** 2) / (q_df * np.sum(w))) if k >= 2 else NAN
        df: int | None = q_df
        crit = t_ppf(0.5 + level / 2, q_df) if k >= 2 else NAN
        stat = mu / se if se > 0 else NAN  # se = 0 when all estimates coincide
        p = 2 * t_sf(abs(stat), q_df) if k >= 2 else NAN
        z, t = None, stat
    else:
        df = None
        crit = norm_ppf(0.5 + level / 2)
        stat = mu / se
        p = 2 * norm_sf(abs(stat))
        z, t = stat, None

    if method == "FE":
        # metafor's FE convention: I^2 = (Q - df)/Q truncated at 0, H^2 = Q/df
        i2 = (100 * max(0.0, (q - q_df) / q) if q > 0 else 0.0) if k >= 2 else NAN
        h2 = q / q_df if k >= 2 else NAN
        pi_half = crit * se  # no between-study variance: the PI is the CI
    else:
        sw, sw2 = float(np.sum(w_fe)), float(np.sum(w_fe**2))
        # Higgins & Thompson 2002, "typical" within-study variance s^2 (as in metafor)
        s2 = q_df * sw / (sw**2 - sw2) if k >= 2 else NAN
        i2 = 100 * tau2 / (tau2 + s2)  # metafor: I^2 = tau^2 / (tau^2 + s^2)
        h2 = (tau2 + s2) / s2  # metafor: H^2 = (tau^2 + s^2) / s^2
        # Higgins, Thompson & Spiegelhalter 2009 PI; crit z, or t(k-1) with HKSJ (metafor)
        pi_half = crit * math.sqrt(se**2 + tau2)

    return MetaResult(
        k=k,
        method=method,
        hksj=bool(hksj),
        mu=mu,
        se=se,
        ci_low=mu - crit * se,
        ci_high=mu + crit * se,
        z=z,
        t=t,
        df=df,
        p=p,
        tau2=tau2,
        tau2_se=tau2_se,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        pi_low=mu - pi_half,
        pi_high=mu + pi_half,
    )


# --- effect-size conversions (metafor escalc conventions); each returns (yi, vi) ----------


def smd_from_ci(
    g: float, ci_low: float, ci_high: float, level: float = 0.95
) -> tuple[float, float]:
    """A reported standardised mean difference with its CI, as (yi, vi).

    The SE is recovered from the CI width assuming a symmetric normal interval.
    """
    if not ci_high > ci_low:
        raise ValueError(f"need ci_low < ci_high, got [{ci_low!r}, {ci_high!r}]")
    z = norm_ppf(0.5 + level / 2)
    # Cochrane Handbook 6.3.1: SE = (upper - lower) / (2 z)
    return float(g), ((float(ci_high) - float(ci_low)) / (2 * z)) ** 2


def smcr_from_prepost(
    mean_pre: float, mean_post: float, sd_pre: float, r: float, n: int
) -> tuple[float, float]:
    """Standardised mean change with raw-score (pre-SD) standardisation, metafor "SMCR".

    yi is positive when the post mean is higher (callers flip the sign for lower-is-better
    scales). Needs the pre/post correlation r; NaN when n < 3 (J undefined).
    """
    n = int(n)
    j = hedges_j(n - 1)  # exact J with df = n - 1, as metafor's .cmicalc(ni - 1)
    # Becker 1988; metafor escalc("SMCR"): yi = J (m_post - m_pre) / sd_pre
    yi = j * (float(mean_post) - float(mean_pre)) / float(sd_pre)
    # metafor escalc("SMCR") large-sample variance: 2 (1 - r) / n + yi^2 / (2 n)
    vi = 2 * (1 - float(r)) / n + yi**2 / (2 * n)
    return yi, vi


def log_risk_ratio(ai: float, n1: float, ci: float, n2: float) -> tuple[float, float]:
    """Log risk ratio of events ai/n1 (treated) vs ci/n2 (control), metafor "RR".

    As metafor's default (add = 1/2, to = "only0"), 0.5 is added to every cell of the 2x2
    table when any cell is zero.
    """
    a, b, c, d = float(ai), float(n1) - float(ai), float(ci), float(n2) - float(ci)
    if min(a, b, c, d) < 0:
        raise ValueError("event counts must lie between 0 and the group size")
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    m1, m2 = a + b, c + d
    # Borenstein et al. 2009, eqs. 5.2-5.3: yi = ln((a/n1)/(c/n2)), vi = 1/a-1/n1+1/c-1/n2
    return math.log((a / m1) / (c / m2)), 1 / a - 1 / m1 + 1 / c - 1 / m2


def _complete(row: Mapping[str, Any], *keys: str) -> bool:
    for key in keys:
        value = row.get(key)
        if value is None:
            return False
        try:
            if not math.isfinite(float(value)):
                return False
        except (TypeError, ValueError):
            return False
    return True


def to_yi_vi(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """(yi, vi) for one study row, from the most direct information it has.

    Tried in order: ``yi`` + ``vi``; ``g`` + ``ci_low`` + ``ci_high`` (optional ``level``,
    default 0.95); ``mean_pre`` + ``mean_post`` + ``sd_pre`` + ``r`` + ``n`` (SMCR).
    Returns None when none of these sets is complete (missing, None or NaN values).
    """
    if _complete(row, "yi", "vi"):
        return float(row["yi"]), float(row["vi"])
    if _complete(row, "g", "ci_low", "ci_high"):
        level = float(row["level"]) if _complete(row, "level") else 0.95
        return smd_from_ci(row["g"], row["ci_low"], row["ci_high"], level=level)
    if _complete(row, "mean_pre", "mean_post", "sd_pre", "r", "n"):
        return smcr_from_prepost(
            row["mean_pre"], row["mean_post"], row["sd_pre"], row["r"], row["n"]
        )
    return None


def study_effect_size(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """``to_yi_vi`` of one row of the evidence table, whose g interval columns are
    ``g_ci_low`` and ``g_ci_high``; None when the row gives no usable effect size (nothing
    complete, an interval whose ends are the wrong way round, or a variance that is not a
    positive finite number)."""
    try:
        pair = to_yi_vi({**row, "ci_low": row.get("g_ci_low"), "ci_high": row.get("g_ci_high")})
    except ValueError:
        return None
    if pair is None or not (math.isfinite(pair[0]) and math.isfinite(pair[1])) or pair[1] <= 0:
        return None
    return pair
