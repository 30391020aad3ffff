"""Cluster percentile bootstrap: reproducible, covers the truth, equals the plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from stats.bootstrap import (
    DEFAULT_RESAMPLES,
    DRAWS_KEPT_BYTES,
    cluster_bootstrap_ci,
    draw_counts,
    draws_kept_bytes,
    ratio_bootstrap_ci,
)


def _loop_ratio_ci(numerator, denominator, resamples, seed, level):
    """The textbook loop: draw G cohorts with replacement, recompute, take percentiles."""
    rng = np.random.default_rng(seed)
    g = len(numerator)
    values = []
    for _ in range(resamples):
        drawn = rng.integers(0, g, size=g)
        values.append(numerator[drawn].sum() / denominator[drawn].sum())
    alpha = 1 - level
    return np.quantile(values, [alpha / 2, 1 - alpha / 2])


def _cohorts(rng, n_cohorts):
    people = rng.integers(5, 40, size=n_cohorts).astype(float)
    cost = people * rng.normal(300, 60, size=n_cohorts)
    return cost, people


def test_same_seed_same_interval_other_seed_other_interval():
    cost, people = _cohorts(np.random.default_rng(1), 25)
    first = ratio_bootstrap_ci(cost, people, seed=7)
    assert ratio_bootstrap_ci(cost, people, seed=7) == first
    other = ratio_bootstrap_ci(cost, people, seed=8)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert first.resamples == DEFAULT_RESAMPLES and first.seed == 7


def test_vectorised_interval_equals_the_plain_loop():
    cost, people = _cohorts(np.random.default_rng(2), 30)
    result = ratio_bootstrap_ci(cost, people, resamples=500, seed=11, level=0.9)
    expected = _loop_ratio_ci(cost, people, 500, 11, 0.9)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(expected), rel=1e-12)
    assert result.estimate == pytest.approx(cost.sum() / people.sum(), rel=1e-12)


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    # 400 studies of 40 cohorts; each cohort's people score N(10, 2) plus a cohort effect
    # N(0, 1). The 95% CI of the mean per person should cover 10 in about 95% of studies
    # (binomial SD 1.1 points); the percentile method runs slightly narrow with 40 clusters.
    rng = np.random.default_rng(20261202)
    covered = 0
    studies = 400
    for study in range(studies):
        people = rng.integers(5, 30, size=40).astype(float)
        totals = np.array([rng.normal(10 + rng.normal(0, 1), 2, int(n)).sum() for n in people])
        ci = ratio_bootstrap_ci(totals, people, resamples=1000, seed=study)
        covered += ci.ci_low <= 10 <= ci.ci_high
    assert 0.91 <= covered / studies <= 0.98


def test_resamples_with_a_zero_denominator_are_left_out_and_counted():
    # one cohort of two has nobody: a resample drawing it twice has no people at all
    result = ratio_bootstrap_ci(np.array([100.0, 0.0]), np.array([4.0, 0.0]), resamples=200)
    assert 0 < result.valid_resamples < 200
    assert result.ci_low == result.ci_high == 25.0


def test_a_statistic_of_several_sums():
    # cost per reliably improved person: total cost / people / (improved / pairs)
    rng = np.random.default_rng(3)
    sums = np.column_stack(
        [
            rng.uniform(1e3, 5e3, 20),
            rng.integers(10, 30, 20),
            rng.integers(1, 10, 20),
            rng.integers(10, 20, 20),
        ]
    )
    result = cluster_bootstrap_ci(sums, lambda t: t[:, 0] / t[:, 1] / (t[:, 2] / t[:, 3]))
    total = sums.sum(axis=0)
    assert result.estimate == pytest.approx(total[0] / total[1] / (total[2] / total[3]))
    assert result.ci_low < result.estimate < result.ci_high


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="resamples"):
        ratio_bootstrap_ci([1.0], [1.0], resamples=0)
    with pytest.raises(ValueError, match="one value per cluster"):
        ratio_bootstrap_ci([1.0, 2.0], [1.0])


def test_draws_are_shared_between_intervals_and_no_caller_can_change_them():
    """The draws of one G, B and seed are kept for every interval of that size: a caller
    that wrote into them would change every later interval, so they are read-only."""
    first = draw_counts(7, 50, 3)
    assert draw_counts(7, 50, 3) is first
    assert (first.sum(axis=1) == 7).all()
    with pytest.raises(ValueError):
        first[0, 0] = 99


def test_kept_draws_stay_within_their_memory_and_recent_ones_are_kept():
    for size in range(300, 360):  # 60 group sizes of 2,000 resamples: 38 MB of uint16 counts
        draw_counts(size, DEFAULT_RESAMPLES, 5)
    recent = draw_counts(359, DEFAULT_RESAMPLES, 5)
    for size in range(2000, 2040):  # and 40 larger ones, 320 MB in all: more than is kept
        draw_counts(size, DEFAULT_RESAMPLES, 5)
    assert draws_kept_bytes() <= DRAWS_KEPT_BYTES
    latest = draw_counts(2039, DEFAULT_RESAMPLES, 5)
    assert draw_counts(2039, DEFAULT_RESAMPLES, 5) is latest
    assert draw_counts(359, DEFAULT_RESAMPLES, 5) is not recent  # long since dropped
    assert (draw_counts(359, DEFAULT_RESAMPLES, 5) == recent).all()  # and drawn the same again
