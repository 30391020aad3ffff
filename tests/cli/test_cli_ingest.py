"""The `attune` command as a user or a script meets it: help, exit codes, JSON."""

from __future__ import annotations

import json

import pytest

from etl.load import ingest_lock
from tests.etl.helpers import GOOD_ROWS, write_dataset
from tests.support import attune


@pytest.mark.parametrize(
    "command", ["", "generate", "ingest", "demo", "serve", "summarize", "pool"]
)
def test_every_command_explains_itself_with_help(command):
    result = attune(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout
    assert len(result.stdout.split()) > 30


def test_clean_ingest_exits_zero_and_json_totals_add_up(tmp_path):
    folder = write_dataset(tmp_path / "export")
    result = attune("ingest", str(folder), "--db", str(tmp_path / "a.duckdb"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 0
    assert summary["totals"]["rows_read"] == summary["totals"]["rows_loaded"]
    assert {file["kind"] for file in summary["files"]} == {
        "instrument",
        "programs",
        "cohorts",
        "responses",
    }


def test_quarantined_rows_exit_one_and_the_summary_names_the_rule(tmp_path):
    bad = "Z1,C1,pre,2024-03-01,educator,5,9,2,3,2,4,4,4,3"
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, bad))
    result = attune("ingest", str(folder), "--db", str(tmp_path / "a.duckdb"))
    assert result.returncode == 1
    assert "item_within_scale_range (1)" in result.stdout
    assert "partial" in result.stdout


def test_missing_path_is_a_usage_error(tmp_path):
    result = attune("ingest", str(tmp_path / "nowhere"), "--db", str(tmp_path / "a.duckdb"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_unknown_option_is_a_usage_error(tmp_path):
    assert attune("ingest", "--frobnicate").returncode == 2


def test_ingest_says_it_waits_for_another_ingest_and_exits_three_when_the_wait_runs_out(
    tmp_path,
):
    folder = write_dataset(tmp_path / "export")
    database = tmp_path / "a.duckdb"
    with ingest_lock(database):  # another ingest is writing the database
        result = attune("ingest", str(folder), "--db", str(database), "--wait", "0.3")
    assert result.returncode == 3
    said = " ".join(result.stderr.split())
    assert f"another attune ingest is writing {database}: waiting up to 0.3 s" in said
    assert "still writing" in said and "after 0.3 s of waiting" in said
    assert not database.exists()  # nothing was written


def test_default_database_follows_attune_db(tmp_path):
    folder = write_dataset(tmp_path / "export")
    target = tmp_path / "elsewhere.duckdb"
    result = attune("ingest", str(folder), "--json", env={"ATTUNE_DB": str(target)})
    assert result.returncode == 0, result.stderr
    assert target.exists()
    assert json.loads(result.stdout)["database"] == str(target)


def test_generate_writes_the_input_format_and_ingests(tmp_path):
    out = tmp_path / "gen"
    result = attune("generate", str(out), "--participants", "150", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert (out / "instrument.yaml").exists() and (out / "cohorts.csv").exists()
    ingest = attune("ingest", str(out), "--db", str(tmp_path / "g.duckdb"), "--json")
    summary = json.loads(ingest.stdout)
    assert summary["totals"]["rows_loaded"] > 300
    assert summary["totals"]["rows_quarantined"] > 0  # the deliberately invalid rows
