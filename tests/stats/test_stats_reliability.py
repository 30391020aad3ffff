"""Cronbach's alpha and the Feldt interval against pingouin / psych reference values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from stats.reliability import Alpha, cronbach_alpha, cronbach_alpha_from_variances


def test_cronbach_alpha_reproduces_pingouin_reference_value(alpha_items):
    # pingouin cronbach_alpha docs / datasets/cronbach_alpha.csv; = R psych::alpha
    result = cronbach_alpha(alpha_items)
    assert result.alpha == pytest.approx(0.5917188, abs=1e-7)
    assert (result.n, result.k) == (15, 10)


def test_feldt_interval_reproduces_reference_orientation(alpha_items):
    # Feldt, Woodruff & Salih 1987 95% CI, as pingouin: [0.195, 0.840]
    result = cronbach_alpha(alpha_items)
    assert result.ci_low == pytest.approx(0.195, abs=1e-3)
    assert result.ci_high == pytest.approx(0.840, abs=1e-3)
    assert result.ci_low < result.alpha < result.ci_high


def test_alpha_from_variances_equals_alpha_from_items(alpha_items):
    n, k = alpha_items.shape
    aggregated = cronbach_alpha_from_variances(
        n=n,
        k=k,
        sum_item_variances=alpha_items.var(axis=0, ddof=1).sum(),
        total_score_variance=alpha_items.sum(axis=1).var(ddof=1),
    )
    from_items = cronbach_alpha(alpha_items)
    for field in dataclasses.fields(Alpha):
        assert getattr(aggregated, field.name) == pytest.approx(getattr(from_items, field.name))


def test_rows_with_a_missing_item_are_deleted_listwise(alpha_items):
    with_gaps = np.vstack([alpha_items, [1, np.nan, 3, 4, 5, 6, 7, 1, 2, 3]])
    with_gaps[0, 0] = np.nan
    result = cronbach_alpha(with_gaps)
    assert result.n == 14
    assert result.alpha == pytest.approx(cronbach_alpha(alpha_items[1:]).alpha)


def test_wider_interval_at_higher_confidence(alpha_items):
    ci95, ci99 = cronbach_alpha(alpha_items), cronbach_alpha(alpha_items, level=0.99)
    assert ci99.ci_low < ci95.ci_low and ci99.ci_high > ci95.ci_high


def test_perfectly_parallel_items_give_alpha_one():
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    result = cronbach_alpha(np.column_stack([base, base, base]))
    assert result.alpha == pytest.approx(1.0)


@pytest.mark.parametrize(
    "items",
    [
        np.array([[1.0, 2.0, 3.0]]),  # one respondent
        np.array([[1.0], [2.0], [4.0]]),  # one item
        np.full((4, 3), 2.0),  # total score does not vary
    ],
)
def test_degenerate_scales_give_nan_alpha_instead_of_raising(items):
    result = cronbach_alpha(items)
    assert math.isnan(result.alpha) and math.isnan(result.ci_low) and math.isnan(result.ci_high)


def test_alpha_from_variances_reads_sql_nulls_as_missing():
    assert math.isnan(cronbach_alpha_from_variances(1, 10, None, None).alpha)


def test_alpha_is_frozen_with_as_dict(alpha_items):
    result = cronbach_alpha(alpha_items)
    assert result.as_dict() == {
        "alpha": result.alpha,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n": 15,
        "k": 10,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.alpha = 0.9  # type: ignore[misc]
