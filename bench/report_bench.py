"""`attune report` for one sponsor on the 1M-row database, HTML and PDF, as a scheduled job
runs it (a fresh process: start-up, every section's figures, the PDF printed by Chromium).

Baseline, in the same run: `attune summarize --sponsor` for the same sponsor in a fresh
process (the start-up and one published summary every report also needs). Target: the
report in at most 60 s, PDF included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import PROJECT, bench_env, median, timed
from warehouse.catalog import filter_options

TARGET_SECONDS = 60


def _attune(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "attune.cli", *args], cwd=PROJECT, env=bench_env(),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(database: Path, rounds: int = 1) -> dict:
    sponsor = filter_options(database)["sponsors"][0]
    out = Path(tempfile.mkdtemp(prefix="attune-report-bench-"))
    baseline = timed(lambda: _attune("summarize", "--db", str(database), "--sponsor", sponsor,
                                     "--json"), rounds)
    report = timed(lambda: _attune("report", "--db", str(database), "--sponsor", sponsor,
                                   "--out", str(out), "--format", "html,pdf"), rounds)
    files = sorted(p.name for p in out.iterdir())
    return {
        "sponsor": sponsor,
        "files": files,
        "summarize_seconds": median(baseline),
        "report_seconds": median(report),
        "report_vs_summarize_ratio": median(report) / median(baseline),
        "target_report_seconds": TARGET_SECONDS,
    }


if __name__ == "__main__":
    from bench.common import bench_database

    print(json.dumps(run(bench_database()), indent=2))
