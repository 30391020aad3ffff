"""The data quality page shows what the analysis layer reads: linkage rates per cohort, and
rows skipped and the encoding of each run, on new and older databases alike."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from dashboard.pages.quality import build_linkage, build_runs
from tests.etl import untidy_fixtures as uf
from tests.etl.helpers import run
from tests.etl.linking_fixtures import MAPPING, POST, PRE, codes_file
from tests.etl.platform_helpers import setup_database, write_mapping
from warehouse.connection import Database


def test_linkage_rates_per_cohort_reach_the_quality_page(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    chart = build_linkage(SimpleNamespace(db=Database(db, min_cell_size=3), min_cell=3), {})
    assert [record["match_rate"] for record in chart.records] == [pytest.approx(66.67, abs=0.01)]


def test_skipped_rows_and_encoding_reach_the_quality_page_and_old_databases_still_read(tmp_path):
    db = setup_database(tmp_path)
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of()))
    run([export], db, mapping=write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT))
    chart = build_runs(SimpleNamespace(db=Database(db)), {})
    (record,) = [r for r in chart.records if r["kind"] == "responses"]
    assert (record["rows_read"], record["rows_loaded"], record["rows_skipped"]) == (11, 5, 6)
    assert record["encoding"] == "utf-8"
    # A database written before rows_skipped and encoding existed still shows its runs.
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE ingest_runs DROP COLUMN rows_skipped")
    con.execute("ALTER TABLE ingest_runs DROP COLUMN encoding")
    con.close()
    old = build_runs(SimpleNamespace(db=Database(db)), {})
    assert [r["rows_skipped"] for r in old.records if r["kind"] == "responses"] == [None]
