"""`attune serve --workers 2`, started as a real process on a free port: any worker answers any
request of a signed-in browser, because sessions, sign-outs and lockouts live in the shared
accounts store (a SQLite file, or a real PostgreSQL server) and every worker reads the same
cookie key. Which worker answered is read from the server's access log, which names it
(``worker <pid>``) and the client (the address a reverse proxy forwards, ``$ATTUNE_PROXY_FIX``),
so each test uses an address of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher

from accounts.store import AuthStore, LoginLimits
from attune.cli.serving import SERVER_THREADS, query_threads
from tests.postgres_server import PostgresServer, free_port
from tests.support import PROJECT, sign_in_over_http, wait_until

PASSWORD = "correct horse battery staple"
WORKERS = 2
# 127.0.0.1 [02/Dec/2026:10:41:30 +0000] "GET /login" 200 1492 18ms worker <28546>
ACCESS_LINE = re.compile(
    r'^(?P<client>\S+) \[[^\]]+\] "(?P<method>\w+) (?P<path>\S+)" (?P<status>\d{3}) \S+ '
    r"\d+ms worker <(?P<pid>\d+)>$", re.M)
# Requests sent at once, each on a new connection: more than one worker has threads, so a busy
# worker leaves some connections to the other (kept-alive connections would stay with one).
BATCH = 2 * SERVER_THREADS
MAX_BATCHES = 25


@dataclass
class Served:
    url: str
    pid: int
    log: Path

    def answers(self, client: str, method: str, path: str) -> list[tuple[str, int]]:
        """(status, worker pid) of every logged request of ``client`` to ``method path``."""
        return [(m["status"], int(m["pid"])) for m in ACCESS_LINE.finditer(self.log.read_text())
                if (m["client"], m["method"], m["path"]) == (client, method, path)]

    def logged(self, client: str, method: str, path: str, count: int) -> list[tuple[str, int]]:
        """``answers``, once at least ``count`` are in the log (a worker writes its line just
        after the response has gone)."""
        return wait_until(lambda: (lambda a: a if len(a) >= count else None)(
            self.answers(client, method, path)), timeout=30, interval=0.05,
            message=f"{count} logged {method} {path}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, demo_db, tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("workers")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "ATTUNE_PROXY_FIX": "1"}
    env.pop("ATTUNE_SECRET_KEY", None)  # the workers share the key file they make
    postgres = None
    if request.param == "postgresql":
        postgres = PostgresServer()
        postgres.start()
        env["ATTUNE_ACCOUNTS_URL"] = url = postgres.fresh_url()
        store, accounts = AuthStore(url=url, hasher=PasswordHasher(time_cost=1)), []
    else:
        env.pop("ATTUNE_ACCOUNTS_URL", None)
        store = AuthStore(folder / "auth.sqlite", hasher=PasswordHasher(time_cost=1))
        accounts = ["--auth-db", str(store.path)]
    store.add_user("ann", "admin", PASSWORD)
    port = free_port()
    log = folder / "access.log"
    with open(log, "w") as out, open(folder / "server.err", "w") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "attune.cli", "serve", "--db", str(demo_db), "--port",
             str(port), "--workers", str(WORKERS), *accounts],
            cwd=PROJECT, env=env, stdout=out, stderr=err, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            assert server.poll() is None, (folder / "server.err").read_text()
            try:
                return requests.get(base + "/login", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(up, timeout=120, interval=0.2, message="attune serve --workers 2 is up")
        yield Served(base, server.pid, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        if postgres is not None:
            postgres.stop()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _browser(client: str) -> requests.Session:
    """A browser behind the reverse proxy, which forwards its address ``client``."""
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = client
    browser.headers["Connection"] = "close"
    return browser


def _until_both_workers_answered(served: Served, client: str, method: str, path: str,
                                 send) -> list[tuple[str, int]]:
    """Call ``send()`` in batches until two workers have answered (bounded); the answers
    logged for ``client``'s requests to ``method path`` from the first call on."""
    before = len(served.answers(client, method, path))
    with ThreadPoolExecutor(BATCH) as pool:
        for batch in range(1, MAX_BATCHES + 1):
            list(pool.map(lambda _: send(), range(BATCH)))
            answers = served.logged(client, method, path, before + batch * BATCH)[before:]
            if len({pid for _, pid in answers}) >= WORKERS:
                break
    return answers


def _workers_of(served: Served, pids: set[int]) -> set[int]:
    """Those of ``pids`` that are worker processes of the served command."""
    parents = {pid: re.search(r"^PPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(),
                              re.M).group(1) for pid in pids}
    return {pid for pid, parent in parents.items() if int(parent) == served.pid}


def test_a_sign_in_on_one_worker_is_valid_on_the_other_and_so_is_signing_out(served):
    client = "10.7.0.1"
    browser = _browser(client)
    signed_in = sign_in_over_http(browser, served.url, "ann", PASSWORD)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/")
    (signed_in_by,) = {pid for status, pid in served.logged(client, "POST", "/login", 1)}

    def open_page() -> int:
        return browser.get(served.url + "/", allow_redirects=False, timeout=60).status_code

    answers = _until_both_workers_answered(served, client, "GET", "/", open_page)
    workers = {pid for _, pid in answers}
    assert {status for status, _ in answers} == {"200"}  # never sent back to /login
    assert len(_workers_of(served, workers)) == WORKERS, answers
    assert workers - {signed_in_by}  # a worker that did not sign ann in knew her session

    old_cookie = browser.cookies["attune_session"]
    csrf = _csrf(browser.get(served.url + "/logout", timeout=30).text)
    out = browser.post(served.url + "/logout", data={"csrf_token": csrf},
                       allow_redirects=False, timeout=30)
    assert (out.status_code, out.headers["Location"]) == (302, "/login")

    def open_page_with_the_old_cookie() -> int:  # as a thief who copied it would
        return requests.get(served.url + "/", cookies={"attune_session": old_cookie},
                            headers={"X-Forwarded-For": client}, allow_redirects=False,
                            timeout=60).status_code

    after = _until_both_workers_answered(served, client, "GET", "/",
                                         open_page_with_the_old_cookie)
    assert {status for status, _ in after} == {"302"}  # revoked: worthless on every worker
    assert {pid for _, pid in after} == workers


def test_a_lockout_made_through_one_worker_holds_on_the_other(served):
    limits = LoginLimits()
    client = "10.7.0.2"
    browser = _browser(client)
    for i in range(limits.address_failures):
        failed = sign_in_over_http(browser, served.url, f"guess{i}", "wrong password")
        assert failed.status_code == 401
    # every failure in the log before the counting starts (a line follows its response)
    served.logged(client, "POST", "/login", limits.address_failures)

    def right_password() -> int:  # each from a browser of its own (its own CSRF cookie)
        return sign_in_over_http(_browser(client), served.url, "ann", PASSWORD).status_code

    refused = _until_both_workers_answered(served, client, "POST", "/login", right_password)
    assert {status for status, _ in refused} == {"429"}  # never signed in
    # Both workers refuse, whichever of them counted the failures (each counted only some,
    # or one of them all: the other then refuses on the strength of the store alone).
    assert len({pid for _, pid in refused}) == WORKERS, refused
    elsewhere = sign_in_over_http(_browser("10.7.0.3"), served.url, "ann", PASSWORD)
    assert elsewhere.status_code == 302  # the address is slowed down, not the account


@pytest.mark.parametrize(("workers", "cores", "threads"), [
    (1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 8, 2), (4, 8, 2), (1, 1, 1)])
def test_each_worker_gets_its_share_of_the_cores_for_its_queries(workers, cores, threads):
    # two workers on two cores: one DuckDB thread each, not two processes each splitting
    # every query over both cores, contending for them
    assert query_threads(workers, cores) == threads
