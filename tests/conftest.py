"""Fixtures every test folder shares.

* Isolation: each test gets its own pseudonymisation key, accounts file and per-user data and
  configuration folders, never the user's; session- and module-scoped fixtures get a
  session-wide private set, so nothing a fixture builds touches the user's files either.
* ``demo_db``: the shipped demo data ingested ONCE per test run, for tests that only read it;
  a test that writes uses ``demo_db_copy``, its own copy. The shared file is checked after
  every test that uses it: a test that changed it fails itself, not the tests after it.
* ``south_db``, ``consortium_lake``, ``consortium_db``: a second provider under its own key,
  a lake holding both providers, and the database `attune serve --lake` serves from it.
* ``tiny_db_factory`` / ``tiny_db``: small databases with closed-form statistics.
* ``live_server``: serve an app from a thread for the length of one test.
* Browser tests (pytest-playwright) drive Debian's Chromium, never a downloaded browser.

The plain helpers behind them are in ``tests/support.py``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attune.cli import app
from etl.ingest import ingest
from etl.lake_copy import serving_copy
from etl.lake_export import export_lake
from schemas.settings import DEMO_DATA
from tests.support import LiveServer, build_tiny_db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PRIVATE_FILES = {  # environment variable -> file or folder name in a private folder
    "ATTUNE_KEY_FILE": "pseudonym.key",
    "ATTUNE_AUTH_DB": "accounts.sqlite",
    "XDG_DATA_HOME": "data",
    "XDG_CONFIG_HOME": "config",
}


def _point_at_private_files(patch: pytest.MonkeyPatch, folder: Path) -> None:
    for variable, name in PRIVATE_FILES.items():
        patch.setenv(variable, str(folder / name))
    patch.delenv("ATTUNE_DB", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _private_files_for_the_session(tmp_path_factory) -> Iterator[None]:
    """Session and module fixtures run before the per-test isolation below: they get these."""
    with pytest.MonkeyPatch.context() as patch:
        _point_at_private_files(patch, tmp_path_factory.mktemp("session-files"))
        yield


@pytest.fixture(autouse=True)
def _private_files_for_each_test(tmp_path_factory, monkeypatch) -> None:
    """A fresh key, accounts file and XDG folders per test: no test sees another's."""
    _point_at_private_files(monkeypatch, tmp_path_factory.mktemp("key"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


DEMO_DB_SHA256 = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, pytestconfig) -> Path:
    """The shipped demo dataset (``schemas.settings.DEMO_DATA``) ingested once per run.

    Shared by every test that asks for it: open it read-only. To write, use ``demo_db_copy``.
    """
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    ingest([DEMO_DATA], path)
    pytestconfig.stash[DEMO_DB_SHA256] = _sha256(path)
    return path


@pytest.fixture(autouse=True)
def _demo_db_unchanged(request) -> Iterator[None]:
    """After a test that used the shared demo database: fail it if it changed the file."""
    yield
    if "demo_db" in request.fixturenames:
        path = request.getfixturevalue("demo_db")
        assert _sha256(path) == request.config.stash[DEMO_DB_SHA256], (
            "this test wrote to the shared demo database; tests that write use demo_db_copy")


@pytest.fixture
def demo_db_copy(demo_db, tmp_path) -> Path:
    """A private copy of the demo database that the test may change."""
    return Path(shutil.copy2(demo_db, tmp_path / "demo-copy.duckdb"))


def _with_key(key_file: Path, build: Callable[[], Path]) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTUNE_KEY_FILE", str(key_file))
        return build()


@pytest.fixture(scope="session")
def south_db(tmp_path_factory) -> Path:
    """A second provider's database: generated data of the demo's instrument, ingested under
    its own pseudonym key."""
    folder = tmp_path_factory.mktemp("south")
    result = CliRunner().invoke(app, ["generate", str(folder / "data"), "--participants", "300",
                                      "--seed", "5", "--no-invalid-rows"])
    assert result.exit_code == 0, result.output
    return _with_key(folder / "south.key",
                     lambda: (ingest([folder / "data"], folder / "south.duckdb"),
                              folder / "south.duckdb")[1])


@pytest.fixture(scope="session")
def consortium_lake(demo_db, south_db, tmp_path_factory) -> Path:
    """One lake holding both providers (the demo as ``north``), each under its own prefix."""
    lake = tmp_path_factory.mktemp("consortium") / "lake"
    export_lake(demo_db, lake, "north")
    export_lake(south_db, lake, "south")
    return lake


@pytest.fixture(scope="session")
def consortium_db(consortium_lake, tmp_path_factory) -> Path:
    """The pooled database `attune serve --lake` serves from the consortium's lake (read it
    only)."""
    return serving_copy(consortium_lake, tmp_path_factory.mktemp("consortium-copy"))


TinyDbFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def tiny_db_factory(tmp_path_factory) -> TinyDbFactory:
    """``make(groups, followup=False, shift=None)``: a new database from
    ``tests.support.build_tiny_db`` in a fresh folder; usable from fixtures of any scope."""

    def make(groups: dict[tuple[str, str], int], *, followup: bool = False,
             shift: dict[tuple[str, str], tuple[float, float]] | None = None) -> Path:
        return build_tiny_db(tmp_path_factory.mktemp("tiny") / "tiny.duckdb", groups,
                             followup=followup, shift=shift)

    return make


@pytest.fixture
def tiny_db(tiny_db_factory) -> Path:
    """hr/workshop: 20 pairs; educator/workshop: 7 pairs (suppressed at 11); hr/degree: 12."""
    return tiny_db_factory({
        ("hr", "workshop"): 20, ("educator", "workshop"): 7, ("hr", "degree"): 12,
    })


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """``serve(app)``: the app served from a thread until the test ends; returns the server
    (its address is ``.url``)."""
    with ExitStack() as running:
        yield lambda app: running.enter_context(LiveServer(app))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _chart_failures_fail_the_test(caplog):
    """A chart that fails with a programming error is shown to the reader as a generic failure
    and logged by dashboard.pages.charts; in a test it fails the test, wherever it happened
    (the live app's server threads log through the same handlers)."""
    yield
    failed = [r.getMessage() for r in caplog.get_records("call")
              if r.name == "dashboard.pages.charts" and r.levelno >= logging.ERROR]
    if failed:
        pytest.fail("a chart failed (traceback in the captured log): " + "; ".join(failed),
                    pytrace=False)
