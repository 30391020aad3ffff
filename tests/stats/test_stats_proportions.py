"""Wilson score interval against the values Newcombe (1998) published."""

from __future__ import annotations

import math

import pytest

from stats.proportions import wilson_interval

# Newcombe R.G. (1998). Two-sided confidence intervals for the single proportion: comparison
# of seven methods. Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score
# interval without continuity correction), printed to 4 decimals.
NEWCOMBE_1998 = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), NEWCOMBE_1998)
def test_wilson_interval_reproduces_newcombe_1998_table_ii(x, n, low, high):
    got_low, got_high = wilson_interval(x, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_stays_inside_zero_and_one_where_wald_leaves_it():
    low, high = wilson_interval(1, 12)
    wald_low = 1 / 12 - 1.959964 * math.sqrt((1 / 12) * (11 / 12) / 12)
    assert wald_low < 0 < low < 1 / 12 < high < 1
    assert wilson_interval(12, 12)[1] == 1.0
    assert wilson_interval(0, 12)[0] == 0.0


def test_wider_level_gives_wider_interval():
    low95, high95 = wilson_interval(30, 100)
    low99, high99 = wilson_interval(30, 100, level=0.99)
    assert low99 < low95 < 0.3 < high95 < high99


def test_no_people_give_no_interval():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize(("x", "n", "level"), [(5, 4, 0.95), (-1, 4, 0.95), (1, 4, 1.0)])
def test_impossible_count_or_level_is_refused(x, n, level):
    with pytest.raises(ValueError):
        wilson_interval(x, n, level)
