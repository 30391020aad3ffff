"""`attune compare`: intervention against comparison arm, through the command a script runs."""

from __future__ import annotations

import json

import pytest

from tests.support import attune, differences
from tests.warehouse.waitlist_world import EFFECT, build_waitlist_db

PROGRAM_KEYS = {"program_id", "n_intervention", "n_comparison", "ancova", "did", "baseline_g",
                "baseline_equivalence", "attrition_overall", "attrition_differential",
                "attrition_standard"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_waitlist_db(tmp_path_factory.mktemp("compare") / "world.duckdb")


def compare_json(world, *args: str) -> dict:
    result = attune("compare", "--db", str(world), "--scale", "CONF", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compare_json_has_the_documented_keys_and_recovers_the_effect(world):
    out = compare_json(world)
    assert (out["scale"], out["wave_from"], out["wave_to"]) == ("CONF", "pre", "post")
    assert [p["program_id"] for p in out["programs"]] == ["P0", "P1"]
    for program in out["programs"]:
        assert PROGRAM_KEYS <= set(program)
        assert {"estimate", "se", "ci_low", "ci_high", "p"} <= set(program["ancova"])
        assert {"estimate", "ci_low", "ci_high"} <= set(program["did"])
        assert program["ancova"]["ci_low"] < EFFECT < program["ancova"]["ci_high"]
        assert program["did"]["ci_low"] < EFFECT < program["did"]["ci_high"]
    standards = {p["program_id"]: p["attrition_standard"] for p in out["programs"]}
    assert standards == {"P0": "low", "P1": "high"}
    assert [p["program_id"] for p in out["left_out"]] == ["P2"]


def test_program_option_compares_only_that_programme(world):
    everything = {p["program_id"]: p for p in compare_json(world)["programs"]}
    out = compare_json(world, "--program", "P1")
    assert [p["program_id"] for p in out["programs"]] == ["P1"]
    assert differences(out["programs"][0], everything["P1"]) == []
    assert out["left_out"] == []


def test_wave_option_sets_the_later_wave(world):
    out = compare_json(world, "--wave", "followup_12m")
    assert out["wave_to"] == "followup_12m"
    # Only the trained arms were surveyed at 12 months: no comparison can be shown.
    for program in out["programs"]:
        assert program["suppressed"] is True
        assert "comparison arm" in program["reason"]
        assert program["ancova"] is None
    earlier = attune("compare", "--db", str(world), "--scale", "CONF", "--wave", "pre")
    assert earlier.returncode == 2
    assert "does not come after" in earlier.stderr


def test_table_names_each_programme_and_whether_its_comparison_counts(world):
    result = attune("compare", "--db", str(world), "--scale", "CONF")
    assert result.returncode == 0, result.stderr
    assert "P0: the comparison counts for the evidence tier" in result.stdout
    assert "P1: the comparison does not count for the evidence tier: attrition high" \
        in result.stdout
    assert "P2: not compared" in result.stdout


def test_unknown_scale_is_a_usage_error(world):
    unknown = attune("compare", "--db", str(world), "--scale", "NOPE", "--json")
    assert unknown.returncode == 2
    assert "no scale 'NOPE'" in unknown.stderr
    assert unknown.stdout == ""
