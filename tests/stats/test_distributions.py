"""The direct distribution functions give scipy.stats' values (they call the same routines)."""

import math

import pytest
from scipy import stats as sps

from stats.distributions import chi2_sf, f_ppf, norm_ppf, norm_sf, t_ppf, t_sf

PROBABILITIES = [0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.9995]
DEGREES = [1, 2.5, 9, 30, 411, 1e6]


@pytest.mark.parametrize("df", DEGREES)
@pytest.mark.parametrize("q", PROBABILITIES)
def test_t_quantile_matches_scipy_stats(q, df):
    assert t_ppf(q, df) == pytest.approx(float(sps.t.ppf(q, df)), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("df", DEGREES)
@pytest.mark.parametrize("x", [-4.2, -1.0, 0.0, 0.7, 1.96, 12.0])
def test_t_upper_tail_matches_scipy_stats(x, df):
    assert t_sf(x, df) == pytest.approx(float(sps.t.sf(x, df)), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("q", PROBABILITIES)
def test_normal_quantile_and_tail_match_scipy_stats(q):
    assert norm_ppf(q) == pytest.approx(float(sps.norm.ppf(q)), rel=1e-12, abs=1e-12)
    x = norm_ppf(q)
    assert norm_sf(x) == pytest.approx(float(sps.norm.sf(x)), rel=1e-12)


def test_textbook_critical_values():
    # Two-sided 95%: z = 1.959964; t(10) = 2.228139; F(0.95; 3, 20) = 3.098391;
    # chi-square(1) upper tail at 3.841459 = 0.05 (standard statistical tables).
    assert norm_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert f_ppf(0.95, 3, 20) == pytest.approx(3.098391, abs=1e-6)
    assert chi2_sf(3.841459, 1) == pytest.approx(0.05, abs=1e-7)


@pytest.mark.parametrize("dfn,dfd", [(1, 5), (3, 20), (40, 1000)])
@pytest.mark.parametrize("q", [0.025, 0.5, 0.975])
def test_f_quantile_matches_scipy_stats(q, dfn, dfd):
    assert f_ppf(q, dfn, dfd) == pytest.approx(float(sps.f.ppf(q, dfn, dfd)), rel=1e-12)


@pytest.mark.parametrize("df", [1, 4, 99])
@pytest.mark.parametrize("x", [0.0, 0.5, 3.84, 40.0])
def test_chi_square_tail_matches_scipy_stats(x, df):
    assert chi2_sf(x, df) == pytest.approx(float(sps.chi2.sf(x, df)), rel=1e-12)


def test_invalid_arguments_give_nan_not_an_exception():
    assert math.isnan(t_ppf(1.5, 10))
    assert math.isnan(t_ppf(0.5, -1))
