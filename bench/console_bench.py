"""Console benchmark: a sponsor's chart while eight researchers run 10-second console queries.

``run() -> dict`` (``python -m bench --only console``). Starts `attune serve` (waitress, eight
threads, as deployed) on 127.0.0.1 over the 1M-row bench database with a sponsor and eight
researcher accounts. The sponsor asks for one chart callback of the overview page, each time
with a new random filter state (so each is computed, not served from the cache), first on the
idle server, then while eight researchers each keep a CPU-heavy console query going (a
self-join that runs into the 10 s time limit; a researcher told "busy" clicks again after
``RETRY_SECONDS``), then idle again. Reports the chart's latency in each phase and the loaded
median as a ratio to the idle median, measured in the same run; and what the eight researchers
got (queries run, refused as busy). Before the console had its own process, eight such queries
took every server thread and stalled the sponsor's chart to about 9 s.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from accounts.store import AuthStore
from bench.common import PROJECT, bench_database, bench_env
from bench.dashboard_bench import _pct, _random_state
from bench.load_bench import (
    PASSWORD,
    SimulatedUser,
    _chart_callbacks,
    _free_port,
    _payload,
    _wait_until_up,
)
from dashboard.console import MSG_BUSY
from warehouse.catalog import filter_options
from warehouse.connection import Database

RESEARCHERS = 8
CHARTS_PER_PHASE = int(os.environ.get("ATTUNE_CONSOLE_BENCH_CHARTS", 30))
RETRY_SECONDS = 0.5
# Runs until the console's 10 s time limit stops it: one core's worth of work per query.
HEAVY_QUERY = ("SELECT count(*) FROM responses a JOIN responses b ON a.audience = b.audience "
               "WHERE a.score_CONF < b.score_CONF")


def _console_payload(sql: str) -> dict:
    """The request the console page sends when "Run query" is pressed."""
    return {
        "output": "..console-alert.children...console-result.children..",
        "outputs": [{"id": "console-alert", "property": "children"},
                    {"id": "console-result", "property": "children"}],
        "inputs": [{"id": "console-run", "property": "n_clicks", "value": 1}],
        "state": [{"id": "console-sql", "property": "value", "value": sql}],
        "changedPropIds": ["console-run.n_clicks"],
    }


class Researcher(threading.Thread):
    """One researcher pressing "Run query" on the heavy query until told to stop."""

    def __init__(self, user: SimulatedUser, stop: threading.Event):
        super().__init__(daemon=True)
        self.user, self.stop = user, stop
        self.ran = self.busy = self.other = 0

    def run(self) -> None:
        payload = json.dumps(_console_payload(HEAVY_QUERY)).encode()
        while not self.stop.is_set():
            request = urllib.request.Request(
                self.user.base + "/_dash-update-component", data=payload,
                headers={"Content-Type": "application/json"})
            try:
                answer = self.user.opener.open(request, timeout=120).read().decode()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                answer = ""
            if MSG_BUSY in answer:
                self.busy += 1
                self.stop.wait(RETRY_SECONDS)
            elif "time limit" in answer:
                self.ran += 1
            else:
                self.other += 1


def _charts(sponsor: SimulatedUser, dependency: dict, options: dict, rng: random.Random
            ) -> tuple[list[float], int]:
    times, errors = [], 0
    for _ in range(CHARTS_PER_PHASE):
        milliseconds, ok = sponsor.post(_payload(dependency, _random_state(rng, options)))
        times.append(milliseconds)
        errors += not ok
    return times, errors


def run() -> dict:
    database = bench_database()
    options = filter_options(Database(database))
    sponsor_id = options["sponsors"][0]
    workdir = Path(tempfile.mkdtemp(prefix="attune-console-bench-"))
    auth_db = workdir / "auth.sqlite"
    store = AuthStore(auth_db)
    store.add_user("sponsor", "sponsor", PASSWORD, sponsor_id)
    for number in range(RESEARCHERS):
        store.add_user(f"researcher{number}", "researcher", PASSWORD)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**bench_env(), "ATTUNE_AUTH_DB": str(auth_db), "ATTUNE_SECRET_KEY": "console-bench"}
    server = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "serve", "--db", str(database), "--port", str(port)],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    stop = threading.Event()
    researchers: list[Researcher] = []
    try:
        _wait_until_up(base)
        sponsor = SimulatedUser(base, "sponsor")
        chart = _chart_callbacks(sponsor)["overview"][0]
        rng = random.Random(7)
        sponsor.post(_payload(chart, _random_state(rng, options)))  # the one-off summary build
        idle_before, errors_idle = _charts(sponsor, chart, options, rng)
        researchers = [Researcher(SimulatedUser(base, f"researcher{n}"), stop)
                       for n in range(RESEARCHERS)]
        for researcher in researchers:
            researcher.start()
        deadline = time.monotonic() + 60  # until every researcher has pressed "Run" once
        while time.monotonic() < deadline and not all(r.ran or r.busy for r in researchers):
            sponsor.post(_payload(chart, _random_state(rng, options)))
        loaded, errors_loaded = _charts(sponsor, chart, options, rng)
        stop.set()
        for researcher in researchers:
            researcher.join(60)
        idle_after, errors_after = _charts(sponsor, chart, options, rng)
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    idle = idle_before + idle_after
    return {
        "database": str(database.name),
        "charts_per_phase": CHARTS_PER_PHASE,
        "idle_p50_ms": round(statistics.median(idle), 1),
        "idle_p95_ms": round(_pct(idle, 95), 1),
        "loaded_p50_ms": round(statistics.median(loaded), 1),
        "loaded_p95_ms": round(_pct(loaded, 95), 1),
        "loaded_max_ms": round(max(loaded), 1),
        "ratio_p50_loaded_to_idle": round(statistics.median(loaded) / statistics.median(idle), 2),
        "ratio_p95_loaded_to_idle": round(_pct(loaded, 95) / _pct(idle, 95), 2),
        "console_queries_run": sum(r.ran for r in researchers),
        "console_refused_busy": sum(r.busy for r in researchers),
        "console_other_answers": sum(r.other for r in researchers),
        "chart_errors": errors_idle + errors_loaded + errors_after,
        "server_threads": 8,
        "target_ratio": 1.5,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
