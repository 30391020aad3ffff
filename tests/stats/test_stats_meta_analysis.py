"""Meta-analysis against R metafor's published results for dat.bcg (Colditz et al. 1994)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from statsmodels.stats.meta_analysis import combine_effects

from stats.meta import MetaResult, meta_analysis

TOL = 5e-4  # stated tolerance for estimates, SEs, tau^2, CIs, PIs, z, t, p and Q
TOL_I2_H2 = 0.01  # stated tolerance for I^2 (percent) and H^2


def test_log_risk_ratios_match_metafor_escalc_for_first_bcg_trial(bcg_yi_vi):
    yi, vi = bcg_yi_vi
    # metafor escalc("RR", ai=4, n1i=123, ci=11, n2i=139): yi = -0.8893, vi = 0.3256
    assert yi[0] == pytest.approx(-0.8893, abs=1e-4)
    assert vi[0] == pytest.approx(0.3256, abs=1e-4)
    assert yi.size == 13


def test_fixed_effect_reproduces_metafor_dat_bcg(bcg_yi_vi):
    fe = meta_analysis(*bcg_yi_vi, method="FE")
    assert fe.mu == pytest.approx(-0.4303, abs=TOL)
    assert fe.se == pytest.approx(0.0405, abs=TOL)
    assert fe.q == pytest.approx(152.2330, abs=TOL)
    assert fe.q_df == 12
    assert fe.tau2 == 0.0
    assert (fe.pi_low, fe.pi_high) == (fe.ci_low, fe.ci_high)


def test_fixed_effect_heterogeneity_uses_metafor_fe_convention(bcg_yi_vi):
    fe = meta_analysis(*bcg_yi_vi, method="FE")
    assert fe.i2 == pytest.approx(100 * (fe.q - 12) / fe.q)
    assert fe.h2 == pytest.approx(fe.q / 12)


def test_dersimonian_laird_reproduces_metafor_dat_bcg(bcg_yi_vi):
    dl = meta_analysis(*bcg_yi_vi, method="DL")
    assert dl.tau2 == pytest.approx(0.3088, abs=TOL)
    assert dl.mu == pytest.approx(-0.7141, abs=TOL)
    assert dl.se == pytest.approx(0.1787, abs=TOL)
    assert dl.ci_low == pytest.approx(-1.0644, abs=TOL)
    assert dl.ci_high == pytest.approx(-0.3638, abs=TOL)
    assert dl.i2 == pytest.approx(92.12, abs=TOL_I2_H2)


def test_reml_reproduces_metafor_dat_bcg(bcg_yi_vi):
    reml = meta_analysis(*bcg_yi_vi)  # REML is the default, as in metafor
    assert reml.method == "REML"
    assert reml.tau2 == pytest.approx(0.3132, abs=TOL)
    assert reml.tau2_se == pytest.approx(0.1664, abs=TOL)
    assert reml.mu == pytest.approx(-0.7145, abs=TOL)
    assert reml.se == pytest.approx(0.1798, abs=TOL)
    assert reml.z == pytest.approx(-3.9744, abs=TOL)
    assert reml.t is None and reml.df is None
    assert reml.ci_low == pytest.approx(-1.0669, abs=TOL)
    assert reml.ci_high == pytest.approx(-0.3622, abs=TOL)
    assert reml.i2 == pytest.approx(92.22, abs=TOL_I2_H2)
    assert reml.h2 == pytest.approx(12.86, abs=TOL_I2_H2)
    assert reml.pi_low == pytest.approx(-1.8667, abs=TOL)
    assert reml.pi_high == pytest.approx(0.4376, abs=TOL)


def test_reml_with_hksj_reproduces_metafor_dat_bcg(bcg_yi_vi):
    knha = meta_analysis(*bcg_yi_vi, method="REML", hksj=True)
    assert knha.se == pytest.approx(0.1808, abs=TOL)
    assert knha.t == pytest.approx(-3.9522, abs=TOL)
    assert knha.df == 12
    assert knha.z is None
    assert knha.p == pytest.approx(0.0019, abs=TOL)
    assert knha.ci_low == pytest.approx(-1.1084, abs=TOL)
    assert knha.ci_high == pytest.approx(-0.3206, abs=TOL)
    # same tau^2 and estimate as plain REML; only the uncertainty changes
    assert knha.mu == pytest.approx(meta_analysis(*bcg_yi_vi).mu)


def test_paule_mandel_reproduces_metafor_dat_bcg_and_solves_generalised_q(bcg_yi_vi):
    yi, vi = bcg_yi_vi
    pm = meta_analysis(yi, vi, method="PM")
    assert pm.tau2 == pytest.approx(0.3181, abs=TOL)  # metafor rma(method = "PM")
    w = 1 / (vi + pm.tau2)
    mu = np.sum(w * yi) / np.sum(w)
    assert np.sum(w * (yi - mu) ** 2) == pytest.approx(len(yi) - 1, abs=1e-8)


def test_reml_tau2_is_the_maximum_of_the_restricted_likelihood(bcg_yi_vi):
    yi, vi = bcg_yi_vi

    def negative_restricted_loglik(tau2: float) -> float:
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        return 0.5 * (np.sum(np.log(vi + tau2)) + np.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2))

    best = optimize.minimize_scalar(
        negative_restricted_loglik, bounds=(0, 5), method="bounded", options={"xatol": 1e-10}
    )
    assert meta_analysis(yi, vi).tau2 == pytest.approx(best.x, abs=1e-6)


def test_reml_tau2_se_is_from_the_reml_not_the_ml_information(bcg_yi_vi):
    # sqrt(2 / sum w*^2) is the ML-information SE (0.1586 here) and misses metafor's 0.1664.
    yi, vi = bcg_yi_vi
    reml = meta_analysis(yi, vi)
    ml_information_se = math.sqrt(2 / np.sum(1 / (vi + reml.tau2) ** 2))
    assert ml_information_se == pytest.approx(0.1586, abs=TOL)
    assert reml.tau2_se > ml_information_se


def test_dersimonian_laird_matches_statsmodels_combine_effects(bcg_yi_vi):
    yi, vi = bcg_yi_vi
    dl = meta_analysis(yi, vi, method="DL")
    statsmodels_result = combine_effects(yi, vi, method_re="dl")
    assert dl.tau2 == pytest.approx(statsmodels_result.tau2)
    assert dl.mu == pytest.approx(statsmodels_result.mean_effect_re)
    assert dl.q == pytest.approx(statsmodels_result.q)


def test_homogeneous_studies_give_zero_tau2_and_random_equals_fixed():
    yi = [0.30, 0.32, 0.29, 0.31]
    vi = [0.04, 0.05, 0.03, 0.06]
    fe = meta_analysis(yi, vi, method="FE")
    for method in ("DL", "REML", "PM"):
        re = meta_analysis(yi, vi, method=method)
        assert re.tau2 == 0.0, method
        assert re.mu == pytest.approx(fe.mu)
        assert re.i2 == 0.0


def test_hksj_with_identical_estimates_gives_nan_test_instead_of_dividing_by_zero():
    result = meta_analysis([0.3, 0.3, 0.3], [0.01, 0.02, 0.03], hksj=True)
    assert result.mu == pytest.approx(0.3)
    assert result.se == 0.0
    assert math.isnan(result.t) and math.isnan(result.p)


def test_single_study_returns_its_own_estimate_with_nan_heterogeneity():
    result = meta_analysis([0.4], [0.04])
    assert result.mu == pytest.approx(0.4)
    assert result.se == pytest.approx(0.2)
    assert result.tau2 == 0.0
    assert math.isnan(result.q_p) and math.isnan(result.i2)


@pytest.mark.parametrize(
    ("yi", "vi", "method"),
    [([], [], "REML"), ([0.1, 0.2], [0.01], "REML"), ([0.1], [0.0], "DL"), ([0.1], [0.1], "HS")],
)
def test_malformed_input_is_rejected(yi, vi, method):
    with pytest.raises(ValueError):
        meta_analysis(yi, vi, method=method)


def test_meta_result_as_dict_lists_every_field(bcg_yi_vi):
    result = meta_analysis(*bcg_yi_vi)
    assert list(result.as_dict()) == list(MetaResult.__dataclass_fields__)
    assert result.as_dict()["tau2"] == result.tau2
