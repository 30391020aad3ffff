"""Ordinary least squares with classical or cluster-robust (CR1) standard errors.

Attune's comparison and dose analyses regress a score on a few terms with people nested in
cohorts, so the standard errors must allow for people in one cohort being alike. Two entry
points give the same numbers:

* ``ols`` takes the design matrix, the outcome and (optionally) a cluster label per row;
* ``ols_from_cluster_sums`` takes, per cluster g, the sufficient statistics X_g'X_g,
  X_g'y_g, y_g'y_g and n_g, which DuckDB computes in one GROUP BY, so that the warehouse
  never has to bring individual rows into Python.

CR1 (Cameron & Miller 2015, "A practitioner's guide to cluster-robust inference", J Hum
Resour 50:317-372, eqs. 11-12) is

    V = c · (X'X)⁻¹ (Σ_g u_g u_g') (X'X)⁻¹,   u_g = X_g'e_g,   c = G/(G−1) · (N−1)/(N−K),

with t quantiles on G − 1 degrees of freedom for intervals and p values (their section
VI.B). This is R's ``sandwich::vcovCL(fit, cluster = ~g, type = "HC1")``. From sufficient
statistics the per-cluster score is u_g = X_g'y_g − X_g'X_g b, which is why the per-cluster
X'X and X'y (not only their totals) are needed.

Malformed input (mismatched shapes, a rank-deficient design) raises ``ValueError``;
too little data for a standard error (N ≤ K, or fewer than two clusters) gives NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stats.distributions import t_ppf, t_sf

NAN = float("nan")

CLASSICAL = "classical"
CR1 = "CR1"


@dataclass(frozen=True)
class Coefficient:
    """One term of a fitted regression, with its standard error, CI, t and two-sided p."""

    term: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    t: float
    p: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class RegressionFit:
    """An OLS fit: coefficients in the order of the design's columns."""

    coefficients: tuple[Coefficient, ...]
    n: int
    n_clusters: int | None
    df: float
    residual_sd: float
    se_type: str

    def coefficient(self, term: str) -> Coefficient:
        """The coefficient named ``term`` (KeyError naming the terms there are otherwise)."""
        for coefficient in self.coefficients:
            if coefficient.term == term:
                return coefficient
        known = ", ".join(c.term for c in self.coefficients)
        raise KeyError(f"no term {term!r} in this fit (terms: {known})")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, coefficients as a list of dicts."""
        return asdict(self)


def _terms(terms: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if terms is None:
        return tuple(f"x{i}" for i in range(k))
    if len(terms) != k:
        raise ValueError(f"{len(terms)} term names for {k} design columns")
    return tuple(terms)


def _solve(xtx: np.ndarray, xty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and (X'X)⁻¹; ValueError when the design is rank deficient."""
    k = xtx.shape[0]
    if np.linalg.matrix_rank(xtx) < k:
        raise ValueError(
            "the design matrix is rank deficient (a term is constant or a combination of "
            "others, e.g. every row in one arm): its coefficients are not identified"
        )
    xtx_inv = np.linalg.inv(xtx)
    return xtx_inv @ xty, xtx_inv


def _fit(
    b: np.ndarray,
    vcov: np.ndarray,
    df: float,
    terms: tuple[str, ...],
    level: float,
    **fields: Any,
) -> RegressionFit:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    q = t_ppf(1 - (1 - level) / 2, df) if df > 0 else NAN
    coefficients = []
    for term, estimate, variance in zip(terms, b, np.diag(vcov), strict=True):
        se = math.sqrt(variance) if variance >= 0 else NAN
        t = estimate / se if se > 0 else NAN
        coefficients.append(
            Coefficient(
                term=term,
                estimate=float(estimate),
                se=se,
                ci_low=float(estimate - q * se),
                ci_high=float(estimate + q * se),
                t=t,
                p=2 * t_sf(abs(t), df) if math.isfinite(t) else NAN,
            )
        )
    return RegressionFit(coefficients=tuple(coefficients), df=df, **fields)


def _assemble(
    xtx: np.ndarray,
    xty: np.ndarray,
    yty: float,
    n: int,
    scores: np.ndarray | None,
    b: np.ndarray,
    xtx_inv: np.ndarray,
    terms: tuple[str, ...],
    level: float,
) -> RegressionFit:
    """Classical (scores None) or CR1 (scores: one row u_g per cluster) fit from the parts."""
    k = xtx.shape[0]
    rss = max(float(yty - b @ xty), 0.0)  # e'e = y'y − b'X'y, clipped at rounding error
    residual_sd = math.sqrt(rss / (n - k)) if n > k else NAN
    if scores is None:
        vcov = xtx_inv * residual_sd**2 if n > k else np.full((k, k), NAN)
        return _fit(
            b,
            vcov,
            float(n - k),
            terms,
            level,
            n=n,
            n_clusters=None,
            residual_sd=residual_sd,
            se_type=CLASSICAL,
        )
    g = scores.shape[0]
    if g < 2 or n <= k:
        vcov = np.full((k, k), NAN)
    else:
        factor = g / (g - 1) * (n - 1) / (n - k)  # Cameron & Miller 2015, eq. 12 (CR1)
        vcov = factor * xtx_inv @ (scores.T @ scores) @ xtx_inv
    return _fit(
        b,
        vcov,
        float(g - 1),
        terms,
        level,
        n=n,
        n_clusters=g,
        residual_sd=residual_sd,
        se_type=CR1,
    )


def ols(
    x: ArrayLike,
    y: ArrayLike,
    terms: Sequence[str] | None = None,
    clusters: ArrayLike | None = None,
    level: float = 0.95,
) -> RegressionFit:
    """Least-squares fit of y on the columns of x (include a column of ones for an intercept).

    With ``clusters`` (one label per row) the SEs are CR1 with G − 1 df; without, classical
    with N − K df. The per-cluster scores are summed from the residuals directly, which is
    the same quantity ``ols_from_cluster_sums`` derives from sums.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be N x K and y of length N, got {x.shape} and {y.shape}")
    names = _terms(terms, x.shape[1])
    xtx, xty = x.T @ x, x.T @ y
    b, xtx_inv = _solve(xtx, xty)
    scores = None
    if clusters is not None:
        labels = np.asarray(clusters)
        if labels.shape != y.shape:
            raise ValueError(f"clusters must have one label per row, got {labels.shape}")
        _, index = np.unique(labels, return_inverse=True)
        scores = np.zeros((index.max() + 1, x.shape[1]))
        np.add.at(scores, index, x * (y - x @ b)[:, None])
    return _assemble(xtx, xty, float(y @ y), len(y), scores, b, xtx_inv, names, level)


def ols_from_cluster_sums(
    xtx: ArrayLike,
    xty: ArrayLike,
    yty: ArrayLike,
    n: ArrayLike,
    terms: Sequence[str] | None = None,
    robust: bool = True,
    level: float = 0.95,
) -> RegressionFit:
    """The same fit from per-cluster sufficient statistics.

    ``xtx`` is G x K x K (X_g'X_g), ``xty`` G x K (X_g'y_g), ``yty`` and ``n`` length G.
    ``robust=True`` gives CR1 SEs (score u_g = X_g'y_g − X_g'X_g b per cluster), otherwise
    classical SEs from the totals.
    """
    xtx_g = np.asarray(xtx, dtype=float)
    xty_g = np.asarray(xty, dtype=float)
    yty_g = np.asarray(yty, dtype=float)
    n_g = np.asarray(n)
    if xtx_g.ndim != 3 or xtx_g.shape[1] != xtx_g.shape[2]:
        raise ValueError(f"xtx must be G x K x K, got {xtx_g.shape}")
    g, k = xtx_g.shape[:2]
    if xty_g.shape != (g, k) or yty_g.shape != (g,) or n_g.shape != (g,):
        raise ValueError(
            f"for G={g}, K={k}: xty must be {(g, k)}, yty and n {(g,)}; got "
            f"{xty_g.shape}, {yty_g.shape}, {n_g.shape}"
        )
    names = _terms(terms, k)
    total_xtx, total_xty = xtx_g.sum(axis=0), xty_g.sum(axis=0)
    b, xtx_inv = _solve(total_xtx, total_xty)
    scores = xty_g - xtx_g @ b if robust else None
    return _assemble(
        total_xtx,
        total_xty,
        float(yty_g.sum()),
        int(n_g.sum()),
        scores,
        b,
        xtx_inv,
        names,
        level,
    )
