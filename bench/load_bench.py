"""Load test: 50 simulated users changing filters against `attune serve` (loopback only).

Starts `attune serve` (waitress) on 127.0.0.1 over the 1M-row bench database with a fresh
account, logs every simulated user in, then for a bounded time each user repeatedly picks a
random filter state and a random page and requests every chart callback of that page, the
way the browser does after a filter change. Reports requests served, latency p50/p95/p99 and
errors. Bounded in time and requests; traffic goes to 127.0.0.1 only. Targets: zero errors,
p95 under 500 ms.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import PROJECT, bench_database, bench_env
from bench.dashboard_bench import _pct, _random_state

USERS = int(os.environ.get("ATTUNE_LOAD_USERS", 50))
SECONDS = float(os.environ.get("ATTUNE_LOAD_SECONDS", 60))
MAX_REQUESTS = int(os.environ.get("ATTUNE_LOAD_MAX_REQUESTS", 200_000))
PASSWORD = "load-test-password-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/login", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"server at {url} did not start")


class SimulatedUser:
    """One browser: its own cookies, logged in, asking for charts."""

    def __init__(self, base: str, name: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.login(name)

    def login(self, name: str) -> None:
        page = self.opener.open(self.base + "/login", timeout=30).read().decode()
        fields = {"username": name, "password": PASSWORD}
        for hidden, value in re.findall(r'name="([^"]+)"\s+type="hidden"\s+value="([^"]*)"', page):
            fields[hidden] = value
        for hidden, value in re.findall(r'type="hidden"\s+name="([^"]+)"\s+value="([^"]*)"', page):
            fields[hidden] = value
        body = urllib.parse.urlencode(fields).encode()
        self.opener.open(self.base + "/login", data=body, timeout=30).read()

    def post(self, payload: dict) -> tuple[float, bool]:
        request = urllib.request.Request(
            self.base + "/_dash-update-component", data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
                ok = response.status in (200, 204)
        except urllib.error.HTTPError as error:
            ok = error.code == 204
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            ok = False
        return (time.perf_counter() - started) * 1000, ok


def _chart_callbacks(user: SimulatedUser) -> list[dict]:
    """The callbacks whose only input is the filter state: what a filter change triggers."""
    with user.opener.open(user.base + "/_dash-dependencies", timeout=30) as response:
        dependencies = json.loads(response.read())
    return [
        dependency for dependency in dependencies
        if [(i["id"], i["property"]) for i in dependency["inputs"]] == [("state", "data")]
    ]


def _payload(dependency: dict, state: dict) -> dict:
    """The request body Dash's renderer sends for this callback with this filter state."""
    outputs = []
    for spec in dependency["output"].strip(".").split("..."):
        component, _, prop = spec.rpartition(".")
        identity = json.loads(component) if component.startswith("{") else component
        outputs.append({"id": identity, "property": prop})
    multiple = dependency["output"].startswith("..")
    return {
        "output": dependency["output"],
        "outputs": outputs if multiple else outputs[0],
        "inputs": [{"id": "state", "property": "data", "value": state}],
        "state": [
            {"id": item["id"], "property": item["property"], "value": None}
            for item in dependency.get("state", [])
        ],
        "changedPropIds": ["state.data"],
    }


def run() -> dict:
    from dashboard.accounts import AuthStore
    from dashboard.queries import Database, filter_options

    database = bench_database()
    workdir = Path(tempfile.mkdtemp(prefix="attune-load-"))
    auth_db = workdir / "auth.sqlite"
    store = AuthStore(auth_db)
    for number in range(USERS):
        store.add_user(f"evaluator{number}", "evaluator", PASSWORD)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**bench_env(), "ATTUNE_AUTH_DB": str(auth_db), "ATTUNE_SECRET_KEY": "load-test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "serve", "--db", str(database), "--port", str(port)],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base)
        options = filter_options(Database(database))
        users = [SimulatedUser(base, f"evaluator{number}") for number in range(USERS)]
        callbacks = _chart_callbacks(users[0])
        # Warm the server's one-off summary build so the run measures filter changes.
        users[0].post(_payload(callbacks[0], _random_state(random.Random(0), options)))
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        deadline = time.monotonic() + SECONDS

        def simulate(user: SimulatedUser, seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.monotonic() < deadline and len(latencies) < MAX_REQUESTS:
                state = _random_state(rng, options)
                for dependency in rng.sample(callbacks, min(4, len(callbacks))):
                    milliseconds, ok = user.post(_payload(dependency, state))
                    with lock:
                        latencies.append(milliseconds)
                        errors += not ok
                time.sleep(rng.uniform(0.2, 1.0))  # a person reads before the next change

        threads = [
            threading.Thread(target=simulate, args=(user, seed), daemon=True)
            for seed, user in enumerate(users)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SECONDS + 120)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)
    return {
        "users": USERS,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_second": len(latencies) / elapsed,
        "errors": errors,
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
        "p99_ms": _pct(latencies, 99),
        "target_p95_ms": 500,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
