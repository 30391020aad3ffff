"""Per-user files (database, accounts, session key, pseudonymisation key) default to the
user's XDG directories, never the source tree or the installed code, can be moved by their
environment variables as before, and are git-ignored wherever they are written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from accounts.store import AuthStore
from dashboard.access import secret_file, secret_key
from etl.ingest import ingest
from etl.privacy import load_or_create_key
from schemas.settings import DEMO_DATA, default_auth_path, default_db_path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def no_overrides(monkeypatch):
    """The defaults as a user gets them: none of Attune's path variables set."""
    for name in ("ATTUNE_DB", "ATTUNE_AUTH_DB", "ATTUNE_KEY_FILE", "ATTUNE_SECRET_KEY",
                 "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_database_accounts_and_session_key_default_to_xdg_data_home(no_overrides, tmp_path):
    no_overrides.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store = AuthStore()
    secret_key(store.path)
    folder = tmp_path / "data" / "attune"
    assert default_db_path() == folder / "attune.duckdb"
    assert store.path == folder / "attune-auth.sqlite" and store.path.is_file()
    assert secret_file(store.path) == folder / "attune-auth.sqlite.secret"
    assert oct(secret_file(store.path).stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("xdg_data_home", [None, "", "relative/dir"])
def test_without_a_usable_xdg_data_home_files_go_to_local_share(no_overrides, tmp_path,
                                                                 xdg_data_home):
    no_overrides.setenv("HOME", str(tmp_path))
    if xdg_data_home is not None:  # the XDG spec ignores empty and relative values
        no_overrides.setenv("XDG_DATA_HOME", xdg_data_home)
    folder = tmp_path / ".local" / "share" / "attune"
    assert default_db_path() == folder / "attune.duckdb"
    assert default_auth_path() == folder / "attune-auth.sqlite"


def test_environment_variables_still_choose_the_files(no_overrides, tmp_path):
    no_overrides.setenv("XDG_DATA_HOME", str(tmp_path / "ignored"))
    no_overrides.setenv("ATTUNE_DB", str(tmp_path / "mine.duckdb"))
    no_overrides.setenv("ATTUNE_AUTH_DB", str(tmp_path / "team" / "accounts.sqlite"))
    assert default_db_path() == tmp_path / "mine.duckdb"
    assert AuthStore().path == tmp_path / "team" / "accounts.sqlite"
    assert not (tmp_path / "ignored").exists()


def test_no_default_points_into_the_source_tree(no_overrides):
    defaults = [default_db_path(), default_auth_path(), secret_file(default_auth_path())]
    inside = [path for path in defaults if path.resolve().is_relative_to(ROOT)]
    assert inside == []


def test_every_file_attune_writes_for_a_user_would_be_git_ignored(no_overrides, tmp_path):
    """Let the real writers create their files in throw-away XDG folders, then ask git whether
    the same files would be ignored if written in the checkout (as the old defaults did)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no .gitignore to obey")
    no_overrides.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    no_overrides.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    store = AuthStore()
    store.add_user("ann", "admin", PASSWORD)
    store.authenticate("ann", "wrong password", "127.0.0.1")
    secret_key(store.path)
    load_or_create_key()
    ingest([DEMO_DATA / "instrument.yaml", DEMO_DATA / "programs.csv"], default_db_path())
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert {p.name for p in written} >= {"attune.duckdb", "attune-auth.sqlite",
                                          "attune-auth.sqlite.secret", "pseudonym.key"}
    in_checkout = [f"data/{p.name}" for p in written] + [p.name for p in written]
    checked = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", "-v",
                              "-n", *in_checkout], capture_output=True, text=True)
    not_ignored = [line.split("\t")[-1] for line in checked.stdout.splitlines()
                   if line.startswith("::")]
    assert not_ignored == []
