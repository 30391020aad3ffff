"""Reliable change (Jacobson & Truax 1991): S_diff, threshold, RCI and classification."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stats.reliable_change import (
    classify_reliable_change,
    rci,
    reliable_change_threshold,
    s_diff,
)

Z975 = 1.959963984540054


def test_s_diff_follows_jacobson_truax_formula():
    # sqrt(2) * 10 * sqrt(1 - 0.8) = sqrt(40) = 6.3246
    assert s_diff(10, 0.8) == pytest.approx(math.sqrt(40))


def test_threshold_is_z975_times_s_diff():
    assert reliable_change_threshold(10, 0.8) == pytest.approx(Z975 * math.sqrt(40))
    assert reliable_change_threshold(10, 0.8) == pytest.approx(12.3959, abs=1e-4)


def test_rci_divides_change_by_s_diff_for_scalars_and_arrays():
    assert rci(12.0, 10, 0.8) == pytest.approx(12 / math.sqrt(40))
    np.testing.assert_allclose(rci([0.0, -6.0], 10, 0.8), [0.0, -6 / math.sqrt(40)])


def test_invalid_sd_or_reliability_gives_nan_thresholds():
    assert math.isnan(s_diff(0, 0.8))
    assert math.isnan(s_diff(10, 1.0))
    assert math.isnan(reliable_change_threshold(10, -0.1))


def test_classification_counts_improved_unchanged_and_deteriorated():
    threshold = reliable_change_threshold(10, 0.8)  # 12.396
    changes = [13.0, 12.0, 0.0, -5.0, -12.5, 20.0, np.nan]
    shares = classify_reliable_change(changes, 10, 0.8)
    assert (shares.n, shares.n_improved, shares.n_unchanged, shares.n_deteriorated) == (6, 2, 3, 1)
    assert shares.pct_improved == pytest.approx(100 * 2 / 6)
    assert shares.pct_unchanged == pytest.approx(50.0)
    assert shares.pct_deteriorated == pytest.approx(100 / 6)
    assert shares.threshold == pytest.approx(threshold)


def test_on_a_lower_is_better_scale_a_fall_counts_as_improvement():
    shares = classify_reliable_change([-13.0, 13.0, 1.0], 10, 0.8, higher_is_better=False)
    assert (shares.n_improved, shares.n_unchanged, shares.n_deteriorated) == (1, 1, 1)


def test_rci_just_above_and_below_1_96_is_classified_by_the_z_cutoff():
    sd = s_diff(10, 0.8)
    shares = classify_reliable_change([1.961 * sd, 1.959 * sd], 10, 0.8)
    assert (shares.n_improved, shares.n_unchanged) == (1, 1)


def test_no_valid_changes_gives_zero_counts_and_nan_shares():
    shares = classify_reliable_change([np.nan], 10, 0.8)
    assert shares.n == 0 and math.isnan(shares.pct_improved)


def test_classification_without_a_threshold_is_refused():
    with pytest.raises(ValueError, match="reliability"):
        classify_reliable_change([1.0, 2.0], 10, 1.2)


def test_reliable_change_shares_as_dict_has_every_field():
    shares = classify_reliable_change([20.0, 0.0], 10, 0.8)
    assert set(shares.as_dict()) == {
        "n",
        "n_improved",
        "n_unchanged",
        "n_deteriorated",
        "pct_improved",
        "pct_unchanged",
        "pct_deteriorated",
        "threshold",
    }
