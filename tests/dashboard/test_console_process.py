"""The console's own process: one query at a time, a short queue, then "busy"; a worker that
overruns or dies is replaced. Checked by waiting for conditions, never by timing."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from dashboard import console as c
from dashboard.console import run_console_query
from dashboard.console_process import MSG_DIED, MSG_KILLED, ConsoleProcess
from tests.support import wait_until


class Recorder:
    def __init__(self):
        self.entries = []

    def __call__(self, user, action, detail, outcome):
        self.entries.append((user, action, json.loads(detail), outcome))

    def sql(self) -> list[str]:
        return [detail["sql"] for _, _, detail, _ in self.entries]


@pytest.fixture
def audit():
    return Recorder()


@pytest.fixture
def process():
    """A console process of the test's own (one running, one waiting), stopped afterwards."""
    own = ConsoleProcess(queue_length=1, queue_wait_s=120)
    yield own
    own.stop()


def in_thread(function, *args, **kwargs) -> tuple[threading.Thread, dict]:
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", function(*args, **kwargs)),
                              daemon=True)
    thread.start()
    return thread, box


def run(db, sql, audit, process, **kw):
    return run_console_query(db, sql, "rita", audit=audit, process=process, **kw)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_second_query_waits_for_the_first_and_a_full_queue_is_refused_at_once(
        tiny_db, audit, process):
    with process.turn():  # the console is busy, as with a long query
        second, box = in_thread(run, tiny_db, "SELECT 2 AS second", audit, process)
        wait_until(lambda: process.waiting == 1, timeout=30, message="second query waiting")
        third = run(tiny_db, "SELECT 3 AS third", audit, process)
        assert third.error == c.MSG_BUSY and third.rows == []
        assert "result" not in box  # not run beside the first: still waiting for its turn
        assert audit.sql() == ["SELECT 3 AS third"]
        assert audit.entries[-1][3] == f"refused: {c.MSG_BUSY}"
    second.join(60)
    assert box["result"].rows == [("2",)]
    assert process.waiting == 0 and not process.running


def test_a_query_that_waited_its_whole_turn_is_refused_as_busy(tiny_db, audit):
    impatient = ConsoleProcess(queue_length=1, queue_wait_s=0.2)
    with impatient.turn():
        result = run(tiny_db, "SELECT 1", audit, impatient)
    assert result.error == c.MSG_BUSY
    assert audit.entries[-1][3] == f"refused: {c.MSG_BUSY}"
    impatient.stop()


def test_eight_researchers_at_once_hold_at_most_one_running_and_the_queue(tiny_db, audit):
    console = ConsoleProcess(queue_length=2, queue_wait_s=120)
    with console.turn():
        started = [in_thread(run, tiny_db, f"SELECT {i} AS n", audit, console)
                   for i in range(8)]
        wait_until(lambda: console.waiting == 2 and len(audit.entries) == 6, timeout=30,
                   message="two waiting, six refused")
        assert all(outcome == f"refused: {c.MSG_BUSY}" for *_, outcome in audit.entries)
    for thread, _ in started:
        thread.join(60)
    answered = sorted(box["result"].rows[0][0] for _, box in started if box["result"].ok)
    assert len(answered) == 2 and len(audit.entries) == 8
    console.stop()


def test_a_running_query_is_not_joined_and_a_dead_worker_is_replaced(tiny_db, audit, process):
    long = "SELECT count(*) FROM range(1000000000000) a WHERE a.range = -1"
    assert run(tiny_db, "SELECT 0", audit, process).ok  # the worker is up
    first, first_box = in_thread(run, tiny_db, long, audit, process, time_limit_s=120)
    wait_until(lambda: process.sent == 2, timeout=60, message="the worker has the first")
    second, second_box = in_thread(run, tiny_db, "SELECT 42 AS answer", audit, process)
    wait_until(lambda: process.waiting == 1, timeout=30, message="second waiting")
    assert audit.sql() == ["SELECT 0"]  # neither has finished: the second did not run beside
    dead = process.pid
    os.kill(dead, signal.SIGKILL)  # the worker dies mid-query (as when the system kills it)
    first.join(60)
    second.join(60)
    assert first_box["result"].error == MSG_DIED
    assert second_box["result"].rows == [("42",)]
    assert process.pid != dead and process.started == 2
    idle = process.pid
    os.kill(idle, signal.SIGKILL)  # and again between two queries
    wait_until(lambda: process.pid is None, timeout=30, message="idle worker gone")
    assert run(tiny_db, "SELECT 43", audit, process).rows == [("43",)]
    assert process.started == 3
    assert audit.sql() == ["SELECT 0", long, "SELECT 42 AS answer", "SELECT 43"]


def test_a_worker_that_overruns_the_time_limit_is_killed_and_replaced(tiny_db, audit):
    strict = ConsoleProcess(grace_s=0.1)
    request = {"db": str(tiny_db), "sql": "SELECT sleep_ms(600000)", "time_limit_s": 600}
    with strict.turn() as worker:
        assert worker.run({"db": str(tiny_db), "sql": "SELECT 1"}, 30)["rows"] == [["1"]]
        overrunning = strict.pid
        reply = worker.run(request, 0.1)  # the parent's deadline, far below the worker's own
    assert reply == {"error": MSG_KILLED.format(seconds=0.1)}
    wait_until(lambda: not _alive(overrunning), timeout=30, message="worker killed")
    assert run(tiny_db, "SELECT 7", audit, strict).rows == [("7",)]
    assert strict.started == 2
    strict.stop()


def test_the_worker_inherits_none_of_the_servers_secrets(tiny_db, audit, monkeypatch):
    monkeypatch.setenv("ATTUNE_SECRET_KEY", "s3cret-session-signing-key")
    own = ConsoleProcess()
    try:
        assert run(tiny_db, "SELECT 1", audit, own).ok
        environment = Path(f"/proc/{own.pid}/environ").read_bytes().decode()
    finally:
        own.stop()
    assert "s3cret-session-signing-key" not in environment
    assert os.environ["ATTUNE_AUTH_DB"] not in environment  # nor where the accounts are
