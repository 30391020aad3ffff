"""API benchmark: one outcome query (``GET /api/v1/outcomes``) on the 1M-row database, over HTTP.

``run(db_path) -> dict``. The app is served as ``attune serve`` serves it (login on, the
request guard, bearer tokens) by a threaded server on 127.0.0.1; a client sends one request at
a time with the token of an evaluator (exact figures) or of a sponsor (their own cohorts,
published figures under disclosure control), for random filter states in the dashboard URL's
keys and a random ``by``. The result cache is emptied before each request, so each answers
from the in-memory summaries as a first visitor's would.

Baseline, measured in the same run: the DuckDB queries each request issued, run again on their
own (as the dashboard benchmark does). The ratio is the whole request (guard, token check,
query checks, statistics, disclosure control, JSON, HTTP) over those queries. Target: p95 at
most 150 ms.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server

from accounts.store import AuthStore
from bench.dashboard_bench import _pct, _random_state, _Recorder
from dashboard.api_query import PARAMETERS

REQUESTS_PER_ROLE = 100
TARGET_P95_MS = 150.0
GROUPINGS = ("", "", "audience", "format", "audience,format", "program", "cohort_quarter")
ROLES = ("evaluator", "sponsor")
PASSWORD = "api-bench-password-1"


def _query(rng: random.Random, raw: dict[str, Any], options: dict[str, Any]) -> str:
    """A random outcome query in the dashboard URL's keys (the dashboard benchmark's random
    filter states, cut to the values the asking user may name) and a random ``by``."""
    state = _random_state(rng, raw)
    for parameter in PARAMETERS:
        if parameter.is_list and parameter.spec is not None:
            allowed = set(parameter.allowed(options))
            state[parameter.key] = [v for v in state[parameter.key] if v in allowed]
    pairs = [(k, ",".join(v) if isinstance(v, list) else v) for k, v in state.items()
             if k != "by" and v not in (None, [], "")]
    return urlencode([*pairs, ("by", rng.choice(GROUPINGS))], safe=",")


def _timed_requests(url: str, token: str, app_ctx, options: dict[str, Any],
                    rng: random.Random) -> tuple[list[float], list[float], int]:
    """(request ms, bare query ms, errors) of ``REQUESTS_PER_ROLE`` cold requests."""
    times, bare, errors = [], [], 0
    raw = app_ctx.raw_options()
    for _ in range(REQUESTS_PER_ROLE):
        query = _query(rng, raw, options)
        request = urllib.request.Request(f"{url}/api/v1/outcomes?{query}",
                                         headers={"Authorization": f"Bearer {token}"})
        app_ctx.db.clear_cache()
        recorder = _Recorder(app_ctx.db)
        try:
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                json.loads(response.read())
            times.append((time.perf_counter() - started) * 1000)
        except urllib.error.HTTPError as error:
            errors += 1
            print(f"api: {error.code} for {query}: {error.read()[:200]!r}", file=sys.stderr)
            continue
        finally:
            app_ctx.db.fetch, app_ctx.db.fetch_dicts = recorder._fetch, recorder._dicts
        bare.append(recorder.bare_ms())
    return times, bare, errors


def run(db_path: Path | str, seed: int = 12) -> dict[str, Any]:
    from dashboard.access import scope_options
    from dashboard.app import create_app

    db_path = Path(db_path)
    with tempfile.TemporaryDirectory(prefix="attune-api-bench-") as folder:
        store = AuthStore(Path(folder) / "auth.sqlite")
        app = create_app(db_path, auth_store=store)
        app_ctx = app.attune
        app_ctx.db.snapshot()
        raw = app_ctx.raw_options()
        sponsor = raw["sponsors"][0]
        store.add_user("bench-evaluator", "evaluator", PASSWORD)
        store.add_user("bench-sponsor", "sponsor", PASSWORD, sponsor)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        results: dict[str, Any] = {"database": str(db_path), "sponsor": sponsor,
                                   "requests_per_role": REQUESTS_PER_ROLE}
        rng = random.Random(seed)
        try:
            for role in ROLES:
                user = store.user(f"bench-{role}")
                _, token = store.add_token(user.name, "api benchmark")
                options = scope_options(raw, user)
                times, bare, errors = _timed_requests(url, token, app_ctx, options, rng)
                results[f"{role}_p50_ms"] = round(_pct(times, 50), 1)
                results[f"{role}_p95_ms"] = round(_pct(times, 95), 1)
                results[f"{role}_max_ms"] = round(max(times), 1)
                results[f"{role}_bare_queries_p95_ms"] = round(_pct(bare, 95), 1)
                results[f"{role}_ratio_to_bare_queries_p95"] = round(
                    _pct([t / b for t, b in zip(times, bare, strict=True) if b > 0], 95), 2)
                results[f"{role}_ratio_to_bare_queries_total"] = round(sum(times) / sum(bare),
                                                                       2)
                results[f"{role}_errors"] = errors
        finally:
            server.shutdown()
            thread.join(timeout=10)
    results["p95_ms"] = max(results[f"{role}_p95_ms"] for role in ROLES)
    results["target_p95_ms"] = TARGET_P95_MS
    return results


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(sys.argv[1]), indent=2))
