"""Load test: 50 simulated users changing filters against `attune serve` (loopback only).

Half of them are evaluators (exact figures), half sponsors (published figures, with
disclosure control and their own scope).

Starts `attune serve` (waitress) on 127.0.0.1 over the 1M-row bench database with a fresh
account, logs every simulated user in, then for a bounded time each user behaves like a person
with a browser: on a page, they change the filters; the browser sends every chart callback of
that page at once (Dash's renderer fires them in parallel) and the person waits until the
charts are drawn, reads them for THINK_SECONDS (uniform, default 2-8 s), now and then moves to
another page, and changes the filters again. Reports requests served, latency p50/p95/p99 of
the callback requests, the time until a whole page has updated, and errors. Bounded in time
and requests; traffic goes to 127.0.0.1 only. Targets: zero errors, p95 under 500 ms.

A second, short phase with no reading time at all (every user changes filters as soon as the
charts arrive) measures the server's capacity: page updates per second at saturation, which
says how many more users the same machine could take.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from accounts.store import AuthStore
from bench.common import PROJECT, bench_database, bench_env
from bench.dashboard_bench import _pct, _random_state
from warehouse.catalog import filter_options
from warehouse.connection import Database

USERS = int(os.environ.get("ATTUNE_LOAD_USERS", 50))
SECONDS = float(os.environ.get("ATTUNE_LOAD_SECONDS", 60))
MAX_REQUESTS = int(os.environ.get("ATTUNE_LOAD_MAX_REQUESTS", 200_000))
# How long a person looks at the charts before the next change: a few seconds to read four
# charts is quick reading; the capacity phase below drops it to zero.
THINK_SECONDS = tuple(
    float(x) for x in os.environ.get("ATTUNE_LOAD_THINK_SECONDS", "2,8").split(",")
)
CAPACITY_SECONDS = float(os.environ.get("ATTUNE_LOAD_CAPACITY_SECONDS", 20))
STAY_ON_PAGE = 0.7  # chance that the next filter change happens on the same page
PASSWORD = "load-test-password-1"
SPONSOR_PAGES_NOT_ALLOWED = ("quality", "console")


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

    def __init__(self, base: str, name: str, pages_not_allowed: tuple[str, ...] = ()):
        self.base = base
        self.pages_not_allowed = pages_not_allowed  # pages this user's role may not open
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


def _peak_rss_mib(pid: int) -> float | None:
    """The server's peak resident memory (Linux), in MiB: its process and, for
    ``--workers N``, every worker process it started, summed."""
    total, found_any = 0, False
    for one in (pid, *_children(pid)):
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if found:
            total, found_any = total + int(found.group(1)), True
    return round(total / 1024, 1) if found_any else None


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, Linux) used so far by the server: its process and every
    worker process it started."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        for one in (pid, *_children(pid)):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except OSError:
        return None
    return total


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _chart_callbacks(user: SimulatedUser) -> dict[str, list[dict]]:
    """Per page, the callbacks whose only input is the filter state: what a filter change on
    that page triggers. Chart names start with their page's key (``explorer-heatmap``)."""
    with user.opener.open(user.base + "/_dash-dependencies", timeout=30) as response:
        dependencies = json.loads(response.read())
    pages: dict[str, list[dict]] = {}
    for dependency in dependencies:
        if [(i["id"], i["property"]) for i in dependency["inputs"]] == [("state", "data")]:
            chart = re.search(r'"chart":"([a-z]+)-', dependency["output"])
            pages.setdefault(chart.group(1) if chart else "other", []).append(dependency)
    return pages


def _phase(users: list[SimulatedUser], pages: dict[str, list[dict]], options: dict,
           seconds: float, think: tuple[float, float], seed: int) -> dict:
    """Every user changes filters for ``seconds``; returns latencies and errors."""
    latencies: list[float] = []
    page_updates: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    page_keys = sorted(pages)

    def simulate(user: SimulatedUser, user_seed: int) -> None:
        nonlocal errors
        rng = random.Random(user_seed)
        keys = [k for k in page_keys if k not in user.pages_not_allowed]
        page = rng.choice(keys)
        # People arrive over the first reading interval, not all in the same millisecond.
        time.sleep(rng.uniform(0, think[1]))
        with ThreadPoolExecutor(max_workers=max(len(c) for c in pages.values())) as browser:
            while time.monotonic() < deadline and len(latencies) < MAX_REQUESTS:
                if rng.random() > STAY_ON_PAGE:
                    page = rng.choice(keys)
                state = _random_state(rng, options)
                started = time.perf_counter()
                payloads = [_payload(dependency, state) for dependency in pages[page]]
                results = list(browser.map(user.post, payloads))
                with lock:
                    page_updates.append((time.perf_counter() - started) * 1000)
                    for milliseconds, ok in results:
                        latencies.append(milliseconds)
                        errors += not ok
                if think[1] > 0:
                    time.sleep(rng.uniform(*think))

    threads = [
        threading.Thread(target=simulate, args=(user, seed * 1000 + number), daemon=True)
        for number, user in enumerate(users)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "page_updates": len(page_updates),
        "page_updates_per_second": round(len(page_updates) / elapsed, 1),
        "errors": errors,
        "p50_ms": round(_pct(latencies, 50), 1),
        "p95_ms": round(_pct(latencies, 95), 1),
        "p99_ms": round(_pct(latencies, 99), 1),
        "page_update_p95_ms": round(_pct(page_updates, 95), 1),
    }


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


def run(workers: int = 1, think: tuple[float, float] = THINK_SECONDS) -> dict:
    """The reading phase at ``think`` seconds between changes, then the capacity phase,
    against `attune serve --workers workers`."""
    database = bench_database()
    workdir = Path(tempfile.mkdtemp(prefix="attune-load-"))
    auth_db = workdir / "auth.sqlite"
    store = AuthStore(auth_db)
    # Half the users are sponsors (each of their own sponsor), whose figures are published:
    # disclosure control is part of what is measured.
    sponsors = filter_options(Database(database))["sponsors"]
    names = []
    for number in range(USERS):
        if number % 2:
            names.append(f"sponsor{number}")
            store.add_user(names[-1], "sponsor", PASSWORD,
                           sponsor_id=sponsors[number % len(sponsors)])
        else:
            names.append(f"evaluator{number}")
            store.add_user(names[-1], "evaluator", PASSWORD)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**bench_env(), "ATTUNE_AUTH_DB": str(auth_db), "ATTUNE_SECRET_KEY": "load-test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "serve", "--db", str(database), "--port", str(port),
         "--workers", str(workers)],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base)
        options = filter_options(Database(database))
        users = [SimulatedUser(base, name, SPONSOR_PAGES_NOT_ALLOWED
                               if name.startswith("sponsor") else ()) for name in names]
        pages = _chart_callbacks(users[0])
        # Warm the server's one-off summary build so the run measures filter changes.
        users[0].post(_payload(pages["overview"][0], _random_state(random.Random(0), options)))
        reading = _phase(users, pages, options, SECONDS, think, seed=1)
        cpu_before = _cpu_seconds(server.pid)
        capacity = _phase(users, pages, options, CAPACITY_SECONDS, (0.0, 0.0), seed=2) \
            if CAPACITY_SECONDS > 0 else None
        cpu_after = _cpu_seconds(server.pid)
        # The server's CPU time at saturation, as cores kept busy and per page update: CPU
        # spent, which need not all be useful work (run_workers compares one process with two).
        cpu = cpu_after - cpu_before if capacity and None not in (cpu_before, cpu_after) \
            else None
        cores_busy = round(cpu / capacity["seconds"], 2) if cpu is not None else None
        cpu_ms_per_update = round(1000 * cpu / capacity["page_updates"], 1) \
            if cpu is not None and capacity["page_updates"] else None
        server_peak_mib = _peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    return {
        "workers": workers,
        "users": USERS,
        "think_seconds": f"{think[0]:g}-{think[1]:g}",
        **reading,
        "target_p95_ms": 500,
        "server_peak_rss_mib": server_peak_mib,
        **({f"capacity_{key}": value for key, value in capacity.items()
            if key in ("requests_per_second", "page_updates_per_second", "errors", "p95_ms")}
           if capacity else {}),
        "capacity_server_cores_busy": cores_busy,
        "capacity_server_cpu_ms_per_page_update": cpu_ms_per_update,
    }


# The brisk pace of the two-worker comparison: a change every 0.2-1 s per user.
BRISK_SECONDS = (0.2, 1.0)
WORKERS_TARGET_RATIO = 1.7  # capacity of 2 workers over 1, on two cores
BRISK_TARGET_P95_MS = 500


def run_workers() -> dict:
    """`--workers 2` against one worker, both at the brisk pace: capacity (page updates per
    second at saturation) as a ratio, and each one's p95 at that pace."""
    one = run(1, BRISK_SECONDS)
    two = run(2, BRISK_SECONDS)
    return {
        "one_worker": one, "two_workers": two,
        "capacity_ratio": (two["capacity_page_updates_per_second"]
                           / one["capacity_page_updates_per_second"]),
        "target_capacity_ratio": WORKERS_TARGET_RATIO,
        # One worker keeps most cores busy, yet two serve more: a page update costs one
        # process more CPU than it costs each of two (likely its threads contending for the
        # interpreter lock and DuckDB's pool), which the CPU per page update shows.
        "cores": os.cpu_count(),
        "one_worker_cores_busy": one["capacity_server_cores_busy"],
        "cpu_ms_per_page_update": {
            "one_worker": one["capacity_server_cpu_ms_per_page_update"],
            "two_workers": two["capacity_server_cpu_ms_per_page_update"]},
        "brisk_p95_ms_two_workers": two["p95_ms"],
        "target_brisk_p95_ms": BRISK_TARGET_P95_MS,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
