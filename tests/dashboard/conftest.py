"""Fixtures for the dashboard tests: tiny explicit databases, the demo database, a live app."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import duckdb
import pytest

from etl.load import ensure_schema, refresh_views, store_instrument
from schemas.instrument import parse_instrument

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_tiny_db(path: Path, groups: dict[tuple[str, str], int], *, seed: int = 7,
                  followup: bool = False) -> Path:
    """A database with one scale (CONF, 1-5, 2 items, reliability 0.8) and, per
    (audience, program format) group, ``n`` participants answering pre and post.

    Each participant i scores pre = 2 + (i % 5) * 0.25 and post = pre + 0.5 + (i % 3) * 0.25,
    so every statistic is known in closed form.
    """
    con = duckdb.connect(str(path))
    ensure_schema(con)
    instrument = parse_instrument({"scales": [{
        "id": "CONF", "name": "Confidence", "domain": "Confidence", "level": 2,
        "items": ["CONF_01", "CONF_02"], "min": 1, "max": 5, "reverse": [],
        "higher_is_better": True, "min_answered": 0.8, "reliability": 0.8}]}, source="test")
    store_instrument(con, instrument)
    formats = sorted({f for _, f in groups})
    for k, f in enumerate(formats):
        con.execute("INSERT INTO programs VALUES (?, ?, ?, 'online', 10)",
                    [f"P{k}", f"Programme {f}", f])
        con.execute("INSERT INTO cohorts VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    [f"C{k}", f"P{k}", "SP1" if k % 2 == 0 else "SP2",
                     dt.date(2024, 1 + k, 1), dt.date(2024, 1 + k, 20), k % 2 == 0])
    rows = []
    waves = [("pre", 0), ("post", 1)] + ([("followup_3m", 2)] if followup else [])
    for (audience, f), n in groups.items():
        k = formats.index(f)
        for i in range(n):
            pid = f"{audience}-{f}-{i}"
            pre = 2 + (i % 5) * 0.25
            post = pre + 0.5 + (i % 3) * 0.25
            values = {"pre": pre, "post": post, "followup_3m": post}
            for wave, pos in waves:
                score = values[wave]
                day = dt.date(2024, 1 + k, 1) + dt.timedelta(days=30 * pos)
                rows.append((pid, f"C{k}", wave, day, audience, 0.0, False, False, False,
                             "run1", "tiny.csv", 2 + len(rows), score, score, score, 2))
    con.executemany(
        "INSERT INTO responses (participant_id, cohort_id, wave, completed_at, audience, "
        "items_missing_share, flag_straightlining, flag_item_missingness, flag_speeding, run_id, "
        "source, source_row, CONF_01, CONF_02, score_CONF, answered_CONF) VALUES ("
        + ", ".join("?" * 16) + ")", rows)
    con.execute("INSERT INTO ingest_runs (run_id, source, kind, sha256, input_format, "
                "mapping_sha256, rows_read, rows_loaded, rows_quarantined, rows_replaced, "
                "status, message, started_at, finished_at) VALUES ('run1', 'tiny.csv', "
                "'responses', NULL, 'canonical', NULL, ?, ?, 1, 0, 'partial', NULL, now(), now())",
                [len(rows) + 1, len(rows)])
    con.execute("INSERT INTO quarantine VALUES ('run1', 'tiny.csv', 99, ['wave_is_allowed'], "
                "'wave must be one of pre, post; got ''mid''', '{\"wave\": \"mid\"}', now())")
    refresh_views(con)
    con.execute("CHECKPOINT")
    con.close()
    return path


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    """hr/workshop: 20 pairs; educator/workshop: 7 pairs (suppressed at 11); hr/degree: 12."""
    return build_tiny_db(tmp_path / "tiny.duckdb", {
        ("hr", "workshop"): 20, ("educator", "workshop"): 7, ("hr", "degree"): 12,
    })


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo dataset (data/demo) ingested once per test session."""
    from etl.ingest import ingest

    folder = tmp_path_factory.mktemp("demo")
    os.environ.setdefault("ATTUNE_KEY_FILE", str(folder / "key"))
    path = folder / "demo.duckdb"
    ingest([PROJECT / "data" / "demo"], path)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class LiveServer:
    def __init__(self, app):
        import logging

        from werkzeug.serving import make_server

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


@pytest.fixture(scope="session")
def live_app(demo_db):
    from dashboard.app import create_app

    app = create_app(demo_db, login_required=False)
    app.attune.db.snapshot()  # build the aggregates before the first page load
    with LiveServer(app) as server:
        yield server
