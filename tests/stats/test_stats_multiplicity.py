"""Benjamini-Hochberg adjustment: statsmodels agreement, missing values, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from stats.multiplicity import benjamini_hochberg


def test_benjamini_hochberg_matches_statsmodels_fdr_bh():
    p = [0.01, 0.04, 0.03, 0.005, 0.20, 0.04, 0.8, 0.0001]
    expected = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12)


def test_missing_p_values_pass_through_and_do_not_count_towards_m():
    p = [0.01, None, 0.04, math.nan, 0.03]
    adjusted = benjamini_hochberg(p)
    assert math.isnan(adjusted[1]) and math.isnan(adjusted[3])
    expected = multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1]
    np.testing.assert_allclose([adjusted[0], adjusted[2], adjusted[4]], expected)


def test_all_missing_or_empty_input():
    assert benjamini_hochberg([]) == []
    assert all(math.isnan(p) for p in benjamini_hochberg([None, math.nan]))


def test_p_values_outside_unit_interval_are_rejected():
    with pytest.raises(ValueError):
        benjamini_hochberg([0.2, 1.5])


_p_lists = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None, database=None)
@given(_p_lists)
def test_adjusted_p_is_at_least_raw_p_at_most_one_and_monotone_in_raw_p(p_values):
    adjusted = benjamini_hochberg(p_values)
    present = [(p, a) for p, a in zip(p_values, adjusted, strict=True) if p is not None]
    for p, a in present:
        assert p - 1e-15 <= a <= 1.0
    ordered = sorted(present)
    for (_, lower), (_, higher) in zip(ordered, ordered[1:], strict=False):
        assert lower <= higher + 1e-15


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=40))
def test_benjamini_hochberg_agrees_with_statsmodels_on_any_input(p_values):
    expected = multipletests(p_values, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p_values), expected, rtol=1e-12, atol=1e-300)
