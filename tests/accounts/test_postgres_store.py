"""The accounts store on PostgreSQL (``$ATTUNE_ACCOUNTS_URL``), against a real server the tests
start themselves (``tests.postgres_server``): the commands use it as they use the SQLite
file, sessions, lockouts and the audit trail live there, and a server that cannot be reached
is named in the error without its password.

The store's own behaviour (hashes, back-off, sessions, tokens) is tested on PostgreSQL by
every ``store`` test of ``test_store.py`` and ``test_store_across_processes.py``, which run
on both backends."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from contextlib import closing

from argon2 import PasswordHasher

from accounts.records import NAME_WAITS, WRONG
from accounts.store import AuthStore, LoginLimits
from tests.postgres_server import free_port
from tests.support import PROJECT, attune

PASSWORD = "correct horse battery staple"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024)


def test_users_commands_keep_accounts_in_postgres_when_the_url_is_set(postgres_url, tmp_path):
    env = {"ATTUNE_ACCOUNTS_URL": postgres_url}
    added = subprocess.run(
        [sys.executable, "-m", "attune.cli", "users", "add", "acme", "--role", "sponsor",
         "--sponsor", "SP02", "--force", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=PROJECT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env})
    assert added.returncode == 0, added.stderr
    assert "acme" in attune("users", "list", env=env).stdout
    store = AuthStore(url=postgres_url)
    assert [(u.name, u.role, u.sponsor_id) for u in store.users()] == [("acme", "sponsor", "SP02")]
    assert store.authenticate("acme", PASSWORD, "10.0.0.1") is not None
    assert not store.path.exists()  # nothing went to the local accounts file
    token = attune("tokens", "add", "acme", "--label", "ci", env=env).stdout.splitlines()[-1]
    assert store.token_user(token).user.name == "acme"
    assert attune("users", "remove", "acme", env=env).returncode == 0
    assert store.token_user(token).problem == "revoked"


def test_an_unreachable_server_is_named_without_its_password_and_exits_2():
    url = f"postgresql://attune:hunter2-secret@127.0.0.1:{free_port()}/accounts"
    done = attune("users", "list", env={"ATTUNE_ACCOUNTS_URL": url})
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert "cannot reach the accounts database" in said
    assert f"postgresql://attune@127.0.0.1:{url.split(':')[3]}" in said
    assert "hunter2-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_url_that_is_not_postgresql_is_refused_by_name():
    done = attune("users", "list", env={"ATTUNE_ACCOUNTS_URL": "mysql://me:pw@db/accounts"})
    assert done.returncode == 2
    assert "must be a postgresql:// URL" in done.stderr and "pw" not in done.stderr


def test_serve_refuses_to_start_on_an_unreachable_accounts_server(demo_db):
    url = f"postgresql://attune:hunter2-secret@127.0.0.1:{free_port()}/accounts"
    done = attune("serve", "--db", str(demo_db), env={"ATTUNE_ACCOUNTS_URL": url})
    assert done.returncode == 2
    assert "cannot reach the accounts database" in done.stderr
    assert "hunter2-secret" not in done.stderr


def test_sessions_lockouts_and_the_audit_trail_live_in_postgres(postgres_url):
    clock = [dt.datetime(2026, 3, 2, 9, 0)]
    store = AuthStore(url=postgres_url, hasher=CHEAP, clock=lambda: clock[0])
    store.add_user("ann", "researcher", PASSWORD)
    for _ in range(LoginLimits().free_failures):
        assert store.sign_in("ann", "guess", "10.0.0.9").refused == WRONG
    # a new store object (another server process) sees the lockout, the session, the audit
    other = AuthStore(url=postgres_url, hasher=CHEAP, clock=lambda: clock[0])
    assert other.sign_in("ann", PASSWORD, "10.0.0.10").refused == NAME_WAITS
    clock[0] += dt.timedelta(milliseconds=1)  # the audit trail is ordered by time
    assert other.unlock("ann") == LoginLimits().free_failures
    assert store.sign_in("ann", PASSWORD, "10.0.0.9").user is not None
    session_id = store.create_session("ann", dt.timedelta(hours=8))
    clock[0] += dt.timedelta(hours=8)
    assert other.session_user(session_id).problem == "expired"
    assert [e[1:3] for e in other.audit_entries(3)][:2] == [("ann", "unlock"), ("ann", "user_add")]
    with closing(other._connect()) as con:
        (kept,) = con.execute("SELECT count(*) FROM sessions WHERE user_name = ?",
                              ["ann"]).fetchone()
    assert kept == 1
