"""Wilcoxon signed-rank p from rank sums (the SQL path) agrees with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from stats.paired import wilcoxon_p_from_ranks


def _rank_summary(differences: np.ndarray) -> tuple[int, float, float]:
    """What the DuckDB query computes: n non-zero, W+ (mid-ranks), sum(t^3 - t) of |d| ties."""
    nonzero = differences[differences != 0]
    ranks = sps.rankdata(np.abs(nonzero))  # average ranks for ties
    _, tie_sizes = np.unique(np.abs(nonzero), return_counts=True)
    return nonzero.size, float(ranks[nonzero > 0].sum()), float(np.sum(tie_sizes**3 - tie_sizes))


def _scipy_p(differences: np.ndarray) -> float:
    # method="asymptotic" is scipy's name for the normal approximation (alias "approx")
    return sps.wilcoxon(
        differences, zero_method="wilcox", method="asymptotic", correction=False
    ).pvalue


@pytest.mark.parametrize("seed", range(20))
def test_wilcoxon_from_ranks_matches_scipy_on_random_data_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 120))
    # integer-valued changes on a short scale: many ties and some zeros
    differences = rng.integers(-4, 6, size=n).astype(float)
    if not np.any(differences != 0):
        differences[0] = 1.0
    assert wilcoxon_p_from_ranks(*_rank_summary(differences)) == pytest.approx(
        _scipy_p(differences), rel=1e-10
    )


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.integers(min_value=-6, max_value=6), min_size=2, max_size=60).filter(
        lambda values: any(values)
    )
)
def test_wilcoxon_from_ranks_matches_scipy_for_any_tied_integer_changes(values):
    differences = np.array(values, dtype=float)
    assert wilcoxon_p_from_ranks(*_rank_summary(differences)) == pytest.approx(
        _scipy_p(differences), rel=1e-9, abs=1e-12
    )


def test_wilcoxon_from_ranks_is_symmetric_in_direction():
    differences = np.array([1.0, 2.0, 2.0, 3.0, -1.0, 4.0, 5.0, -2.0])
    assert wilcoxon_p_from_ranks(*_rank_summary(differences)) == pytest.approx(
        wilcoxon_p_from_ranks(*_rank_summary(-differences))
    )


def test_wilcoxon_from_ranks_without_nonzero_differences_is_nan():
    assert math.isnan(wilcoxon_p_from_ranks(0, 0.0, 0.0))
