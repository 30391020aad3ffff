"""`attune mapping init` and `attune ingest --mapping` as a user meets them."""

from __future__ import annotations

import json

import yaml

from tests.etl import platform_fixtures as pf
from tests.etl.helpers import query, write_dataset
from tests.support import attune


def database_with_the_instrument(tmp_path):
    """A database holding the tiny dataset's instrument, programmes and cohorts, loaded by
    `attune ingest` as a user would."""
    folder = write_dataset(tmp_path / "export")
    db = tmp_path / "a.duckdb"
    setup = attune(
        "ingest",
        str(folder / "instrument.yaml"),
        str(folder / "programs.csv"),
        str(folder / "cohorts.csv"),
        "--db",
        str(db),
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return db


def test_mapping_init_then_ingest_with_mapping_wave_and_cohort(tmp_path):
    db = database_with_the_instrument(tmp_path)
    rows = [row for row in pf.good_rows() if row["wave"] == "post" and row["cohort_id"] == "C1"]
    export = tmp_path / "post.csv"
    export.write_bytes(pf.qualtrics_export(rows, extra=()))
    drafted = attune("mapping", "init", str(export), "--db", str(db))
    assert drafted.returncode == 0, drafted.stderr
    assert "Q5_1: CONF_01" in drafted.stdout and "TODO" in drafted.stdout
    assert yaml.safe_load(drafted.stdout)["format"] == "qualtrics"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        pf.QUALTRICS_MAPPING_NUMERIC.replace("  cohort: cohort_id\n", "").replace(
            "drop: [Q10_TEXT]", "drop: [Q10_TEXT, cohort]"
        )
    )
    result = attune(
        "ingest",
        str(export),
        "--mapping",
        str(mapping),
        "--wave",
        "post",
        "--cohort",
        "C1",
        "--db",
        str(db),
        "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["totals"]["rows_loaded"] == 2
    assert "IPAddress" in summary["files"][0]["message"]


def test_broken_mapping_file_is_a_usage_error(tmp_path):
    export = tmp_path / "x.csv"
    export.write_bytes(pf.qualtrics_export(pf.good_rows()[:1], extra=()))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("format: qualtrix\n")
    result = attune(
        "ingest", str(export), "--mapping", str(mapping), "--db", str(tmp_path / "d.duckdb")
    )
    assert result.returncode == 2
    assert "format must be one of" in result.stderr


def test_mapping_init_on_spss_labels_drafts_maps_that_load_a_reversed_coding(tmp_path):
    db = database_with_the_instrument(tmp_path)
    # Q5 is coded 1 = "Strongly agree" ... 5 = "Strongly disagree" in the file.
    export = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "post.sav", reverse_agree=True)
    drafted = attune("mapping", "init", str(export), "--db", str(db))
    assert drafted.returncode == 0, drafted.stderr
    assert '    "Strongly agree": 5   # code 1 in the file' in drafted.stdout
    assert '    "Strongly disagree": 1   # code 5 in the file' in drafted.stdout
    assert "  Duration__in_seconds_: duration_seconds" in drafted.stdout
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(drafted.stdout.replace("  # - ", "  - "))  # take the drop: patterns
    result = attune("ingest", str(export), "--mapping", str(mapping), "--db", str(db), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["totals"]["rows_loaded"] == 5
    stored = query(
        db,
        "SELECT wave, CONF_01, CONF_02, CONF_03, CONF_04, CONF_05 FROM responses "
        "ORDER BY completed_at",
    )
    expected = sorted(pf.good_rows(), key=lambda row: row["completed_at"])
    assert stored == [
        (row["wave"], *(float(row[item]) if row[item] else None for item in pf.ITEMS[:5]))
        for row in expected
    ]
