"""Ingest speed: `attune ingest` of a ~1M-row responses file against DuckDB's plain load.

Baseline: `CREATE TABLE AS SELECT * FROM read_csv(...)` of the same file into a new DuckDB
file. Attune: full reading, validation, pseudonymisation, scoring and loading of the file
into a database that already holds the instrument, programmes and cohorts. Both run in a
fresh process, interleaved, and the median of the rounds is reported. Target: at most 2.0x,
peak memory under 4 GiB.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from bench.common import BENCH_DIR, bench_dataset, bench_env, median

BASELINE = """
import duckdb, sys, time
start = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE responses AS SELECT * FROM read_csv(?)", [sys.argv[1]])
con.close()
print(time.perf_counter() - start)
"""

ATTUNE = """
import resource, sys, time, json
from pathlib import Path
from etl.ingest import ingest
start = time.perf_counter()
report = ingest([Path(sys.argv[1])], Path(sys.argv[2]))
seconds = time.perf_counter() - start
rows = sum(file.rows_loaded for file in report.files)
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _python(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=bench_env(), capture_output=True, text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def run(rounds: int = 5) -> dict:
    dataset = bench_dataset()
    responses = dataset / "responses.csv"
    work = BENCH_DIR / "ingest"
    work.mkdir(parents=True, exist_ok=True)
    metadata_db = work / "metadata.duckdb"
    metadata_db.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "attune.cli", "ingest", str(dataset / "instrument.yaml"),
         str(dataset / "programs.csv"), str(dataset / "cohorts.csv"), "--db", str(metadata_db)],
        env=bench_env(), check=True, stdout=subprocess.DEVNULL,
    )
    baseline, attune, peaks = [], [], []
    rows = 0
    for _ in range(rounds):
        target = work / "baseline.duckdb"
        target.unlink(missing_ok=True)
        baseline.append(float(_python(BASELINE, str(responses), str(target))))
        target = work / "attune.duckdb"
        shutil.copyfile(metadata_db, target)
        figures = json.loads(_python(ATTUNE, str(responses), str(target)))
        attune.append(figures["seconds"])
        peaks.append(figures["peak_mib"])
        rows = figures["rows"]
    return {
        "rows": rows,
        "rounds": rounds,
        "ratio_per_round": [round(a / b, 2) for a, b in zip(attune, baseline, strict=True)],
        "baseline_seconds": median(baseline),
        "attune_seconds": median(attune),
        "ratio": median(attune) / median(baseline),
        "target_ratio": 2.0,
        "peak_memory_mib": max(peaks),
        "target_peak_memory_mib": 4096,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
