"""The analysis layer's only door to DuckDB: one read-only, locked-down connection per
database file, its snapshot of summaries, and the result cache.

* ``Database(path)`` holds one DuckDB connection per process: an in-memory DuckDB with the
  database file ``ATTACH``ed ``READ_ONLY`` as ``attune``, holding the summaries
  (``warehouse.summaries``) built once per file. Then the connection is locked down
  (``lock_down``: no file, network or extension access, a memory limit, fixed settings), the
  same settings the researchers' SQL console uses.
* Each thread gets its own ``cursor()`` of that connection (DuckDB 2.0: sharing a connection
  across threads raises "connection is busy").
* ``etl`` publishes a new database by ``os.replace()``. Every request stats the file; when its
  ``(st_ino, st_mtime_ns)`` changed, a fresh connection is opened and the summaries rebuilt.
  The result cache is keyed by that file identity too, so nothing stale is ever served.
* ``cached_query`` is how every public query runs: memoised per file, name and arguments, and
  always handing back a copy, so a caller that changes a result changes it for nobody else.

``db`` arguments accept a ``Database`` or a path (a process-wide ``Database`` per path and
minimum cell size is reused).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from schemas import settings
from schemas.sql_text import sql_string
from warehouse.cell_key import load_or_create_key
from warehouse.disclosure import cell_floor
from warehouse.errors import CannotShow, DatabaseUnavailable
from warehouse.filters import Filters
from warehouse.summaries import ScaleInfo, Waves, build_summaries, read_cutoff, read_waves

ATTACH_AS = "attune"  # the alias every statement in warehouse/sql/ names
SQL_ATTACH_READ_ONLY = "ATTACH {path} AS " + ATTACH_AS + " (READ_ONLY)"


# --- the locked-down connection --------------------------------------------------------------


def memory_limit_setting(value: str) -> str:
    """A DuckDB memory limit such as '1GB', refused unless it is one."""
    if not re.fullmatch(r"[0-9.]+\s*[KMGT]?i?B", value):
        raise ValueError(f"bad memory limit {value!r}")
    return value


def build_memory_limit(serving_limit: str) -> str:
    """The memory limit while the summaries are built: $ATTUNE_BUILD_MEMORY if set, else half
    the machine's memory up to 6 GiB (never below ``serving_limit``). The build groups every
    response once; under the serving limit (400 MB) it spills to disk and takes several times
    as long (10M rows: over 200 s against about 40 s with 6 GB). The limit is lowered to
    ``serving_limit`` before the first request is served."""
    configured = os.environ.get("ATTUNE_BUILD_MEMORY")
    if configured:
        return memory_limit_setting(configured)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return serving_limit
    mib = min(6 * 1024, physical // 2 // 1024**2)
    return f"{mib}MiB" if mib > _mib(serving_limit) else serving_limit


_UNITS = {"": 1 / 1024**2, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}


def _mib(limit: str) -> float:
    """A memory limit in MiB (decimal and binary units alike, closely enough to compare)."""
    number, unit = re.fullmatch(r"([0-9.]+)\s*([KMGT]?)i?B", limit).groups()
    return float(number) * _UNITS[unit]


def attach_read_only(con: duckdb.DuckDBPyConnection, path: Path | str) -> None:
    """Attach the database file at ``path`` read-only as ``attune``. The path is configuration,
    not user input; it is quoted as a SQL string literal (ATTACH takes no parameters)."""
    con.execute(SQL_ATTACH_READ_ONLY.format(path=sql_string(str(path))))


DEFAULT_THREADS = 2  # DuckDB threads of one process's queries and summary build


def lockdown_statements(memory_limit: str, threads: int) -> tuple[str, ...]:
    """The settings that lock a connection down, in the order that works: once external
    access is off, no later setting can widen it, and ``lock_configuration`` freezes them
    all. Defence in depth (DuckDB's docs), on a read-only attachment."""
    return (
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        f"SET memory_limit = '{memory_limit_setting(memory_limit)}'",
        f"SET threads = {int(threads)}",
        "SET lock_configuration = true",
    )


def lock_down(con: duckdb.DuckDBPyConnection, *, memory_limit: str, threads: int) -> None:
    """Apply ``lockdown_statements`` to ``con``."""
    for setting in lockdown_statements(memory_limit, threads):
        con.execute(setting)


# --- one database file -----------------------------------------------------------------------


@dataclass
class Snapshot:
    """One opened database file and what was built from it."""

    identity: tuple[int, int]
    con: duckdb.DuckDBPyConnection
    waves: Waves
    cutoff: dt.date | None
    scales: dict[str, ScaleInfo] = field(default_factory=dict)
    local: threading.local = field(default_factory=threading.local)
    build_seconds: float = 0.0


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
        threads: int = DEFAULT_THREADS,
        cache_size: int = 1024,  # results, not rows: a query keeps up to three entries
        changes_only: bool = False,
    ):
        self.path = Path(path)
        # changes_only: build only the paired-change summaries (`group_change`, `scales`),
        # for one-shot command-line use; the app needs every summary.
        self.changes_only = changes_only
        self.min_cell_size = int(min_cell_size or settings.min_cell_size())
        if self.min_cell_size < 1:
            raise ValueError("min_cell_size must be at least 1")
        self.memory_limit = memory_limit_setting(memory_limit)
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
        started = time.perf_counter()
        con = duckdb.connect(":memory:")
        try:
            # The build runs with more memory (build_memory_limit); lock_down then sets the
            # serving limits for good.
            con.execute(f"SET threads = {int(self.threads)}")
            con.execute(f"SET memory_limit = '{build_memory_limit(self.memory_limit)}'")
            attach_read_only(con, self.path)
            if os.stat(self.path).st_ino != identity[0]:
                raise DatabaseUnavailable("database replaced while opening; retry")
            waves = read_waves(con)
            snap = Snapshot(identity=identity, con=con, waves=waves, cutoff=read_cutoff(con))
            snap.scales = build_summaries(con, waves, snap.cutoff,
                                          disclosure_key=load_or_create_key(),
                                          changes_only=self.changes_only)
            lock_down(con, memory_limit=self.memory_limit, threads=self.threads)
        except duckdb.Error as error:
            con.close()
            raise DatabaseUnavailable(f"could not open {self.path}: {error}") from error
        except DatabaseUnavailable:
            con.close()
            raise
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
        """Rows of one parameterised query (fetched to the end), as dicts by column name."""
        cur = self.cursor(snap)
        result = cur.execute(sql, list(params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    # -- caching --

    def cached(self, name: str, key: tuple, compute: Callable[[Snapshot], Any]) -> Any:
        """``compute(snapshot)`` memoised per (file identity, name, key). The cached object
        itself: public queries go through ``cached_query``, which copies it."""
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

    def peek(self, name: str, key: tuple) -> Any | None:
        """The cached ``(name, key)`` result of the current file, or None: nothing computed."""
        snap = self._snapshot
        if snap is None:
            return None
        with self._lock:
            return self._cache.get((snap.identity, name, key))

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


# --- one query -------------------------------------------------------------------------------


KEY_SUM, NO_KEY_SUM = "sum(c.k)::BIGINT", "0::BIGINT"  # see Query.key_sum


@dataclass(frozen=True)
class Query:
    """One public query being computed: the database and snapshot it reads, the filters in
    force and the minimum cell size."""

    database: Database
    snap: Snapshot
    filters: Filters
    floor: int

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.database.fetch(sql, params, snap=self.snap)

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.database.fetch_dicts(sql, params, snap=self.snap)

    def shared(self, name: str, key: tuple, compute: Callable[[], Any]) -> Any:
        """An intermediate result several public queries build on, cached like them (per
        file, name, key, filters and cell size) and not copied: its callers only read it."""
        return self.database.cached(name, (*key, self.filters, self.floor),
                                    lambda _snap: compute())

    @property
    def key_sum(self) -> str:
        """SQL of the ``k`` column of a summary query: the sum of the members' record keys,
        which only published figures need (``warehouse.cell_key``); a constant otherwise,
        so exact figures do not pay for it."""
        return KEY_SUM if self.filters.published else NO_KEY_SUM

    def aggregate(self, name: str, key: tuple, compute: Callable[[], Any]) -> Any:
        """The rows of a ``GROUP BY`` that do not depend on who reads them, cached per the
        filters without ``published`` (but with whether they carry the key sums) and without
        the cell size: every cell size shares one read, and the rows read for published
        figures (a superset: they also carry the key sums) serve the exact figures of the same
        filters, e.g. the tier a sponsor's page decides on exact figures. Not copied: callers
        only read them."""
        unpublished = replace(self.filters, published=False)
        if not self.filters.published:
            with_keys = self.database.peek(name, (*key, unpublished, True))
            if with_keys is not None:
                return with_keys
        return self.database.cached(name, (*key, unpublished, self.filters.published),
                                    lambda _snap: compute())

    def shared_if_cached(self, name: str, key: tuple) -> Any | None:
        """The ``shared`` result ``(name, key)`` if it is cached already, else None."""
        return self.database.peek(name, (*key, self.filters, self.floor))

    def scale(self, scale_id: str) -> ScaleInfo:
        """The scale ``scale_id``, or ``CannotShow`` naming it."""
        if scale_id not in self.snap.scales:
            raise CannotShow(f"There is no scale {scale_id!r} in this database.")
        return self.snap.scales[scale_id]

    def wave_position(self, wave: str) -> int:
        """The position in time of ``wave`` (0 = pre), or ``CannotShow`` naming it."""
        for code, position, _ in self.snap.waves:
            if code == wave:
                return position
        raise CannotShow(f"There is no wave {wave!r} in this database.")


def cached_query(
    db: Database | Path | str,
    name: str,
    key: tuple,
    compute: Callable[[Query], Any],
    *,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> Any:
    """``compute(query)`` for one public query: memoised per database file, ``name``, ``key``,
    filters and minimum cell size, and handed back as a copy (a caller that changes its result
    changes no one else's)."""
    database = as_database(db)
    filters = filters or Filters()
    floor = cell_floor(database.min_cell_size, min_cell_size)
    value = database.cached(
        name, (*key, filters, floor), lambda snap: compute(Query(database, snap, filters, floor))
    )
    return copied(value)


def copied(value: Any) -> Any:
    """A copy of a result: its lists and dicts new, the values in them (numbers, text, dates,
    tuples) shared, since none of them can change."""
    kind = type(value)
    if kind is dict:
        return {k: copied(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list:
        return [copied(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = (dict, list)
