"""Live while data arrives: `attune ingest` run (as a separate process) while the dashboard
serves requests neither fails nor makes the dashboard fail, and the new data shows up within a
few seconds after the ingest returns.

The design under test: ingest writes a private copy of the database and os.replace()s it over
the file; the query layer notices the new (inode, mtime) on the next request and reopens."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import urllib.request
from pathlib import Path

from dashboard.app import create_app
from schemas.settings import DEMO_DATA
from tests.support import attune, wait_until

PEOPLE = re.compile(r'"([\d,]+) people in [\d,]+ cohorts')
NEW_DATA_WITHIN = 5.0  # seconds after the ingest returns
READS_BEFORE = 10  # successful reads before the ingest starts
READS_AFTER = 5  # further reads once the new data is seen


def _ingest(folder: Path, db: Path) -> dict:
    """Run `attune ingest FOLDER --db DB --json`; the summary, once it has loaded rows."""
    result = attune("ingest", str(folder), "--db", str(db), "--json")
    assert result.returncode in (0, 1), result.stderr  # 1: some demo rows deliberately set aside
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == result.returncode and summary["totals"]["rows_loaded"] > 0
    return summary


def _headline_request(url: str) -> urllib.request.Request:
    deps = json.load(urllib.request.urlopen(url + "/_dash-dependencies", timeout=30))
    dep = next(d for d in deps if "overview-headline" in d["output"]
               and d["inputs"] == [{"id": "state", "property": "data"}])
    outputs = []
    for part in dep["output"].strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident), "property": prop})
    state = {"audience": [], "format": [], "delivery": [], "sponsor": [], "program": [],
             "start": None, "end": None, "supervision": "any", "scale": "CONF", "wf": "pre",
             "wt": "post", "by": "all"}
    body = {"output": dep["output"], "outputs": outputs,
            "inputs": [{"id": "state", "property": "data", "value": state}],
            "changedPropIds": ["state.data"]}
    return urllib.request.Request(url + "/_dash-update-component",
                                  data=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})


def test_ingest_while_serving(tmp_path, live_server):
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(DEMO_DATA, first)
    second.mkdir()
    shutil.move(first / "responses" / "responses_2025.csv", second / "responses_2025.csv")
    db = tmp_path / "live.duckdb"
    _ingest(first, db)

    app = create_app(db, login_required=False)
    app.attune.db.snapshot()
    server = live_server(app)
    request = _headline_request(server.url)
    # (when asked, when answered, people counted or the failure)
    results: list[tuple[float, float, int | str]] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    text = response.read().decode()
                match = PEOPLE.search(text)
                results.append((asked, time.monotonic(),
                                int(match.group(1).replace(",", "")) if match
                                else f"no count in {text[:200]}"))
            except Exception as error:  # noqa: BLE001 - every failure is recorded
                results.append((asked, time.monotonic(), f"{type(error).__name__}: {error}"))
            stop.wait(0.05)  # pace the requests; ends at once when told to stop

    def counts(asked_after: float = 0.0) -> list[int]:
        """People counted by the reads asked after a moment, in the order they were answered."""
        return [n for asked, _, n in list(results) if asked > asked_after and isinstance(n, int)]

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(counts()) >= READS_BEFORE, timeout=60,
                   message=f"{READS_BEFORE} reads before the ingest ({results[:3]})")
        n_before = counts()[-1]
        ingest_started = time.monotonic()
        _ingest(second, db)
        ingest_returned = time.monotonic()
        first_new = wait_until(
            lambda: next((answered for _, answered, n in list(results)
                          if answered > ingest_returned and isinstance(n, int) and n > n_before),
                         None),
            timeout=NEW_DATA_WITHIN, interval=0.02,
            message=f"new data seen (n stayed {n_before})")
        wait_until(lambda: len(counts(asked_after=first_new)) >= READS_AFTER, timeout=60,
                   message="more reads on the new file")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    failures = [n for _, _, n in results if not isinstance(n, int)]
    assert failures == [], failures[:5]
    during = [n for _, answered, n in results if answered <= ingest_returned]
    assert len(during) >= READS_BEFORE and all(n >= n_before for n in during)
    assert any(ingest_started < answered <= ingest_returned for _, answered, _ in results), \
        "no request was answered while the ingest ran"
    assert first_new - ingest_returned < NEW_DATA_WITHIN
    # once a read has seen the new file, every read asked after it sees it too
    assert all(n > n_before for n in counts(asked_after=first_new)), "the new data went away"
