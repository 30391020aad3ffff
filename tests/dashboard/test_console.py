"""The researchers' SQL console: locked down, limited, audited."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import duckdb
import pytest

from accounts.store import AuthStore
from dashboard import console as c
from dashboard.console import run_console_query


class Recorder:
    def __init__(self):
        self.entries = []

    def __call__(self, user, action, detail, outcome):
        self.entries.append((user, action, json.loads(detail), outcome))


@pytest.fixture
def audit():
    return Recorder()


def run(db, sql, audit, **kw):
    return run_console_query(db, sql, "rita", audit=audit, **kw)


REFUSED = [
    ("COPY (SELECT * FROM responses) TO '/tmp/attune-leak.csv'", c.MSG_NO_ACCESS),
    ("COPY responses TO '/tmp/attune-leak.parquet' (FORMAT parquet)", c.MSG_NO_ACCESS),
    ("ATTACH '/tmp/attune-other.duckdb' AS other", c.MSG_NO_ACCESS),
    ("ATTACH ':memory:' AS scratch", c.MSG_NO_ACCESS),
    ("INSTALL httpfs", c.MSG_NO_ACCESS),
    ("LOAD httpfs", c.MSG_NO_ACCESS),
    ("EXPORT DATABASE '/tmp/attune-export'", c.MSG_NO_ACCESS),
    ("SET threads = 4", c.MSG_NO_SETTINGS),
    ("SET enable_external_access = true", c.MSG_NO_SETTINGS),
    ("RESET lock_configuration", c.MSG_NO_SETTINGS),
    ("PRAGMA memory_limit = '8GB'", c.MSG_NO_SETTINGS),
    ("PRAGMA force_checkpoint", c.MSG_NO_PRAGMA),
    ("PRAGMA database_list", c.MSG_NO_PRAGMA),
    ("PRAGMA table_info('responses')", c.MSG_NO_PRAGMA),
    ("EXPLAIN SELECT * FROM responses", c.MSG_NO_EXPLAIN),
    ("EXPLAIN ANALYZE SELECT * FROM quarantine", c.MSG_NO_EXPLAIN),
    ("CREATE TABLE stolen AS SELECT * FROM responses", c.MSG_READ_ONLY),
    ("CREATE TEMP TABLE scratch AS SELECT 1", c.MSG_READ_ONLY),
    ("INSERT INTO programs VALUES ('X', 'x', 'workshop', 'online', 1)", c.MSG_READ_ONLY),
    ("DELETE FROM responses", c.MSG_READ_ONLY),
    ("UPDATE responses SET audience = 'hr'", c.MSG_READ_ONLY),
    ("DROP TABLE responses", c.MSG_READ_ONLY),
    ("CHECKPOINT", None),  # refused as a non-query; message names the type
]


@pytest.mark.parametrize("sql,message", REFUSED)
def test_dangerous_statements_fail_with_a_clear_message(tiny_db, audit, sql, message):
    result = run(tiny_db, sql, audit)
    assert not result.ok and result.rows == []
    if message:
        assert result.error == message
    assert audit.entries[-1][0] == "rita" and audit.entries[-1][3].startswith("refused")


# The locked connection alone (without the statement-type check) makes these fail too:
# DuckDB's own errors, not a keyword list.
LOCKED = [
    ("COPY (SELECT 1) TO '/tmp/attune-leak.csv'", c.MSG_NO_ACCESS),
    ("ATTACH '/tmp/attune-other.duckdb' AS other", c.MSG_NO_ACCESS),
    ("SELECT * FROM read_csv('/etc/passwd')", c.MSG_NO_ACCESS),
    ("INSTALL httpfs", c.MSG_NO_ACCESS),
    ("LOAD httpfs", c.MSG_NO_ACCESS),
    ("SET threads = 4", c.MSG_NO_SETTINGS),
    ("SET memory_limit = '8GB'", c.MSG_NO_SETTINGS),
    ("PRAGMA enable_profiling", c.MSG_NO_SETTINGS),
    ("CREATE TABLE stolen AS SELECT 1", c.MSG_READ_ONLY),
    ("INSERT INTO programs VALUES ('X', 'x', 'workshop', 'online', 1)", c.MSG_READ_ONLY),
    ("DELETE FROM responses", c.MSG_READ_ONLY),
]


@pytest.mark.parametrize("sql,message", LOCKED)
def test_locked_connection_rejects_by_duckdb_errors(tiny_db, sql, message):
    con = c.locked_connection(tiny_db)
    try:
        with pytest.raises(duckdb.Error) as info:
            con.execute(sql).fetchall()
        assert c.explain_error(info.value) == message
    finally:
        con.close()


def test_locked_connection_settings(tiny_db):
    con = c.locked_connection(tiny_db, memory_limit="256MB")
    try:
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access',"
            " 'lock_configuration', 'threads', 'autoload_known_extensions',"
            " 'autoinstall_known_extensions')").fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                            "threads": "1", "autoload_known_extensions": "false",
                            "autoinstall_known_extensions": "false"}
        databases = [r[0] for r in con.execute(
            "SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()]
        assert databases == ["attune"]
    finally:
        con.close()


def test_select_on_views_works(tiny_db, audit):
    result = run(tiny_db, "SELECT audience, count(*) AS n FROM responses "
                          "GROUP BY audience ORDER BY audience", audit)
    assert result.ok, result.error
    assert result.columns == ["audience", "n"]
    assert result.rows == [("educator", "14"), ("hr", "64")]
    views = run(tiny_db, "SELECT count(*) FROM paired_scores", audit)
    assert views.ok, views.error
    assert all(isinstance(v, str) for v in views.rows[0])


def test_cells_are_text_not_html(tiny_db, audit):
    result = run(tiny_db, "SELECT '<img src=x onerror=alert(1)>' AS s, NULL AS n, 1.5 AS f",
                 audit)
    assert result.rows == [("<img src=x onerror=alert(1)>", None, "1.5")]


def test_multiple_statements_are_refused(tiny_db, audit):
    result = run(tiny_db, "SELECT 1; DELETE FROM responses", audit)
    assert result.error == c.MSG_ONE_STATEMENT
    assert run(tiny_db, "SELECT 1;", audit).ok  # a trailing semicolon is one statement
    assert run(tiny_db, "  ", audit).error == c.MSG_EMPTY


def test_row_limit_truncates(tiny_db, audit):
    result = run(tiny_db, "SELECT * FROM range(25)", audit, row_limit=10)
    assert len(result.rows) == 10 and result.truncated
    exact = run(tiny_db, "SELECT * FROM range(10)", audit, row_limit=10)
    assert len(exact.rows) == 10 and not exact.truncated
    assert "truncated" in audit.entries[0][3]


def _bytes(result) -> int:
    return sum(len(cell.encode()) for row in result.rows for cell in row if cell)


def test_many_wide_rows_are_cut_at_the_size_limit(tiny_db, audit):
    result = run(tiny_db, "SELECT repeat('x', 100000) AS wide FROM range(100)", audit)
    assert result.ok and result.truncated and result.cut_by == "size"
    assert len(result.rows) == c.ANSWER_BYTE_LIMIT // 100_000  # 20 whole rows of 10 MB
    assert "truncated" in audit.entries[-1][3]


def test_a_few_huge_cells_are_cut_to_the_size_limit(tiny_db, audit):
    result = run(tiny_db, "SELECT repeat('x', 15000000) AS a, repeat('y', 15000000) AS b",
                 audit)  # 30 MB in one row
    assert result.ok and result.cut_by == "size" and len(result.rows) == 1
    assert c.ANSWER_BYTE_LIMIT // 2 <= _bytes(result) <= c.ANSWER_BYTE_LIMIT + 8
    a, b = result.rows[0]
    assert set(a[:-1]) == {"x"} and set(b[:-1]) == {"y"} and a.endswith("…")


def test_an_answer_under_both_limits_is_whole(tiny_db, audit):
    result = run(tiny_db, "SELECT repeat('é', 1000) AS s FROM range(999)", audit)
    assert result.ok and not result.truncated and result.cut_by is None
    assert len(result.rows) == 999 and _bytes(result) == 999 * 2000


def test_a_giant_string_fails_in_the_consoles_memory_limit(tiny_db, audit):
    result = run(tiny_db, "SELECT repeat('x', 2000000000) AS s", audit)
    assert result.error == f"the query needed more memory than the console's limit " \
                           f"({c.MEMORY_LIMIT})"
    assert run(tiny_db, "SELECT 1", audit).rows == [("1",)]


def test_long_query_is_cancelled(tiny_db, audit):
    result = run(tiny_db, "SELECT count(*) FROM range(1000000000) a, range(1000000) b "
                          "WHERE a.range + b.range = -1", audit, time_limit_s=1)
    assert result.error == "cancelled after 1 s (the console's time limit)"
    assert result.seconds < 5
    assert audit.entries[-1][3].startswith("refused: cancelled")


def test_syntax_errors_are_reported(tiny_db, audit):
    result = run(tiny_db, "SELEKT 1", audit)
    assert result.error.startswith("DuckDB: Parser Error")
    missing = run(tiny_db, "SELECT * FROM no_such_table", audit)
    assert missing.error.startswith("no_such_table is not one of the database's tables")
    unknown = run(tiny_db, "SELECT no_such_function(1)", audit)
    assert unknown.error.startswith("DuckDB: Catalog Error")


def test_every_query_is_audited_with_user_and_time(tiny_db, tmp_path):
    store = AuthStore(tmp_path / "auth.sqlite")
    run_console_query(tiny_db, "SELECT 42 AS answer", "rita", audit=store.audit)
    run_console_query(tiny_db, "DELETE FROM responses", "rita", audit=store.audit)
    entries = store.audit_entries()
    assert len(entries) == 2
    for at, user, action, _detail, _ in entries:
        assert user == "rita" and action == "console_query" and at
    details = {json.loads(e[3])["sql"]: e[4] for e in entries}
    assert details["SELECT 42 AS answer"] == "ok: 1 rows"
    assert details["DELETE FROM responses"] == f"refused: {c.MSG_READ_ONLY}"


def test_without_an_auth_store_queries_are_audited_in_the_accounts_audit_log(tiny_db):
    run_console_query(tiny_db, "SELECT 1", "sam")
    ((at, user, action, detail, outcome),) = AuthStore().audit_entries()
    info = json.loads(detail)
    assert at and user == "sam" and action == "console_query" and outcome == "ok: 1 rows"
    assert info["sql"] == "SELECT 1" and info["rows"] == 1
    # One audit trail: nothing is written to a table of the console's own.
    with closing(sqlite3.connect(AuthStore().path)) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    assert "audit_log" in tables and "console_audit" not in tables


def test_result_withheld_when_audit_fails(tiny_db):
    def broken(*args):
        raise OSError("disk full")

    result = run_console_query(tiny_db, "SELECT 1", "rita", audit=broken)
    assert result.error == c.MSG_NOT_AUDITED and result.rows == []


def test_replaced_database_is_seen(tiny_db, tmp_path, audit):
    import os

    from tests.support import build_tiny_db

    other = build_tiny_db(tmp_path / "other.duckdb", {("hr", "workshop"): 3})
    assert run(tiny_db, "SELECT count(*) FROM responses", audit).rows == [("78",)]
    os.replace(other, tiny_db)
    assert run(tiny_db, "SELECT count(*) FROM responses", audit).rows == [("6",)]
