"""Accounts: strong salted hashes, roles with scope, and failed logins rate-limited and logged."""

from __future__ import annotations

import sqlite3

import pytest

from dashboard.accounts import MAX_FAILURES, AccountError, AuthStore
from tests.cli.test_cli_ingest import attune

PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(tmp_path) -> AuthStore:
    return AuthStore(tmp_path / "auth.sqlite")


def test_password_is_stored_only_as_a_salted_argon2_hash(store):
    store.add_user("ann", "evaluator", PASSWORD)
    store.add_user("bo", "evaluator", PASSWORD)
    hashes = [
        row[0] for row in sqlite3.connect(store.path).execute("SELECT password_hash FROM users")
    ]
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert hashes[0] != hashes[1]  # salted: the same password hashes differently
    assert PASSWORD.encode() not in store.path.read_bytes()
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"


def test_right_password_logs_in_with_role_and_scope(store):
    store.add_user("acme", "sponsor", PASSWORD, sponsor_id="SP01")
    user = store.authenticate("acme", PASSWORD, "127.0.0.1")
    assert (user.name, user.role, user.sponsor_id) == ("acme", "sponsor", "SP01")
    assert not user.sees_all_sponsors
    assert store.authenticate("acme", PASSWORD + "x", "127.0.0.1") is None
    assert store.authenticate("nobody", PASSWORD, "127.0.0.1") is None


def test_repeated_failures_lock_the_account_even_for_the_right_password(store):
    store.add_user("ann", "researcher", PASSWORD)
    for _ in range(MAX_FAILURES):
        assert store.authenticate("ann", "guess", "10.0.0.9") is None
    assert store.authenticate("ann", PASSWORD, "10.0.0.9") is None
    assert store.is_locked("ann", "10.0.0.9")
    attempts = (
        sqlite3.connect(store.path)
        .execute("SELECT count(*), sum(success) FROM login_attempts")
        .fetchone()
    )
    assert attempts == (MAX_FAILURES + 1, 0)


def test_failures_from_one_client_lock_that_client_for_other_names(store):
    store.add_user("ann", "researcher", PASSWORD)
    for name in ("a", "b", "c", "d", "e"):
        store.authenticate(name, "guess", "10.0.0.7")
    assert store.authenticate("ann", PASSWORD, "10.0.0.7") is None
    assert store.authenticate("ann", PASSWORD, "10.0.0.8") is not None


@pytest.mark.parametrize(
    ("role", "sponsor", "password", "words"),
    [
        ("superuser", None, PASSWORD, "role must be one of"),
        ("sponsor", None, PASSWORD, "needs --sponsor"),
        ("evaluator", "SP01", PASSWORD, "only to the sponsor role"),
        ("evaluator", None, "short", "at least 10 characters"),
    ],
)
def test_invalid_accounts_are_refused(store, role, sponsor, password, words):
    with pytest.raises(AccountError, match=words):
        store.add_user("ann", role, password, sponsor)


def test_users_command_adds_lists_and_removes_accounts(tmp_path):
    auth_db = str(tmp_path / "auth.sqlite")
    import subprocess
    import sys

    from tests.cli.test_cli_ingest import PROJECT

    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "attune.cli",
            "users",
            "add",
            "acme",
            "--role",
            "sponsor",
            "--sponsor",
            "SP02",
            "--password-stdin",
            "--auth-db",
            auth_db,
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"},
    )
    assert added.returncode == 0, added.stderr
    listed = attune("users", "list", "--auth-db", auth_db)
    assert "acme" in listed.stdout and "SP02" in listed.stdout and PASSWORD not in listed.stdout
    assert attune("users", "remove", "acme", "--auth-db", auth_db).returncode == 0
    assert attune("users", "remove", "acme", "--auth-db", auth_db).returncode == 2
