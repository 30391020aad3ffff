"""Several server processes share one accounts store (``attune serve --workers N``, or several
machines on PostgreSQL): sign-ins that happen at the same moment in different processes are
all counted, none fails on a busy store, and what one process writes (a session, a lockout,
a revocation) holds in every other. Runs on both backends (``store_factory``)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from contextlib import closing

from argon2 import PasswordHasher

from accounts.records import ADDRESS_WAITS
from accounts.store import LoginLimits
from tests.support import PROJECT

PASSWORD = "correct horse battery staple"
CHEAP = {"hasher": PasswordHasher(time_cost=1, memory_cost=1024)}
PROCESSES, TRIES = 6, 12
# One process of many: a wrong password for ann and a right one for bo, TRIES times, each
# from an address of its own; prints the session id of each of bo's sign-ins.
SIGN_IN_MANY = """
import sys
from pathlib import Path
from accounts.store import AuthStore, LoginLimits
where, number, tries, password = sys.argv[1:]
limits = LoginLimits(free_failures=10**6, address_failures=10**6)  # count, never wait
store = (AuthStore(url=where, limits=limits) if where.startswith("postgresql")
         else AuthStore(Path(where), limits=limits))
for i in range(int(tries)):
    assert store.sign_in("ann", "wrong password", f"10.{number}.0.{i}").user is None
    assert store.sign_in("bo", password, f"10.{number}.1.{i}").user is not None
    print(store.create_session("bo", __import__("datetime").timedelta(hours=1)), flush=True)
"""


def _location(store) -> str:
    return store.backend.url if store.backend.name == "postgresql" else str(store.path)


def test_sign_ins_at_the_same_moment_in_several_processes_all_count(store_factory):
    store = store_factory(**CHEAP)
    store.add_user("ann", "researcher", PASSWORD)
    store.add_user("bo", "researcher", PASSWORD)
    running = [subprocess.Popen(
        [sys.executable, "-c", SIGN_IN_MANY, _location(store), str(n), str(TRIES), PASSWORD],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)]
    answers = [process.communicate(timeout=300) for process in running]
    assert [process.returncode for process in running] == [0] * PROCESSES, answers
    sessions = [line for out, _ in answers for line in out.split()]
    assert len(sessions) == PROCESSES * TRIES
    # every failure counted once, though they raced (the back-off's count is one statement)
    assert store.name_failures("ann") == PROCESSES * TRIES
    with closing(store._connect()) as con:
        (attempts,) = con.execute("SELECT count(*) FROM login_attempts").fetchone()
    assert attempts == 2 * PROCESSES * TRIES
    assert all(store.session_user(s).user.name == "bo" for s in sessions)


def test_a_session_made_in_one_process_is_valid_and_revocable_in_another(store_factory):
    first, second = store_factory(**CHEAP), store_factory(**CHEAP)  # two server processes
    first.add_user("ann", "researcher", PASSWORD)
    assert first.sign_in("ann", PASSWORD, "10.0.0.1").user is not None
    session_id = first.create_session("ann", dt.timedelta(hours=8))
    assert second.session_user(session_id).user.name == "ann"
    assert second.revoke_session(session_id)
    assert first.session_user(session_id).problem == "revoked"
    _, token = second.add_token("ann", "nightly")
    assert first.token_user(token).user.name == "ann"


def test_an_address_slowed_down_by_one_process_is_slowed_down_in_every_other(store_factory):
    limits = LoginLimits()
    first, second = store_factory(**CHEAP), store_factory(**CHEAP)
    first.add_user("ann", "researcher", PASSWORD)
    for i in range(limits.address_failures):  # the failures arrive at both processes
        (first if i % 2 else second).sign_in(f"guess{i}", "guess", "10.0.0.7")
    for store in (first, second):
        refused = store.sign_in("ann", PASSWORD, "10.0.0.7")
        assert (refused.user, refused.refused) == (None, ADDRESS_WAITS)
    assert second.sign_in("ann", PASSWORD, "10.0.0.8").user is not None  # elsewhere: fine
    logged = [(e[1], e[2]) for e in first.audit_entries()]
    assert ("ann", "user_add") in logged  # the one audit trail, whoever wrote it
