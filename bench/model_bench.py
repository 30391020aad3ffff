"""The model that uses every wave on the 1M-row database: `attune model` and the Trends page.

``run(db_path) -> dict``. Targets: ``attune model --scale S`` at most 30 s (a fresh process,
as a researcher runs it: start-up, the summaries, the pattern query and the REML fit), and
the Trends page's chart callbacks at most 150 ms at the 95th percentile once the state's
model is fitted (the fit runs once per database snapshot and filter state, then is cached:
redrawing, resizing or hovering never refits). For >= 20 random filter states (those of the
dashboard benchmark) every Trends callback is timed the way Dash runs it (build, render,
JSON-encode) with a cold result cache ("cold": a filter change) and again for the same state
("warm"); ``trends-model`` is the new chart. Figures in seconds (CLI) and ms (callbacks).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import plotly

from bench.common import bench_database, bench_env, median
from bench.dashboard_bench import _pct, _random_state

CLI_TARGET_SECONDS = 30.0
CALLBACK_TARGET_MS = 150.0


def _cli_seconds(db_path: Path, scale: str, by: str | None, rounds: int) -> list[float]:
    command = [sys.executable, "-m", "attune.cli", "model", "--db", str(db_path),
               "--scale", scale, "--json", *(["--by", by] if by else [])]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        done = subprocess.run(command, env=bench_env(), check=False, capture_output=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"attune model failed: {done.stderr.decode()[-500:]}")
    return times


def _trends_ms(db_path: Path, states: int, seed: int) -> dict[str, dict[str, list[float]]]:
    from dashboard.app import create_app
    from dashboard.components import render
    from dashboard.pages import safe_build, trends

    app = create_app(db_path, login_required=False)
    app_ctx = app.attune
    app_ctx.db.snapshot()
    rng = random.Random(seed)
    options = app_ctx.options()
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(states):
        st = _random_state(rng, options)
        app_ctx.db.clear_cache()
        for phase in ("cold", "warm"):
            for spec in trends.CHARTS:
                started = time.perf_counter()
                out = render(spec.id, safe_build(trends, spec, app_ctx, st))
                json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder)
                times.setdefault(spec.id, {}).setdefault(phase, []).append(
                    (time.perf_counter() - started) * 1000)
    return times


def run(db_path: Path | str | None = None, states: int = 20, seed: int = 11,
        rounds: int = 3) -> dict[str, Any]:
    db_path = Path(db_path or bench_database())
    cli = _cli_seconds(db_path, "CONF", None, rounds)
    cli_by = _cli_seconds(db_path, "CONF", "format", rounds)
    trends = _trends_ms(db_path, states, seed)
    every = {phase: [t for chart in trends.values() for t in chart[phase]]
             for phase in ("cold", "warm")}
    model = trends["trends-model"]
    return {
        "database": str(db_path),
        "cli_model_seconds": round(median(cli), 2),
        "cli_model_by_format_seconds": round(median(cli_by), 2),
        "cli_target_seconds": CLI_TARGET_SECONDS,
        "states": states,
        "trends_callback_p95_cold_ms": round(_pct(every["cold"], 95), 1),
        "trends_callback_p95_warm_ms": round(_pct(every["warm"], 95), 1),
        "trends_model_p50_cold_ms": round(_pct(model["cold"], 50), 1),
        "trends_model_p95_cold_ms": round(_pct(model["cold"], 95), 1),
        "trends_model_p95_warm_ms": round(_pct(model["warm"], 95), 1),
        "callback_target_ms": CALLBACK_TARGET_MS,
        "per_callback": {name: {f"p95_{phase}_ms": round(_pct(t, 95), 1)
                                for phase, t in phases.items()}
                         for name, phases in trends.items()},
    }


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None), indent=2))
