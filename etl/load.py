"""Write validated tables into DuckDB: one transaction per file, swapped in atomically per run.

An ingest run writes into a private copy of the database (`<db>.ingest-tmp`) and, when every
file is done, `os.replace`s it over the database. So the dashboard and researchers' read-only
connections are never blocked and never see half a run, and a run that is killed leaves the
database exactly as it was (the stale copy is removed by the next run). Within the copy each
file is one transaction, so a refused file leaves no trace but its `ingest_runs` row.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from schemas.contract import WAVES
from schemas.instrument import KIRKPATRICK_LEVELS, Instrument, Scale, parse_instrument
from schemas.sql_text import SCALE_SCORES_BRANCH, sql_string

SCHEMA_VERSION = "1"

SQL_HAS_SCHEMA = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'attune_meta'"
SQL_META = "INSERT OR IGNORE INTO attune_meta VALUES ('schema_version', ?), ('created_at', ?)"
SQL_WAVE = "INSERT OR IGNORE INTO waves VALUES (?, ?, ?)"
SQL_PREVIOUS_LOAD = (
    "SELECT run_id, source, finished_at FROM ingest_runs "
    "WHERE sha256 = ? AND kind = ? AND status IN ('loaded', 'partial') "
    "ORDER BY finished_at DESC LIMIT 1"
)
SQL_STORED_SCALES = (
    "SELECT scale_id, name, domain, level, min_value, max_value, higher_is_better, "
    "min_answered, reliability FROM scales ORDER BY rowid"
)
SQL_STORED_ITEMS = (
    "SELECT scale_id, item_id, reverse_keyed FROM scale_items ORDER BY scale_id, position"
)
SQL_ANY_RESPONSE = "SELECT EXISTS (SELECT 1 FROM responses)"
SQL_FORGET_SCALE_ITEMS = "DELETE FROM scale_items WHERE scale_id = ?"
SQL_STORE_SCALE = "INSERT OR REPLACE INTO scales VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SQL_STORE_ITEM = "INSERT INTO scale_items VALUES (?, ?, ?, ?)"
SQL_RESPONSE_COLUMNS = "SELECT column_name FROM duckdb_columns() WHERE table_name = 'responses'"
SQL_KNOWN_PROGRAMS = "SELECT program_id FROM programs"
SQL_KNOWN_COHORTS = (
    "SELECT cohort_id, CAST(start_date AS TIMESTAMP) AS cohort_start, "
    "CAST(end_date AS TIMESTAMP) AS cohort_end FROM cohorts"
)
SQL_RECORD_RUN = (
    "INSERT INTO ingest_runs (run_id, source, kind, sha256, input_format, mapping_sha256, "
    "rows_read, rows_loaded, rows_quarantined, rows_replaced, rows_skipped, encoding, "
    "status, message, started_at, finished_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def schema_sql(name: str) -> str:
    return resources.files("schemas").joinpath(name).read_text(encoding="utf-8")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables (and reference rows) a new database needs; harmless on an old one."""
    exists = con.execute(SQL_HAS_SCHEMA).fetchall()[0][0]
    if exists:
        ensure_platform_schema(con)
        return
    con.execute("BEGIN TRANSACTION")
    con.execute(schema_sql("ddl.sql"))
    con.execute(SQL_META, [SCHEMA_VERSION, utc_now().isoformat(timespec="seconds")])
    for position, (wave, months) in enumerate(WAVES.items()):
        con.execute(SQL_WAVE, [wave, position, months])
    create_scale_scores_view(con, None)
    con.execute(schema_sql("views.sql"))
    con.execute("COMMIT")
    ensure_platform_schema(con)


def ensure_platform_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Tables for platform exports and code linking (schemas/linkage.sql), if missing."""
    con.execute("BEGIN TRANSACTION")
    con.execute(schema_sql("linkage.sql"))
    con.execute("COMMIT")


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """Recreate the views (they change with the code, not with the data), ``scale_scores``
    first: the others are built on it."""
    create_scale_scores_view(con, stored_instrument(con))
    con.execute("BEGIN TRANSACTION")
    con.execute(schema_sql("views.sql"))
    con.execute("COMMIT")


SCALE_SCORES_COMMENTS = {
    None: (
        "Scale scores: one row per response and scale asked at that wave. Score = mean of the "
        "answered items after reverse-keying. A view over the score_<SCALE> and "
        "answered_<SCALE> columns of responses."
    ),
    "participant_id": "Keyed hash of the participant code (responses.participant_id).",
    "cohort_id": "Cohort of the response.",
    "wave": "Wave of the response.",
    "scale_id": "Scale scored (scales.scale_id).",
    "score": (
        "Mean of the answered items after reverse-keying; NULL when fewer than min_answered "
        "of the items were answered."
    ),
    "items_answered": (
        "Number of the scale's items answered (at least 1: a scale not asked has no row)."
    ),
    "audience": "Audience of the participant at this wave (responses.audience).",
    "completed_at": "Date the survey was completed (responses.completed_at).",
}
EMPTY_SCALE_SCORES_SELECT = (
    "SELECT participant_id, cohort_id, wave, CAST(NULL AS VARCHAR) AS scale_id, "
    "CAST(NULL AS DOUBLE) AS score, CAST(NULL AS INTEGER) AS items_answered, audience, "
    "completed_at FROM responses WHERE false"
)


def create_scale_scores_view(con: duckdb.DuckDBPyConnection, instrument: Instrument | None) -> None:
    """(Re)create the long `scale_scores` view over the wide score columns of `responses`."""
    # Scale ids are checked identifiers (schemas.instrument.IDENTIFIER), never user SQL.
    branches = (
        [SCALE_SCORES_BRANCH.format(scale=scale.id, responses="responses")
         for scale in instrument.scales]
        if instrument
        else [EMPTY_SCALE_SCORES_SELECT]
    )
    con.execute("CREATE OR REPLACE VIEW scale_scores AS " + " UNION ALL ".join(branches))
    for column, text in SCALE_SCORES_COMMENTS.items():
        target = "VIEW scale_scores" if column is None else f"COLUMN scale_scores.{column}"
        con.execute(f"COMMENT ON {target} IS {sql_string(text)}")


LOCK_POLL_SECONDS = 0.2  # how often a waiting ingest tries the lock again


class IngestLocked(RuntimeError):
    """Another ingest is writing this database, and went on for longer than we would wait."""


@contextmanager
def ingest_lock(
    db_path: Path, wait_seconds: float = 0.0, on_wait: Callable[[], None] | None = None
):
    """Only one ingest writes a database at a time: hold `<db>.lock` for the block.

    When another process holds it, ``on_wait`` is called once (so that the user learns why
    nothing happens) and the lock is tried again every LOCK_POLL_SECONDS until it is free, or
    for ``wait_seconds`` at most: then IngestLocked is raised."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestLocked(_locked_message(db_path, wait_seconds)) from None
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _locked_message(db_path: Path, waited: float) -> str:
    if not waited:
        return f"another attune ingest is writing {db_path}; wait for it to finish"
    return (
        f"another attune ingest is still writing {db_path} after {waited:g} s of waiting; "
        "run again when it has finished, or wait longer with --wait"
    )


class Warehouse:
    """The database copy one ingest run writes, swapped over the real file on `publish`."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.work_path = self.db_path.with_name(self.db_path.name + ".ingest-tmp")
        for stale in (self.work_path, self.work_path.with_name(self.work_path.name + ".wal")):
            stale.unlink(missing_ok=True)
        if self.db_path.exists():
            shutil.copyfile(self.db_path, self.work_path)
        self.con = duckdb.connect(str(self.work_path))
        ensure_schema(self.con)
        self.run_id = uuid.uuid4().hex[:12]

    def publish(self) -> None:
        """Make the run visible: checkpoint, close and atomically replace the database file."""
        refresh_views(self.con)
        self.con.execute("CHECKPOINT")
        self.con.close()
        with open(self.work_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.work_path, self.db_path)
        directory = os.open(self.db_path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def discard(self) -> None:
        try:
            self.con.close()
        finally:
            self.work_path.unlink(missing_ok=True)

    @contextmanager
    def transaction(self):
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")


# --- What is already loaded ----------------------------------------------------------------


def previous_load(con: duckdb.DuckDBPyConnection, sha256: str, kind: str) -> tuple | None:
    """The last run that loaded a file with these exact bytes, if any."""
    rows = con.execute(SQL_PREVIOUS_LOAD, [sha256, kind]).fetchall()
    return rows[0] if rows else None


def stored_instrument(con: duckdb.DuckDBPyConnection) -> Instrument | None:
    scales = con.execute(SQL_STORED_SCALES).fetchall()
    if not scales:
        return None
    items = con.execute(SQL_STORED_ITEMS).fetchall()
    entries = []
    for scale_id, name, domain, level, low, high, better, min_answered, reliability in scales:
        own = [row for row in items if row[0] == scale_id]
        entries.append(
            {
                "id": scale_id,
                "name": name,
                "domain": domain,
                "level": level,
                "items": [row[1] for row in own],
                "min": low,
                "max": high,
                "reverse": [row[1] for row in own if row[2]],
                "higher_is_better": better,
                "min_answered": min_answered,
                "reliability": reliability,
            }
        )
    return parse_instrument({"scales": entries}, source="the database")


def _same_scoring(old: Scale, new: Scale) -> bool:
    return (old.items, old.min, old.max, old.reverse, old.higher_is_better, old.min_answered) == (
        new.items,
        new.min,
        new.max,
        new.reverse,
        new.higher_is_better,
        new.min_answered,
    )


def instrument_conflicts(con: duckdb.DuckDBPyConnection, instrument: Instrument) -> list[str]:
    """Scales whose scoring would change under responses already scored the old way."""
    old = stored_instrument(con)
    if old is None:
        return []
    has_scores = con.execute(SQL_ANY_RESPONSE).fetchall()[0][0]
    if not has_scores:
        return []
    old_scales = {scale.id: scale for scale in old.scales}
    return [
        scale.id
        for scale in instrument.scales
        if scale.id in old_scales and not _same_scoring(old_scales[scale.id], scale)
    ]


def store_instrument(con: duckdb.DuckDBPyConnection, instrument: Instrument) -> None:
    """Record the scales; give `responses` a documented column per item and per score."""
    for scale in instrument.scales:
        con.execute(SQL_FORGET_SCALE_ITEMS, [scale.id])
        con.execute(
            SQL_STORE_SCALE,
            [
                scale.id,
                scale.name,
                scale.domain,
                scale.level,
                KIRKPATRICK_LEVELS[scale.level],
                scale.n_items,
                scale.min,
                scale.max,
                scale.higher_is_better,
                scale.min_answered,
                scale.reliability,
            ],
        )
        existing = {
            row[0]
            for row in con.execute(SQL_RESPONSE_COLUMNS).fetchall()
        }
        for position, item in enumerate(scale.items, start=1):
            reverse = item in scale.reverse
            con.execute(SQL_STORE_ITEM, [item, scale.id, position, reverse])
            # Item names are checked identifiers (schemas.instrument.IDENTIFIER).
            if item not in existing:
                con.execute(f'ALTER TABLE responses ADD COLUMN "{item}" DOUBLE')
            note = (
                f"Item {position} of {scale.name} ({scale.id}), "
                f"answered {scale.min:g}-{scale.max:g}"
                f"{', reverse-keyed' if reverse else ''}; as answered, before reverse-keying; "
                "NULL = not answered."
            )
            con.execute(f'COMMENT ON COLUMN responses."{item}" IS {sql_string(note)}')
        score_columns = {
            f"score_{scale.id}": (
                "DOUBLE",
                f"Score of {scale.name} ({scale.id}): mean of the answered items after "
                "reverse-keying; NULL when too few were answered or the scale was not asked.",
            ),
            f"answered_{scale.id}": (
                "INTEGER",
                f"Items of {scale.name} ({scale.id}) answered; 0 = not asked at this wave.",
            ),
        }
        for column, (sql_type, note) in score_columns.items():
            if column not in existing:
                con.execute(f"ALTER TABLE responses ADD COLUMN {column} {sql_type}")
            con.execute(f"COMMENT ON COLUMN responses.{column} IS {sql_string(note)}")
    create_scale_scores_view(con, stored_instrument(con))


def known_programs(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute(SQL_KNOWN_PROGRAMS).fetchall()]


def known_cohorts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(SQL_KNOWN_COHORTS).df()


# --- Writing -------------------------------------------------------------------------------

# Rows handed to DuckDB are registered under this name for one statement.
INCOMING = "incoming_rows"
# Table names come from the code (the kinds of input file), never from input.
SQL_UPSERT = "INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM incoming_rows"
SQL_INSERT = "INSERT INTO {table} BY NAME SELECT * FROM incoming_rows"
SQL_KEYS_ALREADY_LOADED = (
    "SELECT k.row, r.source FROM incoming_rows AS k "
    "JOIN responses AS r USING (participant_id, cohort_id, wave) ORDER BY k.row"
)
SQL_DELETE_RESPONSES = (
    "DELETE FROM responses AS r USING incoming_rows AS k WHERE r.participant_id = "
    "k.participant_id AND r.cohort_id = k.cohort_id AND r.wave = k.wave"
)
SQL_INSERT_RESPONSES = (
    "INSERT INTO responses BY NAME SELECT *, ? AS run_id, ? AS source FROM incoming_rows"
)
WRITABLE_TABLES = ("programs", "cohorts", "evidence", "quarantine", "linkage", "linkage_keys")


@contextmanager
def registered(
    con: duckdb.DuckDBPyConnection, rows, name: str = INCOMING
) -> Iterator[duckdb.DuckDBPyConnection]:
    """``rows`` (a pandas frame or an Arrow table) readable by SQL as ``name`` for the block,
    and unregistered after it whatever happens."""
    con.register(name, rows)
    try:
        yield con
    finally:
        con.unregister(name)


def _writable(table: str) -> str:
    if table not in WRITABLE_TABLES:
        raise ValueError(f"ingest does not write the table {table!r}")
    return table


def upsert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert rows, replacing rows with the same primary key (programs, cohorts, evidence)."""
    if frame.empty:
        return
    with registered(con, frame):
        con.execute(SQL_UPSERT.format(table=_writable(table)))


def response_keys_already_loaded(con: duckdb.DuckDBPyConnection, keys) -> pd.DataFrame:
    """Incoming (row, participant, cohort, wave) keys that are already in `responses`."""
    if not con.execute(SQL_ANY_RESPONSE).fetchall()[0][0]:
        return pd.DataFrame({"row": pd.Series([], dtype="int64"), "source": []})
    with registered(con, keys):
        return con.execute(SQL_KEYS_ALREADY_LOADED).df()


def delete_responses(con: duckdb.DuckDBPyConnection, keys) -> int:
    """Remove the responses (and so their scores) with these keys (--replace); rows removed."""
    with registered(con, keys):
        return int(con.execute(SQL_DELETE_RESPONSES).fetchall()[0][0])


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Append a pandas frame or Arrow table to `table`, matching columns by name."""
    if len(frame) == 0:
        return
    with registered(con, frame):
        con.execute(SQL_INSERT.format(table=_writable(table)))


def insert_responses(con: duckdb.DuckDBPyConnection, rows, run_id: str, source: str) -> None:
    """Append validated, scored responses (an Arrow table) with their run and source file."""
    if len(rows) == 0:
        return
    with registered(con, rows):
        con.execute(SQL_INSERT_RESPONSES, [run_id, source])


@dataclass
class RunRecord:
    run_id: str
    source: str
    kind: str
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str
    message: str | None
    started_at: dt.datetime
    rows_replaced: int = 0
    input_format: str = "canonical"
    mapping_sha256: str | None = None
    rows_skipped: int = 0
    encoding: str | None = None


def record_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    con.execute(
        SQL_RECORD_RUN,
        [
            record.run_id,
            record.source,
            record.kind,
            record.sha256,
            record.input_format,
            record.mapping_sha256,
            record.rows_read,
            record.rows_loaded,
            record.rows_quarantined,
            record.rows_replaced,
            record.rows_skipped,
            record.encoding,
            record.status,
            record.message,
            record.started_at,
            utc_now(),
        ],
    )
