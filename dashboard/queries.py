"""The dashboard's only door to DuckDB: read-only, parameterised, aggregated, suppressed, cached.

This module imports no Dash, so the CLI (`attune summarize`) and notebooks can use it.

How it works
------------
* ``Database(path)`` holds one DuckDB connection per process. The database file is ATTACHed
  ``READ_ONLY`` (as ``attune``) to an in-memory DuckDB, which holds small aggregate tables
  ("cubes") built once per database file: sums, sums of squares and reliable-change counts of
  matched pairs per scale, wave pair, cohort and audience; respondents per wave pattern; the
  baseline scores of completers and dropouts. Every chart is then a ``GROUP BY`` over a few
  thousand cube rows instead of the 1M-row ``paired_scores`` view (see ``bench/``).
* Each thread gets its own ``cursor()`` of that connection (DuckDB 2.0: sharing a connection
  across threads raises "connection is busy").
* ``etl`` publishes a new database by ``os.replace()``. Every request stats the file; when its
  ``(st_ino, st_mtime_ns)`` changed, a fresh connection is opened and the cubes rebuilt. The
  result cache is keyed by that file identity too, so nothing stale is ever served.
* User input never reaches SQL text: filter and grouping names map to column expressions
  through the fixed whitelists ``FILTER_COLUMNS`` and ``GROUP_COLUMNS``; values are bound as
  parameters. Item column names (from ``scale_items``, validated at ingest) are checked against
  an identifier pattern and quoted before use in the reliability queries.
* The minimum cell size is enforced here, not in the UI: a group with fewer than
  ``min_cell_size`` people comes back with ``suppressed: True`` and every number (its n too)
  set to None.
* Statistics come from ``stats/``; this module computes only counts, means and sums in SQL.

``db`` arguments accept a ``Database`` or a path (a process-wide ``Database`` per path is
reused).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import duckdb

from schemas import settings
from schemas.contract import AUDIENCES, DELIVERIES, FORMATS, WAVES
from stats.attrition import attrition_bias_from_moments
from stats.meta import meta_analysis, smcr_from_prepost, to_yi_vi
from stats.multiplicity import benjamini_hochberg
from stats.paired import paired_change_from_moments
from stats.reliability import cronbach_alpha_from_variances
from stats.reliable_change import reliable_change_threshold
from stats.tiers import evidence_tier

ATTACH_AS = "attune"


IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
HIST_BIN_WIDTH = 0.5  # scale points; edges at +-0.25 give every bin the same number of values


# --- Filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the user selected. Empty tuples and None mean "no restriction"."""

    audience: tuple[str, ...] = ()
    format: tuple[str, ...] = ()
    delivery: tuple[str, ...] = ()
    sponsor: tuple[str, ...] = ()
    program: tuple[str, ...] = ()
    cohort_start_from: dt.date | None = None
    cohort_start_to: dt.date | None = None
    supervision: bool | None = None

    def __post_init__(self) -> None:
        for name in ("audience", "format", "delivery", "sponsor", "program"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(sorted(set(value or ()))))

    def describe(self) -> str:
        """The filters in words, for chart footers and printed pages."""
        parts = []
        labels = {"audience": AUDIENCES, "format": FORMATS, "delivery": DELIVERIES}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in ((), None):
                continue
            if isinstance(value, tuple):
                names = [labels.get(f.name, {}).get(v, v) for v in value]
                parts.append(f"{f.name}: {', '.join(names)}")
            elif isinstance(value, bool):
                parts.append("supervision: " + ("yes" if value else "no"))
            else:
                parts.append(f"{f.name.replace('_', ' ')}: {value.isoformat()}")
        return "; ".join(parts) if parts else "no filters (all cohorts)"


# Filter name -> (SQL predicate with one parameter). Alias c = cube row, d = cohort_dim.
FILTER_COLUMNS: dict[str, str] = {
    "audience": "list_contains(?, c.audience)",
    "format": "list_contains(?, d.format)",
    "delivery": "list_contains(?, d.delivery)",
    "sponsor": "list_contains(?, d.sponsor_id)",
    "program": "list_contains(?, d.program_id)",
    "cohort_start_from": "d.cohort_start >= ?",
    "cohort_start_to": "d.cohort_start <= ?",
    "supervision": "d.supervision = ?",
}
# Grouping name -> column expression.
GROUP_COLUMNS: dict[str, str] = {
    "audience": "c.audience",
    "format": "d.format",
    "delivery": "d.delivery",
    "sponsor": "d.sponsor_id",
    "program": "d.program_id",
    "supervision": "d.supervision",
    "cohort_quarter": "d.cohort_quarter",
    "scale_id": "c.scale_id",
    "wave_to": "c.wave_to",
}


def _where(filters: Filters, skip: Iterable[str] = ()) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for name, predicate in FILTER_COLUMNS.items():
        if name in skip:
            continue
        value = getattr(filters, name)
        if value in ((), None):
            continue
        clauses.append(predicate)
        params.append(list(value) if isinstance(value, tuple) else value)
    return (" AND ".join(clauses) or "TRUE"), params


def _group_sql(by: Sequence[str]) -> tuple[str, str]:
    unknown = [name for name in by if name not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(GROUP_COLUMNS)}")
    select = "".join(f"{GROUP_COLUMNS[name]} AS {name}, " for name in by)
    group = ", ".join(GROUP_COLUMNS[name] for name in by) or "()"
    return select, group


# --- SQL -------------------------------------------------------------------------------------
# Building the cubes (run once per database file). {…} placeholders are filled only with
# integer wave positions generated here, never with user input.

SQL_COHORT_DIM = f"""
CREATE OR REPLACE TABLE memory.cohort_dim AS
SELECT
    (row_number() OVER (ORDER BY c.cohort_id))::INTEGER AS cidx,
    c.cohort_id, c.program_id, p.name AS program_name, p.format, p.delivery, c.sponsor_id,
    c.supervision, c.start_date AS cohort_start, c.end_date AS cohort_end,
    strftime(c.start_date, '%Y') || '-Q' || CAST(quarter(c.start_date) AS VARCHAR)
        AS cohort_quarter,
    0 AS eligible_mask
FROM {ATTACH_AS}.cohorts AS c JOIN {ATTACH_AS}.programs AS p USING (program_id)
"""
SQL_ELIGIBLE = f"""
UPDATE memory.cohort_dim AS d SET eligible_mask = (
    SELECT coalesce(sum(1 << w.position), 0)::INTEGER FROM {ATTACH_AS}.waves AS w
    WHERE w.months_after_end IS NULL
       OR d.cohort_end + to_months(w.months_after_end) <= ?
)
"""
SQL_WAVES = f"SELECT wave, position, months_after_end FROM {ATTACH_AS}.waves ORDER BY position"
SQL_CUTOFF = f"SELECT max(completed_at) FROM {ATTACH_AS}.responses"
SQL_PERSON = """
CREATE OR REPLACE TABLE memory.person AS
SELECT (row_number() OVER ())::INTEGER AS pidx, g.*, d.cidx
FROM (
    SELECT r.participant_id, r.cohort_id, {audience_cols},
           bit_or((1 << w.position)::INTEGER) AS mask
    FROM {db}.responses AS r JOIN {db}.waves AS w USING (wave)
    GROUP BY ALL
) AS g JOIN memory.cohort_dim AS d USING (cohort_id)
"""
# Scores per response with the person's integer key: the one join on the long hashed ids.
SQL_RESPONSE_SCORES = """
CREATE OR REPLACE TABLE memory.response_scores AS
SELECT p.pidx, w.position, {score_cols}
FROM {db}.responses AS r
JOIN {db}.waves AS w USING (wave)
JOIN memory.person AS p USING (participant_id, cohort_id)
"""
# One part per scale: that scale's score at each wave, for people scored at least once on it.
SQL_PERSON_SCALE_PART = """
SELECT {sx} AS sx, pidx, {wave_cols}
FROM memory.response_scores
GROUP BY pidx
HAVING count(x{sx}) > 0
"""
SQL_PERSON_SCALE = """
CREATE OR REPLACE TABLE memory.person_scale AS
SELECT s.sx, p.cidx, {a_cols}, {s_cols}
FROM ({parts}) AS s
JOIN memory.person AS p USING (pidx)
"""
SQL_PAIR_CUBE_PART = """
SELECT ps.sx, '{wf}' AS wave_from, '{wt}' AS wave_to, ps.cidx, ps.a{i} AS audience,
       count(*)::BIGINT AS n,
       sum(s{i}) AS s_f, sum(s{j}) AS s_t,
       sum(s{i} * s{i}) AS ss_f, sum(s{j} * s{j}) AS ss_t,
       sum(s{j} - s{i}) AS s_c, sum((s{j} - s{i}) * (s{j} - s{i})) AS ss_c,
       count_if(m.sign * (s{j} - s{i}) > m.threshold)::BIGINT AS n_improved,
       count_if(m.sign * (s{j} - s{i}) < -m.threshold)::BIGINT AS n_deteriorated
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
WHERE s{i} IS NOT NULL AND s{j} IS NOT NULL
GROUP BY ALL
"""
SQL_HIST_PART = """
SELECT ps.sx, '{wf}' AS wave_from, '{wt}' AS wave_to, ps.cidx, ps.a{i} AS audience,
       (floor((m.sign * (s{j} - s{i}) + {half} + 1e-9) / {width}) * {width}) AS bin,
       count(*)::BIGINT AS n
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
WHERE s{i} IS NOT NULL AND s{j} IS NOT NULL
GROUP BY ALL
"""
SQL_BASELINE_CUBE = """
CREATE OR REPLACE TABLE memory.baseline_cube AS
SELECT m.scale_id, ps.cidx, ps.a0 AS audience, ({scored_mask})::INTEGER AS scored_mask,
       count(*)::BIGINT AS n, sum(s0) AS s, sum(s0 * s0) AS ss
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx) WHERE s0 IS NOT NULL
GROUP BY ALL
"""
SQL_PEOPLE_CUBE = """
CREATE OR REPLACE TABLE memory.people_cube AS
SELECT p.cidx, coalesce({audience_list}) AS audience, p.mask, count(*)::BIGINT AS n
FROM memory.person AS p
GROUP BY ALL
"""
SQL_SCALES = f"""
SELECT scale_id, name, domain, level, level_name, n_items, min_value, max_value,
       higher_is_better, reliability
FROM {ATTACH_AS}.scales ORDER BY level, scale_id
"""
SQL_SCALE_ITEMS = f"""
SELECT scale_id, item_id, reverse_keyed FROM {ATTACH_AS}.scale_items ORDER BY scale_id, position
"""
SQL_PRE_SD = f"""
SELECT scale_id, stddev_samp(score) AS sd_pre, count(score) AS n
FROM {ATTACH_AS}.scale_scores WHERE wave = 'pre' AND score IS NOT NULL GROUP BY scale_id
"""
SQL_SCALE_META = """
CREATE OR REPLACE TABLE memory.scale_meta (
    sx UTINYINT, scale_id VARCHAR, sign DOUBLE, threshold DOUBLE
)
"""

# Queries run per request (on the cubes). {group_select}/{group_by}/{where} come from the
# whitelists above.
SQL_PAIR_GROUPS = """
SELECT {group_select}
       sum(c.n)::BIGINT AS n, sum(c.s_f) AS s_f, sum(c.s_t) AS s_t,
       sum(c.ss_f) AS ss_f, sum(c.ss_t) AS ss_t, sum(c.s_c) AS s_c, sum(c.ss_c) AS ss_c,
       sum(c.n_improved)::BIGINT AS n_improved, sum(c.n_deteriorated)::BIGINT AS n_deteriorated
FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND c.wave_from = ? AND list_contains(?, c.wave_to) AND {where}
GROUP BY {group_by}
"""
SQL_HIST = """
SELECT c.bin, sum(c.n)::BIGINT AS n
FROM memory.hist_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND c.wave_from = ? AND c.wave_to = ? AND {where}
GROUP BY c.bin ORDER BY c.bin
"""
SQL_PEOPLE = """
SELECT {group_select} c.mask, d.eligible_mask, sum(c.n)::BIGINT AS n
FROM memory.people_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE {where}
GROUP BY ALL
"""
SQL_BASELINE = """
SELECT {group_select} ((c.scored_mask & ?) <> 0) AS completer,
       sum(c.n)::BIGINT AS n, sum(c.s) AS s, sum(c.ss) AS ss
FROM memory.baseline_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND (d.eligible_mask & ?) <> 0 AND {where}
GROUP BY ALL
"""
SQL_FILTER_OPTIONS = """
SELECT DISTINCT program_id, program_name, format, delivery, sponsor_id
FROM memory.cohort_dim ORDER BY program_id
"""
SQL_DATE_RANGE = "SELECT min(cohort_start), max(cohort_start) FROM memory.cohort_dim"
SQL_COHORT_COUNT = """
SELECT count(DISTINCT c.cidx) FROM memory.people_cube AS c JOIN memory.cohort_dim AS d
USING (cidx) WHERE {where}
"""
SQL_EVIDENCE = f"""
SELECT study_id, citation, year, design, audience, format, outcome_domain, n, yi, vi,
       synthetic, g, g_ci_low, g_ci_high, mean_pre, mean_post, sd_pre, sd_post, r, url
FROM {ATTACH_AS}.evidence ORDER BY outcome_domain, year, study_id
"""
SQL_COHORT_CELLS = """
SELECT c.audience, c.scale_id, count(DISTINCT c.cidx) AS cohorts, sum(c.n)::BIGINT AS n
FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.wave_from = 'pre' AND c.wave_to = 'post' AND {where}
GROUP BY ALL
ORDER BY c.scale_id, c.audience
"""
# COLUMNS(regex) takes the columns a database has: one from before rows_skipped and encoding
# existed still reads.
SQL_INGEST_RUNS = f"""
SELECT COLUMNS('^(run_id|source|kind|status|rows_read|rows_loaded|rows_quarantined|'
               || 'rows_replaced|rows_skipped|encoding|message|started_at|finished_at)$')
FROM {ATTACH_AS}.ingest_runs ORDER BY started_at DESC, source LIMIT 500
"""
SQL_LINKAGE = f"""
SELECT cohort_id, wave_from, wave_to, sum(candidates)::BIGINT AS candidates,
       sum(exact_matches)::BIGINT AS exact_matches, sum(fuzzy_matches)::BIGINT AS fuzzy_matches,
       sum(unmatched)::BIGINT AS unmatched, max(tolerance) AS tolerance
FROM {ATTACH_AS}.linkage
GROUP BY ALL ORDER BY cohort_id, wave_from, wave_to
"""
SQL_QUARANTINE_BY_RULE = f"""
SELECT rule, count(*) AS n_rows, any_value(reasons) AS example_reason
FROM (SELECT unnest(rules) AS rule, reasons FROM {ATTACH_AS}.quarantine)
GROUP BY rule ORDER BY n_rows DESC, rule
"""
SQL_QUARANTINE_ROWS = f"""
SELECT run_id, source, source_row, array_to_string(rules, ', ') AS rules, reasons,
       CAST(raw AS VARCHAR) AS raw, quarantined_at
FROM {ATTACH_AS}.quarantine ORDER BY quarantined_at DESC, source, source_row LIMIT 1000
"""
SQL_FLAGS = f"""
SELECT r.wave, count(*) AS responses,
       count_if(flag_straightlining) AS straightlining,
       count_if(flag_item_missingness) AS item_missingness,
       count_if(flag_speeding) AS speeding,
       avg(items_missing_share) AS mean_missing_share
FROM {ATTACH_AS}.responses AS r JOIN {ATTACH_AS}.waves AS w USING (wave)
GROUP BY r.wave, w.position ORDER BY w.position
"""
SQL_DICTIONARY_OBJECTS = """
SELECT table_name AS name, 'table' AS kind, comment FROM duckdb_tables()
WHERE database_name = ? AND schema_name = 'main'
UNION ALL
SELECT view_name, 'view', comment FROM duckdb_views()
WHERE database_name = ? AND schema_name = 'main' AND NOT internal
ORDER BY kind, name
"""
SQL_DICTIONARY_COLUMNS = """
SELECT table_name, column_name, data_type, comment, column_index
FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main'
ORDER BY table_name, column_index
"""


# --- Connection holder ---------------------------------------------------------------------


@dataclass
class ScaleInfo:
    scale_id: str
    name: str
    domain: str
    level: int
    level_name: str
    n_items: int
    min_value: float
    max_value: float
    higher_is_better: bool
    reliability: float | None
    items: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    sd_pre: float | None = None
    reliability_used: float | None = None
    reliability_source: str = ""
    threshold: float | None = None


@dataclass
class Snapshot:
    """One opened database file and what was built from it."""

    identity: tuple[int, int]
    con: duckdb.DuckDBPyConnection
    waves: list[tuple[str, int, int | None]]
    cutoff: dt.date | None
    scales: dict[str, ScaleInfo] = field(default_factory=dict)
    local: threading.local = field(default_factory=threading.local)
    build_seconds: float = 0.0


class DatabaseUnavailable(RuntimeError):
    """The database file is missing or could not be opened."""


class Database:
    """Read-only access to one Attune DuckDB file, rebuilt when ingest publishes a new one.

    ``min_cell_size``: the smallest group any statistic is reported for (default
    ``schemas.settings.min_cell_size()``, i.e. $ATTUNE_MIN_CELL or 11).
    """

    def __init__(
        self,
        path: Path | str,
        min_cell_size: int | None = None,
        *,
        memory_limit: str = "400MB",
        threads: int = 2,
        cache_size: int = 256,
        changes_only: bool = False,
    ):
        self.path = Path(path)
        # changes_only: build only the paired-change summaries (`group_change`, `scales`),
        # for one-shot command-line use; the app needs every summary.
        self.changes_only = changes_only
        self.min_cell_size = int(min_cell_size or settings.min_cell_size())
        if self.min_cell_size < 1:
            raise ValueError("min_cell_size must be at least 1")
        self.memory_limit = memory_limit
        self.threads = threads
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[tuple, threading.Event] = {}
        self.cache_hits = 0
        self.cache_misses = 0
        self.opens = 0

    # -- file identity and connections --

    def identity(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseUnavailable(f"no database at {self.path}") from None
        return (st.st_ino, st.st_mtime_ns)

    def snapshot(self) -> Snapshot:
        """The current snapshot; reopens and rebuilds when the file was replaced."""
        identity = self.identity()
        snap = self._snapshot
        if snap is not None and snap.identity == identity:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.identity == identity:
                return snap
            new = self._open(identity)
            self._snapshot = new
            self._cache.clear()
            self.opens += 1
            # The old connection is left to the garbage collector: threads may still be
            # reading from their cursors of it.
            return new

    def _open(self, identity: tuple[int, int]) -> Snapshot:
        import time

        started = time.perf_counter()
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET threads = {int(self.threads)}")
            con.execute(f"SET memory_limit = '{memory_limit_setting(self.memory_limit)}'")
            # The path is configuration, not user input; quoted as a SQL string literal.
            con.execute(f"ATTACH {sql_string(str(self.path))} AS {ATTACH_AS} (READ_ONLY)")
            if os.stat(self.path).st_ino != identity[0]:
                raise DatabaseUnavailable("database replaced while opening; retry")
            waves = [tuple(row) for row in con.execute(SQL_WAVES).fetchall()]
            cutoff = con.execute(SQL_CUTOFF).fetchall()[0][0]
            snap = Snapshot(identity=identity, con=con, waves=waves, cutoff=cutoff)
            _build(con, snap, changes_only=self.changes_only)
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
        except duckdb.Error as error:
            con.close()
            raise DatabaseUnavailable(f"could not open {self.path}: {error}") from error
        snap.build_seconds = time.perf_counter() - started
        return snap

    def cursor(self, snap: Snapshot | None = None) -> duckdb.DuckDBPyConnection:
        snap = snap or self.snapshot()
        cur = getattr(snap.local, "cursor", None)
        if cur is None:
            cur = snap.con.cursor()
            snap.local.cursor = cur
        return cur

    def fetch(self, sql: str, params: Sequence[Any] = (), snap: Snapshot | None = None):
        """Rows of one parameterised query (fetched to the end), as tuples."""
        return self.cursor(snap).execute(sql, list(params)).fetchall()

    def fetch_dicts(self, sql: str, params: Sequence[Any] = (), snap: Snapshot | None = None):
        cur = self.cursor(snap)
        result = cur.execute(sql, list(params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    # -- caching --

    def cached(self, name: str, key: tuple, compute: Callable[[Snapshot], Any]) -> Any:
        """``compute(snapshot)`` memoised per (file identity, name, key)."""
        snap = self.snapshot()
        full_key = (snap.identity, name, key)
        while True:
            with self._lock:
                if full_key in self._cache:
                    self._cache.move_to_end(full_key)
                    self.cache_hits += 1
                    return self._cache[full_key]
                pending = self._pending.get(full_key)
                if pending is None:
                    # This thread computes; others asking for the same key wait for it.
                    pending = self._pending[full_key] = threading.Event()
                    owner = True
                else:
                    owner = False
            if owner:
                break
            pending.wait(timeout=60)
        try:
            value = compute(snap)
            with self._lock:
                self.cache_misses += 1
                if snap is self._snapshot:
                    self._cache[full_key] = value
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(full_key, None)
            pending.set()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


_DATABASES: dict[tuple[str, int], Database] = {}
_DATABASES_LOCK = threading.Lock()


def as_database(db: Database | Path | str, min_cell_size: int | None = None) -> Database:
    """A ``Database`` for ``db`` (reused per path and minimum cell size within a process)."""
    if isinstance(db, Database):
        return db
    key = (str(Path(db).resolve()), int(min_cell_size or settings.min_cell_size()))
    with _DATABASES_LOCK:
        if key not in _DATABASES:
            _DATABASES[key] = Database(db, min_cell_size)
        return _DATABASES[key]


def sql_string(value: str) -> str:
    """A SQL string literal (for the few statements that take no parameters, like ATTACH)."""
    return "'" + value.replace("'", "''") + "'"


def memory_limit_setting(value: str) -> str:
    """A DuckDB memory limit such as '1GB', refused unless it is one."""
    if not re.fullmatch(r"[0-9.]+\s*[KMGT]?i?B", value):
        raise ValueError(f"bad memory limit {value!r}")
    return value


def _quote_item(item: str) -> str:
    if not IDENTIFIER.match(item):
        raise ValueError(f"item column {item!r} is not a plain identifier")
    return f'"{item}"'


# --- Building the cubes --------------------------------------------------------------------


def _build(con: duckdb.DuckDBPyConnection, snap: Snapshot, changes_only: bool = False) -> None:
    positions = [pos for _, pos, _ in snap.waves]
    code = {pos: wave for wave, pos, _ in snap.waves}
    for wave in code.values():
        if not IDENTIFIER.match(wave):
            raise DatabaseUnavailable(f"unexpected wave code {wave!r}")
    con.execute(SQL_COHORT_DIM)
    con.execute(SQL_ELIGIBLE, [snap.cutoff or dt.date(1900, 1, 1)])
    _load_scales(con, snap)

    con.execute(SQL_SCALE_META)
    for sx, info in enumerate(snap.scales.values()):
        con.execute(
            "INSERT INTO memory.scale_meta VALUES (?, ?, ?, ?)",
            [sx, info.scale_id, 1.0 if info.higher_is_better else -1.0,
             info.threshold if info.threshold is not None else float("inf")],
        )
    audience_cols = ", ".join(
        f"max(r.audience) FILTER (WHERE w.position = {p}) AS a{p}" for p in positions
    )
    con.execute(SQL_PERSON.format(audience_cols=audience_cols, db=ATTACH_AS))
    scale_ids = list(snap.scales)  # the sx order of scale_meta; ids are checked identifiers
    con.execute(
        SQL_RESPONSE_SCORES.format(
            db=ATTACH_AS,
            score_cols=", ".join(
                f"r.score_{scale_id} AS x{sx}" for sx, scale_id in enumerate(scale_ids)
            ),
        )
    )
    parts = [
        SQL_PERSON_SCALE_PART.format(
            sx=sx,
            wave_cols=", ".join(
                f"max(x{sx}) FILTER (WHERE position = {p}) AS s{p}" for p in positions
            ),
        )
        for sx in range(len(scale_ids))
    ]
    con.execute(
        SQL_PERSON_SCALE.format(
            a_cols=", ".join(f"p.a{p}" for p in positions),
            s_cols=", ".join(f"s.s{p}" for p in positions),
            parts=" UNION ALL ".join(parts),
        )
    )
    con.execute("DROP TABLE memory.response_scores")
    pairs = [(i, j) for i in positions for j in positions if j > i]
    if pairs:
        parts = [SQL_PAIR_CUBE_PART.format(i=i, j=j, wf=code[i], wt=code[j]) for i, j in pairs]
        con.execute(
            "CREATE OR REPLACE TABLE memory.pair_cube AS SELECT m.scale_id, u.* EXCLUDE (sx) "
            "FROM (" + " UNION ALL ".join(parts) + ") AS u JOIN memory.scale_meta AS m USING (sx)"
            " ORDER BY m.scale_id, u.wave_from, u.wave_to, u.cidx"
        )
    if changes_only:
        con.execute("DROP TABLE memory.person_scale")
        con.execute("DROP TABLE memory.person")
        return
    if pairs:
        parts = [
            SQL_HIST_PART.format(
                i=i, j=j, wf=code[i], wt=code[j], half=HIST_BIN_WIDTH / 2, width=HIST_BIN_WIDTH
            )
            for i, j in pairs
        ]
        con.execute(
            "CREATE OR REPLACE TABLE memory.hist_cube AS SELECT m.scale_id, u.* EXCLUDE (sx) "
            "FROM (" + " UNION ALL ".join(parts) + ") AS u JOIN memory.scale_meta AS m USING (sx)"
            " ORDER BY m.scale_id, u.wave_from, u.wave_to, u.cidx"
        )
    first = positions[0] if positions else 0
    scored_mask = " + ".join(
        f"(CASE WHEN s{p} IS NOT NULL THEN {1 << p} ELSE 0 END)" for p in positions
    )
    if first == 0:
        con.execute(SQL_BASELINE_CUBE.format(scored_mask=scored_mask or "0"))
    con.execute(
        SQL_PEOPLE_CUBE.format(audience_list=", ".join(f"p.a{p}" for p in positions) or "NULL")
    )
    con.execute("DROP TABLE memory.person_scale")
    con.execute("DROP TABLE memory.person")


def _load_scales(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> None:
    items: dict[str, list[tuple[str, bool]]] = {}
    for scale_id, item, reverse in con.execute(SQL_SCALE_ITEMS).fetchall():
        items.setdefault(scale_id, []).append((item, bool(reverse)))
    sd_pre = {row[0]: row[1] for row in con.execute(SQL_PRE_SD).fetchall()}
    for row in con.execute(SQL_SCALES).fetchall():
        info = ScaleInfo(*row)
        own = items.get(info.scale_id, [])
        info.items = tuple(i for i, _ in own)
        info.reverse = tuple(i for i, rev in own if rev)
        info.sd_pre = sd_pre.get(info.scale_id)
        if info.reliability is not None:
            info.reliability_used, info.reliability_source = info.reliability, "declared"
        else:
            alpha = _alpha(con, info, "pre")
            if alpha is not None and math.isfinite(alpha.alpha):
                info.reliability_used = alpha.alpha
                info.reliability_source = "baseline Cronbach alpha"
        if info.sd_pre is not None and info.reliability_used is not None:
            threshold = reliable_change_threshold(info.sd_pre, info.reliability_used)
            info.threshold = threshold if math.isfinite(threshold) else None
        snap.scales[info.scale_id] = info


def _alpha(con, info: ScaleInfo, wave: str):
    """Cronbach's alpha of a scale at one wave (listwise complete responses), via stats."""
    if len(info.items) < 2:
        return None
    cols = [_quote_item(i) for i in info.items]
    keyed = [
        f"({info.min_value + info.max_value} - {c})" if item in info.reverse else c
        for item, c in zip(info.items, cols, strict=True)
    ]
    sql = (
        "SELECT count(*), "
        + " + ".join(f"coalesce(var_samp({c}), 0)" for c in cols)
        + ", var_samp("
        + " + ".join(keyed)
        + f") FROM {ATTACH_AS}.responses WHERE wave = ? AND "
        + " AND ".join(f"{c} IS NOT NULL" for c in cols)
    )
    n, sum_var, total_var = con.execute(sql, [wave]).fetchall()[0]
    if not n or total_var is None:
        return None
    return cronbach_alpha_from_variances(n, len(cols), sum_var or 0.0, total_var)


# --- Helpers for results -------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """NaN -> None, numpy scalars -> Python (so results serialise to JSON)."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _scale(db: Database, snap: Snapshot, scale_id: str) -> ScaleInfo:
    if scale_id not in snap.scales:
        raise ValueError(f"unknown scale {scale_id!r}")
    return snap.scales[scale_id]


def _wave(snap: Snapshot, wave: str) -> int:
    for code, position, _ in snap.waves:
        if code == wave:
            return position
    raise ValueError(f"unknown wave {wave!r}")


def _floor(db: Database, min_cell_size: int | None) -> int:
    value = db.min_cell_size if min_cell_size is None else int(min_cell_size)
    if value < 1:
        raise ValueError("min_cell_size must be at least 1")
    return value


STAT_KEYS = (
    "n_pairs", "mean_from", "mean_to", "sd_from", "sd_to", "r", "mean_change", "sd_change",
    "ci_low", "ci_high", "t", "df", "p", "p_adj", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av",
    "g_av", "g", "g_ci_low", "g_ci_high", "g_vi", "n_improved", "n_deteriorated",
    "pct_reliable_improved", "pct_reliable_deteriorated", "pct_no_reliable_change",
    "reliable_threshold",
)


def _moments(row: dict[str, Any]) -> tuple[int, float, float, float, float, float]:
    n = int(row["n"])
    mean_f, mean_t = row["s_f"] / n, row["s_t"] / n

    def sd(ss: float, s: float) -> float:
        if n < 2:
            return float("nan")
        return math.sqrt(max((ss - s * s / n) / (n - 1), 0.0))

    return n, mean_f, mean_t, sd(row["ss_f"], row["s_f"]), sd(row["ss_t"], row["s_t"]), sd(
        row["ss_c"], row["s_c"]
    )


def _change_stats(row: dict[str, Any], info: ScaleInfo) -> dict[str, Any]:
    n, mean_f, mean_t, sd_f, sd_t, sd_c = _moments(row)
    pc = paired_change_from_moments(
        n, mean_f, mean_t, sd_f, sd_t, sd_c, higher_is_better=info.higher_is_better
    )
    out = {k: _clean(v) for k, v in pc.as_dict().items() if k != "wilcoxon_p"}
    g = g_lo = g_hi = g_vi = None
    if n >= 3 and sd_f > 0 and math.isfinite(pc.r):
        yi, vi = smcr_from_prepost(mean_f, mean_t, sd_f, pc.r, n)
        if not info.higher_is_better:
            yi = -yi
        if math.isfinite(yi) and math.isfinite(vi) and vi > 0:
            single = meta_analysis([yi], [vi], method="FE")  # a 95% CI for one (yi, vi)
            g, g_lo, g_hi, g_vi = yi, single.ci_low, single.ci_high, vi
    out.update(g=g, g_ci_low=g_lo, g_ci_high=g_hi, g_vi=g_vi)
    n_imp, n_det = int(row["n_improved"]), int(row["n_deteriorated"])
    if info.threshold is None:
        out.update(n_improved=None, n_deteriorated=None, pct_reliable_improved=None,
                   pct_reliable_deteriorated=None, pct_no_reliable_change=None)
    else:
        out.update(
            n_improved=n_imp, n_deteriorated=n_det,
            pct_reliable_improved=100.0 * n_imp / n,
            pct_reliable_deteriorated=100.0 * n_det / n,
            pct_no_reliable_change=100.0 * (n - n_imp - n_det) / n,
        )
    out["reliable_threshold"] = info.threshold
    return out


def _suppressed(keys: dict[str, Any], small: bool = True) -> dict[str, Any]:
    row = dict(keys)
    row.update({k: None for k in STAT_KEYS})
    row["suppressed"] = True
    row["suppression"] = SUPPRESSION_PRIMARY if small else SUPPRESSION_COMPLEMENTARY
    return row


# --- Complementary suppression --------------------------------------------------------------
# Primary suppression hides a group below the minimum cell size. That is not enough when the
# page also shows a total (or the groups can be summed to one): total minus the groups shown
# is the hidden group. The rule below (documented in docs/security.md, "Small cells") hides
# further groups until no hidden figure can be recovered by subtraction.

# Groupings whose values do not add up to a published total (the same people at several
# waves; one scale next to another): they split a result into independent tables (strata).
NON_ADDITIVE = frozenset({"wave_to", "scale_id"})
SUPPRESSION_PRIMARY = "small"
SUPPRESSION_COMPLEMENTARY = "complementary"


def complementary_suppression(
    keys: Sequence[Sequence[Any]],
    sizes: Sequence[Sequence[int]],
    dims: Sequence[str],
    hidden: Iterable[int],
    floor: int,
) -> set[int]:
    """The cells to hide so that no hidden cell can be recovered from the cells shown.

    ``keys[i]`` are cell i's values of ``dims``; ``sizes[i]`` its counts (the first is its n;
    more, e.g. completers and dropouts, are checked alike); ``hidden`` the primary-suppressed
    cells. Every *line* (the cells that differ only in one additive dimension, i.e. the
    siblings that sum to a margin or to the overall figure) is assumed to have its total
    published. Rule, repeated until stable:

    1. In every line with a hidden cell, at least two cells are hidden, and for every count
       the hidden cells add up to at least ``floor`` and to more than the number of hidden
       cells (so neither "total minus shown" nor "each group has at least one person" pins a
       hidden cell down). Otherwise the smallest shown cell of the line is hidden too
       (preferring cells that are not alone in another line).
    2. With two or more additive dimensions (a two-way table with margins), a linear audit:
       a hidden cell whose value follows from the line totals (its unit vector lies in the
       span of the line equations restricted to the hidden cells) gets the smallest shown
       cell of one of its lines hidden as well.

    Means and every other statistic are hidden with their n, and a hidden mean is
    recoverable only through its cell's sum ``n * mean``, which obeys the same line equations
    as n; so protecting the counts protects the means.
    """
    hidden = set(hidden)
    cells = list(range(len(keys)))
    additive = [i for i, d in enumerate(dims) if d not in NON_ADDITIVE]
    lines: list[list[int]] = []
    for d in additive:
        groups: dict[tuple, list[int]] = {}
        for c in cells:
            rest = tuple(v for i, v in enumerate(keys[c]) if i != d)
            groups.setdefault(rest, []).append(c)
        lines.extend(g for g in groups.values() if len(g) >= 2)
    if not lines or not hidden:
        return hidden
    lines_of: dict[int, list[list[int]]] = {c: [] for c in cells}
    for line in lines:
        for c in line:
            lines_of[c].append(line)
    n_lines = {c: len(lines_of[c]) for c in cells}

    def candidate(line: list[int]) -> int | None:
        shown = [c for c in line if c not in hidden]
        if not shown:
            return None
        # Prefer cells that lie in as many lines as the table has additive dimensions (not the
        # only cell of another line, whose margin would give it away), then the smallest.
        return min(shown, key=lambda c: (n_lines[c] < len(additive), sizes[c][0], c))

    def line_ok(line: list[int]) -> bool:
        h = [c for c in line if c in hidden]
        if not h:
            return True
        if len(h) < 2:
            return False
        for m in range(len(sizes[h[0]])):
            total = sum(sizes[c][m] for c in h)
            if total < floor or total <= len(h):
                return False
        return True

    changed = True
    while changed:
        changed = False
        for line in lines:
            if not line_ok(line):
                extra = candidate(line)
                if extra is not None:
                    hidden.add(extra)
                    changed = True
        if changed or len(additive) < 2:
            continue
        for c in sorted(_determined(lines, hidden)):
            options = [x for x in (candidate(line) for line in lines_of[c]) if x is not None]
            if options:
                hidden.add(min(options, key=lambda x: (sizes[x][0], x)))
                changed = True
                break
    return hidden


def _determined(lines: list[list[int]], hidden: set[int]) -> set[int]:
    """Hidden cells whose value follows linearly from the line totals and the shown cells."""
    import numpy as np

    cols = sorted(hidden)
    index = {c: i for i, c in enumerate(cols)}
    rows = []
    for line in lines:
        row = np.zeros(len(cols))
        for c in line:
            if c in index:
                row[index[c]] = 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for c, i in index.items():
        unit = np.zeros(len(cols))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.add(c)
    return out


# --- Public queries ------------------------------------------------------------------------


def _pair_groups(
    database: Database,
    snap: Snapshot,
    scale_id: str,
    wave_from: str,
    waves_to: tuple[str, ...],
    by: tuple[str, ...],
    filters: Filters,
    floor: int,
    complementary: bool,
) -> tuple[list[dict[str, Any]], set[int], set[int]]:
    """The matched-pair sums per group, in a fixed order (so suppression hides the same
    groups on every request), with the positions of the small groups and of every hidden one
    (the small ones, plus those ``complementary_suppression`` hides to protect them)."""
    select, group = _group_sql(by)
    where, params = _where(filters)
    sql = SQL_PAIR_GROUPS.format(group_select=select, group_by=group, where=where)
    rows = database.fetch_dicts(sql, [scale_id, wave_from, list(waves_to), *params], snap=snap)
    rows = [r for r in rows if r["n"]]  # GROUP BY () yields one empty row: no group
    rows.sort(key=lambda r: tuple(_sort_key(r.get(b)) for b in by))
    small = {i for i, r in enumerate(rows) if r["n"] < floor}
    hidden = small
    if complementary:
        hidden = complementary_suppression(
            [tuple(r[b] for b in by) for r in rows], [(int(r["n"]),) for r in rows],
            by, small, floor,
        )
    return rows, small, hidden


def group_change(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str = "post",
    by: Sequence[str] = ("audience", "format"),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
) -> list[dict[str, Any]]:
    """Paired change per group: one dict per group, suppressed below the minimum cell size.

    Keys: the ``by`` columns, ``scale_id, wave_from, wave_to, n_pairs, mean_from, mean_to,
    sd_from, sd_to, r, mean_change, sd_change, ci_low, ci_high, t, df, p, p_adj`` (Benjamini-
    Hochberg across the returned groups), ``d_z, d_z_ci_low, d_z_ci_high, d_av, g_av`` (from
    ``stats.paired``), ``g, g_ci_low, g_ci_high, g_vi`` (standardised mean change, metafor
    SMCR, the metric of the evidence table), ``n_improved, n_deteriorated,
    pct_reliable_improved, pct_reliable_deteriorated, pct_no_reliable_change,
    reliable_threshold`` and ``suppressed``. Change and effect sizes are signed so that
    improvement is positive. Groups with fewer than ``min_cell_size`` pairs (default: the
    database's, normally 11) have ``suppressed: True`` and every statistic, n_pairs too, None.
    ``wave_to`` may also be a tuple of waves when ``"wave_to"`` is in ``by``.

    With ``complementary`` (the default) further groups are hidden so that no hidden group
    can be recovered from the groups shown and their total (``complementary_suppression``);
    ``suppression`` says why a row is hidden: ``"small"`` or ``"complementary"``.
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)
    waves_to = tuple(wave_to) if isinstance(wave_to, (tuple, list)) else (wave_to,)
    by = tuple(by)
    key = (scale_id, wave_from, waves_to, by, filters, floor, bool(complementary))

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        info = _scale(database, snap, scale_id)
        _wave(snap, wave_from)
        for w in waves_to:
            if _wave(snap, w) <= _wave(snap, wave_from):
                raise ValueError(f"wave_to {w!r} must come after wave_from {wave_from!r}")
        rows, small, hidden = _pair_groups(
            database, snap, scale_id, wave_from, waves_to, by, filters, floor, complementary
        )
        out = []
        for i, row in enumerate(rows):
            keys = {b: row[b] for b in by}
            keys.update(scale_id=scale_id, wave_from=wave_from)
            if "wave_to" not in by:
                keys["wave_to"] = waves_to[0]
            if i in hidden:
                out.append(_suppressed(keys, i in small))
                continue
            stats = _change_stats(row, info)
            out.append({**keys, **stats, "p_adj": None, "suppressed": False,
                        "suppression": None})
        adjusted = benjamini_hochberg([r["p"] for r in out if not r["suppressed"]])
        shown = [r for r in out if not r["suppressed"]]
        for r, p_adj in zip(shown, adjusted, strict=True):
            r["p_adj"] = _clean(p_adj)
        return out

    return [dict(r) for r in database.cached("group_change", key, compute)]


def pair_counts(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str | tuple[str, ...] = "post",
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
) -> list[dict[str, Any]]:
    """Matched pairs per group only (no statistics): cheap, for tiers and follow-up lengths.

    Groups below the minimum cell size come back with ``n_pairs: None, suppressed: True``;
    with ``complementary`` further groups too (see ``complementary_suppression``).
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)
    waves_to = tuple(wave_to) if isinstance(wave_to, (tuple, list)) else (wave_to,)
    by = tuple(by)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        _scale(database, snap, scale_id)
        rows, _, hidden = _pair_groups(
            database, snap, scale_id, wave_from, waves_to, by, filters, floor, complementary
        )
        return [{**{b: row[b] for b in by}, "n_pairs": None if i in hidden else row["n"],
                 "suppressed": i in hidden} for i, row in enumerate(rows)]

    key = (scale_id, wave_from, waves_to, by, filters, floor, bool(complementary))
    return [dict(r) for r in database.cached("pair_counts", key, compute)]


def _sort_key(value: Any) -> tuple:
    order = {**{k: i for i, k in enumerate(AUDIENCES)}, **{k: i for i, k in enumerate(FORMATS)},
             **{k: i for i, k in enumerate(WAVES)}}
    if isinstance(value, str) and value in order:
        return (0, order[value], value)
    return (1, 0, str(value))


def scales(db: Database | Path | str) -> list[dict[str, Any]]:
    """The instrument's scales with the reliability and reliable-change threshold in use."""
    database = as_database(db)
    snap = database.snapshot()
    return [
        {
            "scale_id": s.scale_id, "name": s.name, "domain": s.domain, "level": s.level,
            "level_name": s.level_name, "n_items": s.n_items, "min_value": s.min_value,
            "max_value": s.max_value, "higher_is_better": s.higher_is_better,
            "reliability": s.reliability, "reliability_used": _clean(s.reliability_used),
            "reliability_source": s.reliability_source, "sd_pre": _clean(s.sd_pre),
            "reliable_threshold": _clean(s.threshold),
        }
        for s in snap.scales.values()
    ]


def waves(db: Database | Path | str) -> list[dict[str, Any]]:
    snap = as_database(db).snapshot()
    return [{"wave": w, "position": p, "months_after_end": m} for w, p, m in snap.waves]


def filter_options(db: Database | Path | str) -> dict[str, Any]:
    """Values the filter controls offer (programmes, sponsors, date range, scales, waves)."""
    database = as_database(db)

    def compute(snap: Snapshot) -> dict[str, Any]:
        rows = database.fetch(SQL_FILTER_OPTIONS, snap=snap)
        programs = {r[0]: r[1] for r in rows}
        sponsors = sorted({r[4] for r in rows})
        start, end = database.fetch(SQL_DATE_RANGE, snap=snap)[0]
        return {
            "programs": programs,
            "sponsors": sponsors,
            # programme -> sponsors with cohorts in it (for scoping a sponsor's dropdowns)
            "program_sponsors": {p: sorted({r[4] for r in rows if r[0] == p}) for p in programs},
            "formats": [f for f in FORMATS if f in {r[2] for r in rows}],
            "deliveries": [d for d in DELIVERIES if d in {r[3] for r in rows}],
            "audiences": list(AUDIENCES),
            "start_min": start,
            "start_max": end,
            "scales": scales(database),
            "waves": [w for w, _, _ in snap.waves],
            "cutoff": snap.cutoff,
        }

    return database.cached("filter_options", (), compute)


def people(
    db: Database | Path | str,
    *,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Participants (counted once per cohort) per group, with respondents at each wave.

    Per group: ``n_people`` (any wave), ``n_<wave>`` respondents at each wave,
    ``n_pre_eligible_<wave>`` (answered pre, and the cohort's <wave> was due by the last date
    in the data) and ``n_retained_<wave>`` (of those, answered <wave>), ``pct_retained_<wave>``.
    Every count below the minimum cell size is None (``suppressed_<field>`` True) and a group
    with fewer people than that is suppressed as a whole.
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)
    by = tuple(by)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        select, _ = _group_sql(by)
        where, params = _where(filters)
        rows = database.fetch_dicts(SQL_PEOPLE.format(group_select=select, where=where),
                                    params, snap=snap)
        groups: dict[tuple, dict[str, Any]] = {}
        for row in rows:
            k = tuple(row[b] for b in by)
            g = groups.setdefault(k, {"n_people": 0, **{f"n_{w}": 0 for w, _, _ in snap.waves},
                                      **{f"n_pre_eligible_{w}": 0 for w, _, _ in snap.waves},
                                      **{f"n_retained_{w}": 0 for w, _, _ in snap.waves}})
            n, mask, eligible = row["n"], row["mask"], row["eligible_mask"]
            g["n_people"] += n
            for wave, pos, _ in snap.waves:
                bit = 1 << pos
                if mask & bit:
                    g[f"n_{wave}"] += n
                if mask & 1 and eligible & bit:
                    g[f"n_pre_eligible_{wave}"] += n
                    if mask & bit:
                        g[f"n_retained_{wave}"] += n
        order = sorted(groups, key=lambda t: tuple(_sort_key(v) for v in t))
        gs = [groups[k] for k in order]
        gone = complementary_suppression(
            order, [(g["n_people"],) for g in gs], by,
            {i for i, g in enumerate(gs) if g["n_people"] < floor}, floor)
        hidden_fields: dict[str, set[int]] = {}
        for name in gs[0] if gs else ():
            small = set(gone) | {i for i, g in enumerate(gs) if g[name] < floor}
            if name.startswith("n_retained_"):
                # due = retained + dropouts: a small number of dropouts must not be recoverable
                # as due minus retained.
                due = "n_pre_eligible_" + name.removeprefix("n_retained_")
                small |= {i for i, g in enumerate(gs) if 0 < g[due] - g[name] < floor}
            hidden_fields[name] = complementary_suppression(
                order, [(g[name],) for g in gs], by, small, floor)
        out = []
        for i, k in enumerate(order):
            g = groups[k]
            row = {b: v for b, v in zip(by, k, strict=True)}
            if i in gone:
                row.update({name: None for name in g}, suppressed=True)
                out.append(row)
                continue
            row["suppressed"] = False
            for name, value in g.items():
                small = i in hidden_fields[name]
                row[name] = None if small else value
                row[f"suppressed_{name}"] = small
            for wave, _, _ in snap.waves:
                base, kept = row[f"n_pre_eligible_{wave}"], row[f"n_retained_{wave}"]
                row[f"pct_retained_{wave}"] = (
                    100.0 * kept / base if base and kept is not None else None
                )
            out.append(row)
        return out

    return [dict(r) for r in database.cached("people", (by, filters, floor), compute)]


def change_distribution(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str = "post",
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """Histogram of individual improvement (0.5-point bins); bins below the cell size hidden.

    Returns ``{"n_pairs", "suppressed", "bin_width", "threshold", "bins": [{"bin", "n",
    "suppressed"}]}``; ``bin`` is the centre of the bin in scale points (improvement positive).
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)

    def compute(snap: Snapshot) -> dict[str, Any]:
        info = _scale(database, snap, scale_id)
        where, params = _where(filters)
        rows = database.fetch(SQL_HIST.format(where=where),
                              [scale_id, wave_from, wave_to, *params], snap=snap)
        total = sum(n for _, n in rows)
        if total < floor:
            return {"n_pairs": None, "suppressed": True, "bin_width": HIST_BIN_WIDTH,
                    "threshold": info.threshold, "bins": []}
        # The bins add up to n_pairs, which is shown: hide complementary bins as well.
        hidden = complementary_suppression(
            [(b,) for b, _ in rows], [(n,) for _, n in rows], ("bin",),
            {i for i, (_, n) in enumerate(rows) if n < floor}, floor)
        bins = [
            {"bin": round(b, 6), "n": None if i in hidden else n, "suppressed": i in hidden}
            for i, (b, n) in enumerate(rows)
        ]
        return {"n_pairs": total, "suppressed": False, "bin_width": HIST_BIN_WIDTH,
                "threshold": info.threshold, "bins": bins}

    return database.cached("hist", (scale_id, wave_from, wave_to, filters, floor), compute)


def attrition_bias(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_to: str = "post",
    by: Sequence[str] = ("format",),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Baseline (pre) scores of completers vs dropouts for ``wave_to``, per group.

    Only cohorts whose ``wave_to`` was due by the last date in the data count. Suppressed when
    either group has fewer people than the minimum cell size.
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)
    by = tuple(by)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        _scale(database, snap, scale_id)
        bit = 1 << _wave(snap, wave_to)
        select, _ = _group_sql(by)
        where, params = _where(filters)
        rows = database.fetch_dicts(
            SQL_BASELINE.format(group_select=select, where=where),
            [bit, scale_id, bit, *params], snap=snap,
        )
        groups: dict[tuple, dict[bool, dict]] = {}
        for row in rows:
            groups.setdefault(tuple(row[b] for b in by), {})[bool(row["completer"])] = row
        order = sorted(groups, key=lambda t: tuple(_sort_key(v) for v in t))
        counts = [tuple((groups[k].get(c) or {"n": 0})["n"] for c in (True, False))
                  for k in order]
        hidden = complementary_suppression(
            order, counts, by, {i for i, c in enumerate(counts) if min(c) < floor}, floor)
        out = []
        for i, k in enumerate(order):
            keys = {b: v for b, v in zip(by, k, strict=True)}
            keys.update(scale_id=scale_id, wave_to=wave_to)
            comp, drop = groups[k].get(True), groups[k].get(False)
            n1, n2 = counts[i]
            if i in hidden:
                out.append({**keys, "n_completers": None, "n_dropouts": None,
                            "mean_completers": None, "mean_dropouts": None,
                            "attrition_pct": None, "difference": None, "hedges_g": None,
                            "g_ci_low": None, "g_ci_high": None, "p": None,
                            "suppressed": True})
                continue
            m1, m2 = comp["s"] / n1, drop["s"] / n2
            sd1 = math.sqrt(max((comp["ss"] - comp["s"] ** 2 / n1) / (n1 - 1), 0.0))
            sd2 = math.sqrt(max((drop["ss"] - drop["s"] ** 2 / n2) / (n2 - 1), 0.0))
            res = attrition_bias_from_moments(n1, m1, sd1, n2, m2, sd2)
            out.append({**keys, "n_completers": n1, "n_dropouts": n2, "mean_completers": m1,
                        "mean_dropouts": m2, "sd_completers": sd1, "sd_dropouts": sd2,
                        "attrition_pct": 100.0 * n2 / (n1 + n2),
                        **{k2: _clean(v) for k2, v in res.as_dict().items()},
                        "suppressed": False})
        return out

    key = (scale_id, wave_to, by, filters, floor)
    return [dict(r) for r in database.cached("attrition", key, compute)]


def evidence(db: Database | Path | str) -> list[dict[str, Any]]:
    """The evidence library with (yi, vi) and a 95% CI per study (studies without them too)."""
    database = as_database(db)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        out = []
        for row in database.fetch_dicts(SQL_EVIDENCE, snap=snap):
            pair = to_yi_vi({**row, "ci_low": row["g_ci_low"], "ci_high": row["g_ci_high"]})
            row = {k: _clean(v) for k, v in row.items()}
            if pair is not None and pair[1] > 0:
                single = meta_analysis([pair[0]], [pair[1]], method="FE")
                row.update(es=pair[0], es_vi=pair[1], es_ci_low=single.ci_low,
                           es_ci_high=single.ci_high)
            else:
                row.update(es=None, es_vi=None, es_ci_low=None, es_ci_high=None)
            tier = evidence_tier(row["design"], row["n"], None, None)
            row.update(tier=tier.tier, tier_label=tier.label)
            out.append(row)
        return out

    return [dict(r) for r in database.cached("evidence", (), compute)]


def pooled_evidence(
    db: Database | Path | str, *, domain: str | None = None, method: str = "REML"
) -> dict[str, Any] | None:
    """Random-effects pooled estimate of the evidence library (optionally one domain).

    None with fewer than two studies: one study is its own estimate, with no heterogeneity.
    """
    studies = [
        s for s in evidence(db)
        if s["es"] is not None and (domain is None or s["outcome_domain"] == domain)
    ]
    if len(studies) < 2:
        return None
    result = meta_analysis([s["es"] for s in studies], [s["es_vi"] for s in studies],
                           method=method)
    return {k: _clean(v) for k, v in result.as_dict().items()}


def program_evidence(
    db: Database | Path | str,
    *,
    scale_id: str,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Per programme: pre->post change on the scale, attrition, longest follow-up, tier.

    Design is single-group pre/post for all local data. Attrition is the share of people who
    answered pre and were due a post survey but did not answer it. The follow-up length is the
    longest follow-up wave with at least ``min_cell_size`` matched pre->follow-up pairs.
    Programmes with fewer matched pairs than the cell size are suppressed (tier not shown).
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        changes = group_change(database, scale_id=scale_id, by=("program",),
                               filters=filters, min_cell_size=floor)
        followups = [w for w, _, m in snap.waves if m]
        long = pair_counts(database, scale_id=scale_id, wave_to=tuple(followups) or ("post",),
                           by=("program", "wave_to"), filters=filters, min_cell_size=floor)
        retention = {r["program"]: r for r in people(database, by=("program",),
                                                      filters=filters, min_cell_size=floor)}
        months = {w: m for w, _, m in snap.waves}
        names = filter_options(database)["programs"]
        out = []
        for row in changes:
            program = row["program"]
            base = {"program": program, "program_name": names.get(program, program)}
            if row["suppressed"]:
                out.append({**base, "suppressed": True, "tier": None, "tier_label": None,
                            "reasons": [], "n_pairs": None})
                continue
            kept = retention.get(program, {})
            due, answered = kept.get("n_pre_eligible_post"), kept.get("n_retained_post")
            attrition = 100.0 * (1 - answered / due) if due and answered is not None else None
            longest = max(
                (months[r["wave_to"]] for r in long
                 if r["program"] == program and not r["suppressed"]),
                default=None,
            )
            tier = evidence_tier("single_group_pre_post", row["n_pairs"], attrition, longest)
            out.append({**base, **row, "attrition_pct": attrition, "followup_months": longest,
                        "tier": tier.tier, "tier_label": tier.label,
                        "reasons": list(tier.reasons), "suppressed": False})
        return out

    key = (scale_id, filters, floor)
    return [dict(r) for r in database.cached("program_evidence", key, compute)]


def gap_map(
    db: Database | Path | str,
    *,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Audience x outcome domain: cohorts with enough matched pre/post pairs, and studies.

    One row per (audience, domain, source) with ``count`` (cohorts or studies) and ``tier``:
    for local data the tier of all matched pairs in the cell (single-group pre/post), for
    studies the highest study tier. Cells with fewer pairs than the cell size count as gaps.
    """
    database = as_database(db)
    filters = filters or Filters()
    floor = _floor(database, min_cell_size)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        domains = {s.scale_id: s.domain for s in snap.scales.values()}
        where, params = _where(filters)
        rows = database.fetch_dicts(SQL_COHORT_CELLS.format(where=where), params, snap=snap)
        # Per scale, the audiences add up to the scale's matched pairs shown elsewhere.
        hidden = complementary_suppression(
            [(r["scale_id"], r["audience"]) for r in rows], [(r["n"],) for r in rows],
            ("scale_id", "audience"), {i for i, r in enumerate(rows) if r["n"] < floor}, floor)
        out = []
        for i, row in enumerate(rows):
            if i in hidden:
                continue
            tier = evidence_tier("single_group_pre_post", row["n"], None, None)
            out.append({"audience": row["audience"], "domain": domains.get(row["scale_id"]),
                        "source": "Our cohorts", "count": row["cohorts"], "n": row["n"],
                        "tier": tier.tier, "tier_label": tier.label})
        cells: dict[tuple, list[dict]] = {}
        for study in evidence(database):
            cells.setdefault((study["audience"], study["outcome_domain"]), []).append(study)
        for (aud, domain), studies in cells.items():
            best = max(studies, key=lambda s: s["tier"])
            out.append({"audience": aud, "domain": domain, "source": "Published studies",
                        "count": len(studies), "n": sum(s["n"] for s in studies),
                        "tier": best["tier"], "tier_label": best["tier_label"]})
        return out

    return [dict(r) for r in database.cached("gap_map", (filters, floor), compute)]


def cohort_count(db: Database | Path | str, filters: Filters | None = None) -> int:
    """Number of cohorts with any response that match the filters (not a statistic on people)."""
    database = as_database(db)
    filters = filters or Filters()

    def compute(snap: Snapshot) -> int:
        where, params = _where(filters)
        return int(database.fetch(SQL_COHORT_COUNT.format(where=where), params, snap=snap)[0][0])

    return database.cached("cohort_count", (filters,), compute)


# --- Data quality and documentation (not filtered) -----------------------------------------


def ingest_runs(db: Database | Path | str) -> list[dict[str, Any]]:
    database = as_database(db)
    return database.cached(
        "ingest_runs", (), lambda snap: database.fetch_dicts(SQL_INGEST_RUNS, snap=snap)
    )


def linkage_rates(db: Database | Path | str) -> list[dict[str, Any]]:
    """How well self-generated codes linked waves, per cohort and wave pair.

    Cohorts with fewer candidates than the minimum cell size show no counts or rate.
    """
    database = as_database(db)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        try:
            rows = database.fetch_dicts(SQL_LINKAGE, snap=snap)
        except duckdb.CatalogException:  # a database from before linking existed
            return []
        out = []
        for row in rows:
            if row["candidates"] < database.min_cell_size:
                keys = {k: row[k] for k in ("cohort_id", "wave_from", "wave_to", "tolerance")}
                out.append({**keys, "candidates": None, "exact_matches": None,
                            "fuzzy_matches": None, "unmatched": None, "match_rate": None,
                            "suppressed": True})
                continue
            linked = row["exact_matches"] + row["fuzzy_matches"]
            out.append({**row, "match_rate": 100.0 * linked / row["candidates"],
                        "suppressed": False})
        return out

    return [dict(r) for r in database.cached("linkage_rates", (), compute)]


def quarantine_by_rule(db: Database | Path | str) -> list[dict[str, Any]]:
    """Quarantined rows per broken rule (a row breaking two rules counts under both)."""
    database = as_database(db)
    return database.cached(
        "quarantine_by_rule", (), lambda s: database.fetch_dicts(SQL_QUARANTINE_BY_RULE, snap=s)
    )


def quarantine_rows(db: Database | Path | str) -> list[dict[str, Any]]:
    """The quarantined rows themselves (latest 1,000): for the evaluator role only."""
    database = as_database(db)
    return database.cached(
        "quarantine_rows", (), lambda s: database.fetch_dicts(SQL_QUARANTINE_ROWS, snap=s)
    )


def response_flags(db: Database | Path | str) -> list[dict[str, Any]]:
    """Responses and quality flags per wave."""
    database = as_database(db)
    return database.cached("flags", (), lambda s: database.fetch_dicts(SQL_FLAGS, snap=s))


def item_missingness(db: Database | Path | str) -> list[dict[str, Any]]:
    """Share of responses leaving each item blank, per wave (waves where the scale was asked).

    A scale counts as asked at a wave when any response at that wave answered any of its items.
    """
    database = as_database(db)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        items = [(s.scale_id, i) for s in snap.scales.values() for i in s.items]
        if not items:
            return []
        cols = ", ".join(
            f"count({_quote_item(i)}) AS {_quote_item(i)}" for _, i in items
        )
        sql = (
            f"SELECT r.wave, count(*) AS n, {cols} FROM {ATTACH_AS}.responses AS r "
            f"JOIN {ATTACH_AS}.waves AS w USING (wave) GROUP BY r.wave, w.position "
            "ORDER BY w.position"
        )
        out = []
        for row in database.fetch_dicts(sql, snap=snap):
            answered_scales = {
                scale for scale, i in items if row[i]
            }
            for scale, item in items:
                if scale not in answered_scales:
                    continue
                out.append({"wave": row["wave"], "scale_id": scale, "item_id": item,
                            "responses": row["n"],
                            "pct_missing": 100.0 * (row["n"] - row[item]) / row["n"]})
        return out

    return database.cached("item_missingness", (), compute)


def reliability_by_wave(
    db: Database | Path | str, min_cell_size: int | None = None
) -> list[dict[str, Any]]:
    """Cronbach's alpha (Feldt 95% CI) per scale and wave, on listwise complete responses."""
    database = as_database(db)
    floor = _floor(database, min_cell_size)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        out = []
        for info in snap.scales.values():
            for wave, _, _ in snap.waves:
                alpha = _alpha(database.cursor(snap), info, wave)
                if alpha is None or alpha.n == 0:
                    continue
                row = {"scale_id": info.scale_id, "scale": info.name, "wave": wave,
                       "k": alpha.k}
                if alpha.n < floor:
                    row.update(n=None, alpha=None, ci_low=None, ci_high=None, suppressed=True)
                else:
                    row.update(n=alpha.n, alpha=_clean(alpha.alpha), ci_low=_clean(alpha.ci_low),
                               ci_high=_clean(alpha.ci_high), suppressed=False)
                out.append(row)
        return out

    return database.cached("alpha", (floor,), compute)


def data_dictionary(db: Database | Path | str) -> list[dict[str, Any]]:
    """Tables and views of the public schema with their comments, and their columns."""
    database = as_database(db)

    def compute(snap: Snapshot) -> list[dict[str, Any]]:
        objects = database.fetch_dicts(SQL_DICTIONARY_OBJECTS, [ATTACH_AS, ATTACH_AS], snap=snap)
        columns: dict[str, list[dict]] = {}
        for col in database.fetch_dicts(SQL_DICTIONARY_COLUMNS, [ATTACH_AS], snap=snap):
            columns.setdefault(col["table_name"], []).append(
                {"column": col["column_name"], "type": col["data_type"],
                 "comment": col["comment"] or ""}
            )
        return [{**o, "comment": o["comment"] or "", "columns": columns.get(o["name"], [])}
                for o in objects]

    return database.cached("dictionary", (), compute)


def filters_replace(filters: Filters, **changes: Any) -> Filters:
    """``dataclasses.replace`` for Filters (re-normalises tuples)."""
    return replace(filters, **changes)
