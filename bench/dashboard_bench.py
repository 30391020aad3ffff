"""Dashboard benchmark: server-side time of each filter-change callback, and first page load.

``run(db_path) -> dict`` (wired into ``make bench`` elsewhere). For >= 50 random filter states
it times every chart callback of every page the way Dash runs it (build the chart, render the
card, JSON-encode the response) with a cold result cache, records the DuckDB queries each
callback issued and times those queries again on their own ("bare"). Figures are in ms.

The callbacks of one page share a result cache, so the first callback of a filter change
issues the queries the others then reuse: a single callback's ratio to "its" queries is
meaningless (often 0 ms of queries). The ratio is therefore taken per filter change of a page:
the time of all the callbacks the change triggers over the bare time of all the queries they
issued. Start-up (building the in-memory summaries, done once per database file in the
background when the server starts) is reported apart from the first page load a visitor sees.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import plotly

from dashboard import state as url_state
from warehouse.connection import Database


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _random_state(rng: random.Random, options: dict[str, Any]) -> dict[str, Any]:
    st = url_state.defaults(options)

    def some(values, p=0.35, k=2):
        return sorted(rng.sample(values, rng.randint(1, min(k, len(values))))) \
            if values and rng.random() < p else []

    st["audience"] = some(options["audiences"])
    st["format"] = some(options["formats"])
    st["delivery"] = some(options["deliveries"], 0.2, 1)
    st["sponsor"] = some(options["sponsors"], 0.25)
    st["program"] = some(list(options["programs"]), 0.15)
    if rng.random() < 0.3:
        st["start"] = rng.choice(["2023-04-01", "2023-10-01", "2024-04-01"])
    st["supervision"] = rng.choice(["any", "any", "yes", "no"])
    with_pre = [s["scale_id"] for s in options["scales"] if s["measured_before"]]
    st["scale"] = rng.choice(with_pre)
    st["by"] = rng.choice(["all", "all", "audience", "format"])
    return st


class _Recorder:
    """Wraps Database.fetch/fetch_dicts to record the SQL a callback issues."""

    def __init__(self, db: Database):
        self.db, self.calls = db, []
        self._fetch, self._dicts = db.fetch, db.fetch_dicts

        def fetch(sql, params=(), snap=None):
            self.calls.append((sql, list(params)))
            return self._fetch(sql, params, snap)

        def fetch_dicts(sql, params=(), snap=None):
            self.calls.append((sql, list(params)))
            return self._dicts(sql, params, snap)

        db.fetch, db.fetch_dicts = fetch, fetch_dicts

    def bare_ms(self) -> float:
        cur = self.db.cursor()
        started = time.perf_counter()
        for sql, params in self.calls:
            cur.execute(sql, params).fetchall()
        return (time.perf_counter() - started) * 1000


def run(db_path: Path | str, states: int = 50, seed: int = 11) -> dict[str, Any]:
    from dashboard.app import create_app
    from dashboard.components import render
    from dashboard.pages import PAGES, safe_build

    db_path = Path(db_path)
    started = time.perf_counter()
    app = create_app(db_path, login_required=False)
    app_ctx = app.attune
    snap = app_ctx.db.snapshot()
    startup_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    client = app.server.test_client()
    for url in ("/", "/_dash-layout", "/_dash-dependencies"):
        assert client.get(url).status_code == 200
    first_state = url_state.parse("", app_ctx.options())
    first_load_callbacks = 0.0
    for page in PAGES[:1]:
        for spec in page.CHARTS:
            t0 = time.perf_counter()
            json.dumps(render(spec.id, safe_build(page, spec, app_ctx, first_state)),
                       cls=plotly.utils.PlotlyJSONEncoder)
            first_load_callbacks += time.perf_counter() - t0
    first_page_load_ms = (time.perf_counter() - started) * 1000

    rng = random.Random(seed)
    options = app_ctx.options()
    per_callback: dict[str, list[float]] = {}
    ratios: list[float] = []
    page_change_ms: list[float] = []
    bare_all: list[float] = []
    all_times: list[float] = []
    filtered_pages = [p for p in PAGES if p.KEY not in ("quality", "methods")]
    for _ in range(states):
        st = _random_state(rng, options)
        app_ctx.db.clear_cache()
        for page in filtered_pages:
            page_ms = page_bare_ms = 0.0
            for spec in page.CHARTS:
                name = spec.id
                rec = _Recorder(app_ctx.db)
                try:
                    t0 = time.perf_counter()
                    out = render(name, safe_build(page, spec, app_ctx, st))
                    json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder)
                    elapsed = (time.perf_counter() - t0) * 1000
                finally:
                    app_ctx.db.fetch, app_ctx.db.fetch_dicts = rec._fetch, rec._dicts
                bare = rec.bare_ms()
                per_callback.setdefault(name, []).append(elapsed)
                all_times.append(elapsed)
                bare_all.append(bare)
                page_ms += elapsed
                page_bare_ms += bare
            page_change_ms.append(page_ms)
            if page_bare_ms > 0:
                ratios.append(page_ms / page_bare_ms)

    published = _published_callback_ms(db_path, states, seed, options["sponsors"][0])
    # The same grouping straight from the public paired_scores view, for comparison.
    cur = app_ctx.db.cursor()
    t0 = time.perf_counter()
    cur.execute(
        "SELECT audience, format, count(*), avg(score_from), avg(score_to), "
        "stddev_samp(score_from), stddev_samp(score_to), stddev_samp(change) "
        "FROM attune.paired_scores WHERE scale_id = 'CONF' AND wave_from = 'pre' "
        "AND wave_to = 'post' GROUP BY ALL"
    ).fetchall()
    view_ms = (time.perf_counter() - t0) * 1000
    responses = cur.execute("SELECT count(*) FROM attune.responses").fetchall()[0][0]
    return {
        "database": str(db_path),
        "response_rows": responses,
        "states": states,
        "startup_ms": round(startup_ms, 1),
        "aggregate_build_ms": round(snap.build_seconds * 1000, 1),
        "first_page_load_ms": round(first_page_load_ms, 1),
        "first_page_callbacks_ms": round(first_load_callbacks * 1000, 1),
        "callback_p50_ms": round(_pct(all_times, 50), 1),
        "callback_p95_ms": round(_pct(all_times, 95), 1),
        "callback_max_ms": round(max(all_times), 1),
        # A sponsor's callbacks: published figures (disclosure control) for the same states,
        # as a ratio to the exact figures' callbacks of this run.
        "published_callback_p95_ms": round(_pct(published, 95), 1),
        "published_to_exact_callback_p95": round(_pct(published, 95) / _pct(all_times, 95), 2),
        "page_filter_change_p50_ms": round(_pct(page_change_ms, 50), 1),
        "page_filter_change_p95_ms": round(_pct(page_change_ms, 95), 1),
        "ratio_to_bare_queries_p50": round(_pct(ratios, 50), 2),
        "ratio_to_bare_queries_p95": round(_pct(ratios, 95), 2),
        "ratio_to_bare_queries_total": round(sum(all_times) / sum(bare_all), 2),
        "per_callback": {
            name: {"p50_ms": round(_pct(t, 50), 1), "p95_ms": round(_pct(t, 95), 1)}
            for name, t in per_callback.items()
        },
        "paired_scores_view_query_ms": round(view_ms, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "mean_callback_ms": round(statistics.fmean(all_times), 1),
    }


def _published_callback_ms(db_path: Path, states: int, seed: int, sponsor: str) -> list[float]:
    """The chart callbacks of the same random states as a sponsor sees them (scoped to
    ``sponsor``, with disclosure control), cold cache per state, in ms."""
    from dashboard.app import create_app
    from dashboard.components import render
    from dashboard.pages import PAGES, safe_build

    app = create_app(db_path, login_required=False, local_role="sponsor",
                     local_sponsor=sponsor)
    app_ctx = app.attune
    app_ctx.db.snapshot()
    rng = random.Random(seed)
    pages = [p for p in PAGES if p.KEY not in ("quality", "methods", "console")]
    times: list[float] = []
    with app.server.test_request_context("/"):
        app.server.preprocess_request()  # the request guard sets the (local) user
        for _ in range(states):
            st = _random_state(rng, app_ctx.raw_options())
            app_ctx.db.clear_cache()
            for page in pages:
                for spec in page.CHARTS:
                    t0 = time.perf_counter()
                    out = render(spec.id, safe_build(page, spec, app_ctx, st))
                    json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder)
                    times.append((time.perf_counter() - t0) * 1000)
    return times


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(sys.argv[1]), indent=2))
