"""Accounts: strong salted hashes, roles with scope, failed logins rate-limited and logged,
and login times that do not tell which user names exist."""

from __future__ import annotations

import re
import sqlite3
import statistics
import time

import pytest
from argon2 import extract_parameters

from accounts.store import MAX_FAILURES, AccountError, AuthStore, decoy_hash
from dashboard.access import filters_for
from dashboard.app import create_app
from tests.support import attune

PASSWORD = "correct horse battery staple"
# Tries per path, compared by their medians; one path doing twice the Argon2 work of the other
# (the bug) gives a ratio near 2, the same work a ratio near 1.
TIMING_TRIES = 15
LOCKED_TRIES = 9  # a locked name skipping the check entirely is ~50 times faster: fewer do
SAME_TIME = (0.7, 1.4)


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
    assert filters_for({"sponsor": ["SP02"]}, {}, user=user).sponsor == ("SP01",)  # own scope only
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

    from tests.support import PROJECT

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


# --- timing does not tell names apart -----------------------------------------------------------


def _refused_login_seconds(app, name: str, client: str) -> float:
    """Seconds the real /login takes to refuse `name` with a wrong password from `client`."""
    browser = app.server.test_client()
    browser.environ_base["REMOTE_ADDR"] = client
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    start = time.perf_counter()
    response = browser.post("/login", data={"username": name, "password": "wrong password!",
                                            "csrf_token": csrf, "next": "/"})
    seconds = time.perf_counter() - start
    assert response.status_code == 401  # refused as a wrong password, not locked out
    return seconds


def test_login_refuses_unknown_names_as_slowly_as_wrong_passwords(tiny_db, tmp_path):
    store = AuthStore(tmp_path / "auth.sqlite")
    known = [f"user{i:02d}" for i in range(TIMING_TRIES)]
    for name in known:  # one try per name and client: no lockout skews the times
        store.add_user(name, "evaluator", PASSWORD)
    app = create_app(tiny_db, auth_store=store)
    known_times, unknown_times = [], []
    for i, name in enumerate(known):
        tries = [(known_times, name, f"10.1.0.{i}"), (unknown_times, f"nobody{i:02d}",
                                                       f"10.2.0.{i}")]
        for times, who, client in tries if i % 2 else reversed(tries):  # alternate the order
            times.append(_refused_login_seconds(app, who, client))
    ratio = statistics.median(unknown_times) / statistics.median(known_times)
    assert SAME_TIME[0] < ratio < SAME_TIME[1], (known_times, unknown_times)


def test_locked_out_names_take_as_long_to_refuse_as_unknown_ones(store):
    store.add_user("ann", "researcher", PASSWORD)
    for _ in range(MAX_FAILURES):
        store.authenticate("ann", "guess", "10.0.0.9")
    assert store.is_locked("ann", "10.0.0.10")
    locked_times, unknown_times = [], []
    for i in range(LOCKED_TRIES):
        tries = [(locked_times, "ann"), (unknown_times, f"nobody{i:02d}")]
        for times, name in tries if i % 2 else reversed(tries):  # alternate the order
            start = time.perf_counter()
            assert store.authenticate(name, PASSWORD, f"10.3.0.{i}") is None
            times.append(time.perf_counter() - start)
    ratio = statistics.median(unknown_times) / statistics.median(locked_times)
    assert SAME_TIME[0] < ratio < SAME_TIME[1], (locked_times, unknown_times)


def test_decoy_hash_costs_what_a_real_account_hash_costs(store):
    store.add_user("ann", "researcher", PASSWORD)
    (stored,) = sqlite3.connect(store.path).execute("SELECT password_hash FROM users").fetchone()
    assert extract_parameters(decoy_hash(store.hasher)) == extract_parameters(stored)
