"""The account commands as an administrator or a script uses them: `attune users passwd`
(prompted twice without echo, or from stdin), `attune users unlock`, and `attune tokens add |
list | revoke`, whose new token is the last line of output. Each change is audited; no
password or token is ever printed where it should not be, or stored."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from accounts.store import AuthStore
from attune.cli import app as cli
from tests.support import PROJECT

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a quite different passphrase"


@pytest.fixture
def store(tmp_path) -> AuthStore:
    store = AuthStore(tmp_path / "auth.sqlite", hasher=PasswordHasher(time_cost=1,
                                                                       memory_cost=1024))
    store.add_user("ann", "researcher", PASSWORD)
    store.add_user("acme", "sponsor", PASSWORD, sponsor_id="SP01")
    return store


def run(store: AuthStore, *arguments: str, typed: str | None = None):
    return CliRunner().invoke(cli, [*arguments, "--auth-db", str(store.path)], input=typed)


def test_passwd_prompts_twice_without_echo_and_the_new_password_works(store):
    done = run(store, "users", "passwd", "ann", typed=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert done.output.count("Password") == 1 and "Repeat for confirmation" in done.output
    assert NEW_PASSWORD not in done.output  # typed without echo
    assert store.authenticate("ann", PASSWORD, "10.0.0.1") is None
    assert store.authenticate("ann", NEW_PASSWORD, "10.0.0.1") is not None
    assert [e[1:3] + (e[4],) for e in store.audit_entries() if e[2] == "passwd"] == [
        ("ann", "passwd", "ok")]


def test_passwd_asks_again_when_the_two_entries_differ(store):
    done = run(store, "users", "passwd", "ann",
               typed=f"{NEW_PASSWORD}\nsomething else!\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert "do not match" in done.output
    assert store.authenticate("ann", NEW_PASSWORD, "10.0.0.1") is not None


def test_passwd_from_stdin_revokes_sessions_and_says_tokens_stay(store):
    session = store.create_session("ann", dt.timedelta(hours=8))
    done = run(store, "users", "passwd", "ann", "--password-stdin", typed=NEW_PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "1 sessions signed out" in done.output
    assert store.session_user(session).problem == "revoked"
    assert "tokens stay valid" in " ".join(run(store, "users", "passwd", "--help").output.split())


@pytest.mark.parametrize(("name", "typed", "words"), [
    ("ann", "short\n", "at least 10 characters"),
    ("nobody", NEW_PASSWORD + "\n", "no user 'nobody'"),
])
def test_passwd_refuses_a_weak_password_or_an_unknown_user_with_exit_2(store, name, typed,
                                                                        words):
    done = run(store, "users", "passwd", name, "--password-stdin", typed=typed)
    assert done.exit_code == 2 and words in done.output
    assert store.authenticate("ann", PASSWORD, "10.0.0.1") is not None  # unchanged


def test_unlock_clears_the_back_off_and_is_audited(store):
    for _ in range(store.limits.free_failures):
        store.sign_in("ann", "guess", "10.0.0.9")
    assert store.is_locked("ann", "10.0.0.10")
    done = run(store, "users", "unlock", "ann")
    assert done.exit_code == 0 and "5 failed sign-ins" in done.output
    assert not store.is_locked("ann", "10.0.0.10")
    assert any(e[1:3] == ("ann", "unlock") for e in store.audit_entries())
    assert run(store, "users", "unlock", "nobody").exit_code == 2


def test_tokens_add_prints_the_token_as_the_last_line_and_keeps_only_its_hash(store):
    """As a script uses it: `attune tokens add acme --label nightly | tail -1`."""
    done = subprocess.run(
        [sys.executable, "-m", "attune.cli", "tokens", "add", "acme", "--label", "nightly",
         "--auth-db", str(store.path)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    token = done.stdout.splitlines()[-1]
    assert store.token_user(token).user.sponsor_id == "SP01"
    assert token.encode() not in store.path.read_bytes()
    merged = subprocess.run(  # stdout and stderr together: the token is still last
        [sys.executable, "-m", "attune.cli", "tokens", "add", "ann", "--auth-db",
         str(store.path)],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert store.token_user(merged.stdout.splitlines()[-1]).user.name == "ann"
    assert run(store, "tokens", "add", "nobody").exit_code == 2


def test_tokens_list_shows_labels_and_use_but_never_a_token(store):
    first, token = store.add_token("ann", "laptop")
    store.add_token("acme", "reports")
    store.token_user(token)
    listed = json.loads(run(store, "tokens", "list", "--json").output)
    assert [(t["id"], t["user_name"], t["label"], t["revoked"]) for t in listed] == [
        (first, "ann", "laptop", False), (first + 1, "acme", "reports", False)]
    assert listed[0]["last_used"] and listed[1]["last_used"] is None
    assert token not in json.dumps(listed)
    only_ann = json.loads(run(store, "tokens", "list", "--json", "--user", "ann").output)
    assert [t["user_name"] for t in only_ann] == ["ann"]
    table = run(store, "tokens", "list").output
    assert "laptop" in table and "reports" in table and token not in table


def test_tokens_revoke_ends_a_token_at_once(store):
    token_id, token = store.add_token("ann", "ci")
    done = run(store, "tokens", "revoke", str(token_id))
    assert done.exit_code == 0, done.output
    assert store.token_user(token).problem == "revoked"
    assert run(store, "tokens", "revoke", str(token_id)).exit_code == 2  # no live token
    assert run(store, "tokens", "revoke", "999").exit_code == 2
    assert any(e[2] == "token_revoke" for e in store.audit_entries())


def test_removing_a_user_says_their_sessions_and_tokens_are_revoked(store):
    _, token = store.add_token("ann")
    done = run(store, "users", "remove", "ann")
    assert done.exit_code == 0 and "sessions and API tokens are revoked" in done.output
    assert store.token_user(token).problem == "revoked"


def _add_sponsor(store: AuthStore, sponsor: str, *extra: str):
    return run(store, "users", "add", "board", "--role", "sponsor", "--sponsor", sponsor,
               "--password-stdin", *extra, typed=f"{PASSWORD}\n")


def test_adding_a_sponsor_without_cohorts_is_refused_naming_the_known_sponsors(store, demo_db):
    refused = _add_sponsor(store, "SP99", "--db", str(demo_db))
    assert refused.exit_code == 2
    assert "'SP99' has no cohorts" in refused.output and "SP01" in refused.output
    assert "board" not in [u.name for u in store.users()]
    added = _add_sponsor(store, "SP02", "--db", str(demo_db))
    assert added.exit_code == 0, added.output
    assert next(u for u in store.users() if u.name == "board").sponsor_id == "SP02"


def test_a_sponsor_whose_data_is_not_loaded_yet_is_added_only_when_said_so(store, tmp_path):
    missing = tmp_path / "none.duckdb"
    assert _add_sponsor(store, "SP77", "--db", str(missing)).exit_code == 2
    added = _add_sponsor(store, "SP77", "--db", str(missing), "--force")
    assert added.exit_code == 0, added.output
    assert "Note (--force)" in added.output and "stay empty until cohorts of SP77" in \
        " ".join(added.output.split())
