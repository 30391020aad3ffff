"""Percentile bootstrap confidence intervals that resample whole clusters (cohorts).

Cost figures such as cost per participant (total cost / people) are ratios of sums over
cohorts, and people in one cohort share its cost and its trainers, so the unit of
resampling is the cohort: each resample draws G cohorts with replacement from the G there
are and recomputes the statistic from the sums of the drawn cohorts (Efron & Tibshirani
1993, *An Introduction to the Bootstrap*, ch. 13, the percentile interval; resampling the
independent units, here cohorts, as in their ch. 8).

Vectorised: the draws become a B x G matrix of how often each cohort was drawn, and one
matrix product gives every resample's sums. The generator is numpy's PCG64 seeded by
``seed``, so a seed reproduces the interval exactly.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_RESAMPLES = 2000  # Efron & Tibshirani (1993) advise at least 1000 for percentile CIs
DEFAULT_SEED = 13

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BootstrapCI:
    """A statistic, its percentile bootstrap CI and how it was drawn."""

    estimate: float
    ci_low: float
    ci_high: float
    level: float
    resamples: int
    valid_resamples: int
    seed: int
    n_clusters: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


# The draw matrices kept for reuse, least recently used dropped first: a page asks for several
# CIs of one G and seed, and filter changes come back to the same group sizes. Bounded by
# bytes, not entries: at G = 5,000 one matrix of 2,000 resamples is 20 MB.
DRAWS_KEPT_BYTES = 64 * 2**20
_kept: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
_kept_lock = threading.Lock()


def draws_kept_bytes() -> int:
    """The memory the kept draw matrices take."""
    with _kept_lock:
        return _kept_bytes()


def _kept_bytes() -> int:  # under _kept_lock
    return sum(counts.nbytes for counts in _kept.values())


def draw_counts(n_clusters: int, resamples: int, seed: int) -> np.ndarray:
    """B x G matrix: how often each cluster is drawn in each resample of G with replacement.

    Row b comes from the b-th block of G draws of ``rng.integers(0, G)``, so a loop that draws
    one resample at a time from the same seed draws the same clusters. The draws depend on
    G, B and the seed alone, so they are drawn once and kept (read-only, in the smallest
    integer type that holds a count, within ``DRAWS_KEPT_BYTES``) for every statistic and
    group of that size.
    """
    key = (int(n_clusters), int(resamples), int(seed))
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    counts = _draw_counts(*key)
    with _kept_lock:
        _kept[key] = counts
        total = _kept_bytes()
        while total > DRAWS_KEPT_BYTES and len(_kept) > 1:
            total -= _kept.popitem(last=False)[1].nbytes
    return counts


def _draw_counts(n_clusters: int, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n_clusters, size=(resamples, n_clusters))
    flat = (np.arange(resamples)[:, None] * n_clusters + index).ravel()
    counts = np.bincount(flat, minlength=resamples * n_clusters).reshape(resamples, n_clusters)
    counts = counts.astype(np.min_scalar_type(max(n_clusters, 1)))
    counts.flags.writeable = False
    return counts


@dataclass(frozen=True)
class Resamples:
    """The column totals of G x m cluster sums (``whole``) and of each of B resamples of the
    clusters (``totals``, B x m): what every statistic of the same sums, seed and B shares."""

    whole: np.ndarray
    totals: np.ndarray
    seed: int
    n_clusters: int


def resample_totals(cluster_sums: ArrayLike, resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> Resamples:
    """The totals of ``cluster_sums`` (G x m, or G) and of its resamples of the clusters."""
    sums = np.asarray(cluster_sums, dtype=float)
    if sums.ndim == 1:
        sums = sums[:, None]
    if sums.ndim != 2 or sums.shape[0] < 1:
        raise ValueError(f"cluster_sums must be G x m with G >= 1, got shape {sums.shape}")
    if int(resamples) != resamples or resamples < 1:
        raise ValueError(f"resamples must be a whole number >= 1, got {resamples!r}")
    g = sums.shape[0]
    return Resamples(whole=sums.sum(axis=0), totals=draw_counts(g, int(resamples), seed) @ sums,
                     seed=seed, n_clusters=g)


def percentile_ci(resampled: Resamples, statistic: Statistic,
                  level: float = 0.95) -> BootstrapCI:
    """Percentile CI of ``statistic`` over ``resampled`` (``resample_totals``).

    ``statistic`` maps an array of totals of shape (B, m) to B values (it is also called with
    shape (1, m) for the estimate), e.g. ``lambda t: t[:, 0] / t[:, 1]`` for a ratio.
    Resamples where the statistic is not finite (a zero denominator) are left out and
    counted in ``valid_resamples``. The CI ends are the level's tail quantiles of the valid
    resamples (numpy's default linear interpolation).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    estimate = float(np.asarray(statistic(resampled.whole[None, :]), dtype=float)[0])
    values = np.asarray(statistic(resampled.totals), dtype=float)
    values = values[np.isfinite(values)]
    alpha = 1 - level
    if values.size:
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    else:
        low = high = float("nan")
    return BootstrapCI(
        estimate=estimate,
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        resamples=len(resampled.totals),
        valid_resamples=int(values.size),
        seed=resampled.seed,
        n_clusters=resampled.n_clusters,
    )


def cluster_bootstrap_ci(
    cluster_sums: ArrayLike,
    statistic: Statistic,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> BootstrapCI:
    """Percentile CI of ``statistic`` of the column totals of ``cluster_sums`` (G x m), from
    ``resamples`` resamples of the clusters drawn with ``seed`` (``percentile_ci``)."""
    return percentile_ci(resample_totals(cluster_sums, resamples, seed), statistic, level)


def ratio_bootstrap_ci(
    numerator: ArrayLike,
    denominator: ArrayLike,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> BootstrapCI:
    """Σ numerator / Σ denominator over clusters (e.g. total cost / people), with its CI."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    if numerator.shape != denominator.shape or numerator.ndim != 1:
        raise ValueError("numerator and denominator must be 1-d with one value per cluster")
    with np.errstate(divide="ignore", invalid="ignore"):
        return cluster_bootstrap_ci(
            np.column_stack([numerator, denominator]),
            lambda totals: totals[:, 0] / totals[:, 1],
            resamples=resamples,
            seed=seed,
            level=level,
        )
