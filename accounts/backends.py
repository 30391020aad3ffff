"""Where the accounts store keeps its rows: a SQLite file (one machine), or PostgreSQL (one
store for several machines), chosen by ``$ATTUNE_ACCOUNTS_URL``.

The store's statements (``accounts.store``, ``accounts.credentials``, ``accounts.shares``)
are written once, in the SQL both engines run, with SQLite's ``?`` placeholders; the two
places where the engines differ are here and nowhere else:

* **Placeholders**: psycopg takes ``%s``, so ``PostgresBackend`` rewrites each statement once
  (``to_format_style``: ``?`` becomes ``%s``, a literal ``%`` is doubled; the statements put
  no ``?`` inside a string literal).
* **DDL**: ``PostgresBackend.DDL`` lists each SQLite phrase of the schema with its
  PostgreSQL spelling (today only the auto-numbered id); a phrase that is no longer in the
  schema is an error, so the list cannot drift from it.

Both hand the store a connection with the same small surface: ``execute(sql, params)``
returning a cursor (``fetchone``, ``fetchall``, ``rowcount``), ``with con:`` for one
transaction (commit, or roll back on an error), ``close()``. Several server processes share
either backend: SQLite in WAL mode (readers never wait for the writer) with a busy timeout
(a writer waits for another instead of failing), PostgreSQL through a small pool of
connections per process, never shared across a fork.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from accounts.records import AccountsUnavailable

ACCOUNTS_URL = "ATTUNE_ACCOUNTS_URL"  # postgresql://user:password@host:port/database
URL_SCHEMES = ("postgresql", "postgres")
BUSY_SECONDS = 10.0  # how long a SQLite writer waits for another before it gives up
CONNECT_SECONDS = 10  # how long a PostgreSQL connection may take to open
POOL_SIZE = 8  # idle PostgreSQL connections kept per process (one per server thread)
# A constant of our own: the lock that lets one process at a time create the tables.
SCHEMA_LOCK = 0x61747475  # "attu"


class SqliteBackend:
    """Accounts in one SQLite file (0600), in WAL mode, shared by the processes of one
    machine."""

    name = "sqlite"
    integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, path: Path):
        self.path = Path(path)
        self.location = str(self.path)

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=BUSY_SECONDS)

    def create(self, schema: str) -> None:
        """Create the file (0600 from the start, so no one else ever opens it), switch it to
        WAL (kept in the file: every later connection reads it) and create the tables."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        con = self.connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(schema)
        finally:
            con.close()

    def close(self) -> None:
        """Nothing to close: each operation opens and closes its own connection."""


@functools.lru_cache(maxsize=256)
def to_format_style(statement: str) -> str:
    """A statement with ``?`` placeholders in psycopg's ``%s`` style."""
    return statement.replace("%", "%%").replace("?", "%s")


def redacted(url: str) -> str:
    """``url`` as it may be printed: without its password (in the address or the query)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "password"]
    return urlunsplit((parts.scheme, f"{user}@{netloc[2]}" if netloc[1] else netloc[2],
                       parts.path, urlencode(query), ""))


class _PooledConnection:
    """A psycopg connection in autocommit mode, as the store uses it: ``with con:`` is one
    transaction, a statement outside it stands alone, ``close()`` returns it to its pool."""

    def __init__(self, backend: PostgresBackend, connection):
        self._backend = backend
        self._connection = connection
        self._transaction = None

    def execute(self, statement: str, params=()):
        return self._connection.execute(to_format_style(statement), params)

    def executescript(self, script: str) -> None:
        """Several statements without parameters (the schema), sent as they are."""
        self._connection.execute(script)

    def __enter__(self) -> _PooledConnection:
        self._transaction = self._connection.transaction()
        self._transaction.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        transaction, self._transaction = self._transaction, None
        transaction.__exit__(*exc)

    def close(self) -> None:
        self._backend.give_back(self._connection)


class PostgresBackend:
    """Accounts in a PostgreSQL database, shared by every process on every machine that is
    given the same ``$ATTUNE_ACCOUNTS_URL``."""

    name = "postgresql"
    # Each SQLite phrase of the schema, and how PostgreSQL says it.
    DDL = (("INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),)

    def __init__(self, url: str):
        import psycopg  # the optional extra: only when PostgreSQL is asked for

        self._psycopg = psycopg
        self.integrity_errors = (psycopg.IntegrityError,)
        self.url = url
        self.location = redacted(url)
        self._idle: list = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list = []  # a parent's connections: kept, never used or closed

    def _open(self):
        try:
            return self._psycopg.connect(self.url, autocommit=True,
                                         connect_timeout=CONNECT_SECONDS)
        except self._psycopg.OperationalError as error:
            reason = " ".join(str(error).split())
            password = urlsplit(self.url).password
            if password:
                reason = reason.replace(password, "***")
            raise AccountsUnavailable(
                f"cannot reach the accounts database {self.location} "
                f"(${ACCOUNTS_URL}): {reason}") from None

    def connect(self) -> _PooledConnection:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use
                self._inherited.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed and not connection.broken:
                    return _PooledConnection(self, connection)
        return _PooledConnection(self, self._open())

    def give_back(self, connection) -> None:
        if connection.closed or connection.broken:
            return
        status = connection.info.transaction_status
        if status != self._psycopg.pq.TransactionStatus.IDLE:
            connection.close()  # a transaction left open is never handed to the next caller
            return
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < POOL_SIZE:
                self._idle.append(connection)
                return
        connection.close()

    def create(self, schema: str) -> None:
        """Create the tables, one process at a time (concurrent ``CREATE TABLE IF NOT
        EXISTS`` can collide in PostgreSQL's catalogue)."""
        for sqlite_phrase, postgres_phrase in self.DDL:
            if sqlite_phrase not in schema:
                raise ValueError(f"the accounts schema no longer says {sqlite_phrase!r}")
            schema = schema.replace(sqlite_phrase, postgres_phrase)
        con = self.connect()
        try:
            with con:
                con.execute("SELECT pg_advisory_xact_lock(?)", [SCHEMA_LOCK])
                con.executescript(schema)
        finally:
            con.close()

    def close(self) -> None:
        """Close this process's idle connections (e.g. before the server forks workers)."""
        with self._lock:
            idle, self._idle = (self._idle, []) if self._pid == os.getpid() else ([], [])
        for connection in idle:
            connection.close()


def open_backend(path: Path | None, url: str | None,
                 default_path: Path) -> SqliteBackend | PostgresBackend:
    """The store's backend: an explicit file ``path`` first, else the PostgreSQL ``url``
    (default ``$ATTUNE_ACCOUNTS_URL``), else the SQLite file ``default_path``."""
    if path is not None:
        return SqliteBackend(Path(path))
    url = url if url is not None else os.environ.get(ACCOUNTS_URL, "").strip()
    if not url:
        return SqliteBackend(default_path)
    if urlsplit(url).scheme not in URL_SCHEMES:
        raise AccountsUnavailable(f"${ACCOUNTS_URL} must be a postgresql:// URL, not "
                                  f"{redacted(url)!r}")
    return PostgresBackend(url)
