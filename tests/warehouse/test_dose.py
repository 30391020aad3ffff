"""Dose and supervision in the analysis layer: the fit from DuckDB's cohort sums is exactly
statsmodels' pair-by-pair OLS with CR1 SEs by cohort, a world with a known dose effect is
recovered within the CIs, and what cannot be shown is refused with its reason."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tests.warehouse.dose_world import (
    HOURS_EFFECT,
    SUPERVISION_EFFECT,
    build_dose_db,
)
from warehouse.connection import Database
from warehouse.dose import CAVEAT, HOURS, NO_HOURS, SUPERVISION, dose_response
from warehouse.errors import CannotShow
from warehouse.filters import Filters

TERMS = ["intercept", HOURS, SUPERVISION, "format[certificate]", "audience[educator]",
         "audience[hr]"]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    return build_dose_db(tmp_path_factory.mktemp("dose") / "small.duckdb",
                         people_per_cohort=12, cohorts_per_programme=4, seed=3)


@pytest.fixture(scope="module")
def large_world(tmp_path_factory):
    return build_dose_db(tmp_path_factory.mktemp("dose") / "large.duckdb",
                         people_per_cohort=60, cohorts_per_programme=10, seed=11)


def _pairs(path) -> pd.DataFrame:
    """Every matched pair pre -> post, one row each, with its cohort's regressors."""
    con = duckdb.connect(str(path), read_only=True)
    frame = con.execute(
        "SELECT a.cohort_id, a.audience, p.format, c.supervision, p.contact_hours, "
        "b.score_CONF - a.score_CONF AS change "
        "FROM responses AS a JOIN responses AS b ON a.participant_id = b.participant_id "
        "AND a.cohort_id = b.cohort_id AND a.wave = 'pre' AND b.wave = 'post' "
        "JOIN cohorts AS c ON c.cohort_id = a.cohort_id JOIN programs AS p USING (program_id)"
    ).df()
    con.close()
    return frame


def _row_level_fit(frame: pd.DataFrame):
    x = pd.DataFrame({
        "intercept": 1.0,
        HOURS: np.log(frame.contact_hours),
        SUPERVISION: frame.supervision.astype(float),
        "format[certificate]": (frame.format == "certificate").astype(float),
        "audience[educator]": (frame.audience == "educator").astype(float),
        "audience[hr]": (frame.audience == "hr").astype(float),
    })
    groups = pd.factorize(frame.cohort_id)[0]
    return sm.OLS(frame.change.to_numpy(), x).fit(cov_type="cluster",
                                                  cov_kwds={"groups": groups}, use_t=True)


def test_cohort_sums_fit_equals_statsmodels_cluster_robust_ols_on_every_pair(small_world):
    result = dose_response(Database(small_world), "CONF")
    frame = _pairs(small_world)
    known = frame[frame.contact_hours.notna()]
    reference = _row_level_fit(known)
    assert [c["term"] for c in result["coefficients"]] == TERMS
    ci = reference.conf_int(alpha=0.05)
    for c in result["coefficients"]:
        assert c["estimate"] == pytest.approx(reference.params[c["term"]], abs=1e-9)
        assert c["se"] == pytest.approx(reference.bse[c["term"]], rel=1e-9)
        assert c["ci_low"] == pytest.approx(ci.loc[c["term"], 0], rel=1e-9)
        assert c["ci_high"] == pytest.approx(ci.loc[c["term"], 1], rel=1e-9)
    assert result["n_pairs"] == len(known)
    assert result["n_cohorts"] == known.cohort_id.nunique()


def test_programmes_without_contact_hours_are_left_out_and_counted(small_world):
    result = dose_response(Database(small_world), "CONF")
    frame = _pairs(small_world)
    unknown = frame[frame.contact_hours.isna()]
    assert result["left_out"] == {"n_pairs": len(unknown),
                                  "n_cohorts": unknown.cohort_id.nunique(),
                                  "reason": NO_HOURS}
    assert len(unknown) > 0
    assert result["reference"] == {"format": "workshop", "audience": "mental_health"}
    assert result["caveat"] == CAVEAT and result["caveat"].startswith("Association, not effect")


def test_known_dose_and_supervision_effects_lie_within_their_intervals(large_world):
    result = dose_response(Database(large_world), "CONF")
    coefficients = {c["term"]: c for c in result["coefficients"]}
    for term, truth in ((HOURS, HOURS_EFFECT), (SUPERVISION, SUPERVISION_EFFECT)):
        c = coefficients[term]
        assert c["ci_low"] < truth < c["ci_high"], term
        assert c["ci_high"] - c["ci_low"] < 0.3, term  # informative, not merely wide


def test_a_lower_is_better_scale_counts_improvement_as_positive(tmp_path):
    path = build_dose_db(tmp_path / "lower.duckdb", people_per_cohort=60,
                         cohorts_per_programme=10, seed=11, higher_is_better=False)
    result = dose_response(Database(path), "CONF")
    supervision = next(c for c in result["coefficients"] if c["term"] == SUPERVISION)
    assert supervision["ci_low"] < SUPERVISION_EFFECT < supervision["ci_high"]
    assert supervision["ci_low"] > 0


def test_a_term_without_variation_is_dropped_and_named(small_world):
    result = dose_response(Database(small_world), "CONF", filters=Filters(format=("workshop",)))
    assert [c["term"] for c in result["coefficients"]] == [
        "intercept", HOURS, SUPERVISION, "audience[educator]", "audience[hr]"]
    assert result["dropped_terms"] == [
        {"term": "format", "reason": "every pair here has the format workshop"}]
    only_supervised = dose_response(Database(small_world), "CONF",
                                    filters=Filters(supervision=True))
    assert SUPERVISION not in [c["term"] for c in only_supervised["coefficients"]]
    assert {"term": SUPERVISION, "reason": "every cohort here had ongoing supervision"} in (
        only_supervised["dropped_terms"])


def test_too_few_pairs_or_cohorts_and_entangled_terms_are_refused(small_world):
    with pytest.raises(CannotShow, match="Fewer than 1000 matched pairs"):
        dose_response(Database(small_world, min_cell_size=1000), "CONF")
    with pytest.raises(CannotShow, match="two cohorts per coefficient"):
        dose_response(Database(small_world), "CONF", filters=Filters(program=("P0", "P1")))
    # One programme per format: its hours are its format's, the design is singular.
    with pytest.raises(CannotShow, match="too entangled"):
        dose_response(Database(small_world), "CONF", filters=Filters(program=("P0", "P3")))


def test_sponsor_is_refused_until_the_regression_is_published(small_world):
    with pytest.raises(CannotShow, match="not published yet"):
        dose_response(Database(small_world), "CONF", filters=Filters(published=True))


def test_a_repeated_call_is_served_from_the_cache_per_filters(small_world):
    database = Database(small_world)
    first = dose_response(database, "CONF")
    misses = database.cache_misses
    assert dose_response(database, "CONF") == first
    assert database.cache_misses == misses
    dose_response(database, "CONF", filters=Filters(format=("workshop",)))
    assert database.cache_misses == misses + 1
