"""The accounts tests' stores: each store test runs on both backends, a SQLite file and a real
PostgreSQL server (``tests.postgres_server``, started once per run, thrown away after it).

* ``postgres``: the running server (session-scoped); ``postgres_url``: a fresh schema on it.
* ``store_factory``: parametrised over ``BACKENDS``; ``store_factory(**options)`` opens an
  ``AuthStore`` on this test's own location (the same one on every call, as several server
  processes would open it).
* ``kept(store)``: everything the store keeps, as bytes (the SQLite file, or every row of
  every table in PostgreSQL): what a stolen copy of the accounts would give away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing

import pytest

from accounts.store import AuthStore
from tests.postgres_server import PostgresServer

BACKENDS = ("sqlite", "postgresql")
TABLES = ("users", "login_attempts", "login_backoff", "audit_log", "sessions", "api_tokens",
          "share_links")

StoreFactory = Callable[..., AuthStore]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres, monkeypatch) -> str:
    """A new schema's URL; ``$ATTUNE_ACCOUNTS_URL`` is unset, so only what the test passes
    decides the store."""
    monkeypatch.delenv("ATTUNE_ACCOUNTS_URL", raising=False)
    return postgres.fresh_url()


@pytest.fixture(params=BACKENDS)
def store_factory(request, tmp_path, monkeypatch) -> StoreFactory:
    monkeypatch.delenv("ATTUNE_ACCOUNTS_URL", raising=False)
    if request.param == "sqlite":
        path = tmp_path / "auth.sqlite"
        return lambda **options: AuthStore(path, **options)
    url = request.getfixturevalue("postgres_url")
    return lambda **options: AuthStore(url=url, **options)


def kept(store: AuthStore) -> bytes:
    """Every byte the store keeps (see the module docstring)."""
    if store.backend.name == "sqlite":
        wal = store.path.with_name(store.path.name + "-wal")
        return store.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    rows = []
    with closing(store._connect()) as con:
        for table in TABLES:  # our own table names, never input
            rows += con.execute(f"SELECT * FROM {table}").fetchall()
    return repr(rows).encode()
