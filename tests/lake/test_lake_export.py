"""`attune export --lake`: what the lake holds, its manifest, atomic and incremental
publishing, and the schema-version guard."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from attune.cli import app
from etl.lake_export import export_lake
from schemas.lake import LAKE_SCHEMA_VERSION, LAKE_TABLES, MANIFEST_NAME, read_manifest
from tests.support import build_tiny_db
from warehouse.lake import attach_lake

GROUPS = {("hr", "workshop"): 20, ("educator", "degree"): 12}


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_db(tmp_path / "tiny.duckdb", GROUPS)


def _files(lake):
    """Every Parquet file of the lake with its (inode, mtime)."""
    return {p.relative_to(lake).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in lake.rglob("*.parquet")}


def _count(lake, table, **attach):
    with duckdb.connect() as con:
        attach_lake(con, lake, **attach)
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_manifest_lists_every_file_with_its_rows_and_sha256(tiny, tmp_path):
    lake = tmp_path / "lake"
    result = CliRunner().invoke(app, ["export", "--db", str(tiny), "--lake", str(lake),
                                      "--provider", "north", "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((lake / MANIFEST_NAME).read_text())
    assert manifest["schema_version"] == LAKE_SCHEMA_VERSION
    entry = manifest["providers"]["north"]
    assert entry["snapshot"]["database_sha256"] == hashlib.sha256(tiny.read_bytes()).hexdigest()
    assert entry["snapshot"]["last_ingest_run"] == "run1"
    listed = set()
    with duckdb.connect() as con:
        for table in LAKE_TABLES:
            files = entry["tables"][table.name]["files"]
            for item in files:
                path = lake / item["path"]
                assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"]
                assert con.execute("SELECT count(*) FROM read_parquet(?)",
                                   [str(path)]).fetchall()[0][0] == item["rows"]
                listed.add(item["path"])
            expected = duckdb.connect(str(tiny), read_only=True).execute(
                f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
            assert entry["tables"][table.name]["rows"] == expected, table.name
    assert listed == set(_files(lake))


def test_quarantined_rows_are_never_exported(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    assert duckdb.connect(str(tiny), read_only=True).execute(
        "SELECT count(*) FROM quarantine").fetchall()[0][0] == 1
    assert "quarantine" not in read_manifest(lake)["providers"]["north"]["tables"]
    assert not (lake / "quarantine").exists()
    assert not any("mid" in p for p in _files(lake))


def test_responses_are_partitioned_by_provider_sponsor_and_cohort_year(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    folders = {p.rsplit("/", 1)[0] for p in _files(lake) if p.startswith("responses/")}
    assert folders == {"responses/provider=north/sponsor=SP1/cohort_year=2024",
                       "responses/provider=north/sponsor=SP2/cohort_year=2024"}
    with duckdb.connect() as con:
        attach_lake(con, lake)
        assert con.execute("SELECT DISTINCT provider, sponsor, cohort_year FROM responses "
                           "ORDER BY 2").fetchall() == [("north", "SP1", "2024"),
                                                        ("north", "SP2", "2024")]


def test_lake_views_answer_as_the_database_does(demo_db, demo_lake):
    """The database's own table and view names over the lake (what `serve --lake` reads)."""
    query = ("SELECT scale_id, count(*), sum(improvement) FROM {s}paired_scores "
             "GROUP BY scale_id ORDER BY scale_id")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        expected = con.execute(query.format(s="")).fetchall()
    with duckdb.connect() as con:
        attach_lake(con, demo_lake, schema="attune")
        got = con.execute(query.format(s="attune.")).fetchall()
    assert [row[:2] for row in got] == [row[:2] for row in expected]
    for (_, _, a), (_, _, b) in zip(got, expected, strict=True):
        assert a == pytest.approx(b, rel=1e-12)


def test_reexport_of_an_unchanged_database_rewrites_no_file(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    before = _files(lake)
    report = export_lake(tiny, lake, "north")
    assert report.written == [] and report.removed == []
    assert _files(lake) == before  # same inodes, same mtimes


def test_reexport_rewrites_only_the_changed_partition(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    before = _files(lake)
    with duckdb.connect(str(tiny)) as con:  # one answer changes in sponsor SP1's cohort
        con.execute("UPDATE responses SET years_experience = 3 WHERE cohort_id = 'C0' "
                    "AND participant_id = 'educator-degree-0' AND wave = 'pre'")
    report = export_lake(tiny, lake, "north")
    changed = [p for p in report.written]
    assert len(changed) == 1 and changed[0].startswith(
        "responses/provider=north/sponsor=SP1/cohort_year=2024/")
    after = _files(lake)
    old = [p for p in before if p.startswith("responses/provider=north/sponsor=SP1/")]
    assert all(after[p] == before[p] for p in before if p not in old)  # untouched
    # The replaced file stays for readers of the previous manifest, until the next export.
    assert set(old) <= set(after)
    with duckdb.connect(str(tiny)) as con:
        con.execute("UPDATE responses SET years_experience = 4 WHERE cohort_id = 'C0' "
                    "AND participant_id = 'educator-degree-0' AND wave = 'pre'")
    export_lake(tiny, lake, "north")
    assert not set(old) & set(_files(lake))


def test_readers_of_the_manifest_see_the_old_version_until_the_new_one_is_committed(
        tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    old_rows = _count(lake, "responses")
    bigger = build_tiny_db(tmp_path / "bigger.duckdb", {**GROUPS, ("coach", "degree"): 15})
    seen = []

    def read_mid_export(done, total, what):
        seen.append(_count(lake, "responses"))

    export_lake(bigger, lake, "north", progress=read_mid_export)
    assert seen and set(seen) == {old_rows}  # every file written so far was invisible
    assert _count(lake, "responses") == old_rows + 30


def test_export_refuses_a_lake_of_another_schema_version(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    manifest = json.loads((lake / MANIFEST_NAME).read_text())
    manifest["schema_version"] = LAKE_SCHEMA_VERSION + 1
    (lake / MANIFEST_NAME).write_text(json.dumps(manifest))
    before = (lake / MANIFEST_NAME).read_text(), _files(lake)
    result = CliRunner().invoke(app, ["export", "--db", str(tiny), "--lake", str(lake),
                                      "--provider", "south"])
    assert result.exit_code == 4
    assert "schema version" in result.output and "new folder" in result.output
    assert ((lake / MANIFEST_NAME).read_text(), _files(lake)) == before


def test_export_refuses_a_provider_name_that_is_not_a_plain_name(tiny, tmp_path):
    result = CliRunner().invoke(app, ["export", "--db", str(tiny), "--lake",
                                      str(tmp_path / "lake"), "--provider", "../up"])
    assert result.exit_code == 2
    assert "provider name '../up'" in result.output


def test_a_second_provider_leaves_the_first_ones_files_alone(tiny, tmp_path):
    lake = tmp_path / "lake"
    export_lake(tiny, lake, "north")
    north = _files(lake)
    other = shutil.copy2(tiny, tmp_path / "other.duckdb")
    export_lake(other, lake, "south")
    after = _files(lake)
    assert all(after[p] == north[p] for p in north)
    assert sorted(read_manifest(lake)["providers"]) == ["north", "south"]
    assert _count(lake, "responses") == 2 * _count(lake, "responses", providers=("north",))
    assert os.path.exists(lake / "responses" / "provider=south")
