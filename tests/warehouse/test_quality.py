"""Data quality and documentation: quarantined rows, the data dictionary, linkage rates."""

from __future__ import annotations

import pytest

from tests.etl.helpers import run
from tests.etl.linking_fixtures import MAPPING, POST, PRE, codes_file
from tests.etl.platform_helpers import setup_database, write_mapping
from warehouse.connection import Database
from warehouse.dictionary import data_dictionary
from warehouse.quality import ingest_runs, linkage_rates, quarantine_by_rule, quarantine_rows


def test_quality_and_dictionary(tiny_db):
    db = Database(tiny_db)
    assert quarantine_by_rule(db)[0]["rule"] == "wave_is_allowed"
    assert len(quarantine_rows(db)) == 1
    names = {o["name"] for o in data_dictionary(db)}
    assert {"responses", "scale_scores", "paired_scores", "scored_responses"} <= names
    responses = next(o for o in data_dictionary(db) if o["name"] == "responses")
    assert responses["comment"] and all("column" in c for c in responses["columns"])


def test_linkage_rates_per_cohort_and_small_cohorts_hidden(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    (row,) = linkage_rates(Database(db, min_cell_size=3))
    assert (row["cohort_id"], row["wave_from"], row["wave_to"]) == ("C1", "pre", "post")
    assert (row["candidates"], row["exact_matches"], row["fuzzy_matches"]) == (6, 2, 2)
    assert row["match_rate"] == pytest.approx(100 * 4 / 6)
    # Six responses to link is fewer than the default minimum cell size: no counts, no rate.
    (hidden,) = linkage_rates(Database(db, min_cell_size=11))
    assert hidden["suppressed"] and hidden["match_rate"] is None and hidden["candidates"] is None


def test_ingest_runs_and_quarantined_rows_name_files_without_the_server_path(demo_db):
    runs, rows = ingest_runs(demo_db), quarantine_rows(demo_db)
    assert runs and rows
    for row in [*runs, *rows]:
        assert row["source"] and "/" not in row["source"] and "\\" not in row["source"]
    assert {r["source"] for r in runs} >= {"cohorts.csv", "programs.csv", "instrument.yaml"}
