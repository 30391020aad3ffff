"""OLS with classical and CR1 standard errors against R's lm and sandwich::vcovCL."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from stats.regression import CR1, ols, ols_from_cluster_sums

FIXTURES = Path(__file__).parent / "fixtures"


def _rows(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def anorexia_design():
    """MASS::anorexia, design [1, Prewt, Cont, FT] (CBT the reference level)."""
    rows = _rows("anorexia.csv")
    pre = np.array([float(r["Prewt"]) for r in rows])
    post = np.array([float(r["Postwt"]) for r in rows])
    treat = np.array([r["Treat"] for r in rows])
    x = np.column_stack([np.ones_like(pre), pre, treat == "Cont", treat == "FT"])
    return x, post


@pytest.fixture
def cohort_data():
    """The committed two-arm cohort data set (make_comparison_reference.R)."""
    rows = _rows("cohort_comparison.csv")
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


def test_anorexia_ancova_reproduces_lm_coefficients_and_ses(anorexia_design):
    # R: lm(Postwt ~ Prewt + Treat), CBT reference (reference README, tolerance 1e-4)
    x, y = anorexia_design
    fit = ols(x, y, terms=("intercept", "Prewt", "Cont", "FT"))
    assert fit.coefficient("Cont").estimate == pytest.approx(-4.0971, abs=1e-4)
    assert fit.coefficient("Cont").se == pytest.approx(1.8935, abs=1e-4)
    assert fit.coefficient("FT").estimate == pytest.approx(4.5631, abs=1e-4)
    assert fit.coefficient("FT").se == pytest.approx(2.1333, abs=1e-4)
    assert fit.coefficient("Prewt").estimate == pytest.approx(0.4345, abs=1e-4)
    # p values of lm's summary (make_comparison_reference.Rout)
    assert fit.coefficient("Cont").p == pytest.approx(0.0339993147, abs=1e-8)
    assert fit.df == 68


def test_cr1_ses_match_sandwich_vcovcl_hc1(cohort_data):
    # R: vcovCL(lm(post ~ pre + arm), cluster = ~cohort, type = "HC1"), t on G - 1 = 7 df
    d = cohort_data
    x = np.column_stack([np.ones_like(d["pre"]), d["pre"], d["arm"]])
    fit = ols(x, d["post"], terms=("intercept", "pre", "arm"), clusters=d["cohort"])
    expected = {
        "intercept": (-0.3879834423, 0.3407769617, -1.1937929103, 0.4178260256),
        "pre": (1.0399075880, 0.1204199699, 0.7551596069, 1.3246555691),
        "arm": (0.8124953682, 0.2336600197, 0.2599772190, 1.3650135174),
    }
    for term, (estimate, se, low, high) in expected.items():
        c = fit.coefficient(term)
        assert (c.estimate, c.se, c.ci_low, c.ci_high) == pytest.approx(
            (estimate, se, low, high), abs=1e-8
        )
    assert fit.coefficient("arm").p == pytest.approx(1.030439380e-02, abs=1e-9)
    assert (fit.se_type, fit.n_clusters, fit.df) == (CR1, 8, 7)


def test_fit_from_cluster_sums_equals_fit_from_rows(cohort_data):
    d = cohort_data
    x = np.column_stack([np.ones_like(d["pre"]), d["pre"], d["arm"]])
    y = d["post"]
    labels = np.unique(d["cohort"])
    members = [d["cohort"] == g for g in labels]
    xtx = np.stack([x[m].T @ x[m] for m in members])
    xty = np.stack([x[m].T @ y[m] for m in members])
    yty = np.array([y[m] @ y[m] for m in members])
    n = np.array([m.sum() for m in members])
    for robust, clusters in ((True, d["cohort"]), (False, None)):
        from_rows = ols(x, y, clusters=clusters)
        from_sums = ols_from_cluster_sums(xtx, xty, yty, n, robust=robust)
        for a, b in zip(from_rows.coefficients, from_sums.coefficients, strict=True):
            assert (a.estimate, a.se, a.p) == pytest.approx((b.estimate, b.se, b.p), rel=1e-10)
        assert from_rows.residual_sd == pytest.approx(from_sums.residual_sd, rel=1e-10)


def test_classical_ses_from_sums_match_lm(cohort_data):
    # R: summary(lm(post ~ pre + arm))$coefficients, classical SEs
    d = cohort_data
    x = np.column_stack([np.ones_like(d["pre"]), d["pre"], d["arm"]])
    fit = ols(x, d["post"])
    assert [c.se for c in fit.coefficients] == pytest.approx(
        [0.4659143394, 0.1519037453, 0.1958687976], abs=1e-9
    )


def test_collinear_design_is_a_clear_error():
    x = np.column_stack([np.ones(6), np.ones(6)])
    with pytest.raises(ValueError, match="rank deficient"):
        ols(x, np.arange(6.0))


def test_one_cluster_gives_nan_ses_not_a_crash():
    x = np.column_stack([np.ones(5), np.arange(5.0)])
    fit = ols(x, np.array([1.0, 3, 2, 5, 4]), clusters=np.zeros(5))
    assert fit.coefficient("x1").estimate == pytest.approx(0.8)
    assert np.isnan(fit.coefficient("x1").se)


def test_unknown_term_names_the_terms_there_are():
    fit = ols(np.column_stack([np.ones(4), np.arange(4.0)]), np.array([1.0, 2, 2, 4]))
    with pytest.raises(KeyError, match="x0, x1"):
        fit.coefficient("slope")
