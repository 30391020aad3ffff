"""Small-study bias and influence diagnostics for a meta-analysis, as R metafor computes them.

The research-evidence page pools published studies (``stats/meta.py``). Before a pooled
estimate is trusted one asks whether small studies tell a different story from large ones
(publication bias is one cause) and whether a single study drives the result. This module
gives the usual answers: Egger's regression test in metafor's two forms (the mixed-effects
``regtest`` default and the classical weighted regression ``model = "lm"``), Begg's rank
test, Duval & Tweedie's trim-and-fill (estimator L0), leave-one-out estimates, Cook's
distances, and the contour lines of a contour-enhanced funnel plot.

Funnel-asymmetry methods have little power and mislead with few studies, so they are shown
only when a domain has at least ``MIN_STUDIES_FOR_BIAS`` = 10 studies (Sterne et al. 2011);
``small_study_note(k)`` gives the sentence to show instead. The functions themselves compute
for any k they can (at least 3 studies) so that they can be checked against metafor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy import stats as scipy_stats

from stats.distributions import norm_ppf, norm_sf, t_ppf, t_sf

from .meta import METHODS, meta_analysis

MIN_STUDIES_FOR_BIAS = 10  # Sterne et al. 2011: funnel-asymmetry tests need >= 10 studies
MIN_STUDIES = 3  # the fewest for which each function here is defined
_TOL = 1e-12  # REML stopping rule: fully converged, not metafor's default 1e-5
_MAX_ITER = 10_000
StudyId = int | str


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EggerTest:
    """Egger's test as metafor's default ``regtest``: a mixed-effects meta-regression of yi on
    its standard error. ``z``/``p`` test the slope; the intercept is the limit estimate, the
    effect expected for a study of infinite precision, with its Wald CI."""

    k: int
    method: str
    slope: float
    z: float
    p: float
    tau2: float
    limit_estimate: float
    limit_se: float
    limit_ci_low: float
    limit_ci_high: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class EggerClassical:
    """The classical Egger regression (metafor ``regtest(model = "lm")``): weighted least
    squares of yi on its standard error, weights 1/vi, residual variance estimated; ``t`` on
    the slope with ``df`` = k - 2."""

    k: int
    slope: float
    t: float
    df: int
    p: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class RankTest:
    """Begg & Mazumdar's rank correlation: Kendall's tau between standardised deviates and
    sampling variances. ``exact`` says whether p is the exact permutation p (no ties) or the
    normal approximation."""

    k: int
    tau: float
    p: float
    exact: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class TrimAndFill:
    """Duval & Tweedie trim-and-fill with estimator L0. ``k0`` studies were estimated missing
    on ``side``; ``estimate``/``se``/``tau2`` are from the model refitted with them filled in.
    ``filled_yi``/``filled_vi`` are the filled (mirror-image) studies, to draw hollow."""

    k: int
    method: str
    k0: int
    side: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    filled_yi: tuple[float, ...]
    filled_vi: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class LeaveOneOut:
    """The model refitted without one study: its estimate, SE, Q and tau^2."""

    study_id: StudyId
    estimate: float
    se: float
    q: float
    tau2: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class CooksDistance:
    """Cook's distance of one study on the pooled estimate."""

    study_id: StudyId
    value: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class FunnelContour:
    """One significance contour of a contour-enhanced funnel plot centred at 0: the straight
    lines effect = +-z * se from se = 0 to ``se_max``. Points of (effect, se) outside the lines
    are significant at two-sided p < 1 - ``level``."""

    level: float
    z: float
    se: tuple[float, float]
    low: tuple[float, float]
    high: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


# --- helpers -------------------------------------------------------------------------------


def small_study_note(k: int) -> str | None:
    """None when a domain has enough studies for small-study bias to be shown, else the
    sentence to show instead."""
    if k >= MIN_STUDIES_FOR_BIAS:
        return None
    return (
        f"Small-study bias is assessed only with at least {MIN_STUDIES_FOR_BIAS} studies "
        f"(Sterne et al. 2011); this domain has {k}."
    )


def _check(yi: Sequence[float], vi: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise ValueError("yi and vi must have the same length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("yi must be finite and vi finite and > 0 (drop incomplete studies)")
    if y.size < MIN_STUDIES:
        raise ValueError(f"{what} needs at least {MIN_STUDIES} studies, got {y.size}")
    return y, v


def _method(method: str) -> str:
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _ids(study_ids: Sequence[StudyId] | None, k: int) -> list[StudyId]:
    if study_ids is None:
        return list(range(1, k + 1))
    ids = list(study_ids)
    if len(ids) != k:
        raise ValueError(f"study_ids has {len(ids)} entries for {k} studies")
    return ids


def _residual_projection(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^-1 X'W, the weighted residual-forming matrix (Raudenbush 2009)."""
    wx = x * w[:, None]
    return np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)


def _regression_tau2(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> float:
    """Residual heterogeneity tau^2 of the meta-regression of y on x, as metafor's rma."""
    k, p = x.shape
    if method == "FE":
        return 0.0
    p_fe = _residual_projection(x, 1 / v)
    qe = float(y @ p_fe @ y)
    if method == "DL":
        # Raudenbush 2009, ch. 16 (DL, moderators): tau^2 = max(0, (QE - (k - p)) / tr(P))
        return max(0.0, (qe - (k - p)) / float(np.trace(p_fe)))
    if method == "PM":
        # Paule & Mandel 1982, with moderators: solve y' P(tau^2) y = k - p
        def excess(tau2: float) -> float:
            return float(y @ _residual_projection(x, 1 / (v + tau2)) @ y) - (k - p)

        if excess(0.0) <= 0:
            return 0.0
        upper = max(1.0, float(np.var(y, ddof=1)))
        while excess(upper) > 0:
            upper *= 2
        return float(optimize.brentq(excess, 0.0, upper, xtol=1e-14, rtol=1e-14))
    # REML by Fisher scoring (Viechtbauer 2005; metafor): step (y'PPy - tr P) / tr(PP)
    tau2 = max(0.0, (qe - (k - p)) / float(np.trace(p_fe)))
    for _ in range(_MAX_ITER):
        proj = _residual_projection(x, 1 / (v + tau2))
        py = proj @ y
        step = float(py @ py - np.trace(proj)) / float(np.sum(proj * proj))
        while tau2 + step < 0:  # step halving keeps tau^2 >= 0, as metafor
            step /= 2
            if abs(step) < _TOL:
                return 0.0
        tau2 += step
        if abs(step) < _TOL:
            return tau2
    raise RuntimeError(f"REML tau^2 did not converge in {_MAX_ITER} iterations")


def _meta_regression(
    y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their variance-covariance matrix and tau^2 of the mixed-effects
    meta-regression of y on x (metafor rma with mods, z tests)."""
    tau2 = _regression_tau2(y, v, x, method)
    w = 1 / (v + tau2)
    xtwx = x.T @ (x * w[:, None])
    vcov = np.linalg.inv(xtwx)  # Raudenbush 2009: Var(b) = (X'WX)^-1
    beta = vcov @ (x.T @ (w * y))
    return beta, vcov, tau2


def _sei_design(v: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(v), np.sqrt(v)])


# --- tests ---------------------------------------------------------------------------------


def egger_test(
    yi: Sequence[float], vi: Sequence[float], method: str = "REML", level: float = 0.95
) -> EggerTest:
    """Egger's regression test in metafor's default form (``regtest``): the meta-regression
    ``rma(yi, vi, mods = ~ sei, method)``; z test of the sei slope, and the intercept as the
    limit estimate with its Wald CI. Needs at least 3 studies."""
    # Egger et al. 1997; metafor regtest(model = "rma", predictor = "sei")
    method = _method(method)
    y, v = _check(yi, vi, "Egger's test")
    beta, vcov, tau2 = _meta_regression(y, v, _sei_design(v), method)
    se = np.sqrt(np.diag(vcov))
    z = float(beta[1] / se[1])
    crit = norm_ppf(0.5 + level / 2)
    return EggerTest(
        k=int(y.size),
        method=method,
        slope=float(beta[1]),
        z=z,
        p=2 * norm_sf(abs(z)),
        tau2=tau2,
        limit_estimate=float(beta[0]),
        limit_se=float(se[0]),
        limit_ci_low=float(beta[0] - crit * se[0]),
        limit_ci_high=float(beta[0] + crit * se[0]),
    )


def egger_classical(
    yi: Sequence[float], vi: Sequence[float], level: float = 0.95
) -> EggerClassical:
    """The classical Egger test: weighted regression of yi on sei with weights 1/vi and a
    multiplicative dispersion (residual variance estimated), t on k - 2 df; equivalent to the
    OLS of yi/sei on 1/sei. Needs at least 3 studies."""
    # Egger et al. 1997; metafor regtest(model = "lm"): lm(yi ~ sei, weights = 1/vi)
    y, v = _check(yi, vi, "Egger's classical test")
    x = _sei_design(v)
    w = 1 / v
    xtwx = x.T @ (x * w[:, None])
    beta = np.linalg.solve(xtwx, x.T @ (w * y))
    df = int(y.size - 2)
    resid = y - x @ beta
    sigma2 = float(np.sum(w * resid**2)) / df  # weighted residual variance
    se = np.sqrt(np.diag(np.linalg.inv(xtwx)) * sigma2)
    t = float(beta[1] / se[1])
    crit = t_ppf(0.5 + level / 2, df)
    return EggerClassical(
        k=int(y.size),
        slope=float(beta[1]),
        t=t,
        df=df,
        p=2 * t_sf(abs(t), df),
        limit_estimate=float(beta[0]),
        limit_ci_low=float(beta[0] - crit * se[0]),
        limit_ci_high=float(beta[0] + crit * se[0]),
    )


def _kendall_exact_p(concordant: int, n: int) -> float:
    """Two-sided exact p of Kendall's statistic for n untied pairs (R cor.test, exact)."""
    # Kendall 1938: the number of discordant pairs has the Mahonian distribution of inversions
    counts = np.zeros(n * (n - 1) // 2 + 1)
    counts[0] = 1.0
    for m in range(2, n + 1):
        current = counts.copy()
        for j in range(1, m):
            current[j:] += counts[: counts.size - j]
        counts = current / m  # kept as probabilities: the counts themselves reach n!
    cdf = np.cumsum(counts)
    total = n * (n - 1) // 2
    # R cor.test: q > T/2 -> P(Q >= q), else P(Q <= q); doubled and capped at 1
    tail = 1 - cdf[concordant - 1] if concordant > total / 2 else cdf[concordant]
    return float(min(1.0, 2 * tail))


def rank_test(yi: Sequence[float], vi: Sequence[float]) -> RankTest:
    """Begg's rank test (metafor ``ranktest``): Kendall's tau between the standardised
    deviates (yi - mu_FE) / sqrt(vi - 1/sum w) and vi. p is exact when there are no ties
    (R ``cor.test(exact = TRUE)``), else the tie-corrected normal approximation."""
    # Begg & Mazumdar 1994; metafor ranktest
    y, v = _check(yi, vi, "the rank test")
    w = 1 / v
    mu = float(np.sum(w * y) / np.sum(w))
    deviates = (y - mu) / np.sqrt(v - 1 / np.sum(w))
    n = int(y.size)
    ties = np.unique(deviates).size < n or np.unique(v).size < n
    tau = float(scipy_stats.kendalltau(deviates, v).statistic)  # tau-b, as R's cor()
    if not ties:
        concordant = round((tau + 1) * n * (n - 1) / 4)
        p = _kendall_exact_p(concordant, n)
    else:
        p = float(scipy_stats.kendalltau(deviates, v, method="asymptotic").pvalue)
    return RankTest(k=n, tau=tau, p=p, exact=not ties)


def _slope_side(y: np.ndarray, v: np.ndarray, method: str) -> str:
    """metafor trimfill's default side: 'right' when the slope of yi on sei (same model type)
    is negative, i.e. the missing studies are on the right, else 'left'."""
    beta, _, _ = _meta_regression(y, v, _sei_design(v), method)
    return "right" if beta[1] < 0 else "left"


def trim_and_fill(
    yi: Sequence[float],
    vi: Sequence[float],
    method: str = "REML",
    side: str | None = None,
    level: float = 0.95,
    max_iter: int = 100,
) -> TrimAndFill:
    """Duval & Tweedie's trim-and-fill, estimator L0, as metafor's ``trimfill``.

    Iterates: fit the trimmed studies, rank the absolute centred deviates of all studies,
    L0 = (4 S_r - k(k + 1)) / (2k - 1) with S_r the sum of the positive signed ranks, trim
    the k0 most extreme studies on ``side``. Then the mirror images 2 mu - yi of the trimmed
    studies (same vi) are added and the model is refitted with ``method``. ``side`` defaults
    to metafor's choice from the sign of the Egger-type slope.
    """
    # Duval & Tweedie 2000; metafor trimfill(estimator = "L0")
    method = _method(method)
    y, v = _check(yi, vi, "trim-and-fill")
    if side is None:
        side = _slope_side(y, v, method)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * y, kind="stable")
    ys, vs = flip * y[order], v[order]  # sorted so that the side to fill is the low end
    k = int(y.size)

    k0, previous, mu = 0, -1, 0.0
    for _ in range(max_iter):
        if k0 == previous:
            break
        previous = k0
        if k - k0 < 2:
            raise ValueError("trim-and-fill trimmed all but one study: too few studies")
        mu = meta_analysis(ys[: k - k0], vs[: k - k0], method=method).mu
        centred = ys - mu
        ranks = scipy_stats.rankdata(np.abs(centred), method="ordinal")  # R ties "first"
        s_r = float(np.sum(ranks[centred > 0]))
        # Duval & Tweedie 2000: L0 = (4 S_r - k(k + 1)) / (2k - 1), rounded, at least 0
        k0 = max(0, round((4 * s_r - k * (k + 1)) / (2 * k - 1)))
    else:
        raise RuntimeError(f"trim-and-fill did not converge in {max_iter} iterations")

    filled_y = flip * (2 * mu - ys[k - k0 :])  # mirror images about the trimmed estimate
    filled_v = vs[k - k0 :]
    if k0 > 0:
        fit = meta_analysis(np.r_[y, filled_y], np.r_[v, filled_v], method=method, level=level)
    else:
        fit = meta_analysis(y, v, method=method, level=level)
    return TrimAndFill(
        k=k,
        method=method,
        k0=int(k0),
        side=side,
        estimate=fit.mu,
        se=fit.se,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        tau2=fit.tau2,
        filled_yi=tuple(float(value) for value in filled_y),
        filled_vi=tuple(float(value) for value in filled_v),
    )


# --- influence -----------------------------------------------------------------------------


def leave_one_out(
    yi: Sequence[float],
    vi: Sequence[float],
    method: str = "REML",
    study_ids: Sequence[StudyId] | None = None,
) -> list[LeaveOneOut]:
    """The model refitted without each study in turn (metafor ``leave1out``): estimate, SE,
    Cochran's Q of the remaining studies and their tau^2. ``study_ids`` default to 1..k."""
    # Viechtbauer & Cheung 2010; metafor leave1out
    method = _method(method)
    y, v = _check(yi, vi, "leave-one-out")
    keep = ~np.eye(y.size, dtype=bool)
    out = []
    for i, study_id in enumerate(_ids(study_ids, y.size)):
        fit = meta_analysis(y[keep[i]], v[keep[i]], method=method)
        out.append(LeaveOneOut(study_id, fit.mu, fit.se, fit.q, fit.tau2))
    return out


def cooks_distance(
    yi: Sequence[float],
    vi: Sequence[float],
    method: str = "REML",
    study_ids: Sequence[StudyId] | None = None,
) -> list[CooksDistance]:
    """Cook's distance of each study (metafor ``cooks.distance``): (mu - mu_(-i))^2 / Var(mu),
    mu_(-i) from the refit without study i (tau^2 re-estimated), Var(mu) of the full model."""
    # Viechtbauer & Cheung 2010; metafor influence.rma.uni: dfb' vb^-1 dfb
    method = _method(method)
    y, v = _check(yi, vi, "Cook's distance")
    full = meta_analysis(y, v, method=method)
    return [
        CooksDistance(row.study_id, (full.mu - row.estimate) ** 2 / full.se**2)
        for row in leave_one_out(y, v, method=method, study_ids=study_ids)
    ]


# --- plot geometry -------------------------------------------------------------------------


def funnel_contours(
    se_max: float, levels: Sequence[float] = (0.90, 0.95, 0.99)
) -> list[FunnelContour]:
    """The significance contours of a contour-enhanced funnel plot centred at 0, from the
    narrowest level to the widest: the lines effect = +-z_level * se for se in [0, se_max]."""
    # Peters et al. 2008; metafor funnel(level = c(90, 95, 99), refline = 0)
    if not (math.isfinite(se_max) and se_max > 0):
        raise ValueError(f"se_max must be a positive number, got {se_max!r}")
    if any(not 0 < level < 1 for level in levels):
        raise ValueError(f"levels must lie between 0 and 1, got {tuple(levels)!r}")
    out = []
    for level in sorted(levels):
        z = norm_ppf(0.5 + level / 2)
        out.append(
            FunnelContour(
                level=float(level),
                z=z,
                se=(0.0, float(se_max)),
                low=(0.0, -z * se_max),
                high=(0.0, z * se_max),
            )
        )
    return out
