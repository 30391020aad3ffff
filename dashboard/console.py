"""The researchers' SQL console: one ad-hoc read-only query, locked down, limited, audited.

No Dash here: ``run_console_query`` is called by the console page and by tests.

Layers (each would stop the statements it is meant for on its own; see docs/security.md):

1. Exactly one statement, of type SELECT (also ``WITH``, ``FROM``, ``VALUES``, ``DESCRIBE``,
   ``SUMMARIZE``, ``SHOW``): DuckDB's own parser tells the statement type; this is not a
   keyword list. What it may read is decided on its parse tree (``dashboard.console_rules``):
   the database's tables and views and a few row generators, nothing of the server, and the
   quarantine only for the roles that see quarantined rows.
2. A fresh DuckDB instance per query (``:memory:``, so it shares nothing with other queries:
   DuckDB caches file instances per path, and their configuration with them), the database
   file ``ATTACH``ed ``READ_ONLY`` and made the default, the in-memory default catalog
   detached, then ``enable_external_access=false`` (no file, HTTP or extension access),
   extension auto-install/-load off, a memory limit, one thread and ``lock_configuration``.
   A fresh file attach per query also means a database replaced by ingest is seen at once.
3. Its own process (``dashboard.console_process``): one query at a time per dashboard
   process, a short bounded queue, then "busy"; a capped address space; so the console
   cannot take the threads, cores or memory chart callbacks need.
4. A time limit (``threading.Timer`` -> ``interrupt()``; DuckDB has no statement timeout;
   the parent process kills a worker that overruns it), a row limit and a size limit on the
   answer (``ANSWER_BYTE_LIMIT`` bytes of text, however few the rows): past either, the answer
   is cut and says so. Absolute paths in an answer or an error are shown by their last part.
5. Every query is audited (user, time, SQL, outcome, rows, seconds) before any result is
   returned, in the one audit trail of ``accounts.store`` (``AuthStore.audit``), refused
   ones included; if the audit cannot be written, the result is withheld.

The lock-down settings and the read-only attachment are the analysis layer's own
(``warehouse.connection``): one definition for the dashboard's connection and the console's.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dashboard import console_rules
from dashboard.console_process import ConsoleBusy, ConsoleProcess, shared_process
from warehouse.connection import ATTACH_AS, attach_read_only, lock_down

ROW_LIMIT = 1000
ANSWER_BYTE_LIMIT = 2_000_000  # UTF-8 bytes of the answer's cells
TIME_LIMIT_S = 10.0
MEMORY_LIMIT = "512MB"
MAX_SQL_CHARS = 20_000
ALIAS = ATTACH_AS
ACTION = "console_query"  # the audit trail's name for a console query, run or refused
FETCH_BATCH = 64  # rows per fetch: a few wide rows never arrive as one huge batch

MSG_READ_ONLY = "writes are not allowed: the console is read-only"
MSG_NO_ACCESS = "file and network access are disabled"
MSG_NO_SETTINGS = "changing settings is disabled"
MSG_NO_PRAGMA = ("PRAGMA statements are not allowed: SHOW TABLES lists the tables, "
                 "DESCRIBE name shows a table's columns")
MSG_NO_EXPLAIN = "EXPLAIN is not available in the console: run the query itself"
MSG_ONE_STATEMENT = "one statement at a time: remove the extra statements (';')"
MSG_EMPTY = "type a query first"
MSG_NOT_AUDITED = "the query could not be written to the audit log, so its result is withheld"
MSG_BUSY = ("the console is busy with other queries: try again in a moment (one query runs at "
            "a time on this server, and only a few may wait for it)")

ALLOWED_TYPES = {"SELECT"}
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
    "PRAGMA": MSG_NO_PRAGMA, "EXPLAIN": MSG_NO_EXPLAIN,
}
# An absolute path of two or more parts, not inside a word or a URL: shown by its last part.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:-])(?:/[\w.@+~-]+)+/([\w.@+~-]+)")
Audit = Callable[[str, str, str, str], None]  # (user, action, detail, outcome), as AuthStore


@dataclass
class ConsoleResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    truncated: bool = False
    cut_by: str | None = None  # "rows" or "size" when the answer was cut
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ConsoleError(Exception):
    """A query the console refuses or could not run; ``str()`` is the message for the user."""


def size_words(limit: int = ANSWER_BYTE_LIMIT) -> str:
    """A byte limit as a reader says it ("2 MB")."""
    return f"{limit / 1e6:g} MB" if limit >= 1e6 else f"{limit / 1e3:g} kB"


# --- audit ------------------------------------------------------------------------------------


def _default_audit() -> Audit:
    """The accounts file's audit trail (``$ATTUNE_AUTH_DB`` or its default)."""
    from accounts.store import AuthStore  # not needed in the worker process

    return AuthStore().audit


def audit_detail(sql: str, result: ConsoleResult | None = None) -> str:
    """The audit trail's detail of one console query: its SQL, rows, cut and seconds."""
    result = result or ConsoleResult()
    return json.dumps({"sql": (sql or "")[:MAX_SQL_CHARS], "rows": len(result.rows),
                       "truncated": result.truncated, "seconds": round(result.seconds, 3)})


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


def warm_up() -> None:
    """Open, use and close one locked in-memory DuckDB instance: the console's process does
    this once, to reach the size it has after a query before it caps its memory."""
    con = duckdb.connect(":memory:")
    try:
        lock_down(con, memory_limit=MEMORY_LIMIT, threads=1)
        con.execute(console_rules.SQL_SERIALIZE, ["SELECT 1"]).fetchall()
    finally:
        con.close()


def check_text(sql: str) -> None:
    """What is wrong with ``sql`` before any parsing: nothing, or ConsoleError."""
    if not sql.strip():
        raise ConsoleError(MSG_EMPTY)
    if len(sql) > MAX_SQL_CHARS:
        raise ConsoleError(f"the query is longer than {MAX_SQL_CHARS:,} characters")


def check_statement(con: duckdb.DuckDBPyConnection, sql: str, *, sees_quarantine: bool = False,
                    offer: console_rules.Readable | None = None) -> None:
    """Exactly one SELECT statement (DuckDB's parser decides) that reads only what the console
    allows (``console_rules``; the quarantine only with ``sees_quarantine``), or ConsoleError."""
    check_text(sql)
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
    offer = offer or console_rules.readable(con)
    try:
        console_rules.check_reads(con, sql, offer, sees_quarantine=sees_quarantine)
        console_rules.check_plan(con, sql, offer, sees_quarantine=sees_quarantine)
    except console_rules.NotAllowed as refusal:
        raise ConsoleError(str(refusal)) from None


def without_server_paths(text: str) -> str:
    """``text`` with every absolute path shown by its last part (``/srv/x/a.duckdb`` ->
    ``a.duckdb``): the server's folders and user name are nobody's business on the web."""
    return ABSOLUTE_PATH.sub(r"\1", text) if "/" in text else text


def explain_error(error: BaseException, time_limit_s: float = TIME_LIMIT_S,
                  memory_limit: str = MEMORY_LIMIT) -> str:
    """A DuckDB error as a message for the user (no server path in it)."""
    text = str(error)
    if isinstance(error, duckdb.InterruptException) or "INTERRUPT" in text.upper():
        return f"cancelled after {time_limit_s:g} s (the console's time limit)"
    if isinstance(error, (duckdb.OutOfMemoryException, MemoryError)) \
            or "out of memory" in text.lower():
        return f"the query needed more memory than the console's limit ({memory_limit})"
    if "read-only mode" in text or "read-only" in text.lower():
        return MSG_READ_ONLY
    if isinstance(error, duckdb.PermissionException) or "disabled by configuration" in text \
            or "disabled through configuration" in text:
        return MSG_NO_ACCESS
    if "configuration has been locked" in text:
        return MSG_NO_SETTINGS
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return without_server_paths(f"DuckDB: {first}")


def _cell(value: Any) -> str | None:
    """Every cell as plain text (the page never renders HTML from the database)."""
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return without_server_paths(str(value))


def _size(row: tuple[str | None, ...]) -> int:
    return sum(len(cell.encode()) for cell in row if cell)


def _cut(row: tuple[str | None, ...], limit: int) -> tuple[str | None, ...]:
    """A row larger than the whole answer may be: each cell cut to an equal share of it."""
    share = max(limit // max(len(row), 1), 1)
    return tuple(cell if cell is None or len(cell.encode()) <= share
                 else cell.encode()[:share].decode(errors="ignore") + "…" for cell in row)


def limited_rows(batches: Iterator[list[tuple]], row_limit: int, byte_limit: int
                 ) -> tuple[list[tuple[str | None, ...]], str | None]:
    """The rows of a result as text, up to ``row_limit`` rows and ``byte_limit`` bytes; and
    what cut them ("rows", "size") or None. Reads one row past the row limit, no further."""
    rows: list[tuple[str | None, ...]] = []
    size = 0
    for batch in batches:
        for raw in batch:
            if len(rows) == row_limit:
                return rows, "rows"
            row = tuple(_cell(v) for v in raw)
            size += _size(row)
            if size > byte_limit:
                return (rows or [_cut(row, byte_limit)]), "size"
            rows.append(row)
    return rows, None


def _batches(cursor: duckdb.DuckDBPyConnection) -> Iterator[list[tuple]]:
    while batch := cursor.fetchmany(FETCH_BATCH):
        yield batch


# --- running one query (inside the console's process) -----------------------------------------

_OFFERS: dict[tuple[str, int, int], console_rules.Readable] = {}
_OFFERS_LOCK = threading.Lock()


def _offer(con: duckdb.DuckDBPyConnection, path: Path) -> console_rules.Readable:
    """What the database at ``path`` offers, read once per file version."""
    st = os.stat(path)
    key = (str(path), st.st_ino, st.st_mtime_ns)
    with _OFFERS_LOCK:
        if key not in _OFFERS:
            if len(_OFFERS) > 8:
                _OFFERS.clear()
            _OFFERS[key] = console_rules.readable(con)
        return _OFFERS[key]


def execute(db_path: Path | str, sql: str, *, sees_quarantine: bool = False,
            row_limit: int = ROW_LIMIT, byte_limit: int = ANSWER_BYTE_LIMIT,
            time_limit_s: float = TIME_LIMIT_S, memory_limit: str = MEMORY_LIMIT
            ) -> ConsoleResult:
    """Check and run one query here and now (the console's process calls this; nothing else
    should); never raises for a bad query."""
    try:
        return _execute(Path(db_path), sql, sees_quarantine=sees_quarantine,
                        row_limit=row_limit, byte_limit=byte_limit, time_limit_s=time_limit_s,
                        memory_limit=memory_limit)
    except ConsoleError as error:
        return ConsoleResult(error=str(error))
    except (duckdb.Error, MemoryError) as error:
        return ConsoleResult(error=explain_error(error, time_limit_s, memory_limit))


def _execute(path: Path, sql: str, *, sees_quarantine: bool, row_limit: int, byte_limit: int,
             time_limit_s: float, memory_limit: str) -> ConsoleResult:
    con = locked_connection(path, memory_limit=memory_limit)
    timer = threading.Timer(time_limit_s, con.interrupt)  # checking binds: it is timed too
    timer.daemon = True
    try:
        timer.start()
        check_statement(con, sql, sees_quarantine=sees_quarantine, offer=_offer(con, path))
        cursor = con.execute(sql)
        columns = [without_server_paths(str(d[0])) for d in cursor.description or []]
        rows, cut_by = limited_rows(_batches(cursor), row_limit, byte_limit) if columns \
            else ([], None)
        return ConsoleResult(columns=columns, rows=rows, truncated=cut_by is not None,
                             cut_by=cut_by)
    finally:
        timer.cancel()
        con.close()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The console process's reply to one request (``execute``'s keywords plus ``db`` and
    ``sql``), as JSON-ready data."""
    arguments = dict(request)
    result = execute(arguments.pop("db"), arguments.pop("sql"), **arguments)
    return asdict(result)


# --- one query for one user (in the dashboard's process) --------------------------------------


def run_console_query(
    db_path: Path | str,
    sql: str,
    user_name: str,
    *,
    audit: Audit | None = None,
    sees_quarantine: bool = False,
    row_limit: int = ROW_LIMIT,
    byte_limit: int = ANSWER_BYTE_LIMIT,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: str = MEMORY_LIMIT,
    process: ConsoleProcess | None = None,
) -> ConsoleResult:
    """Run one read-only query for ``user_name`` in the console's process; never raises for a
    bad query. ``sees_quarantine``: whether the user's role may read the quarantined rows
    (``dashboard.access.sees_quarantined_rows()``; refused by default).

    ``audit(user, "console_query", detail_json, outcome)`` is called for every query, refused
    ones included (default: ``AuthStore().audit``, the accounts file's audit trail).
    """
    audit = audit or _default_audit()
    sql = sql or ""
    started = time.perf_counter()
    try:
        check_text(sql)
        with (process or shared_process()).turn() as worker:
            reply = worker.run({"db": str(db_path), "sql": sql,
                                "sees_quarantine": sees_quarantine, "row_limit": row_limit,
                                "byte_limit": byte_limit, "time_limit_s": time_limit_s,
                                "memory_limit": memory_limit}, time_limit_s)
        result = ConsoleResult(**{**reply, "rows": [tuple(r) for r in reply.get("rows", [])]})
    except ConsoleError as error:
        result = ConsoleResult(error=str(error))
    except ConsoleBusy:
        result = ConsoleResult(error=MSG_BUSY)
    result.seconds = time.perf_counter() - started
    if result.error:
        outcome = f"refused: {result.error}"
    else:
        outcome = f"ok: {len(result.rows)} rows" + (" (truncated)" if result.truncated else "")
    try:
        audit(user_name, ACTION, audit_detail(sql, result), outcome)
    except Exception:  # noqa: BLE001 - any failure to audit withholds the result
        return ConsoleResult(error=MSG_NOT_AUDITED, seconds=result.seconds)
    return result
