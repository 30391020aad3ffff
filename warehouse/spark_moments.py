"""The lake's queries on Spark (`attune summarize --lake DIR --engine spark`): the same SQL as
DuckDB runs (``warehouse/sql/lake_*.sql``), over temporary views of exactly the files the
manifest lists, so Spark reads one published version of the lake.

Spark runs in its own Python (``ATTUNE_SPARK_PYTHON``, default this interpreter), which runs
``warehouse/spark_worker.py`` (isolated, ``-I``: the folder holds modules named like the
standard library's): pyspark stays out of Attune's process, since pandera imports
``pyspark.pandas`` whenever pyspark is importable and that patches pandas on import. Without
``--spark-master`` Spark runs locally (``local[1]``); with ``spark://host:7077`` (or
``yarn``, ``k8s://...``) on a cluster, whose executors must see the lake at the same path.
"""

from __future__ import annotations

import atexit
import decimal
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.lake import LAKE_TABLES, LakeError, table_files
from warehouse.lake import PAIR_IDENTITY, lake_manifest

# A pair's record key (warehouse.cell_key.RECORD_KEY_SQL in Spark's functions): the first 8
# hex digits of SHA-256 of the disclosure key (the parameter), participant and cohort, each
# qualified by the provider when several are pooled (warehouse.lake.PAIR_IDENTITY).
SPARK_RECORD_KEY = ("CAST(conv(substring(sha2(concat(?, {identity}), 256), 1, 8), 16, 10) "
                    "AS BIGINT)")
SPARK_PYTHON_ENV = "ATTUNE_SPARK_PYTHON"
WORKER = Path(__file__).with_name("spark_worker.py")


def spark_python() -> str:
    """The Python that runs Spark: ``$ATTUNE_SPARK_PYTHON``, or this interpreter."""
    return os.environ.get(SPARK_PYTHON_ENV) or sys.executable


# Running workers, one per Python, master and Java setting: a JVM takes seconds to start, so
# a process that summarises several times (a script, the tests) starts Spark once.
_WORKERS: dict[tuple[str, str | None, str | None, str | None], subprocess.Popen] = {}
_IN_USE: dict[int, threading.Lock] = {}  # by worker pid: one engine at a time per worker
_WORKERS_LOCK = threading.Lock()


def _worker(master: str | None) -> subprocess.Popen:
    python = spark_python()
    key = (python, master, os.environ.get("JAVA_HOME"), os.environ.get("PATH"))
    with _WORKERS_LOCK:
        running = _WORKERS.get(key)
        if running is not None and running.poll() is None:
            return running
        try:
            _WORKERS[key] = subprocess.Popen(
                [python, "-I", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True)
        except OSError as error:
            raise LakeError(f"--engine spark could not run {python} ({SPARK_PYTHON_ENV}): "
                            f"{error.strerror}") from None
        _IN_USE[_WORKERS[key].pid] = threading.Lock()
        return _WORKERS[key]


@atexit.register
def stop_workers() -> None:
    """Stop every Spark worker this process started (and with each, its Spark)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        if worker.poll() is None:
            try:
                worker.stdin.write(json.dumps({"op": "close"}) + "\n")
                worker.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def _value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"decimal"}:
        return decimal.Decimal(value["decimal"])
    return value


class SparkEngine:
    """The lake's queries in Spark SQL, over temporary views of the manifest's files, asked
    of a worker process that holds the SparkSession (one per Python, master and Java
    setting, started on first use and kept until this process ends)."""

    def __init__(self, lake: Path, providers: tuple[str, ...], *, master: str | None = None):
        self.record_key = SPARK_RECORD_KEY.format(
            identity=", ':', ".join(PAIR_IDENTITY[len(providers) > 1]))
        manifest = lake_manifest(lake)
        tables = {}
        for table in LAKE_TABLES:
            files = [str(Path(lake) / f) for f in table_files(manifest, table.name, providers)]
            if not files:
                raise LakeError(f"{lake}: the manifest lists no files of {table.name}")
            tables[table.name] = {"base": str(Path(lake) / table.name), "files": files}
        self._worker = _worker(master)
        self._in_use = _IN_USE[self._worker.pid]
        self._in_use.acquire()  # the worker's views are this engine's until close()
        try:
            self._ask({"op": "open", "master": master, "tables": tables})
        except BaseException:
            self.close()
            raise

    def _ask(self, request: dict) -> dict:
        worker = self._worker
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            line = worker.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise LakeError(f"the Spark worker ({spark_python()}) stopped "
                            f"(exit code {worker.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise LakeError(reply["error"])
        return reply

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        reply = self._ask({"op": "sql", "sql": sql, "args": list(params)})
        return [{k: _value(v) for k, v in row.items()} for row in reply["rows"]]

    def scale_meta(self, rows: list[tuple[str, bool, float | None]]) -> None:
        self._ask({"op": "frame", "name": "scale_meta", "rows": [list(r) for r in rows],
                   "schema": "scale_id STRING, higher_is_better BOOLEAN, threshold DOUBLE"})

    def close(self) -> None:
        """Give the worker back: it stays for this process's next summary and stops when the
        process ends (``stop_workers``)."""
        if self._in_use.locked():
            self._in_use.release()
