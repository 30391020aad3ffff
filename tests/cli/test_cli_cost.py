"""`attune cost`: the cost figures through the command a script runs."""

from __future__ import annotations

import json

import pytest

from tests.support import attune
from tests.warehouse.cost_world import build_cost_db
from warehouse import cost as analysis

CI_FIGURES = ("cost_per_matched_participant", "cost_per_reliably_improved", "cost_per_tenth_sd")
GROUP_KEYS = {"people", "n_pairs", "total_cost", "cost_per_participant", *CI_FIGURES,
              *(f"{f}_ci_{end}" for f in CI_FIGURES for end in ("low", "high")),
              "cohorts", "cohorts_without_cost", "g", "pct_reliable_improved", "suppressed",
              "reasons"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_cost_db(tmp_path_factory.mktemp("cost") / "world.duckdb")


def cost_json(world, *args: str) -> dict:
    result = attune("cost", "--db", str(world), "--scale", "CONF", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cost_json_has_exactly_the_documented_keys(world):
    out = cost_json(world)
    assert set(out) == {"seed", "resamples", "groups"}
    assert (out["seed"], out["resamples"]) == (analysis.SEED, analysis.RESAMPLES) == (1, 2000)
    assert [g["format"] for g in out["groups"]] == [
        "workshop", "short_course", "certificate", "degree"]
    for group in out["groups"]:
        assert set(group) == GROUP_KEYS | {"format"}
    shop = out["groups"][0]
    assert shop["total_cost"] == pytest.approx(13400.0)
    assert shop["cost_per_participant"] == pytest.approx(13400 / 66)
    assert shop["cost_per_tenth_sd_ci_low"] < shop["cost_per_tenth_sd"] < shop[
        "cost_per_tenth_sd_ci_high"]


def test_cost_by_program_gives_one_row_per_programme(world):
    out = cost_json(world, "--by", "program")
    rows = {g["program"]: g for g in out["groups"]}
    assert set(rows) == {"P1", "P2", "P3", "P4", "P5"}
    assert set(rows["P1"]) == GROUP_KEYS | {"program"}
    # P1: cohorts A (100 x 20) and G (150 x 16)
    assert rows["P1"]["total_cost"] == pytest.approx(4400.0)
    assert rows["P1"]["people"] == 36
    assert rows["P3"]["cost_per_participant"] == pytest.approx(300.0)


def test_seed_option_changes_nothing_but_the_draws(world):
    out = cost_json(world, "--seed", "5")
    assert out["seed"] == 5
    assert out["groups"][0]["cost_per_tenth_sd"] == cost_json(world)["groups"][0][
        "cost_per_tenth_sd"]


def test_the_table_names_what_is_not_given_and_why(world):
    result = attune("cost", "--db", str(world), "--scale", "CONF")
    assert result.returncode == 0, result.stderr
    assert "certificate: cost per tenth sd: no improvement to pay for" in result.stdout
    assert "degree: 1 of 2 cohorts have no known cost" in result.stdout


def test_unknown_scale_and_grouping_are_usage_errors(world):
    unknown = attune("cost", "--db", str(world), "--scale", "NOPE", "--json")
    assert unknown.returncode == 2
    assert "no scale 'NOPE'" in unknown.stderr
    grouping = attune("cost", "--db", str(world), "--scale", "CONF", "--by", "audience")
    assert grouping.returncode == 2
    assert "unknown --by audience" in grouping.stderr


def test_help_documents_the_resamples_and_the_seed():
    result = attune("cost", "--help")
    assert result.returncode == 0
    assert "2000" in result.stdout and "seed 1" in result.stdout
