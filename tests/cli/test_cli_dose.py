"""`attune dose`: what goes with larger change, through the command a script runs."""

from __future__ import annotations

import json

import pytest

from tests.support import attune
from tests.warehouse.dose_world import build_dose_db
from warehouse.connection import Database
from warehouse.dose import CAVEAT, dose_response

DOSE_KEYS = {"scale", "wave_from", "wave_to", "n_pairs", "n_cohorts", "coefficients",
             "reference", "dropped_terms", "left_out", "caveat"}
COEFFICIENT_KEYS = {"term", "estimate", "se", "ci_low", "ci_high"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_dose_db(tmp_path_factory.mktemp("dose-cli") / "world.duckdb",
                         people_per_cohort=12, seed=5)


def test_dose_json_has_the_documented_keys_and_the_analysis_numbers(world):
    result = attune("dose", "--db", str(world), "--scale", "CONF", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == DOSE_KEYS
    assert all(set(c) == COEFFICIENT_KEYS for c in out["coefficients"])
    expected = dose_response(Database(world), "CONF")
    assert (out["n_pairs"], out["n_cohorts"]) == (expected["n_pairs"], expected["n_cohorts"])
    assert [c["term"] for c in out["coefficients"]] == [
        c["term"] for c in expected["coefficients"]]
    for got, want in zip(out["coefficients"], expected["coefficients"], strict=True):
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert got[key] == pytest.approx(want[key], rel=1e-12), (got["term"], key)
    assert out["left_out"] == expected["left_out"]
    assert out["caveat"] == CAVEAT


def test_dose_table_names_the_terms_the_reference_and_the_caveat(world):
    result = attune("dose", "--db", str(world), "--scale", "CONF", "--wave-from", "pre",
                    "--wave-to", "post")
    assert result.returncode == 0, result.stderr
    for text in ("log contact hours", "supervision", "format[certificate]",
                 "compared with format workshop and audience mental_health",
                 "Association, not effect"):
        assert text in result.stdout, text
    assert "Left out: 48 pairs in 4 cohorts" in result.stdout  # P6: 4 cohorts of 12


def test_an_unknown_scale_is_a_usage_error_naming_it(world):
    result = attune("dose", "--db", str(world), "--scale", "NOPE", "--json")
    assert result.returncode == 2
    assert "no scale 'NOPE'" in result.stderr
    assert result.stdout == ""


def test_published_figures_are_refused(world):
    result = attune("dose", "--db", str(world), "--scale", "CONF", "--published", "--json")
    assert result.returncode == 2
    assert "not published yet" in result.stderr
    assert result.stdout == ""
