"""A linear mixed model fitted by REML from sufficient statistics per pattern.

Model (Laird & Ware 1982): for participant i, ``y_i = X_i beta + Z_i b_i + e_i`` with
``b_i ~ N(0, G)`` and ``e_i ~ N(0, sigma^2 I)``, so ``y_i ~ N(X_i beta, V_i)``,
``V_i = Z_i G Z_i' + sigma^2 I``. Participants who share a *pattern* (the same rows of X and
Z: the same observed waves in the same group) share ``V``, and the restricted log-likelihood
(REML, Harville 1977) needs of them only their number ``n``, ``X``, ``Z``, the sum of their
``y_i`` and the sum of ``y_i y_i'``:

    sum_i X'V^-1 X          = n X'V^-1 X
    sum_i X'V^-1 y_i        = X'V^-1 (sum y)
    sum_i y_i'V^-1 y_i      = tr(V^-1 sum y y')

That is why the model runs on a few dozen patterns computed in SQL instead of a loop over
hundreds of thousands of participants, and gives exactly the per-participant fit.

The optimisation follows lme4 (Bates et al. 2015): ``G = sigma^2 L L'`` with ``L`` lower
triangular (the relative Cholesky factor, unconstrained), sigma^2 profiled out in closed form,
and the profiled REML criterion minimised over ``L`` with scipy. The fixed effects are the GLS
estimates at the optimum and their covariance is ``sigma^2 (sum X'H^-1 X)^-1`` with
``H = V / sigma^2``, as lme4's ``vcov`` and statsmodels' ``MixedLM`` give.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

LOG_2PI = math.log(2 * math.pi)
# At a relative Cholesky factor: sum n log|H|, X'H^-1 X, X'H^-1 sum y, tr(H^-1 sum yy').
Pieces = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray, float]]


@dataclass(frozen=True)
class Pattern:
    """The sufficient statistics of the participants sharing one pattern.

    ``x``: the fixed-effect rows (m observations x k terms); ``z``: the random-effect rows
    (m x q); ``n``: how many participants; ``sum_y``: the sum of their response vectors (m);
    ``sum_yy``: the sum of their outer products y y' (m x m).
    """

    n: int
    x: np.ndarray
    z: np.ndarray
    sum_y: np.ndarray
    sum_yy: np.ndarray


@dataclass(frozen=True)
class MixedFit:
    """A REML fit: the fixed effects with their SEs and covariance, the random effects' SDs
    (and correlations when there are several), the residual SD, -2 REML log-likelihood and
    the counts it rests on."""

    terms: tuple[str, ...]
    fixed_effects: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    random_sd: np.ndarray
    random_corr: np.ndarray
    residual_sd: float
    minus_two_reml_ll: float
    n_participants: int
    n_observations: int
    converged: bool = field(default=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fixed_effects": [
                {"term": t, "estimate": float(b), "se": float(s)}
                for t, b, s in zip(self.terms, self.fixed_effects, self.se, strict=True)
            ],
            "cov": self.cov.tolist(),
            "random_sd": self.random_sd.tolist(),
            "random_corr": self.random_corr.tolist(),
            "residual_sd": self.residual_sd,
            "minus_two_reml_ll": self.minus_two_reml_ll,
            "n_participants": self.n_participants,
            "n_observations": self.n_observations,
            "converged": self.converged,
        }


def _lower(theta: np.ndarray, q: int) -> np.ndarray:
    lam = np.zeros((q, q))
    lam[np.tril_indices(q)] = theta
    return lam


def _stacks(patterns: Sequence[Pattern]) -> list[tuple[np.ndarray, ...]]:
    """The patterns stacked by their number of observations (n, X, Z, sum y, sum yy'), so
    that each evaluation of the criterion is a few batched matrix operations, not a Python
    loop over the patterns."""
    by_size: dict[int, list[Pattern]] = {}
    for p in patterns:
        by_size.setdefault(len(p.sum_y), []).append(p)
    return [(np.array([p.n for p in ps], dtype=float), np.stack([p.x for p in ps]),
             np.stack([p.z for p in ps]), np.stack([p.sum_y for p in ps]),
             np.stack([p.sum_yy for p in ps])) for ps in by_size.values()]


@dataclass(frozen=True)
class _Intercepts:
    """The patterns of a random-intercept model (Z a column of ones), reduced once to what
    the criterion needs of them at any ``theta``. With ``H = I + t^2 11'`` (m x m),
    ``H^-1 = I - w 11'`` with ``w = t^2 / (1 + m t^2)`` and ``|H| = 1 + m t^2``
    (Sherman & Morrison 1950), so every sum is a fixed part minus ``w`` times another and
    one evaluation costs a few vector operations, whatever the number of observations."""

    n: np.ndarray  # participants per pattern
    m: np.ndarray  # observations per participant
    xx: np.ndarray  # sum over patterns of n X'X
    x1: np.ndarray  # per pattern X'1 (P x k)
    xy: np.ndarray  # sum over patterns of X' sum y
    sy: np.ndarray  # per pattern 1' sum y
    yy: float  # sum over patterns of tr(sum yy')
    y1: np.ndarray  # per pattern 1' sum yy' 1

    @classmethod
    def of(cls, patterns: Sequence[Pattern]) -> _Intercepts:
        return cls(
            n=np.array([p.n for p in patterns], dtype=float),
            m=np.array([len(p.sum_y) for p in patterns], dtype=float),
            xx=sum(p.n * (p.x.T @ p.x) for p in patterns),
            x1=np.stack([p.x.sum(axis=0) for p in patterns]),
            xy=sum(p.x.T @ p.sum_y for p in patterns),
            sy=np.array([p.sum_y.sum() for p in patterns]),
            yy=float(sum(np.trace(p.sum_yy) for p in patterns)),
            y1=np.array([p.sum_yy.sum() for p in patterns]),
        )

    def pieces(self, lam: np.ndarray):
        s = float(lam[0, 0]) ** 2
        w = s / (1.0 + self.m * s)
        logdet = float(self.n @ np.log1p(self.m * s))
        a = self.xx - np.einsum("p,pi,pj->ij", self.n * w, self.x1, self.x1)
        b = self.xy - self.x1.T @ (w * self.sy)
        c = self.yy - float(w @ self.y1)
        return logdet, a, b, c


def _pieces(stacks: Sequence[tuple[np.ndarray, ...]], lam: np.ndarray):
    """Sum over patterns (``_stacks``) of n log|H|, X'H^-1 X, X'H^-1 sum y and
    tr(H^-1 sum yy')."""
    k = stacks[0][1].shape[2]
    logdet, a, b, c = 0.0, np.zeros((k, k)), np.zeros(k), 0.0
    for n, x, z, sum_y, sum_yy in stacks:
        zl = z @ lam
        h = np.eye(sum_y.shape[1]) + zl @ np.swapaxes(zl, 1, 2)
        chol = np.linalg.cholesky(h)
        logdet += float(n @ (2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)))
        hinv = np.linalg.inv(h)
        xh = np.swapaxes(x, 1, 2) @ hinv
        a += np.einsum("p,pij->ij", n, xh @ x)
        b += np.einsum("pij,pj->i", xh, sum_y)
        c += float(np.sum(hinv * sum_yy))
    return logdet, a, b, c


def _criterion(theta: np.ndarray, pieces: Pieces, q: int, dof: int) -> float:
    """The profiled REML criterion (-2 log-likelihood with sigma^2 at its optimum), from
    ``pieces`` (``_pieces`` of the stacks, or ``_Intercepts.pieces``)."""
    logdet, a, b, c = pieces(_lower(theta, q))
    sign, logdet_a = np.linalg.slogdet(a)
    if sign <= 0:
        return math.inf
    rss = c - float(b @ np.linalg.solve(a, b))
    if rss <= 0:
        return math.inf
    return logdet + logdet_a + dof * (1.0 + LOG_2PI + math.log(rss / dof))


def fit_reml(patterns: Sequence[Pattern], terms: Sequence[str] | None = None) -> MixedFit:
    """Fit the model by REML from the patterns' sufficient statistics.

    ``terms`` names the columns of ``x`` (default ``x0, x1, ...``). Raises ``ValueError``
    with the reason when the fixed effects cannot be estimated (a column of X that no
    observation informs, or no more observations than terms).
    """
    patterns = [p for p in patterns if p.n > 0]
    if not patterns:
        raise ValueError("no observations to fit")
    k, q = patterns[0].x.shape[1], patterns[0].z.shape[1]
    names = tuple(terms) if terms is not None else tuple(f"x{j}" for j in range(k))
    if len(names) != k:
        raise ValueError(f"{len(names)} term names for {k} columns of X")
    n_obs = sum(p.n * len(p.sum_y) for p in patterns)
    dof = n_obs - k
    if dof <= 0:
        raise ValueError(f"{n_obs} observations cannot estimate {k} fixed effects")
    xtx = sum(p.n * (p.x.T @ p.x) for p in patterns)
    if np.linalg.matrix_rank(xtx) < k:
        raise ValueError("the fixed effects cannot all be estimated: some combination of "
                         "terms has no observations")
    if q == 1 and all(np.all(p.z == 1.0) for p in patterns):
        pieces: Pieces = _Intercepts.of(patterns).pieces
        theta, minimum, converged = _minimise_intercept(pieces, dof)
    else:
        pieces = functools.partial(_pieces, _stacks(patterns))
        theta, minimum, converged = _minimise(pieces, q, dof)
    lam = _lower(theta, q)
    logdet, a, b, c = pieces(lam)
    beta = np.linalg.solve(a, b)
    sigma2 = (c - float(b @ beta)) / dof
    cov = sigma2 * np.linalg.inv(a)
    g = sigma2 * (lam @ lam.T)
    sd = np.sqrt(np.diag(g))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = g / np.outer(sd, sd)
    return MixedFit(
        terms=names,
        fixed_effects=beta,
        se=np.sqrt(np.diag(cov)),
        cov=cov,
        random_sd=sd,
        random_corr=corr,
        residual_sd=math.sqrt(sigma2),
        minus_two_reml_ll=minimum,
        n_participants=int(sum(p.n for p in patterns)),
        n_observations=int(n_obs),
        converged=converged,
    )


def _minimise(pieces: Pieces, q: int, dof: int) -> tuple[np.ndarray, float, bool]:
    """The relative Cholesky factor at the criterion's minimum (BFGS, then a Nelder-Mead
    polish, as lme4 polishes with a derivative-free optimiser), the minimum, converged."""
    start = np.eye(q)[np.tril_indices(q)]
    result = optimize.minimize(_criterion, start, args=(pieces, q, dof), method="BFGS",
                               options={"gtol": 1e-8})
    # fatol relative to the criterion: on a million observations an absolute 1e-12 is below
    # its rounding error, and the polish would run to maxiter without gaining anything
    polished = optimize.minimize(_criterion, result.x, args=(pieces, q, dof),
                                 method="Nelder-Mead",
                                 options={"xatol": 1e-10,
                                          "fatol": 1e-12 * max(1.0, abs(float(result.fun))),
                                          "maxiter": 4000})
    best = polished if polished.fun <= result.fun else result
    return best.x, float(best.fun), bool(result.success or polished.success)


def _minimise_intercept(pieces: Pieces, dof: int) -> tuple[np.ndarray, float, bool]:
    """The same for one random intercept: the criterion is a function of one number, the
    participant SD relative to the residual SD (even in it, so only >= 0 is searched), and
    Brent's bounded search finds its minimum in a few dozen evaluations. The bound grows
    while the minimum sits on it."""
    upper = 10.0
    while True:
        result = optimize.minimize_scalar(
            lambda t: _criterion(np.array([t]), pieces, 1, dof), bounds=(0.0, upper),
            method="bounded", options={"xatol": 1e-10, "maxiter": 500})
        if result.x < upper * (1 - 1e-6) or upper >= 1e6:
            return np.array([float(result.x)]), float(result.fun), bool(result.success)
        upper *= 100


def pattern_from_rows(x: np.ndarray, z: np.ndarray, ys: np.ndarray) -> Pattern:
    """The pattern of participants whose response vectors are the rows of ``ys``: a helper
    for data held per participant (tests, small data)."""
    ys = np.atleast_2d(np.asarray(ys, dtype=float))
    return Pattern(n=len(ys), x=np.asarray(x, float), z=np.asarray(z, float),
                   sum_y=ys.sum(axis=0), sum_yy=ys.T @ ys)
