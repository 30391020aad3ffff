"""The Parquet lake: `attune export --lake` of the bench database, then `summarize
--by audience,format` (the family of every scale) with DuckDB on the lake against the same
on the DuckDB file, and Spark local against DuckDB on the lake (reported, no target).

Size: the bench database (about 1M response rows), or the database at
``$ATTUNE_LAKE_BENCH_DB`` (e.g. the scale bench's 10M-row one). Target: DuckDB on the lake at
most 2x the database file. A re-export of the unchanged database is timed too (nothing is
rewritten). Spark is skipped, and says so, when pyspark or Java is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from bench.common import BENCH_DIR, bench_database, median, timed
from warehouse.connection import Database
from warehouse.lake import lake_change_family
from warehouse.outcomes import change_family

BY = ("audience", "format")


def run(rounds: int = 3) -> dict:
    database = Path(os.environ.get("ATTUNE_LAKE_BENCH_DB") or bench_database())
    lake = BENCH_DIR / f"lake-{database.stem}"
    shutil.rmtree(lake, ignore_errors=True)
    from etl.lake_export import export_lake

    started = time.perf_counter()
    report = export_lake(database, lake, "bench")
    export_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = export_lake(database, lake, "bench")
    reexport_seconds = time.perf_counter() - started

    groups = 0

    def on_file() -> None:
        nonlocal groups
        groups = len(change_family(Database(database, changes_only=True), by=BY))

    def on_lake() -> None:
        lake_change_family(lake, engine="duckdb", by=BY)

    file_times = timed(on_file, rounds)
    lake_times = timed(on_lake, rounds)
    out = {
        "response_rows": report.rows["responses"],
        "lake_files": len(report.written),
        "export_seconds": export_seconds,
        "reexport_unchanged_seconds": reexport_seconds,
        "reexport_files_written": len(again.written),
        "groups": groups,
        "summarize_db_seconds": median(file_times),
        "summarize_lake_duckdb_seconds": median(lake_times),
        "lake_vs_db_ratio": median(lake_times) / median(file_times),
        "target_ratio": 2.0,
    }
    try:
        # Spark's worker and JVM start inside each run: the time a user waits
        spark_times = timed(lambda: lake_change_family(lake, engine="spark", by=BY), 1)
        out["summarize_lake_spark_seconds"] = median(spark_times)
        out["spark_vs_duckdb_ratio"] = median(spark_times) / median(lake_times)
    except Exception as error:  # noqa: BLE001 - reported, not a failure of the bench
        out["spark"] = f"not run: {error}"
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
