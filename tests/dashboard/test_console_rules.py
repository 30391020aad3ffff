"""What a console statement may read, attacked the way a curious researcher would: the
quarantined rows however the table is spelled, and the server's paths and user through every
system table, setting and error they tried. Each attack below worked before the allow-list."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard import console as c
from dashboard import console_rules as rules
from dashboard.console import run_console_query


class Recorder:
    def __init__(self):
        self.entries = []

    def __call__(self, user, action, detail, outcome):
        self.entries.append((user, action, json.loads(detail), outcome))


@pytest.fixture
def audit():
    return Recorder()


@pytest.fixture(scope="module")
def tiny(tiny_db_factory):
    """The tiny database of ``tiny_db`` (one quarantined row), built once: tests here only
    read it."""
    return tiny_db_factory({("hr", "workshop"): 20, ("educator", "workshop"): 7,
                            ("hr", "degree"): 12})


def run(db, sql, audit, **kw):
    return run_console_query(db, sql, "rita", audit=audit, **kw)


def shown(result) -> str:
    """Everything a result puts on the page: columns, cells and the error."""
    return json.dumps([result.columns, result.rows, result.error])


# The one quarantined row of the tiny database (tests/support.py) and what gives it away.
QUARANTINED = ('"wave": "mid"', "got ''mid''", "got 'mid'", "wave_is_allowed")

QUARANTINE_ATTACKS = [
    "SELECT * FROM quarantine",
    'SELECT * FROM "Quarantine"',
    "SELECT raw FROM QUARANTINE",
    "FROM quarantine",
    "SELECT * FROM main.quarantine",
    "SELECT * FROM attune.quarantine",
    'SELECT * FROM "attune"."main"."quarantine"',
    "SELECT * FROM (SELECT * FROM quarantine) AS q",
    "WITH q AS (SELECT * FROM quarantine) SELECT * FROM q",
    "WITH quarantine AS (SELECT * FROM quarantine) SELECT * FROM quarantine",
    "WITH RECURSIVE r AS (SELECT raw FROM quarantine UNION ALL SELECT raw FROM r WHERE false) "
    "SELECT * FROM r",
    "SELECT (SELECT max(raw) FROM quarantine) AS leaked",
    "SELECT count(*) FROM responses WHERE EXISTS "
    "(SELECT 1 FROM quarantine WHERE raw LIKE '%mid%')",
    "SELECT participant_id FROM responses UNION ALL SELECT raw FROM quarantine",
    "SELECT q.raw FROM responses, LATERAL (SELECT raw FROM quarantine) AS q",
    "SELECT * FROM quarantine PIVOT (count(*) FOR source IN ('tiny.csv'))",
    "SUMMARIZE quarantine",
    "SUMMARIZE SELECT raw FROM quarantine",
    "SELECT * FROM query_table('quarantine')",
    "SELECT * FROM query('SELECT raw FROM quarantine')",
    "SELECT * FROM histogram(quarantine, source_row)",
    "SELECT * FROM read_duckdb('tiny.duckdb', table_name := 'quarantine')",
]


@pytest.mark.parametrize("sql", QUARANTINE_ATTACKS)
def test_a_researcher_cannot_read_the_quarantine_however_it_is_spelled(tiny, audit, sql):
    result = run(tiny, sql, audit)
    assert not result.ok and result.rows == []
    assert result.error == rules.MSG_QUARANTINE or "is not allowed" in result.error
    assert not any(clue in shown(result) for clue in QUARANTINED)
    assert audit.entries[-1][3] == f"refused: {result.error}"


@pytest.mark.parametrize("sql", [
    "SELECT raw FROM quarantine",
    "WITH q AS (SELECT * FROM quarantine) SELECT raw FROM q",
    "SELECT raw FROM attune.main.quarantine",
])
def test_a_role_that_sees_quarantined_rows_reads_them(tiny, audit, sql):
    result = run(tiny, sql, audit, sees_quarantine=True)
    assert result.ok, result.error
    assert result.rows == [('{"wave": "mid"}',)]


def test_the_quarantine_counts_stay_readable_for_researchers(tiny, audit):
    result = run(tiny, "SELECT rows_quarantined FROM ingest_runs", audit)
    assert result.rows == [("1",)]


def test_a_view_that_reads_the_quarantine_is_protected_like_it(tiny_db_factory, audit):
    path = tiny_db_factory({("hr", "workshop"): 3})
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE VIEW rejected_rows AS SELECT source, raw FROM quarantine")
    con = c.locked_connection(path)
    try:
        assert "rejected_rows" in rules.readable(con).protected
    finally:
        con.close()
    researcher = run(path, "SELECT raw FROM rejected_rows", audit)
    assert researcher.error == rules.MSG_QUARANTINE
    admin = run(path, "SELECT raw FROM rejected_rows", audit, sees_quarantine=True)
    assert admin.rows == [('{"wave": "mid"}',)]


def test_the_bound_plan_alone_refuses_a_scan_of_the_quarantine(tiny):
    """The second check, without the parse tree's: DuckDB expands query_table() itself."""
    con = c.locked_connection(tiny)
    try:
        offer = rules.readable(con)
        with pytest.raises(rules.NotAllowed, match="quarantine"):
            rules.check_plan(con, "SELECT * FROM query_table('quarantine')", offer,
                             sees_quarantine=False)
        rules.check_plan(con, "SELECT * FROM query_table('quarantine')", offer,
                         sees_quarantine=True)
        rules.check_plan(con, "SELECT count(*) FROM responses", offer, sees_quarantine=False)
    finally:
        con.close()


def _server_markers(db: Path) -> list[str]:
    """Text that would tell a web user where the server keeps things and who it runs as."""
    markers = {str(Path(db).resolve().parent), str(Path.home()), os.getcwd(), sys.prefix,
               str(Path(sys.executable).resolve().parent)}
    return sorted(m for m in markers if m.count("/") >= 2 or m == str(Path.home()))


SERVER_ATTACKS = [
    "PRAGMA database_list",
    "SELECT * FROM duckdb_databases()",
    "SELECT path FROM duckdb_databases",
    "SELECT * FROM duckdb_settings()",
    "SELECT value FROM system.main.duckdb_settings() WHERE name = 'secret_directory'",
    "SELECT current_setting('secret_directory')",
    "SELECT system.main.current_setting('allowed_directories')",
    "SELECT * FROM duckdb_extensions()",
    "SELECT getenv('HOME')",
    "SHOW secret_directory",
    "SHOW allowed_paths",
    "SELECT * FROM information_schema.schemata",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'https://example.org/x.csv'",
    "SELECT * FROM read_duckdb('/nonexistent/folder/x.duckdb')",
    "SELECT pg_get_viewdef(1)",
    "SELECT json_serialize_plan('SELECT * FROM duckdb_databases()')",
    "SELECT * FROM (WITH duckdb_settings AS (SELECT 1 AS x) SELECT * FROM duckdb_settings) AS a, "
    "duckdb_settings",
    "WITH duckdb_databases AS (SELECT * FROM duckdb_databases) SELECT * FROM duckdb_databases",
]


@pytest.mark.parametrize("sql", SERVER_ATTACKS)
def test_no_statement_shows_the_servers_paths_or_user(tiny, audit, sql):
    result = run(tiny, sql, audit)
    assert not result.ok and result.rows == []
    page = shown(result)
    assert not [m for m in _server_markers(tiny) if m in page], page
    assert audit.entries[-1][3].startswith("refused: ")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM duckdb_settings()", "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM information_schema.schemata",
])
def test_a_refused_source_says_what_the_console_reads(tiny, audit, sql):
    assert "the console reads the database's tables and views" in run(tiny, sql, audit).error


def test_an_error_that_echoes_a_path_shows_only_the_file_name(tiny_db_factory, audit):
    path = tiny_db_factory({("hr", "workshop"): 3})
    with duckdb.connect(str(path)):  # a writer holds the file: DuckDB names it and its holder
        result = run(path, "SELECT 1", audit)
    assert result.error.startswith("DuckDB: IO Error") and path.name in result.error
    assert not [m for m in _server_markers(path) if m in result.error], result.error


def test_paths_stored_in_the_data_are_shown_by_file_name(demo_db, audit):
    result = run(demo_db, "SELECT DISTINCT source FROM ingest_runs ORDER BY source", audit)
    assert result.ok and result.rows
    assert all("/" not in name for (name,) in result.rows), result.rows
    assert ("cohorts.csv",) in result.rows


# Ordinary work that the allow-list must leave alone.
ALLOWED = [
    ("WITH responses AS (SELECT 1 AS n) SELECT n FROM responses", [("1",)]),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
     "SELECT count(*) FROM t", [("3",)]),
    ("WITH a AS (SELECT 2 AS n), b AS (SELECT n + 1 AS n FROM a) SELECT n FROM b", [("3",)]),
    ("SELECT count(*) FROM attune.main.cohorts", [("2",)]),
    ("SELECT count(*) FROM main.cohorts", [("2",)]),
    ("FROM cohorts SELECT count(*)", [("2",)]),
    ("SELECT cohort_quarter(start_date) FROM cohorts WHERE cohort_id = 'C0'", [("2024-Q1",)]),
    ("SELECT * FROM range(2)", [("0",), ("1",)]),
    ("SELECT * FROM generate_series(1, 2)", [("1",), ("2",)]),
    ("SELECT unnest([5, 6])", [("5",), ("6",)]),
    ("VALUES (1, 'a')", [("1", "a")]),
    ("SELECT list_transform([1, 2], lambda x: x + 1)", [("[2, 3]",)]),
    ("SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY participant_id) FROM responses)",
     [("78",)]),
    ("SELECT count(*) FROM paired_scores WHERE scale_id = 'CONF'", [("39",)]),
    ("SELECT * FROM (PIVOT responses ON wave IN ('pre', 'post') USING count(*) "
     "GROUP BY audience) ORDER BY audience", [("educator", "7", "7"), ("hr", "32", "32")]),
    ("SHOW DATABASES", [("attune",)]),
]


@pytest.mark.parametrize("sql,rows", ALLOWED)
def test_ordinary_queries_still_run(tiny, audit, sql, rows):
    result = run(tiny, sql, audit)
    assert result.ok, result.error
    assert result.rows == rows


@pytest.mark.parametrize("sql", ["SHOW TABLES", "SHOW ALL TABLES", "DESCRIBE responses",
                                 "SUMMARIZE cohorts", "SHOW cohorts", "SHOW SCHEMAS"])
def test_the_catalog_listings_still_run(tiny, audit, sql):
    result = run(tiny, sql, audit)
    assert result.ok, result.error
    assert result.rows
