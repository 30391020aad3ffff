"""The in-memory summaries: the lean build for the command line gives the same change, and the
build runs with more memory than requests are then served with."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.connection import Database, _mib, build_memory_limit
from warehouse.outcomes import group_change


def test_changes_only_database_gives_the_same_paired_change_as_the_full_one(tiny_db_factory):
    db = tiny_db_factory({("hr", "workshop"): 30, ("educator", "degree"): 25})
    full = group_change(Database(db), scale_id="CONF", by=("audience", "format"))
    lean = group_change(Database(db, changes_only=True), scale_id="CONF",
                        by=("audience", "format"))
    assert lean == full and any(not row["suppressed"] for row in full)


def test_database_written_before_the_analysis_definitions_still_reads(tiny_db):
    con = duckdb.connect(str(tiny_db))
    for macro in ("cohort_quarter", "is_matched_pair", "improvement"):
        con.execute(f"DROP MACRO {macro}")
    con.close()
    rows = group_change(Database(tiny_db, min_cell_size=11), scale_id="CONF",
                        by=("cohort_quarter",))
    assert [(r["cohort_quarter"], r["n_pairs"]) for r in rows] == [("2024-Q1", 39)]


def test_summaries_are_built_with_more_memory_than_requests_are_served_with(tiny_db,
                                                                           monkeypatch):
    monkeypatch.setenv("ATTUNE_BUILD_MEMORY", "1GB")
    assert build_memory_limit("400MB") == "1GB"
    monkeypatch.delenv("ATTUNE_BUILD_MEMORY")
    assert _mib(build_memory_limit("400MB")) > 400  # half the machine's memory, up to 6 GiB
    con = Database(tiny_db, memory_limit="400MB").snapshot().con
    served = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert served.replace(" ", "") in ("381.4MiB", "400.0MB", "400MB")


def test_a_bad_build_memory_setting_is_refused(monkeypatch):
    monkeypatch.setenv("ATTUNE_BUILD_MEMORY", "lots")
    with pytest.raises(ValueError):
        build_memory_limit("400MB")


def test_a_second_response_of_one_person_at_one_wave_never_counts_them_twice(tiny_db):
    """Ingest keeps one response per participant, cohort and wave; a database that breaks the
    rule still counts each person once (their highest score at the wave), on every chart."""
    before = group_change(Database(tiny_db, min_cell_size=1), scale_id="CONF",
                          by=("audience", "format"))
    assert [row["n_pairs"] for row in before] == [7, 20, 12]
    with duckdb.connect(str(tiny_db)) as con:
        con.execute("INSERT INTO responses SELECT * REPLACE (score_CONF - 1 AS score_CONF) "
                    "FROM responses WHERE wave = 'pre' LIMIT 3")
        twice = con.execute("SELECT count(*) FROM (SELECT participant_id, cohort_id, wave "
                            "FROM responses GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
    assert twice == 3
    after = Database(tiny_db, min_cell_size=1)
    # The pairs (the pre-training SD, and so the reliable-change threshold, is over responses)
    pairs = ("n_pairs", "mean_from", "mean_to", "mean_change", "sd_change", "d_z")
    assert [{k: row[k] for k in pairs} for row in group_change(
        after, scale_id="CONF", by=("audience", "format"))] == [{k: row[k] for k in pairs}
                                                                for row in before]
    people = after.fetch("SELECT sum(n) FROM memory.people_cube")[0][0]
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        assert people == con.execute("SELECT count(*) FROM (SELECT DISTINCT participant_id, "
                                     "cohort_id FROM responses)").fetchall()[0][0]
