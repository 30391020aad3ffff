"""`make bench`: every benchmark, each as a ratio against a baseline of the same run."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table


def main() -> int:
    parser = argparse.ArgumentParser(description="Attune benchmarks")
    parser.add_argument(
        "--only",
        choices=["ingest", "summarize", "dashboard", "load", "console", "api", "model",
                 "scale", "lake", "workers", "report"],
        action="append",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    chosen = arguments.only or ["ingest", "summarize", "dashboard", "load", "console", "api",
                                "model", "workers", "report", "scale", "lake"]
    results: dict[str, dict] = {}
    console = Console(stderr=True)
    if "ingest" in chosen:
        from bench import ingest_bench

        console.print("ingest: 1M-row responses file vs DuckDB CREATE TABLE AS read_csv ...")
        results["ingest"] = ingest_bench.run()
    if "summarize" in chosen:
        from bench import summarize_bench

        console.print("summarize: --by audience,format vs the bare DuckDB aggregate ...")
        results["summarize"] = summarize_bench.run()
    if "dashboard" in chosen:
        from bench import dashboard_bench
        from bench.common import bench_database

        console.print("dashboard: filter-change callbacks on the 1M-row database ...")
        results["dashboard"] = dashboard_bench.run(bench_database())
    if "load" in chosen:
        from bench import load_bench

        console.print("load: 50 users changing filters for 60 s against attune serve ...")
        results["load"] = load_bench.run()
    if "console" in chosen:
        from bench import console_bench

        console.print("console: a sponsor's chart while 8 researchers run 10 s console queries")
        results["console"] = console_bench.run()
    if "api" in chosen:
        from bench import api_bench
        from bench.common import bench_database

        console.print("api: one outcome query over HTTP on the 1M-row database ...")
        results["api"] = api_bench.run(bench_database())
    if "model" in chosen:
        from bench import model_bench
        from bench.common import bench_database

        console.print("model: `attune model` and the Trends callbacks on the 1M-row database ...")
        results["model"] = model_bench.run(bench_database())
    if "workers" in chosen:
        from bench import load_bench

        console.print("workers: the load test at a brisk pace, --workers 2 against one ...")
        results["workers"] = load_bench.run_workers()
    if "report" in chosen:
        from bench import report_bench
        from bench.common import bench_database

        console.print("report: attune report for one sponsor on the 1M-row database ...")
        results["report"] = report_bench.run(bench_database())
    if "scale" in chosen:
        from bench import scale_bench

        console.print("scale: 10M response rows in 3 yearly files: ingest, start-up, "
                      "paired_scores, callbacks ...")
        results["scale"] = scale_bench.run()
    if "lake" in chosen:
        from bench import lake_bench

        console.print("lake: export, summarize on the lake (DuckDB, Spark local) vs the file ...")
        results["lake"] = lake_bench.run()
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
