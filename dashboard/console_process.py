"""The SQL console's own process: console queries never run in the dashboard's process.

``ConsoleProcess`` keeps one worker (``python -m dashboard.console_process``) per dashboard
process and hands it one query at a time over a pipe (one JSON line each way). So a console
query uses one core at most (DuckDB ``threads=1``, at a lower CPU priority than the
dashboard), and none of the dashboard's server threads, memory or interpreter lock, however
many researchers press "Run" at once:

* **One at a time, a short queue.** ``turn()`` lets one query run; up to ``QUEUE_LENGTH`` more
  wait for it, in order, at most ``QUEUE_WAIT_S`` seconds each, and are then refused
  (``ConsoleBusy``); a query that finds the queue full is refused at once. A waiting query
  holds one server thread, so the console never holds more than ``1 + QUEUE_LENGTH``.
* **Bounded memory.** The worker caps its own address space (``RLIMIT_AS``) at what it needs
  once started plus ``MEMORY_HEADROOM``: a query that builds giant strings fails with DuckDB's
  out-of-memory error instead of growing the server.
* **A hard time limit.** The worker's own timer interrupts a query at its time limit; a worker
  that has not answered ``GRACE_S`` later is killed, and so is one that sends nonsense. A dead
  worker is replaced by the next query.

Dash-free, and free of the accounts: the worker reads the database file it is given, nothing
else, inherits none of the server's environment but ``ENVIRONMENT`` (no secret key, no
accounts file), and the dashboard's process does the auditing.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

QUEUE_LENGTH = 2
QUEUE_WAIT_S = 5.0
GRACE_S = 5.0  # past the time limit, before a silent worker is killed
START_S = 60.0  # for a new worker to import DuckDB and say it is ready
MEMORY_HEADROOM = 1536 * 1024 * 1024  # bytes of address space beyond the started worker's
NICENESS = 10  # the worker's CPU priority below the dashboard's
READY = "ready"
# All the worker inherits of the server's environment: no keys, tokens or account paths.
ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
PROJECT = Path(__file__).resolve().parents[1]

MSG_KILLED = "cancelled after {seconds:g} s (the console's time limit)"
MSG_DIED = ("the query stopped the console's process (most likely it needed more memory than "
            "the console allows); the console starts afresh for the next query")
MSG_NO_START = "the console could not start its process; try again, or tell an admin"


class ConsoleBusy(Exception):
    """No turn for this query: one is running and the queue is full, or the wait ran out."""


class ConsoleProcess:
    """One worker process and the gate in front of it (see the module docstring)."""

    def __init__(self, *, queue_length: int = QUEUE_LENGTH, queue_wait_s: float = QUEUE_WAIT_S,
                 grace_s: float = GRACE_S):
        self.queue_length = queue_length
        self.queue_wait_s = queue_wait_s
        self.grace_s = grace_s
        self._gate = threading.Condition()
        self._running = False
        self._waiting = 0
        self._worker: subprocess.Popen | None = None
        self.started = 0  # workers started so far
        self.sent = 0  # requests handed to a worker so far

    @property
    def running(self) -> bool:
        with self._gate:
            return self._running

    @property
    def waiting(self) -> int:
        with self._gate:
            return self._waiting

    @property
    def pid(self) -> int | None:
        """The worker's process id; None while none runs."""
        worker = self._worker
        return worker.pid if worker is not None and worker.poll() is None else None

    @contextmanager
    def turn(self) -> Iterator[ConsoleProcess]:
        """This query's turn on the worker, or ``ConsoleBusy`` (see the module docstring)."""
        with self._gate:
            if self._running or self._waiting:
                if self._waiting >= self.queue_length:
                    raise ConsoleBusy
                self._waiting += 1
                try:
                    free = self._gate.wait_for(lambda: not self._running, self.queue_wait_s)
                finally:
                    self._waiting -= 1
                if not free:
                    raise ConsoleBusy
            self._running = True
        try:
            yield self
        finally:
            with self._gate:
                self._running = False
                self._gate.notify()

    def run(self, request: dict[str, Any], time_limit_s: float) -> dict[str, Any]:
        """Send one request to the worker and return its reply (call it during ``turn()``).
        A worker that overruns the time limit by ``grace_s``, dies or will not start gives
        an ``error`` reply instead, and is replaced next time."""
        worker = self._ready_worker()
        if worker is None:
            return {"error": MSG_NO_START}
        try:
            worker.stdin.write(json.dumps(request).encode() + b"\n")
            worker.stdin.flush()
            self.sent += 1
        except OSError:
            self.stop()
            return {"error": MSG_DIED}
        line = _read_line(worker, time_limit_s + self.grace_s)
        if line is None:
            self.stop()
            return {"error": MSG_KILLED.format(seconds=time_limit_s)}
        try:
            reply = json.loads(line) if line else None
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self.stop()
            return {"error": MSG_DIED}
        return reply

    def _ready_worker(self) -> subprocess.Popen | None:
        if self._worker is not None and self._worker.poll() is None:
            return self._worker
        self.stop()
        env = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT), os.environ.get("PYTHONPATH")) if p)
        worker = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=env)
        self._worker = worker
        self.started += 1
        if _read_line(worker, START_S) != READY.encode():
            self.stop()
            return None
        return worker

    def stop(self) -> None:
        """End the worker (the next query starts a new one)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=30)
        for pipe in (worker.stdin, worker.stdout):
            if pipe is not None:
                pipe.close()


def _read_line(worker: subprocess.Popen, timeout: float) -> bytes | None:
    """The worker's next line without its line end (b"" if it exited), or None on timeout.
    The worker writes each reply in one piece, so once the pipe is readable the line follows."""
    ready, _, _ = select.select([worker.stdout], [], [], max(timeout, 0))
    if not ready:
        return None
    return worker.stdout.readline().rstrip(b"\n")


_SHARED: ConsoleProcess | None = None
_SHARED_LOCK = threading.Lock()


def shared_process() -> ConsoleProcess:
    """This dashboard process's console process (started with its first query)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ConsoleProcess()
            atexit.register(_SHARED.stop)
        return _SHARED


# --- the worker ------------------------------------------------------------------------------


def _address_space() -> int | None:
    """This process's address space in bytes (Linux), or None where it cannot be read."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmSize:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) * 1024 if found else None


def _limit_memory() -> None:
    import resource

    size = _address_space()
    if size is not None:
        limit = size + MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    """The worker: answer one JSON request per line on stdin until stdin closes."""
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    from dashboard import console  # DuckDB and the lock-down, imported once per worker

    console.warm_up()  # reach the size of a worker that has run a query, then cap it
    _limit_memory()
    out = sys.stdout.buffer
    out.write(READY.encode() + b"\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            reply = console.answer(json.loads(line))
        except Exception as error:  # noqa: BLE001 - the worker answers every request
            reply = {"error": f"the console could not run the query ({type(error).__name__})"}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
