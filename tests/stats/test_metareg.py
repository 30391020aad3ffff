"""Meta-regression and subgroups against R metafor 3.8-1 on dat.bcg (Colditz et al. 1994).

Published values are those of tests/stats/fixtures/README.md ("dat_bcg.csv again"); the
others come from fixtures/make_metareg_reference.R (output beside it, values in
metareg_reference.csv), all with REML/ML fully converged.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from stats.meta import meta_analysis
from stats.metareg import (
    bubble_points,
    design_matrix,
    meta_regression,
    moderator_analysis,
    subgroup_analysis,
)

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-4  # stated tolerance of the published values
TOL_R2 = 0.01  # R^2 in percent
TOL_FIXTURE = 1e-6  # metareg_reference.csv holds 10 significant digits


@pytest.fixture
def bcg(dat_bcg, bcg_yi_vi) -> tuple[np.ndarray, np.ndarray, dict[str, list]]:
    """Log risk ratios, their variances and the moderator columns (year, ablat, alloc)."""
    yi, vi = bcg_yi_vi
    with open(FIXTURES / "dat_bcg_moderators.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["trial"]) for r in rows] == list(dat_bcg["trial"])
    columns = {
        "year": [int(r["year"]) for r in rows],
        "ablat": [float(r["ablat"]) for r in rows],
        "alloc": [r["alloc"] for r in rows],
    }
    return yi, vi, columns


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    with open(FIXTURES / "metareg_reference.csv", newline="") as handle:
        return {row["quantity"]: float(row["value"]) for row in csv.DictReader(handle)}


def test_latitude_meta_regression_reproduces_metafor_published_values(bcg):
    yi, vi, columns = bcg
    fit = moderator_analysis(yi, vi, columns, ["ablat"])
    intercept, slope = fit.coefficients
    assert (intercept.term, slope.term) == ("intercept", "ablat")
    assert intercept.estimate == pytest.approx(0.2515, abs=TOL)
    assert intercept.se == pytest.approx(0.2491, abs=TOL)
    assert slope.estimate == pytest.approx(-0.0291, abs=TOL)
    assert slope.se == pytest.approx(0.0072, abs=TOL)
    # fully converged QM 16.3582; metafor's default stopping rule would give 16.3571
    assert (fit.qm, fit.qm_df) == (pytest.approx(16.3582, abs=TOL), 1)
    assert (fit.qe, fit.qe_df) == (pytest.approx(30.7331, abs=TOL), 11)
    assert fit.tau2 == pytest.approx(0.07635, abs=TOL)
    assert fit.r2 == pytest.approx(75.63, abs=TOL_R2)
    assert slope.z is not None and slope.t is None and fit.qm_df2 is None


def test_allocation_moderator_reproduces_metafor_published_qm(bcg):
    yi, vi, columns = bcg
    fit = moderator_analysis(yi, vi, columns, ["alloc"])
    assert fit.qm == pytest.approx(1.7675, abs=TOL)
    assert fit.qm_df == 2
    assert fit.qm_p == pytest.approx(0.4132, abs=TOL)


FITS = {
    "ablat_reml": (["ablat"], "REML", False, False),
    "ablat_knha": (["ablat"], "REML", True, False),
    "ablat_dl": (["ablat"], "DL", False, False),
    "ablat_fe": (["ablat"], "FE", False, False),
    "ablat_ml": (["ablat"], "ML", False, False),
    "ablat_year_reml": (["ablat", "year"], "REML", False, False),
    "ablat_year_knha": (["ablat", "year"], "REML", True, False),
    "alloc_reml": (["alloc"], "REML", False, False),
    "alloc_knha": (["alloc"], "REML", True, False),
    "alloc_adhoc": (["alloc"], "REML", True, True),
    "alloc_ablat_reml": (["ablat", "alloc"], "REML", False, False),
}


def _metafor_term(term: str) -> str:
    if term == "intercept":
        return "intrcpt"
    if term.endswith("]"):
        name, level = term[:-1].split("[")
        return f"factor({name}){level}"
    return term


@pytest.mark.parametrize("label", sorted(FITS))
def test_meta_regression_matches_metafor_rma(bcg, reference, label):
    yi, vi, columns = bcg
    mods, method, knha, adhoc = FITS[label]
    design = design_matrix(columns, mods)
    fit = meta_regression(yi, vi, design.x, design.terms, method=method, knha=knha, adhoc=adhoc)
    for coef in fit.coefficients:
        key = f"{label}.{_metafor_term(coef.term)}"
        assert coef.estimate == pytest.approx(reference[f"{key}.estimate"], abs=TOL_FIXTURE)
        assert coef.se == pytest.approx(reference[f"{key}.se"], abs=TOL_FIXTURE)
        stat = coef.t if knha else coef.z
        assert stat == pytest.approx(reference[f"{key}.stat"], abs=TOL_FIXTURE)
        assert coef.p == pytest.approx(reference[f"{key}.p"], abs=TOL_FIXTURE)
        assert coef.ci_low == pytest.approx(reference[f"{key}.ci_low"], abs=TOL_FIXTURE)
        assert coef.ci_high == pytest.approx(reference[f"{key}.ci_high"], abs=TOL_FIXTURE)
    for field in ("qm", "qm_p", "qe", "qe_p", "tau2", "i2", "r2"):
        assert getattr(fit, field) == pytest.approx(reference[f"{label}.{field}"], abs=TOL_FIXTURE)
    if method in ("REML", "ML"):
        assert fit.tau2_se == pytest.approx(reference[f"{label}.tau2_se"], abs=TOL_FIXTURE)


def test_knapp_hartung_gives_t_intervals_on_k_minus_p_df_wider_than_z(bcg):
    yi, vi, columns = bcg
    z_fit = moderator_analysis(yi, vi, columns, ["ablat"])
    t_fit = moderator_analysis(yi, vi, columns, ["ablat"], knha=True)
    z_slope, t_slope = z_fit.coefficient("ablat"), t_fit.coefficient("ablat")
    assert t_slope.estimate == z_slope.estimate
    assert t_slope.t is not None and t_slope.z is None
    assert t_slope.ci_high - t_slope.ci_low > z_slope.ci_high - z_slope.ci_low
    assert t_slope.p > z_slope.p
    # F(1, 11) for one moderator is the square of its t
    assert (t_fit.qm_df, t_fit.qm_df2) == (1, 11)
    assert t_fit.qm == pytest.approx(t_slope.t**2)


def test_knapp_hartung_may_shrink_ses_while_adhoc_never_does(bcg):
    yi, vi, columns = bcg
    design = design_matrix(columns, ["alloc"])
    plain = meta_regression(yi, vi, design.x, design.terms)
    knha = meta_regression(yi, vi, design.x, design.terms, knha=True)
    adhoc = meta_regression(yi, vi, design.x, design.terms, adhoc=True)
    assert knha.s2w < 1  # 0.915 here: metafor's test="knha" does not truncate
    for p, k, a in zip(plain.coefficients, knha.coefficients, adhoc.coefficients, strict=True):
        assert k.se == pytest.approx(p.se * math.sqrt(knha.s2w))
        assert k.se < p.se
        assert a.se == pytest.approx(p.se)
        assert a.t is not None  # still t-based
    assert adhoc.s2w == 1.0


def test_categorical_moderator_becomes_dummies_against_its_first_sorted_level(bcg):
    _, _, columns = bcg
    design = design_matrix(columns, ["alloc"])
    assert design.terms == ("intercept", "alloc[random]", "alloc[systematic]")
    alloc = columns["alloc"]
    assert list(design.x[:, 1]) == [float(a == "random") for a in alloc]
    assert list(design.x[:, 2]) == [float(a == "systematic") for a in alloc]
    assert not np.any(design.x[[a == "alternate" for a in alloc], 1:])  # the reference level


def test_numeric_column_can_be_forced_categorical_with_factor(bcg):
    _, _, columns = bcg
    design = design_matrix({"hours": [10, 20, 10, 30, 20]}, ["factor(hours)"])
    assert design.terms == ("intercept", "hours[20]", "hours[30]")
    numeric = design_matrix(columns, ["year"])
    assert numeric.terms == ("intercept", "year")
    assert list(numeric.x[:, 1]) == [float(y) for y in columns["year"]]


def test_rows_missing_a_moderator_are_dropped_and_reported(bcg):
    yi, vi, columns = bcg
    holed = {
        "ablat": [None if i == 1 else a for i, a in enumerate(columns["ablat"])],
        "alloc": ["" if i == 6 else a for i, a in enumerate(columns["alloc"])],
        "year": [float("nan") if i == 9 else y for i, y in enumerate(columns["year"])],
    }
    design = design_matrix(holed, ["ablat", "alloc"])
    assert design.dropped == (1, 6)
    assert len(design.kept) == design.x.shape[0] == 11

    fit = moderator_analysis(yi, vi, holed, ["ablat", "alloc", "year"])
    assert fit.dropped == (1, 6, 9) and fit.k == 10
    keep = [i for i in range(13) if i not in (1, 6, 9)]
    complete = {name: [values[i] for i in keep] for name, values in columns.items()}
    same = moderator_analysis(yi[keep], vi[keep], complete, ["ablat", "alloc", "year"])
    assert [c.estimate for c in fit.coefficients] == pytest.approx(
        [c.estimate for c in same.coefficients]
    )


def test_too_few_studies_for_the_moderators_is_refused(bcg):
    yi, vi, columns = bcg
    design = design_matrix(
        {name: values[:3] for name, values in columns.items()}, ["ablat", "year"]
    )
    with pytest.raises(ValueError, match=r"too few studies.*k = 3.*p = 3"):
        meta_regression(yi[:3], vi[:3], design.x, design.terms)


def test_singular_design_names_the_redundant_term(bcg):
    yi, vi, columns = bcg
    doubled = {**columns, "ablat_km": [111.0 * a for a in columns["ablat"]]}
    design = design_matrix(doubled, ["ablat", "ablat_km"])
    with pytest.raises(ValueError, match=r"singular: term 'ablat_km'"):
        meta_regression(yi, vi, design.x, design.terms)
    with pytest.raises(ValueError, match="single level"):
        design_matrix({"format": ["online"] * 13}, ["format"])


def test_subgroups_pool_each_level_on_its_own_and_test_differences_as_metafor(bcg, reference):
    yi, vi, columns = bcg
    result = subgroup_analysis(yi, vi, columns["alloc"])
    assert [s.level for s in result.subgroups] == ["alternate", "random", "systematic"]
    for sub in result.subgroups:
        key = f"subgroup.{sub.level}"
        assert sub.k == reference[f"{key}.k"]
        assert sub.estimate == pytest.approx(reference[f"{key}.estimate"], abs=TOL_FIXTURE)
        assert sub.se == pytest.approx(reference[f"{key}.se"], abs=TOL_FIXTURE)
        assert sub.tau2 == pytest.approx(reference[f"{key}.tau2"], abs=TOL_FIXTURE)
    # common-tau^2 QM of rma(yi, vi, mods = ~ factor(alloc)), published 1.7675 (p 0.4132)
    assert result.q_between == pytest.approx(1.7675, abs=TOL)
    assert result.q_between_df == 2
    assert result.q_between_p == pytest.approx(0.4132, abs=TOL)
    # separate-tau^2 variant: Q of the three level estimates around their weighted mean
    mu = np.array([s.estimate for s in result.subgroups])
    w = 1 / np.array([s.se for s in result.subgroups]) ** 2
    assert result.q_between_separate == pytest.approx(
        float(np.sum(w * (mu - np.sum(w * mu) / np.sum(w)) ** 2))
    )


def test_subgroup_drops_studies_without_a_group(bcg):
    yi, vi, columns = bcg
    groups = [None if i == 0 else a for i, a in enumerate(columns["alloc"])]
    result = subgroup_analysis(yi, vi, groups)
    assert result.dropped == (0,)
    random = next(s for s in result.subgroups if s.level == "random")
    alone = meta_analysis(yi[[1, 2, 3, 6, 7, 8]], vi[[1, 2, 3, 6, 7, 8]])
    assert (random.k, random.estimate) == (6, pytest.approx(alone.mu))


def test_bubble_line_is_metafor_predict_and_sizes_follow_random_effects_weights(bcg, reference):
    yi, vi, columns = bcg
    fit = moderator_analysis(yi, vi, columns, ["ablat"])
    points = bubble_points(yi, vi, columns["ablat"], fit, line_x=[10, 30, 50])
    for i, latitude in enumerate((10, 30, 50)):
        key = f"ablat_pred.{latitude}"
        assert points.line_fit[i] == pytest.approx(reference[f"{key}.fit"], abs=TOL_FIXTURE)
        assert points.line_ci_low[i] == pytest.approx(reference[f"{key}.ci_low"], abs=TOL_FIXTURE)
        assert points.line_ci_high[i] == pytest.approx(reference[f"{key}.ci_high"], abs=TOL_FIXTURE)
    w = 1 / (vi + fit.tau2)
    assert points.weight == pytest.approx(list(100 * w / w.sum()))
    assert points.x == tuple(columns["ablat"]) and points.y == pytest.approx(list(yi))
    two = moderator_analysis(yi, vi, columns, ["ablat", "year"])
    with pytest.raises(ValueError, match="one numeric moderator"):
        bubble_points(yi, vi, columns["ablat"], two)


def test_results_serialise_with_the_fields_the_command_line_reports(bcg):
    yi, vi, columns = bcg
    fit = moderator_analysis(yi, vi, columns, ["ablat"]).as_dict()
    assert {"qm", "qm_p", "qe", "qe_p", "tau2", "r2"} <= set(fit)
    assert {"term", "estimate", "se", "ci_low", "ci_high"} <= set(fit["coefficients"][0])
    groups = subgroup_analysis(yi, vi, columns["alloc"]).as_dict()
    assert {"q_between", "q_between_p"} <= set(groups)
    assert {"level", "k", "estimate", "se"} <= set(groups["subgroups"][0])
    json.dumps([fit, groups])
