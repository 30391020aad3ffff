"""Attrition bias (completers vs dropouts at baseline, or in their pre->post change) and the
retention funnel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from stats.attrition import (
    FunnelStep,
    attrition_bias,
    attrition_bias_from_moments,
    attrition_funnel,
)
from stats.paired import hedges_j

COMPLETERS = np.array([3.2, 4.1, 3.8, 2.9, 4.5, 3.6, 4.0, 3.3, 3.9, 4.2, 3.5, 3.7])
DROPOUTS = np.array([2.8, 3.1, 3.9, 2.5, 3.0, 3.4])


def test_welch_test_matches_scipy_unequal_variance_t_test():
    result = attrition_bias(COMPLETERS, DROPOUTS)
    expected = sps.ttest_ind(COMPLETERS, DROPOUTS, equal_var=False)
    assert result.welch_t == pytest.approx(expected.statistic)
    assert result.welch_df == pytest.approx(expected.df)
    assert result.p == pytest.approx(expected.pvalue)
    assert result.difference == pytest.approx(COMPLETERS.mean() - DROPOUTS.mean())


def test_hedges_g_uses_pooled_sd_and_exact_j_with_n1_plus_n2_minus_2_df():
    result = attrition_bias(COMPLETERS, DROPOUTS)
    n1, n2 = COMPLETERS.size, DROPOUTS.size
    pooled = math.sqrt(
        ((n1 - 1) * COMPLETERS.var(ddof=1) + (n2 - 1) * DROPOUTS.var(ddof=1)) / (n1 + n2 - 2)
    )
    d = (COMPLETERS.mean() - DROPOUTS.mean()) / pooled
    assert result.hedges_g == pytest.approx(hedges_j(n1 + n2 - 2) * d)


def test_hedges_g_reproduces_borenstein_2009_chapter_4_worked_example():
    # Borenstein, Hedges, Higgins & Rothstein 2009, ch. 4: means 103 vs 100, SDs 5.5 and 4.5,
    # n = 50 each -> d = 0.5970, J = 0.9923, g = 0.5924, V_g = 0.0411 (printed to 4 d.p.;
    # the book uses the approximate J, ours is exact: they agree to 1e-5 at df = 98).
    result = attrition_bias_from_moments(50, 103.0, 5.5, 50, 100.0, 4.5)
    assert hedges_j(98) == pytest.approx(0.9923, abs=5e-5)
    assert result.hedges_g == pytest.approx(0.5924, abs=5e-5)
    se_g = (result.g_ci_high - result.g_ci_low) / (2 * 1.959963984540054)
    assert se_g**2 == pytest.approx(0.0411, abs=5e-5)
    assert (result.g_ci_low + result.g_ci_high) / 2 == pytest.approx(result.hedges_g)


def test_raw_and_moment_versions_agree_and_missing_scores_are_dropped():
    raw = attrition_bias(np.append(COMPLETERS, np.nan), DROPOUTS)
    moments = attrition_bias_from_moments(
        COMPLETERS.size, COMPLETERS.mean(), COMPLETERS.std(ddof=1),
        DROPOUTS.size, DROPOUTS.mean(), DROPOUTS.std(ddof=1),
    )  # fmt: skip
    for field, value in raw.as_dict().items():
        assert value == pytest.approx(getattr(moments, field)), field


def test_a_single_dropout_gives_nan_statistics_but_a_difference():
    result = attrition_bias(COMPLETERS, [3.0])
    assert result.difference == pytest.approx(COMPLETERS.mean() - 3.0)
    assert math.isnan(result.hedges_g) and math.isnan(result.welch_t) and math.isnan(result.p)


def test_attrition_funnel_reports_retention_as_percent_of_first_wave():
    funnel = attrition_funnel({"pre": 120, "post": 90, "follow_up_6m": 48})
    assert funnel == [
        FunnelStep("pre", 120, 100.0),
        FunnelStep("post", 90, 75.0),
        FunnelStep("follow_up_6m", 48, 40.0),
    ]
    wave, n, pct = funnel[1]
    assert (wave, n, pct) == ("post", 90, 75.0)


def test_attrition_funnel_with_no_baseline_gives_nan_percentages():
    assert attrition_funnel({}) == []
    assert math.isnan(attrition_funnel({"pre": 0, "post": 0})[1].pct_of_pre)


def test_sql_nulls_for_a_single_dropout_are_read_as_missing():
    result = attrition_bias_from_moments(12, 3.7, 0.45, 1, 3.0, None)
    assert result.difference == pytest.approx(0.7)
    assert math.isnan(result.hedges_g) and math.isnan(result.p)


def test_difference_ci_is_welchs_interval_as_scipy_gives_it():
    result = attrition_bias(COMPLETERS, DROPOUTS)
    expected = sps.ttest_ind(COMPLETERS, DROPOUTS, equal_var=False).confidence_interval(0.95)
    assert result.difference_ci_low == pytest.approx(expected.low)
    assert result.difference_ci_high == pytest.approx(expected.high)
    narrower = attrition_bias(COMPLETERS, DROPOUTS, level=0.80)
    assert result.difference_ci_low < narrower.difference_ci_low < narrower.difference


def test_pre_post_changes_compare_like_baselines_improvement_positive():
    # The same statistics compare the two groups' change: completers improved by 0.6 on
    # average, dropouts by 0.2, so the difference is +0.4 and its interval leaves out 0.
    changes_completers = np.array([0.5, 0.7, 0.6, 0.4, 0.8, 0.6, 0.5, 0.7])
    changes_dropouts = np.array([0.1, 0.3, 0.2, 0.0, 0.4, 0.2])
    result = attrition_bias(changes_completers, changes_dropouts)
    assert result.difference == pytest.approx(0.4)
    assert result.difference_ci_low > 0 and result.g_ci_low > 0
