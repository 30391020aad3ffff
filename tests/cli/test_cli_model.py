"""`attune model`: the model that uses every wave, through the command a script runs."""

from __future__ import annotations

import json

import pytest

from tests.support import attune
from tests.warehouse.dropout_world import MEANS, build_dropout_db

WAVE_FIELDS = {"wave", "mean", "ci_low", "ci_high", "change_from_pre", "change_ci_low",
               "change_ci_high"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_dropout_db(tmp_path_factory.mktemp("model") / "world.duckdb")


def model_json(world, *args: str) -> dict:
    result = attune("model", "--db", str(world), "--scale", "CONF", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_model_json_recovers_the_change_that_completers_overstate(world):
    out = model_json(world)
    assert out["scale"] == "CONF"
    assert (out["n_participants"], out["n_observations"]) == (2000, 5024)
    assert [w["wave"] for w in out["waves"]] == ["pre", "post", "followup_12m"]
    assert all(set(w) == WAVE_FIELDS for w in out["waves"])
    year = out["waves"][-1]
    truth = MEANS["followup_12m"] - MEANS["pre"]
    assert year["change_ci_low"] < truth < year["change_ci_high"]
    completers = {c["wave"]: c for c in out["completers"]}
    assert completers["followup_12m"]["n_pairs"] == 1024
    assert completers["followup_12m"]["mean_change"] > year["change_ci_high"]
    assert {f["term"] for f in out["fixed_effects"]} == {
        "Intercept", "wave[post]", "wave[followup_12m]"}
    assert out["participant_sd"] == pytest.approx(0.4, abs=0.03)  # generated with SD 0.4
    assert out["residual_sd"] == pytest.approx(0.4, abs=0.03)
    assert out["tipping_point"]["wave"] == "followup_12m"
    assert out["tipping_point"]["delta"] > 0


def test_model_by_format_gives_one_waves_list_per_group(world):
    out = model_json(world, "--by", "format")
    assert [g["format"] for g in out["groups"]] == ["in_person", "online"]
    truth = MEANS["followup_12m"] - MEANS["pre"]
    for group in out["groups"]:
        year = group["waves"][-1]
        assert year["change_ci_low"] < truth < year["change_ci_high"]
        assert group["completers"][-1]["mean_change"] > year["change_ci_high"]
    assert sum(g["n_participants"] for g in out["groups"]) == out["n_participants"]


def test_unknown_scale_and_grouping_are_usage_errors(world):
    unknown = attune("model", "--db", str(world), "--scale", "NOPE", "--json")
    assert unknown.returncode == 2
    assert "no scale 'NOPE'" in unknown.stderr
    grouping = attune("model", "--db", str(world), "--scale", "CONF", "--by", "sponsor")
    assert grouping.returncode == 2
    assert "unknown --by sponsor" in grouping.stderr
