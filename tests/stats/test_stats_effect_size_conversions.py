"""Effect-size conversions to (yi, vi), following metafor's escalc conventions."""

from __future__ import annotations

import math

import pytest

from stats.meta import (
    log_risk_ratio,
    smcr_from_prepost,
    smd_from_ci,
    study_effect_size,
    to_yi_vi,
)
from stats.paired import hedges_j


def test_smd_from_ci_recovers_the_variance_from_the_interval_width():
    yi, vi = smd_from_ci(0.5, 0.1, 0.9)
    assert yi == 0.5
    assert vi == pytest.approx((0.8 / (2 * 1.959963984540054)) ** 2)
    yi90, vi90 = smd_from_ci(0.5, 0.1, 0.9, level=0.90)
    assert vi90 > vi  # the same width at 90% implies a larger SE


def test_smd_from_ci_rejects_an_inverted_interval():
    with pytest.raises(ValueError):
        smd_from_ci(0.5, 0.9, 0.1)


def test_smcr_follows_metafor_raw_score_standardisation():
    # escalc("SMCR", m1i = 12, m2i = 10, sd1i = 4, ni = 25, ri = 0.6)
    yi, vi = smcr_from_prepost(mean_pre=10, mean_post=12, sd_pre=4, r=0.6, n=25)
    assert yi == pytest.approx(hedges_j(24) * 0.5)
    # J(24) = Gamma(12) / (sqrt(12) Gamma(11.5)) = 0.968365 (approximation 1 - 3/95 = 0.968421)
    assert yi == pytest.approx(0.48418, abs=1e-5)
    assert vi == pytest.approx(2 * 0.4 / 25 + yi**2 / 50)


def test_smcr_is_negative_when_the_post_mean_is_lower():
    yi, _ = smcr_from_prepost(mean_pre=12, mean_post=10, sd_pre=4, r=0.6, n=25)
    assert yi < 0


def test_log_risk_ratio_adds_half_to_every_cell_when_one_is_zero():
    yi, vi = log_risk_ratio(0, 20, 5, 20)
    assert yi == pytest.approx(math.log((0.5 / 21) / (5.5 / 21)))
    assert vi == pytest.approx(1 / 0.5 - 1 / 21 + 1 / 5.5 - 1 / 21)


def test_to_yi_vi_prefers_yi_vi_then_g_with_ci_then_pre_post_moments():
    full = {
        "yi": 0.2, "vi": 0.01, "g": 0.5, "ci_low": 0.1, "ci_high": 0.9,
        "mean_pre": 10, "mean_post": 12, "sd_pre": 4, "r": 0.6, "n": 25,
    }  # fmt: skip
    assert to_yi_vi(full) == (0.2, 0.01)
    assert to_yi_vi({**full, "vi": None}) == smd_from_ci(0.5, 0.1, 0.9)
    assert to_yi_vi({**full, "vi": None, "ci_high": float("nan")}) == smcr_from_prepost(
        10, 12, 4, 0.6, 25
    )


def test_to_yi_vi_honours_a_reported_ci_level():
    row = {"g": 0.5, "ci_low": 0.1, "ci_high": 0.9, "level": 0.90}
    assert to_yi_vi(row) == smd_from_ci(0.5, 0.1, 0.9, level=0.90)


def test_to_yi_vi_returns_none_when_no_set_of_inputs_is_complete():
    assert to_yi_vi({}) is None
    assert to_yi_vi({"yi": 0.3, "g": 0.4, "ci_low": 0.1, "mean_pre": 3, "sd_pre": 1}) is None
    assert to_yi_vi({"yi": "n/a", "vi": 0.1}) is None


def test_study_effect_size_reads_the_evidence_tables_g_interval_and_refuses_a_reversed_one():
    row = {"g": 0.42, "g_ci_low": 0.05, "g_ci_high": 0.79}
    assert study_effect_size(row) == smd_from_ci(0.42, 0.05, 0.79)
    assert study_effect_size({**row, "g_ci_low": 0.79, "g_ci_high": 0.05}) is None
    assert study_effect_size({"g": 0.42}) is None
