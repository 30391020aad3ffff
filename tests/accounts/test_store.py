"""Accounts: strong salted hashes, roles with scope, a sign-in back-off by name that made-up
names cannot turn against real accounts, a short limit by address that slows only that
address, session records and API tokens kept only as hashes and revoked on the server, and
login times that do not tell which user names exist.

The store's clock is moved by the tests instead of waiting (``Clock``). Every test of the
``store`` fixture runs on both backends, SQLite and a real PostgreSQL server (see
``conftest.py``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import statistics
import time
from contextlib import closing

import pytest
from argon2 import PasswordHasher, extract_parameters

from accounts.records import ADDRESS_WAITS, NAME_WAITS, WRONG
from accounts.store import AccountError, AuthStore, LoginLimits, decoy_hash
from dashboard.access import filters_for
from dashboard.app import create_app
from tests.accounts.conftest import kept
from tests.support import attune

PASSWORD = "correct horse battery staple"
LIMITS = LoginLimits()
# Tries per path, compared by their medians; one path doing twice the Argon2 work of the other
# (the bug) gives a ratio near 2, the same work a ratio near 1.
TIMING_TRIES = 15
LOCKED_TRIES = 9  # a locked name skipping the check entirely is ~50 times faster: fewer do
SAME_TIME = (0.7, 1.4)


class Clock:
    """The store's "now", moved on by a test instead of waiting."""

    def __init__(self):
        self.now = dt.datetime(2026, 3, 2, 9, 0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_factory, clock) -> AuthStore:
    """A store on the test's clock (SQLite, then PostgreSQL); its Argon2 costs little, as
    only the timing tests (with stores of their own) need the real cost."""
    return store_factory(clock=clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024))


def password_hashes(store: AuthStore) -> list[str]:
    with closing(store._connect()) as con:
        return [row[0] for row in con.execute("SELECT password_hash FROM users").fetchall()]


def fail_until_waiting(store: AuthStore, name: str, client: str = "10.0.0.9") -> None:
    """Wrong passwords for ``name`` until the back-off starts (the free failures)."""
    for _ in range(LIMITS.free_failures):
        assert store.sign_in(name, "guess", client).refused == WRONG


def test_password_is_stored_only_as_a_salted_argon2_hash(store):
    store.add_user("ann", "evaluator", PASSWORD)
    store.add_user("bo", "evaluator", PASSWORD)
    hashes = password_hashes(store)
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert hashes[0] != hashes[1]  # salted: the same password hashes differently
    assert PASSWORD.encode() not in kept(store)


def test_the_accounts_file_and_its_journal_are_readable_by_their_owner_only(tmp_path):
    store = AuthStore(tmp_path / "auth.sqlite")
    store.add_user("ann", "evaluator", PASSWORD)
    with closing(sqlite3.connect(store.path)) as reader:  # a reader open: the journal stays
        reader.execute("SELECT count(*) FROM users").fetchone()
        store.add_user("bo", "evaluator", PASSWORD)
        files = [store.path, *tmp_path.glob("auth.sqlite-*")]
        assert len(files) > 1  # the write-ahead log beside the file
        assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}


def test_right_password_logs_in_with_role_and_scope(store):
    store.add_user("acme", "sponsor", PASSWORD, sponsor_id="SP01")
    user = store.authenticate("acme", PASSWORD, "127.0.0.1")
    assert (user.name, user.role, user.sponsor_id) == ("acme", "sponsor", "SP01")
    assert filters_for({"sponsor": ["SP02"]}, {}, user=user).sponsor == ("SP01",)  # own scope only
    assert store.authenticate("acme", PASSWORD + "x", "127.0.0.1") is None
    assert store.authenticate("nobody", PASSWORD, "127.0.0.1") is None


# --- the back-off by user name ------------------------------------------------------------------


def test_a_name_waits_twice_as_long_after_each_failure_past_the_free_ones(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    waits = []
    for _ in range(LIMITS.free_failures + 6):
        result = store.sign_in("ann", "guess", "10.0.0.9")
        assert result.refused == WRONG  # each try came after the previous wait had passed
        waits.append(result.retry_after)
        clock.advance(result.retry_after)
    assert waits == [0] * (LIMITS.free_failures - 1) + [1, 2, 4, 8, 16, 32, 64]
    for _ in range(20):  # ... capped
        clock.advance(store.sign_in("ann", "guess", "10.0.0.9").retry_after)
    assert store.sign_in("ann", "guess", "10.0.0.9").retry_after == 15 * 60


def test_while_a_name_waits_even_the_right_password_is_refused_and_the_wait_stays(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    fail_until_waiting(store, "ann")
    clock.advance(0.4)
    refused = store.sign_in("ann", PASSWORD, "10.0.0.9")
    assert (refused.user, refused.refused) == (None, NAME_WAITS)
    assert refused.retry_after == pytest.approx(0.6)
    for _ in range(3):  # hammering while it waits does not lengthen the wait
        assert store.sign_in("ann", "guess", "10.0.0.10").refused == NAME_WAITS
    clock.advance(0.6)
    assert store.sign_in("ann", PASSWORD, "10.0.0.9").user is not None


def test_a_success_or_unlock_resets_the_back_off(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    fail_until_waiting(store, "ann")
    clock.advance(1)
    assert store.sign_in("ann", PASSWORD, "10.0.0.9").user is not None
    assert store.sign_in("ann", "guess", "10.0.0.9").retry_after == 0  # counting from zero
    for _ in range(LIMITS.free_failures - 1):
        store.sign_in("ann", "guess", "10.0.0.9")
    assert store.is_locked("ann", "10.0.0.11")
    assert store.unlock("ann") == LIMITS.free_failures
    assert not store.is_locked("ann", "10.0.0.11")
    assert store.sign_in("ann", PASSWORD, "10.0.0.11").user is not None
    assert any(e[1:3] == ("ann", "unlock") for e in store.audit_entries())


def test_failures_a_day_old_are_forgotten(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    fail_until_waiting(store, "ann")
    clock.advance(LIMITS.memory.total_seconds() + 1)
    assert store.sign_in("ann", "guess", "10.0.0.9").retry_after == 0


def test_made_up_names_back_off_exactly_like_real_ones(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    seen = {}
    for name, client in (("ann", "10.0.0.9"), ("nobody", "10.0.0.19")):
        answers = []
        for _ in range(LIMITS.free_failures + 2):
            result = store.sign_in(name, "guess", client)
            again = store.sign_in(name, "guess", client)  # at once: refused if it must wait
            answers += [(result.refused, result.retry_after), (again.refused, again.retry_after)]
            clock.advance(result.retry_after)
        seen[name] = answers
    assert seen["ann"] == seen["nobody"]  # nothing tells a real name from a made-up one


def test_made_up_names_from_one_address_lock_out_no_real_account(store):
    """Today's attack: five failures with made-up names from an office's shared address
    locked every account out from that address for 15 minutes."""
    store.add_user("ann", "researcher", PASSWORD)
    for name in ("a", "b", "c", "d", "e", "f"):
        store.sign_in(name, "guess", "10.0.0.7")
    assert store.sign_in("ann", PASSWORD, "10.0.0.7").user is not None
    assert store.sign_in("ann", PASSWORD, "10.0.0.8").user is not None


def test_many_failures_from_one_address_slow_that_address_only(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    for i in range(LIMITS.address_failures):
        assert store.sign_in(f"guess{i}", "guess", "10.0.0.7").refused == WRONG
        clock.advance(1)
    slowed = store.sign_in("ann", PASSWORD, "10.0.0.7")
    assert (slowed.user, slowed.refused) == (None, ADDRESS_WAITS)
    # ... until the first of those failures leaves the one-minute window
    assert slowed.retry_after == pytest.approx(LIMITS.address_window.total_seconds()
                                               - LIMITS.address_failures)
    assert store.name_failures("ann") == 0  # the address's refusals are not the name's
    assert store.sign_in("ann", PASSWORD, "10.0.0.8").user is not None  # elsewhere: fine
    clock.advance(LIMITS.address_window.total_seconds())
    assert store.sign_in("ann", PASSWORD, "10.0.0.7").user is not None


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


# --- sessions and API tokens ---------------------------------------------------------------------


def test_session_ids_and_tokens_are_kept_only_as_their_sha256(store):
    store.add_user("ann", "researcher", PASSWORD)
    session_id = store.create_session("ann", dt.timedelta(hours=8))
    token_id, token = store.add_token("ann", "nightly export")
    assert token.startswith("attune_") and len(token) > 40
    stored = kept(store)
    assert session_id.encode() not in stored and token.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    assert store.session_user(session_id).user.name == "ann"
    assert store.token_user(token).user.name == "ann"
    listed = store.tokens("ann")
    assert [(t.id, t.label, t.revoked) for t in listed] == [(token_id, "nightly export", False)]
    assert token not in repr(listed)


def test_a_session_ends_when_revoked_or_expired(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    signed_out = store.create_session("ann", dt.timedelta(hours=8))
    assert store.revoke_session(signed_out)
    assert (store.session_user(signed_out).problem, store.session_user(signed_out).owner) == (
        "revoked", "ann")
    lasting = store.create_session("ann", dt.timedelta(hours=8))
    clock.advance(8 * 3600 - 1)
    assert store.session_user(lasting).user is not None
    clock.advance(1)
    assert store.session_user(lasting).problem == "expired"
    assert store.session_user("made-up-session-id").problem == "unknown"


def test_a_password_change_revokes_every_session_but_not_the_tokens(store):
    store.add_user("ann", "researcher", PASSWORD)
    store.add_user("bo", "researcher", PASSWORD)
    sessions = [store.create_session("ann", dt.timedelta(hours=8)) for _ in range(2)]
    others = store.create_session("bo", dt.timedelta(hours=8))
    _, token = store.add_token("ann")
    assert store.set_password("ann", "a brand new password") == 2
    assert [store.session_user(s).problem for s in sessions] == ["revoked", "revoked"]
    assert store.session_user(others).user is not None
    assert store.token_user(token).user.name == "ann"
    assert store.authenticate("ann", PASSWORD, "10.0.0.1") is None
    assert store.authenticate("ann", "a brand new password", "10.0.0.1") is not None
    with pytest.raises(AccountError, match="at least 10 characters"):
        store.set_password("ann", "short")
    with pytest.raises(AccountError, match="no user"):
        store.set_password("nobody", "a brand new password")
    assert ("ann", "passwd") in [e[1:3] for e in store.audit_entries()]


def test_removing_an_account_revokes_its_sessions_and_tokens(store):
    store.add_user("ann", "researcher", PASSWORD)
    session_id = store.create_session("ann", dt.timedelta(hours=8))
    _, token = store.add_token("ann")
    assert store.remove_user("ann")
    store.add_user("ann", "admin", PASSWORD)  # a new account by the old name gets nothing old
    assert store.session_user(session_id).problem == "revoked"
    assert store.token_user(token).problem == "revoked"


def test_a_revoked_or_unknown_token_is_refused_and_use_is_recorded(store, clock):
    store.add_user("ann", "researcher", PASSWORD)
    token_id, token = store.add_token("ann", "ci")
    assert store.tokens()[0].last_used is None
    assert store.token_user(token).user is not None
    assert store.tokens()[0].last_used == clock.now.isoformat(timespec="microseconds")
    assert store.revoke_token(token_id) and not store.revoke_token(token_id)
    assert store.token_user(token).problem == "revoked"
    assert store.token_user(token + "x").problem == "unknown"
    assert store.tokens()[0].revoked
    with pytest.raises(AccountError, match="no user"):
        store.add_token("nobody")


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
            "--force",
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


def test_locked_out_names_take_as_long_to_refuse_as_unknown_ones(tmp_path):
    store = AuthStore(tmp_path / "auth.sqlite", clock=Clock())  # time stands still: ann waits
    store.add_user("ann", "researcher", PASSWORD)
    fail_until_waiting(store, "ann")
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
    (stored,) = password_hashes(store)
    assert extract_parameters(decoy_hash(store.hasher)) == extract_parameters(stored)
