"""Live while data arrives: `attune ingest` run (as a separate process) while the dashboard
serves requests neither fails nor makes the dashboard fail, and the new data shows up within a
few seconds after the ingest returns.

The design under test: ingest writes a private copy of the database and os.replace()s it over
the file; the query layer notices the new (inode, mtime) on the next request and reopens."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.dashboard.conftest import PROJECT, LiveServer

ATTUNE = [sys.executable, "-m", "attune.cli"]
PEOPLE = re.compile(r'"([\d,]+) people in [\d,]+ cohorts')


def _ingest(paths: list[Path], db: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*ATTUNE, "ingest", *map(str, paths), "--db", str(db)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=PROJECT)


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


def test_ingest_while_serving(tmp_path):
    from dashboard.app import create_app

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(PROJECT / "data" / "demo", first)
    second.mkdir()
    shutil.move(first / "responses" / "responses_2025.csv", second / "responses_2025.csv")
    db = tmp_path / "live.duckdb"
    env = {**os.environ, "ATTUNE_KEY_FILE": str(tmp_path / "key"), "ATTUNE_DB": str(db)}
    done = _ingest([first], db, env)
    assert done.returncode in (0, 1), done.stderr  # 1: some demo rows deliberately set aside

    app = create_app(db, login_required=False)
    app.attune.db.snapshot()
    with LiveServer(app) as server:
        request = _headline_request(server.url)
        results: list[tuple[float, int | str]] = []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        text = response.read().decode()
                    match = PEOPLE.search(text)
                    results.append((time.monotonic(),
                                    int(match.group(1).replace(",", "")) if match
                                    else f"no count in {text[:200]}"))
                except Exception as error:  # noqa: BLE001 - every failure is recorded
                    results.append((time.monotonic(), f"{type(error).__name__}: {error}"))
                time.sleep(0.05)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = [n for _, n in results if isinstance(n, int)]
        assert before, results[:3]
        n_before = before[-1]
        loaded = _ingest([second], db, env)
        ingest_returned = time.monotonic()
        assert loaded.returncode in (0, 1), loaded.stderr
        deadline = ingest_returned + 5.0
        while time.monotonic() < deadline:
            after = [n for at, n in results if at > ingest_returned and isinstance(n, int)]
            if after and after[-1] > n_before:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # a few more reads on the new file
        stop.set()
        for t in threads:
            t.join(timeout=60)

    failures = [n for _, n in results if not isinstance(n, int)]
    assert failures == [], failures[:5]
    during = [n for at, n in results if at <= ingest_returned]
    assert len(during) >= 10 and set(during) <= {n_before, *[n for n in during if n > n_before]}
    seen_new = [(at - ingest_returned, n) for at, n in results
                if at > ingest_returned and n > n_before]
    assert seen_new, f"new data not seen within 5 s (n stayed {n_before})"
    assert seen_new[0][0] < 5.0
    assert [n for at, n in results if at > ingest_returned + seen_new[0][0]][-1] > n_before
