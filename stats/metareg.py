"""Mixed-effects meta-regression and subgroup analysis, following R metafor's ``rma()``.

Do study characteristics (year, contact hours, audience, format, design) explain why
published effects differ? ``design_matrix`` turns study columns into a model matrix (numeric
columns as they are, categorical ones as treatment-coded dummies like R's ``factor()``),
``meta_regression`` fits y_i = x_i'b + u_i + e_i with u_i ~ N(0, tau^2) and e_i ~ N(0, v_i)
(Viechtbauer 2010), with the Knapp-Hartung adjustment on request, and ``subgroup_analysis``
pools each level separately and tests whether the levels differ. ``bubble_points`` gives
what a bubble plot draws. Moderator analyses compare studies, not people: an association
across studies is observational (ecological) and need not hold within any study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import special

from stats.distributions import chi2_sf, norm_ppf, norm_sf, t_ppf, t_sf

from .meta import MetaResult, meta_analysis

NAN = float("nan")
METAREG_METHODS = ("FE", "DL", "ML", "REML")
INTERCEPT = "intercept"
_TOL = 1e-12  # Fisher-scoring stopping rule: fully converged, not metafor's default 1e-5
_MAX_ITER = 10_000


class Design(NamedTuple):
    """A model matrix, its column names, and which input rows it keeps and drops."""

    x: np.ndarray
    terms: tuple[str, ...]
    kept: tuple[int, ...]
    dropped: tuple[int, ...]


@dataclass(frozen=True)
class MetaCoefficient:
    """One coefficient: estimate, SE, its z (or t with Knapp-Hartung) test and CI."""

    term: str
    estimate: float
    se: float
    z: float | None
    t: float | None
    p: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class MetaRegression:
    """A mixed-effects meta-regression as metafor's ``rma(yi, vi, mods = ...)`` reports it.

    ``qm`` tests every coefficient but the intercept: chi-square on ``qm_df`` df, or with
    Knapp-Hartung an F on (``qm_df``, ``qm_df2``). ``qe`` is the test for residual
    heterogeneity on k - p df. ``tau2`` is the residual between-study variance, ``r2`` the
    percentage of tau^2 the moderators account for and ``i2`` the residual I^2 (percent).
    ``fitted`` (x_i'b) and ``weights`` (1/(v_i + tau^2), as percentages of their sum) are per
    study, for a bubble plot; ``vcov`` is the coefficients' covariance matrix; ``dropped``
    lists input rows left out for a missing moderator (set by ``moderator_analysis``).
    """

    k: int
    p: int
    method: str
    knha: bool
    coefficients: tuple[MetaCoefficient, ...]
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_p: float
    qe: float
    qe_df: int
    qe_p: float
    tau2: float
    tau2_se: float | None
    r2: float | None
    i2: float
    s2w: float
    fitted: tuple[float, ...]
    weights: tuple[float, ...]
    vcov: tuple[tuple[float, ...], ...]
    dropped: tuple[int, ...] = ()

    def coefficient(self, term: str) -> MetaCoefficient:
        """The coefficient named ``term`` (KeyError naming the known terms otherwise)."""
        for coef in self.coefficients:
            if coef.term == term:
                return coef
        raise KeyError(f"no term {term!r}; terms are {[c.term for c in self.coefficients]}")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (coefficients as a list of dicts)."""
        return asdict(self)


@dataclass(frozen=True)
class Subgroup:
    """One level's own random-effects pool."""

    level: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Per-level pools and the test for subgroup differences.

    ``q_between`` is metafor's QM of ``rma(yi, vi, mods = ~ factor(group))``: a Wald test of
    the level dummies in one mixed-effects model with a tau^2 common to all levels, chi-square
    on L - 1 df. ``q_between_separate`` is the alternative of Borenstein et al. (2009, ch. 19)
    that compares the per-level estimates with their own tau^2 (Q of the level estimates
    around their inverse-variance mean). ``dropped`` lists rows without a group.
    """

    method: str
    subgroups: tuple[Subgroup, ...]
    q_between: float
    q_between_df: int
    q_between_p: float
    q_between_separate: float
    q_between_separate_p: float
    tau2_common: float
    dropped: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (subgroups as a list of dicts)."""
        return asdict(self)


@dataclass(frozen=True)
class BubblePoints:
    """What a bubble plot draws: each study at (x, y) with size proportional to its weight,
    and the fitted line with its 95% CI along ``line_x``."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    weight: tuple[float, ...]
    line_x: tuple[float, ...]
    line_fit: tuple[float, ...]
    line_ci_low: tuple[float, ...]
    line_ci_high: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


# --- the design matrix -------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(value != value)  # NaN, NaT
    except TypeError:
        return True  # pandas.NA has no truth value: it is missing


def _is_numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if not _missing(v)]
    return bool(present) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in present
    )


def design_matrix(columns: Mapping[str, Sequence[Any]], mods: Sequence[str]) -> Design:
    """Intercept plus one column per numeric moderator, or treatment-coded dummies per level
    but the first (sorted order, R's ``factor()`` default) of a categorical one.

    A moderator is categorical when its values are not all numbers (strings, booleans), or
    when written ``factor(name)``. Dummy terms are named ``name[level]``. Rows with a missing
    value (None, NaN, empty string) in any moderator are dropped: ``kept`` and ``dropped``
    give the input row indices, so subset yi and vi with ``kept``.
    """
    if not mods:
        raise ValueError("name at least one moderator")
    specs = []
    for mod in mods:
        name, forced = mod, False
        if mod.startswith("factor(") and mod.endswith(")"):
            name, forced = mod[len("factor(") : -1], True
        if name not in columns:
            raise ValueError(f"no study column {name!r}; columns are {sorted(columns)}")
        specs.append((name, forced))
    lengths = {len(columns[name]) for name, _ in specs}
    if len(lengths) != 1:
        raise ValueError("moderator columns must have the same length")
    n = lengths.pop()
    kept = tuple(i for i in range(n) if not any(_missing(columns[name][i]) for name, _ in specs))
    dropped = tuple(i for i in range(n) if i not in set(kept))
    blocks, terms = [np.ones((len(kept), 1))], [INTERCEPT]
    for name, forced in specs:
        values = [columns[name][i] for i in kept]
        if not forced and _is_numeric(values):
            blocks.append(np.asarray(values, dtype=float).reshape(-1, 1))
            terms.append(name)
            continue
        labels = [str(v) for v in values]
        levels = sorted(set(labels))
        if len(levels) < 2:
            raise ValueError(f"moderator {name!r} has a single level {levels}: nothing to compare")
        for level in levels[1:]:
            blocks.append(np.array([[float(lab == level)] for lab in labels]))
            terms.append(f"{name}[{level}]")
    return Design(np.hstack(blocks), tuple(terms), kept, dropped)


# --- estimation ----------------------------------------------------------------------------


def _check_design(y: np.ndarray, v: np.ndarray, x: np.ndarray, terms: Sequence[str]) -> None:
    if y.shape != v.shape or x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("yi, vi and the rows of X must have the same length")
    if len(terms) != x.shape[1]:
        raise ValueError(f"{len(terms)} term names for {x.shape[1]} columns of X")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("yi must be finite and vi finite and > 0 (drop incomplete studies)")
    if not np.all(np.isfinite(x)):
        raise ValueError("X has missing values: drop those studies first (design_matrix does)")
    k, p = x.shape
    if k <= p:
        raise ValueError(
            f"too few studies for the moderators: k = {k} studies, p = {p} coefficients "
            f"({', '.join(terms)}); need k > p"
        )
    for j in range(p):
        if np.linalg.matrix_rank(x[:, : j + 1]) < j + 1:
            raise ValueError(
                f"X is singular: term {terms[j]!r} is a linear combination of "
                f"{', '.join(terms[:j])} in these {k} studies"
            )


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares: b = (X'WX)^-1 X'Wy and (X'WX)^-1."""
    xtwx_inv = np.linalg.inv(x.T @ (w[:, None] * x))
    return xtwx_inv @ (x.T @ (w * y)), xtwx_inv


def _projection(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^-1 X'W (Viechtbauer 2005)."""
    xtwx_inv = np.linalg.inv(x.T @ (w[:, None] * x))
    wx = w[:, None] * x
    return np.diag(w) - wx @ xtwx_inv @ wx.T


def _tau2_dl(y: np.ndarray, v: np.ndarray, x: np.ndarray) -> float:
    """Method-of-moments tau^2 with moderators, truncated at 0 (metafor's "DL")."""
    p_fe = _projection(x, 1 / v)
    rss = float(y @ p_fe @ y)
    # Raudenbush 2009: tau^2 = (Q_E - (k - p)) / tr(P_FE)
    return max(0.0, (rss - (x.shape[0] - x.shape[1])) / float(np.trace(p_fe)))


def _tau2_likelihood(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> float:
    """ML or REML tau^2 by Fisher scoring from the DL value, with metafor's step halving at 0."""
    tau2 = _tau2_dl(y, v, x)
    for _ in range(_MAX_ITER):
        w = 1 / (v + tau2)
        p_mat = _projection(x, w)
        py = p_mat @ y
        if method == "REML":
            # Viechtbauer 2005, REML scoring step: (y'PPy - tr P) / tr(PP)
            step = (float(py @ py) - float(np.trace(p_mat))) / float(np.sum(p_mat * p_mat))
        else:
            # Viechtbauer 2005, ML scoring step: (y'PPy - sum w) / sum w^2
            step = (float(py @ py) - float(np.sum(w))) / float(np.sum(w**2))
        while tau2 + step < 0:
            step /= 2
        tau2 += step
        if abs(step) < _TOL:
            return tau2
    raise RuntimeError(f"{method} tau^2 did not converge in {_MAX_ITER} iterations")


def _tau2(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> float:
    if method == "FE":
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v, x)
    return _tau2_likelihood(y, v, x, method)


def _weighted_adj_r2(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> float:
    """Adjusted R^2 (percent, truncated at 0) of the weighted least-squares fit, as metafor's
    FE models report ``summary(lm(yi ~ X, weights = 1/vi))$adj.r.squared``."""
    k, p = x.shape
    b, _ = _wls(y, x, w)
    rss = float(np.sum(w * (y - x @ b) ** 2))
    tss = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    if tss == 0:
        return 0.0
    # adjusted R^2 = 1 - (1 - R^2)(k - 1)/(k - p)
    return max(0.0, 100 * (1 - (rss / tss) * (k - 1) / (k - p)))


def meta_regression(
    yi: Sequence[float],
    vi: Sequence[float],
    X: np.ndarray | Sequence[Sequence[float]],
    terms: Sequence[str],
    method: str = "REML",
    knha: bool = False,
    adhoc: bool = False,
    level: float = 0.95,
) -> MetaRegression:
    """Fit the mixed-effects meta-regression of ``yi`` (variances ``vi``) on ``X``.

    ``X`` has the intercept as its first column (``design_matrix`` builds it). ``method``:
    "REML" (default, as metafor), "ML", "DL" or "FE". With ``knha=True`` SEs are multiplied
    by sqrt(s2w), s2w = sum w (y - Xb)^2 / (k - p) (Knapp & Hartung 2003), tests and CIs use
    t(k - p) and QM is an F; as metafor's test="knha" s2w is not truncated, so the adjusted
    SEs may be smaller than the unadjusted ones. ``adhoc=True`` (metafor's test="adhoc",
    Jackson et al. 2017) truncates s2w at 1. Raises ValueError when k <= p, X is singular
    (naming the term) or the input is malformed.
    """
    method = method.upper()
    if method not in METAREG_METHODS:
        raise ValueError(f"method must be one of {METAREG_METHODS}, got {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    x = np.asarray(X, dtype=float)
    terms = tuple(terms)
    _check_design(y, v, x, terms)
    if not np.allclose(x[:, 0], 1):
        raise ValueError("the first column of X must be the intercept (all ones)")
    if x.shape[1] < 2:
        raise ValueError("no moderators in X: pool without moderators with meta_analysis")
    knha = bool(knha or adhoc)
    k, p = x.shape

    tau2 = _tau2(y, v, x, method)
    w = 1 / (v + tau2)
    b, vb = _wls(y, x, w)  # Viechtbauer 2010: b = (X'WX)^-1 X'Wy, Var(b) = (X'WX)^-1
    s2w = 1.0
    if knha:
        rss = float(np.sum(w * (y - x @ b) ** 2))
        # Knapp & Hartung 2003: s2w = sum w* (y - Xb)^2 / (k - p); Jackson et al. 2017 "adhoc"
        s2w = rss / (k - p) if rss > np.finfo(float).eps else 0.0
        if adhoc:
            s2w = max(1.0, s2w)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    stat = np.divide(b, se, out=np.full(p, np.nan), where=se > 0)
    df2 = k - p

    slopes = slice(1, p)
    # Wald test of all coefficients but the intercept (Viechtbauer 2010)
    qm = float(b[slopes] @ np.linalg.solve(vb[slopes, slopes], b[slopes])) if se.all() else NAN
    if knha:
        crit = t_ppf(0.5 + level / 2, df2)
        pvals = [2 * t_sf(abs(s), df2) for s in stat]
        qm /= p - 1  # F = QM / m on (m, k - p) df
        qm_p = float(special.fdtrc(p - 1, df2, qm))
    else:
        crit = norm_ppf(0.5 + level / 2)
        pvals = [2 * norm_sf(abs(s)) for s in stat]
        qm_p = chi2_sf(qm, p - 1)
    coefficients = tuple(
        MetaCoefficient(
            term=term,
            estimate=float(b[j]),
            se=float(se[j]),
            z=None if knha else float(stat[j]),
            t=float(stat[j]) if knha else None,
            p=float(pvals[j]),
            ci_low=float(b[j] - crit * se[j]),
            ci_high=float(b[j] + crit * se[j]),
        )
        for j, term in enumerate(terms)
    )

    p_fe = _projection(x, 1 / v)
    qe = max(0.0, float(y @ p_fe @ y))  # Hedges & Olkin 1985: Q_E = sum w (y - Xb_FE)^2
    qe_df = k - p
    vt = qe_df / float(np.trace(p_fe))  # metafor's typical within-study variance
    if method == "FE":  # metafor's FE convention, as stats.meta
        i2 = 100 * max(0.0, (qe - qe_df) / qe) if qe > 0 else 0.0
    else:
        i2 = 100 * tau2 / (vt + tau2)

    tau2_se = None
    if method in ("ML", "REML"):
        p_mat = _projection(x, w)
        info = float(np.sum(p_mat * p_mat)) if method == "REML" else float(np.sum(w**2))
        tau2_se = math.sqrt(2 / info)  # inverse Fisher information of (RE)ML

    if method == "FE":
        r2: float | None = _weighted_adj_r2(y, x, 1 / v)
    else:
        tau2_re = _tau2(y, v, np.ones((k, 1)), method)
        # Raudenbush 2009: R^2 = (tau^2_RE - tau^2_ME) / tau^2_RE, truncated at 0
        r2 = 0.0 if tau2_re == 0 else 100 * max(0.0, (tau2_re - tau2) / tau2_re)

    return MetaRegression(
        k=k,
        p=p,
        method=method,
        knha=knha,
        coefficients=coefficients,
        qm=qm,
        qm_df=p - 1,
        qm_df2=df2 if knha else None,
        qm_p=qm_p,
        qe=qe,
        qe_df=qe_df,
        qe_p=chi2_sf(qe, qe_df),
        tau2=tau2,
        tau2_se=tau2_se,
        r2=r2,
        i2=i2,
        s2w=s2w,
        fitted=tuple(float(f) for f in x @ b),
        weights=tuple(float(f) for f in 100 * w / np.sum(w)),
        vcov=tuple(tuple(float(c) for c in row) for row in vb),
    )


def moderator_analysis(
    yi: Sequence[float],
    vi: Sequence[float],
    columns: Mapping[str, Sequence[Any]],
    mods: Sequence[str],
    method: str = "REML",
    knha: bool = False,
) -> MetaRegression:
    """``design_matrix`` then ``meta_regression`` on the studies it keeps; the result's
    ``dropped`` names the input rows left out for a missing moderator."""
    design = design_matrix(columns, mods)
    rows = list(design.kept)
    y = np.asarray(yi, dtype=float)[rows]
    v = np.asarray(vi, dtype=float)[rows]
    fit = meta_regression(y, v, design.x, design.terms, method=method, knha=knha)
    return MetaRegression(**{**_fields(fit), "dropped": design.dropped})


def _fields(fit: MetaRegression) -> dict[str, Any]:
    return {name: getattr(fit, name) for name in fit.__dataclass_fields__}


# --- subgroups and the bubble plot ---------------------------------------------------------


def subgroup_analysis(
    yi: Sequence[float],
    vi: Sequence[float],
    groups: Sequence[Any],
    method: str = "REML",
) -> SubgroupAnalysis:
    """Pool each level of ``groups`` on its own (``meta_analysis`` with ``method``) and test
    for subgroup differences (Borenstein et al. 2009, chs. 19-21).

    ``q_between`` is metafor's QM of ``mods = ~ factor(group)`` with a common tau^2 (see
    ``SubgroupAnalysis``). Studies with a missing group are dropped and reported. Raises
    ValueError with fewer than two levels or too few studies for the common-tau^2 model.
    """
    method = method.upper()
    if method not in ("FE", "DL", "REML"):
        raise ValueError(f"method must be one of ('FE', 'DL', 'REML'), got {method!r}")
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if len(groups) != y.size or v.size != y.size:
        raise ValueError("yi, vi and groups must have the same length")
    design = design_matrix({"group": list(groups)}, ["factor(group)"])
    rows = list(design.kept)
    y, v = y[rows], v[rows]
    labels = [str(groups[i]) for i in rows]

    pools: list[tuple[str, MetaResult]] = [
        (
            lvl,
            meta_analysis(
                y[[lab == lvl for lab in labels]], v[[lab == lvl for lab in labels]], method=method
            ),
        )
        for lvl in sorted(set(labels))
    ]
    subgroups = tuple(
        Subgroup(lvl, r.k, r.mu, r.se, r.ci_low, r.ci_high, r.tau2) for lvl, r in pools
    )
    common = meta_regression(y, v, design.x, design.terms, method=method)

    mu = np.array([r.mu for _, r in pools])
    w = 1 / np.array([r.se for _, r in pools]) ** 2
    # Borenstein et al. 2009, ch. 19: Q_between = sum w_j (mu_j - mu_bar)^2, separate tau^2
    q_sep = float(np.sum(w * (mu - np.sum(w * mu) / np.sum(w)) ** 2))
    return SubgroupAnalysis(
        method=method,
        subgroups=subgroups,
        q_between=common.qm,
        q_between_df=common.qm_df,
        q_between_p=common.qm_p,
        q_between_separate=q_sep,
        q_between_separate_p=chi2_sf(q_sep, len(pools) - 1),
        tau2_common=common.tau2,
        dropped=design.dropped,
    )


def bubble_points(
    yi: Sequence[float],
    vi: Sequence[float],
    x: Sequence[float],
    fit: MetaRegression,
    line_x: Sequence[float] | None = None,
    level: float = 0.95,
) -> BubblePoints:
    """Points and fitted line for a bubble plot of a one-moderator model (intercept + slope).

    Point size should be proportional to ``weight`` (percent of the total random-effects
    weight). The line is b0 + b1 x with the CI of the mean at each ``line_x`` (default: 50
    points across the observed x), z-based or t(k - p) with Knapp-Hartung, as metafor's
    ``predict``.
    """
    if fit.p != 2:
        raise ValueError(f"a bubble plot needs one numeric moderator; the fit has {fit.p - 1}")
    xs = np.asarray(x, dtype=float).ravel()
    if xs.size != fit.k or len(yi) != fit.k or len(vi) != fit.k:
        raise ValueError("yi, vi and x must be the studies the model was fitted on")
    grid = np.linspace(xs.min(), xs.max(), 50) if line_x is None else np.asarray(line_x, float)
    b = np.array([c.estimate for c in fit.coefficients])
    vb = np.array(fit.vcov)
    design = np.column_stack([np.ones_like(grid), grid])
    pred = design @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", design, vb, design))  # sqrt(x' Var(b) x)
    crit = t_ppf(0.5 + level / 2, fit.k - fit.p) if fit.knha else norm_ppf(0.5 + level / 2)
    return BubblePoints(
        x=tuple(float(a) for a in xs),
        y=tuple(float(a) for a in np.asarray(yi, dtype=float)),
        weight=fit.weights,
        line_x=tuple(float(a) for a in grid),
        line_fit=tuple(float(a) for a in pred),
        line_ci_low=tuple(float(a) for a in pred - crit * se),
        line_ci_high=tuple(float(a) for a in pred + crit * se),
    )
