"""Helpers the test modules share; no tests live here, and no test module is imported.

* ``attune(...)`` runs the ``attune`` command in a fresh process, as a user or a script would.
* ``build_tiny_db(...)`` writes a database whose every statistic is known in closed form.
* ``LiveServer`` serves a Dash app from a thread on a free local port.
* ``page_headings(role)`` is the app's own list of the pages a role sees, with their headings.
* ``wait_until(...)`` polls a condition until it holds or a deadline passes (no fixed sleeps).
* ``sign_in(...)`` / ``signed_in(...)`` sign in through the login form with a Flask test
  client; ``sign_in_over_http(...)`` does the same with a requests session against a server.
* ``chart_text_problems(...)`` finds chart texts that overlap or are cut by the chart's edge
  (boxes measured by the JavaScript ``SVG_TEXT_BOXES``).

The fixtures built on them (``demo_db``, ``tiny_db_factory``, ``live_server``, ...) are in
``tests/conftest.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
from werkzeug.serving import make_server

from etl.load import ensure_schema, refresh_views, store_instrument
from schemas.instrument import parse_instrument

PROJECT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def attune(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``attune ARGS...`` in a new process from the project folder and capture its output.

    A wide terminal (``COLUMNS=200``) keeps rich from wrapping the lines tests look for."""
    return subprocess.run(
        [sys.executable, "-m", "attune.cli", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "200", **(env or {})},
    )


def wait_until(condition: Callable[[], T], *, timeout: float, interval: float = 0.05,
               message: str = "condition") -> T:
    """Call ``condition`` until it returns something truthy and return that; fail with
    ``message`` once ``timeout`` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message}: not reached within {timeout} s")
        time.sleep(interval)


def differences(got, want, *, rel: float = 1e-12, path: str = "") -> list[str]:
    """Where two JSON-like results differ, floats compared to ``rel`` (relative, and
    absolute near zero): DuckDB sums doubles in parallel, so the same statistic from two
    queries may differ in its last digits."""
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        close = math.isclose(got, want, rel_tol=rel, abs_tol=rel)
        return [] if close else [f"{path or '.'}: {got!r} != {want!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return [f"{path or '.'}: keys {sorted(got)} != {sorted(want)}"]
        return [d for key in want for d in differences(got[key], want[key], rel=rel,
                                                       path=f"{path}.{key}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in differences(g, w, rel=rel, path=f"{path}[{i}]")]
    return [] if got == want else [f"{path or '.'}: {got!r} != {want!r}"]


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')  # the login form's hidden field


def sign_in(client, name: str, password: str):
    """Sign in as a browser does, with a Flask test ``client``: the CSRF token from
    ``GET /login``, then ``POST /login`` (``next`` "/"); the POST's response (302 on success)."""
    token = CSRF_FIELD.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token, "next": "/"})


def signed_in(app, name: str, password: str):
    """A new test client of the Dash ``app``, signed in as ``name`` (the sign-in must succeed)."""
    client = app.server.test_client()
    response = sign_in(client, name, password)
    assert response.status_code == 302, (name, response.get_data(as_text=True))
    return client


def sign_in_over_http(session, base: str, name: str, password: str):
    """``sign_in`` against a real server at ``base`` with a ``requests`` session; the POST's
    response, its redirect not followed."""
    token = CSRF_FIELD.search(session.get(base + "/login", timeout=30).text).group(1)
    return session.post(base + "/login", data={
        "username": name, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False, timeout=60)


TINY_INSTRUMENT = {"scales": [{
    "id": "CONF", "name": "Confidence", "domain": "Confidence", "level": 2,
    "items": ["CONF_01", "CONF_02"], "min": 1, "max": 5, "reverse": [],
    "higher_is_better": True, "min_answered": 0.8, "reliability": 0.8}]}
TINY_RESPONSE_COLUMNS = (
    "participant_id, cohort_id, wave, completed_at, audience, items_missing_share, "
    "flag_straightlining, flag_item_missingness, flag_speeding, run_id, source, source_row, "
    "CONF_01, CONF_02, score_CONF, answered_CONF")
INSERT_PROGRAM = "INSERT INTO programs VALUES (?, ?, ?, 'online', 10)"
INSERT_COHORT = ("INSERT INTO cohorts (cohort_id, program_id, sponsor_id, start_date, end_date, "
                 "supervision) VALUES (?, ?, ?, ?, ?, ?)")
INSERT_RESPONSE = (f"INSERT INTO responses ({TINY_RESPONSE_COLUMNS}) VALUES ("
                   + ", ".join("?" * 16) + ")")
INSERT_RUN = (
    "INSERT INTO ingest_runs (run_id, source, kind, sha256, input_format, mapping_sha256, "
    "rows_read, rows_loaded, rows_quarantined, rows_replaced, status, message, started_at, "
    "finished_at) VALUES ('run1', 'tiny.csv', 'responses', NULL, 'canonical', NULL, ?, ?, 1, "
    "0, 'partial', NULL, now(), now())")
INSERT_QUARANTINED_ROW = (
    "INSERT INTO quarantine VALUES ('run1', 'tiny.csv', 99, ['wave_is_allowed'], "
    "'wave must be one of pre, post; got ''mid''', '{\"wave\": \"mid\"}', now())")


def build_tiny_db(path: Path, groups: dict[tuple[str, str], int], *,
                  followup: bool = False,
                  shift: dict[tuple[str, str], tuple[float, float]] | None = None) -> Path:
    """A database with one scale (CONF, 1-5, 2 items, reliability 0.8) and, per
    (audience, program format) group, ``n`` participants answering pre and post.

    Formats sorted give programmes P0, P1, ... in cohorts C0, C1, ...; even-numbered cohorts
    belong to sponsor SP1 and have supervision, odd ones to SP2. Each participant i scores
    pre = 2 + (i % 5) * 0.25 and post = pre + 0.5 + (i % 3) * 0.25, so every statistic is
    known in closed form. ``shift`` moves a group's scores to pre + offset and its change
    times gain (``{group: (offset, gain)}``), so that two groups' means lie apart. One
    quarantined row (wave 'mid') comes with the run.
    """
    con = duckdb.connect(str(path))
    ensure_schema(con)
    store_instrument(con, parse_instrument(TINY_INSTRUMENT, source="test"))
    formats = sorted({f for _, f in groups})
    for k, f in enumerate(formats):
        con.execute(INSERT_PROGRAM, [f"P{k}", f"Programme {f}", f])
        con.execute(INSERT_COHORT, [f"C{k}", f"P{k}", "SP1" if k % 2 == 0 else "SP2",
                                    dt.date(2024, 1 + k, 1), dt.date(2024, 1 + k, 20),
                                    k % 2 == 0])
    rows = []
    waves = [("pre", 0), ("post", 1)] + ([("followup_3m", 2)] if followup else [])
    for (audience, f), n in groups.items():
        k = formats.index(f)
        offset, gain = (shift or {}).get((audience, f), (0.0, 1.0))
        for i in range(n):
            pid = f"{audience}-{f}-{i}"
            pre = 2 + offset + (i % 5) * 0.25
            post = pre + gain * (0.5 + (i % 3) * 0.25)
            values = {"pre": pre, "post": post, "followup_3m": post}
            for wave, pos in waves:
                score = values[wave]
                day = dt.date(2024, 1 + k, 1) + dt.timedelta(days=30 * pos)
                rows.append((pid, f"C{k}", wave, day, audience, 0.0, False, False, False,
                             "run1", "tiny.csv", 2 + len(rows), score, score, score, 2))
    con.executemany(INSERT_RESPONSE, rows)
    con.execute(INSERT_RUN, [len(rows) + 1, len(rows)])
    con.execute(INSERT_QUARANTINED_ROW)
    refresh_views(con)
    con.execute("CHECKPOINT")
    con.close()
    return path


def finish_world(con: duckdb.DuckDBPyConnection, rows: list[tuple], path: Path) -> Path:
    """Store a generated world's response rows (``INSERT_RESPONSE`` tuples) as one ingest run
    that loaded them all, make the views, and close the file: the end of every test-world
    builder."""
    con.executemany(INSERT_RESPONSE, rows)
    con.execute(INSERT_RUN, [len(rows), len(rows)])
    refresh_views(con)
    con.execute("CHECKPOINT")
    con.close()
    return path



# metafor's dat.bcg as an evidence.csv (tests of `attune pool`): the columns written, and how
# each trial's allocation is recorded as a design.
STATS_FIXTURES = PROJECT / "tests" / "stats" / "fixtures"
EVIDENCE_HEADER = ["study_id", "citation", "year", "design", "outcome_domain", "n", "yi", "vi"]
ALLOCATION_AS_DESIGN = {"random": "randomised", "alternate": "comparison_group",
                        "systematic": "single_group_pre_post"}


def write_bcg_library(path: Path, extra_rows: tuple[list, ...] = ()) -> Path:
    """dat.bcg as an evidence.csv: the log risk ratio and its variance per trial, the trial's
    year, its allocation as the design; then ``extra_rows``."""
    trials = list(csv.DictReader((STATS_FIXTURES / "dat_bcg.csv").open()))
    moderators = {row["trial"]: row for row in
                  csv.DictReader((STATS_FIXTURES / "dat_bcg_moderators.csv").open())}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVIDENCE_HEADER)
        for row in trials:
            tpos, tneg, cpos, cneg = (float(row[key]) for key in ("tpos", "tneg", "cpos", "cneg"))
            n1, n2 = tpos + tneg, cpos + cneg
            trial = moderators[row["trial"]]
            writer.writerow([
                row["trial"], f"BCG trial {row['trial']} (metafor dat.bcg)", trial["year"],
                ALLOCATION_AS_DESIGN[trial["alloc"]], "Tuberculosis", int(n1 + n2),
                math.log((tpos / n1) / (cpos / n2)), 1 / tpos - 1 / n1 + 1 / cpos - 1 / n2,
            ])
        writer.writerows(extra_rows)
    return path


def page_headings(role: str, *, charts_only: bool = False) -> dict[str, str]:
    """The app's pages (``dashboard.pages.PAGES``, in navigation order) that ``role`` may see,
    as path -> heading (a page's NAME: its h1 and its navigation link); with ``charts_only``
    only those with charts. Taken from the app so that a new page is tested too."""
    from dashboard.access import page_roles  # here: only the tests of pages load the app
    from dashboard.pages import PAGES

    return {page.PATH: page.NAME for page in PAGES
            if role in page_roles(page) and (page.CHARTS or not charts_only)}


class LiveServer:
    """A Dash app served from a daemon thread at ``self.url`` (a free port on 127.0.0.1),
    as a browser or a second process reaches it; a context manager that stops it on exit."""

    def __init__(self, app):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = app
        self.server = make_server("127.0.0.1", 0, app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)


# A JavaScript function: the boxes of the shown, non-empty SVG texts under ``root``, each as
# getBoundingClientRect gives it (left, right, top, bottom) and, for comparing texts turned by
# the same angle (tilted axis labels), as a box in a frame turned by that angle (``frame``),
# where the text's own box is upright: two tilted labels side by side overlap in their screen
# boxes without touching.
SVG_TEXT_BOXES = """(root) => Array.from(root.querySelectorAll("text"))
  .filter((t) => t.textContent.trim() && getComputedStyle(t).display !== "none"
          && getComputedStyle(t).visibility !== "hidden"
          && Number(getComputedStyle(t).opacity) > 0)
  .map((t) => {
    const b = t.getBoundingClientRect();
    const m = t.getScreenCTM();
    const angle = Math.round(Math.atan2(m.b, m.a) * 180 / Math.PI);
    const own = t.getBBox();
    const turn = -angle * Math.PI / 180;
    const xs = [], ys = [];
    for (const [x, y] of [[own.x, own.y], [own.x + own.width, own.y],
                          [own.x, own.y + own.height], [own.x + own.width, own.y + own.height]]) {
      const sx = m.a * x + m.c * y + m.e, sy = m.b * x + m.d * y + m.f;
      xs.push(sx * Math.cos(turn) - sy * Math.sin(turn));
      ys.push(sx * Math.sin(turn) + sy * Math.cos(turn));
    }
    return {text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom,
            angle: angle, frame: {left: Math.min(...xs), right: Math.max(...xs),
                                  top: Math.min(...ys), bottom: Math.max(...ys)}};
  })
  .filter((b) => b.right > b.left && b.bottom > b.top)"""


def chart_text_problems(charts: list[dict], slack_px: float = 1) -> list[str]:
    """Each chart text cut by its chart's edge, and each pair of a chart's texts that overlap,
    from boxes measured in a browser: ``charts`` is ``[{"card", "box", "texts"}]``, where
    ``box`` is the chart's (``left, right, top, bottom``) and ``texts`` its texts' boxes as
    ``SVG_TEXT_BOXES`` gives them. ``slack_px`` allows for the rounding of the boxes."""

    def apart(a: dict, b: dict) -> bool:
        return (min(a["right"], b["right"]) - max(a["left"], b["left"]) <= slack_px
                or min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) <= slack_px)

    def overlap(a: dict, b: dict) -> bool:
        if a["angle"] == b["angle"]:  # side by side in their own frame
            return not apart(a["frame"], b["frame"])
        return not apart(a, b)

    def outside(text: dict, box: dict) -> bool:
        return (text["left"] < box["left"] - slack_px or text["right"] > box["right"] + slack_px
                or text["top"] < box["top"] - slack_px
                or text["bottom"] > box["bottom"] + slack_px)

    problems = []
    for chart in charts:
        texts = chart["texts"]
        problems += [f"{chart['card']}: {t['text']!r} is cut by the chart's edge"
                     for t in texts if outside(t, chart["box"])]
        problems += [f"{chart['card']}: {a['text']!r} overlaps {b['text']!r}"
                     for i, a in enumerate(texts) for b in texts[i + 1:] if overlap(a, b)]
    return problems
