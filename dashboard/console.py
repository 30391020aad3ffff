"""The researchers' SQL console: one ad-hoc read-only query, locked down, limited, audited.

No Dash here: ``run_console_query`` is called by the console page and by tests.

Layers (each would stop the statements it is meant for on its own; see docs/security.md):

1. Exactly one statement, and of a reading kind (``SELECT``/``WITH``/``FROM``/``DESCRIBE``/
   ``SUMMARIZE``/``SHOW``, ``EXPLAIN``, ``PRAGMA``): DuckDB's own parser tells the statement
   type; this is not a keyword list.
2. A fresh DuckDB instance per query (``:memory:``, so it shares nothing with other queries:
   DuckDB caches file instances per path, and their configuration with them), the database
   file ``ATTACH``ed ``READ_ONLY`` and made the default, the in-memory default catalog
   detached, then ``enable_external_access=false`` (no file, HTTP or extension access),
   extension auto-install/-load off, a memory limit, one thread and ``lock_configuration``.
   A fresh file attach per query also means a database replaced by ingest is seen at once.
3. A time limit (``threading.Timer`` -> ``interrupt()``; DuckDB has no statement timeout)
   and a row limit (``fetchmany(row_limit + 1)``, so truncation is known).
4. Every query is audited (user, time, SQL, outcome, rows, seconds) before any result is
   returned, in the one audit trail of ``accounts.store`` (``AuthStore.audit``); if the
   audit cannot be written, the result is withheld.

The lock-down settings and the read-only attachment are the analysis layer's own
(``warehouse.connection``): one definition for the dashboard's connection and the console's.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from accounts.store import AuthStore
from warehouse.connection import ATTACH_AS, attach_read_only, lock_down

ROW_LIMIT = 1000
TIME_LIMIT_S = 10.0
MEMORY_LIMIT = "512MB"
MAX_SQL_CHARS = 20_000
ALIAS = ATTACH_AS

MSG_READ_ONLY = "writes are not allowed: the console is read-only"
MSG_NO_ACCESS = "file and network access are disabled"
MSG_NO_SETTINGS = "changing settings is disabled"
MSG_ONE_STATEMENT = "one statement at a time: remove the extra statements (';')"
MSG_EMPTY = "type a query first"
MSG_NOT_AUDITED = "the query could not be written to the audit log, so its result is withheld"

ALLOWED_TYPES = {"SELECT", "EXPLAIN", "PRAGMA"}
# Statement types refused before execution, with the reason a user should read.
REFUSED_TYPES = {
    "INSERT": MSG_READ_ONLY, "UPDATE": MSG_READ_ONLY, "DELETE": MSG_READ_ONLY,
    "CREATE": MSG_READ_ONLY, "CREATE_FUNC": MSG_READ_ONLY, "DROP": MSG_READ_ONLY,
    "ALTER": MSG_READ_ONLY, "MERGE_INTO": MSG_READ_ONLY, "VACUUM": MSG_READ_ONLY,
    "ANALYZE": MSG_READ_ONLY, "TRANSACTION": MSG_READ_ONLY, "MULTI": MSG_READ_ONLY,
    "COPY": MSG_NO_ACCESS, "COPY_DATABASE": MSG_NO_ACCESS, "EXPORT": MSG_NO_ACCESS,
    "ATTACH": MSG_NO_ACCESS, "DETACH": MSG_NO_ACCESS, "LOAD": MSG_NO_ACCESS,
    "EXTENSION": MSG_NO_ACCESS,
    "SET": MSG_NO_SETTINGS, "VARIABLE_SET": MSG_NO_SETTINGS,
}
Audit = Callable[[str, str, str, str], None]  # (user, action, detail, outcome), as AuthStore


@dataclass
class ConsoleResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ConsoleError(Exception):
    """A query the console refuses or could not run; ``str()`` is the message for the user."""


# --- audit ------------------------------------------------------------------------------------


def _default_audit() -> Audit:
    """The accounts file's audit trail (``$ATTUNE_AUTH_DB`` or its default)."""
    return AuthStore().audit


# --- the locked connection --------------------------------------------------------------------


def locked_connection(db_path: Path | str, *, memory_limit: str = MEMORY_LIMIT
                      ) -> duckdb.DuckDBPyConnection:
    """A new DuckDB instance reading ``db_path`` and nothing else (see the module docstring)."""
    path = Path(db_path)
    if not path.is_file():
        raise ConsoleError(f"no database at {path.name}")
    con = duckdb.connect(":memory:")
    try:
        attach_read_only(con, path)
        con.execute(f"USE {ALIAS}")
        con.execute("DETACH memory")
        lock_down(con, memory_limit=memory_limit, threads=1)
    except BaseException:
        con.close()
        raise
    return con


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Exactly one statement, of a reading type (DuckDB's parser decides), or ConsoleError."""
    if not sql.strip():
        raise ConsoleError(MSG_EMPTY)
    if len(sql) > MAX_SQL_CHARS:
        raise ConsoleError(f"the query is longer than {MAX_SQL_CHARS:,} characters")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise ConsoleError(explain_error(error)) from None
    if len(statements) != 1:
        raise ConsoleError(MSG_ONE_STATEMENT if statements else MSG_EMPTY)
    kind = statements[0].type.name
    if kind not in ALLOWED_TYPES:
        raise ConsoleError(REFUSED_TYPES.get(kind, f"{kind} statements are not allowed: "
                                                   "the console runs queries only"))


def explain_error(error: BaseException, time_limit_s: float = TIME_LIMIT_S,
                  memory_limit: str = MEMORY_LIMIT) -> str:
    """A DuckDB error as a message for the user."""
    text = str(error)
    if isinstance(error, duckdb.InterruptException) or "INTERRUPT" in text.upper():
        return f"cancelled after {time_limit_s:g} s (the console's time limit)"
    if isinstance(error, duckdb.OutOfMemoryException) or "out of memory" in text.lower():
        return f"the query needed more memory than the console's limit ({memory_limit})"
    if "read-only mode" in text or "read-only" in text.lower():
        return MSG_READ_ONLY
    if isinstance(error, duckdb.PermissionException) or "disabled by configuration" in text \
            or "disabled through configuration" in text:
        return MSG_NO_ACCESS
    if "configuration has been locked" in text:
        return MSG_NO_SETTINGS
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"DuckDB: {first}"


def _cell(value: Any) -> str | None:
    """Every cell as plain text (the page never renders HTML from the database)."""
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


# --- running one query ------------------------------------------------------------------------


def run_console_query(
    db_path: Path | str,
    sql: str,
    user_name: str,
    *,
    audit: Audit | None = None,
    row_limit: int = ROW_LIMIT,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: str = MEMORY_LIMIT,
) -> ConsoleResult:
    """Run one read-only query for ``user_name``; never raises for a bad query.

    ``audit(user, "console_query", detail_json, outcome)`` is called for every query, refused
    ones included (default: ``AuthStore().audit``, the accounts file's audit trail).
    """
    audit = audit or _default_audit()
    sql = sql or ""
    started = time.perf_counter()
    result = ConsoleResult()
    try:
        result = _run(db_path, sql, row_limit=row_limit, time_limit_s=time_limit_s,
                      memory_limit=memory_limit)
    except ConsoleError as error:
        result = ConsoleResult(error=str(error))
    except duckdb.Error as error:
        result = ConsoleResult(error=explain_error(error, time_limit_s, memory_limit))
    result.seconds = time.perf_counter() - started
    if result.error:
        outcome = f"refused: {result.error}"
    else:
        outcome = f"ok: {len(result.rows)} rows" + (" (truncated)" if result.truncated else "")
    detail = json.dumps({"sql": sql[:MAX_SQL_CHARS], "rows": len(result.rows),
                         "truncated": result.truncated, "seconds": round(result.seconds, 3)})
    try:
        audit(user_name, "console_query", detail, outcome)
    except Exception:  # noqa: BLE001 - any failure to audit withholds the result
        return ConsoleResult(error=MSG_NOT_AUDITED, seconds=result.seconds)
    return result


def _run(db_path: Path | str, sql: str, *, row_limit: int, time_limit_s: float,
         memory_limit: str) -> ConsoleResult:
    con = locked_connection(db_path, memory_limit=memory_limit)
    timer = threading.Timer(time_limit_s, con.interrupt)
    timer.daemon = True
    try:
        check_statement(con, sql)
        timer.start()
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(row_limit + 1) if columns else []
        timer.cancel()
        truncated = len(rows) > row_limit
        return ConsoleResult(columns=[str(c) for c in columns],
                             rows=[tuple(_cell(v) for v in row) for row in rows[:row_limit]],
                             truncated=truncated)
    finally:
        timer.cancel()
        con.close()
