"""`make bench`: every benchmark, each as a ratio against a baseline of the same run."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import NamedTuple

from rich.console import Console
from rich.table import Table


class Bench(NamedTuple):
    """One benchmark: its name (``--only``), what it measures, and its runner
    (``module:function``), which is given the 1M-row bench database when ``on_database``."""

    name: str
    says: str
    runner: str
    on_database: bool = False


BENCHES = (
    Bench("ingest", "1M-row responses file vs DuckDB CREATE TABLE AS read_csv",
          "bench.ingest_bench:run"),
    Bench("summarize", "--by audience,format vs the bare DuckDB aggregate",
          "bench.summarize_bench:run"),
    Bench("dashboard", "filter-change callbacks on the 1M-row database",
          "bench.dashboard_bench:run", on_database=True),
    Bench("load", "50 users changing filters for 60 s against attune serve",
          "bench.load_bench:run"),
    Bench("console", "a sponsor's chart while 8 researchers run 10 s console queries",
          "bench.console_bench:run"),
    Bench("api", "one outcome query over HTTP on the 1M-row database", "bench.api_bench:run",
          on_database=True),
    Bench("model", "`attune model` and the Trends callbacks on the 1M-row database",
          "bench.model_bench:run", on_database=True),
    Bench("workers", "the load test at a brisk pace, --workers 2 against one",
          "bench.load_bench:run_workers"),
    Bench("report", "attune report for one sponsor on the 1M-row database",
          "bench.report_bench:run", on_database=True),
    Bench("scale", "10M response rows in 3 yearly files: ingest, start-up, paired_scores, "
          "callbacks", "bench.scale_bench:run"),
    Bench("lake", "export, summarize on the lake (DuckDB, Spark local) vs the file",
          "bench.lake_bench:run"),
)


def run(bench: Bench) -> dict:
    module, function = bench.runner.split(":")
    runner = getattr(importlib.import_module(module), function)  # heavy imports: when run
    if bench.on_database:
        from bench.common import bench_database

        return runner(bench_database())
    return runner()


def main() -> int:
    parser = argparse.ArgumentParser(description="Attune benchmarks")
    parser.add_argument("--only", choices=[b.name for b in BENCHES], action="append")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    chosen = arguments.only or [b.name for b in BENCHES]
    results: dict[str, dict] = {}
    console = Console(stderr=True)
    for bench in BENCHES:
        if bench.name in chosen:
            console.print(f"{bench.name}: {bench.says} ...")
            results[bench.name] = run(bench)
    if arguments.json:
        print(json.dumps(results, indent=2, default=str))
        return 0
    table = Table(title="Attune benchmarks (ratios against a baseline measured in this run)")
    table.add_column("benchmark")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, figures in results.items():
        for key, value in figures.items():
            shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
            table.add_row(name, key, shown)
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
