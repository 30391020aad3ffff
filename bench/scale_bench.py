"""Scale: what 10 million response rows cost, against the work itself (`--only scale`).

The dataset is the generator's, about 10,000,000 response rows in its three yearly files
(``bench.common.bench_dataset``, cached between runs; ``ATTUNE_SCALE_PARTICIPANTS`` sets the
size: about 2.7 rows per participant). Each figure comes from a fresh process:

* ingest: ``attune ingest`` of the whole folder into a new database against DuckDB's plain
  load of the same three responses files (``CREATE TABLE AS SELECT * FROM read_csv([...])``),
  interleaved for ``ATTUNE_SCALE_ROUNDS`` rounds (default 1), medians compared, the files
  read once before either is timed (so neither pays for the disk alone). Peak memory
  is the largest resident set of the ingest process and of the helper it starts (target at
  most 2.0x and 8 GiB).
* start-up: opening the ingested database as the dashboard does (``Database.snapshot``:
  attach read-only, read or build the summaries), what a visitor waits for after an ingest
  (target at most 15 s), with the build's memory limit (``warehouse.connection.
  build_memory_limit``; ``ATTUNE_BUILD_MEMORY`` sets it).
* a researcher's first aggregate over the documented ``paired_scores`` view, on a fresh
  read-only connection (target at most 2 s).
* the dashboard's filter-change callbacks (``bench.dashboard_bench``, ``ATTUNE_SCALE_STATES``
  random states, default 20): p95 in ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import BENCH_DIR, SCALE_PARTICIPANTS, bench_dataset, bench_env, median

ROUNDS = int(os.environ.get("ATTUNE_SCALE_ROUNDS", 1))
STATES = int(os.environ.get("ATTUNE_SCALE_STATES", 20))
TARGETS = {"ingest_ratio": 2.0, "peak_memory_gib": 8.0, "startup_seconds": 15.0,
           "paired_scores_seconds": 2.0}

BASELINE = """
import duckdb, json, resource, sys, time
start = time.perf_counter()
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE responses AS SELECT * FROM read_csv(?)", [sys.argv[2:]])
con.close()
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

ATTUNE = """
import json, resource, sys, time
from pathlib import Path
from etl.ingest import ingest
start = time.perf_counter()
report = ingest([Path(sys.argv[2])], Path(sys.argv[1]))
seconds = time.perf_counter() - start
peak = max(resource.getrusage(who).ru_maxrss
           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"seconds": seconds, "peak_kib": peak,
                  "rows": sum(f.rows_loaded for f in report.files if f.kind == "responses")}))
"""

STARTUP = """
import json, resource, sys, time
from warehouse.connection import Database, build_memory_limit
start = time.perf_counter()
database = Database(sys.argv[1])
database.snapshot()
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "build_memory_limit": build_memory_limit(database.memory_limit)}))
"""

# The aggregate of bench/dashboard_bench.py, a researcher's first question of the view.
PAIRED_SCORES = """
import duckdb, json, sys, time
con = duckdb.connect(":memory:")
con.execute("SET enable_progress_bar = false")
con.execute("ATTACH '" + sys.argv[1].replace("'", "''") + "' AS attune (READ_ONLY)")
sql = ("SELECT audience, format, count(*), avg(score_from), avg(score_to), "
       "stddev_samp(score_from), stddev_samp(score_to), stddev_samp(change) "
       "FROM attune.paired_scores WHERE scale_id = 'CONF' AND wave_from = 'pre' "
       "AND wave_to = 'post' GROUP BY ALL")
times = []
for _ in range(3):
    start = time.perf_counter()
    con.execute(sql).fetchall()
    times.append(time.perf_counter() - start)
print(json.dumps({"first_seconds": times[0], "median_seconds": sorted(times)[1]}))
"""


def _python(code: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=bench_env(), capture_output=True, text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(participants: int = SCALE_PARTICIPANTS) -> dict:
    dataset = bench_dataset(participants, yearly_files=True)
    responses = sorted(str(path) for path in (dataset / "responses").glob("*.csv"))
    work = BENCH_DIR / "scale"
    work.mkdir(parents=True, exist_ok=True)
    for path in responses:  # both sides read the files from the page cache, not the disk
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass
    baseline, attune, peaks = [], [], []
    database = work / "attune.duckdb"
    rows = 0
    for _ in range(ROUNDS):
        target = work / "baseline.duckdb"
        target.unlink(missing_ok=True)
        baseline.append(_python(BASELINE, str(target), *responses)["seconds"])
        target.unlink(missing_ok=True)
        for stale in work.glob("attune.duckdb*"):
            stale.unlink()
        figures = _python(ATTUNE, str(database), str(dataset))
        attune.append(figures["seconds"])
        peaks.append(figures["peak_kib"] / 1024**2)
        rows = figures["rows"]
    startup = _python(STARTUP, str(database))
    paired = _python(PAIRED_SCORES, str(database))
    from bench import dashboard_bench

    dashboard = dashboard_bench.run(database, states=STATES)
    ratio = median(attune) / median(baseline)
    figures = {
        "response_rows": rows,
        "responses_files": len(responses),
        "rounds": ROUNDS,
        "baseline_load_seconds": median(baseline),
        "ingest_seconds": median(attune),
        "ingest_ratio": ratio,
        "target_ingest_ratio": TARGETS["ingest_ratio"],
        "ingest_peak_memory_gib": max(peaks),
        "target_peak_memory_gib": TARGETS["peak_memory_gib"],
        "startup_seconds": startup["seconds"],
        "target_startup_seconds": TARGETS["startup_seconds"],
        "startup_peak_memory_gib": startup["peak_kib"] / 1024**2,
        "startup_build_memory_limit": startup["build_memory_limit"],
        "paired_scores_first_seconds": paired["first_seconds"],
        "paired_scores_median_seconds": paired["median_seconds"],
        "target_paired_scores_seconds": TARGETS["paired_scores_seconds"],
        "callback_states": STATES,
        "callback_p95_ms": dashboard["callback_p95_ms"],
        "published_callback_p95_ms": dashboard["published_callback_p95_ms"],
    }
    figures["meets_targets"] = {
        "ingest_ratio": ratio <= TARGETS["ingest_ratio"],
        "peak_memory": max(peaks) <= TARGETS["peak_memory_gib"],
        "startup": startup["seconds"] <= TARGETS["startup_seconds"],
        "paired_scores": paired["first_seconds"] <= TARGETS["paired_scores_seconds"],
    }
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
