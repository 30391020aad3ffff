"""The Spark side of `attune summarize --engine spark`: a small program run by a Python that
has pyspark (``ATTUNE_SPARK_PYTHON``), apart from Attune's own environment.

pyspark is kept out of Attune's process on purpose: pandera imports ``pyspark.pandas``
whenever pyspark is importable, and ``pyspark.pandas`` patches pandas on import and does not
support pandas 3. So this file needs only the standard library and pyspark, and speaks JSON
lines on stdin and stdout: one request, one answer, in order.

Requests: ``{"op": "open", "master": ..., "tables": {name: {"base": dir, "files": [...]}}}``,
``{"op": "sql", "sql": ..., "args": [...]}``, ``{"op": "frame", "name": ..., "schema": ...,
"rows": [...]}``, ``{"op": "close"}``. Answers: ``{"rows": [...]}``, ``{"ok": true}`` or
``{"error": "..."}``. Floats travel as JSON numbers, which Python writes and reads back
exactly (shortest round-trip repr); a Spark decimal is sent as its exact text.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import shutil
import sys

SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    # Partition columns as text, as DuckDB reads them (hive_types_autocast = false)
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
}
LOCAL_MASTER = "local[1]"


class WorkerError(Exception):
    """A request this worker cannot answer; its text goes back to Attune."""


def _plain(value):
    """A Spark value as JSON can carry it without losing digits."""
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def start(master: str | None):
    """A SparkSession on ``master`` (default ``local[1]``), or why there is none."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WorkerError(f"{sys.executable} has no pyspark: pip install 'pyspark>=4.3,<5' "
                          "into the Python that ATTUNE_SPARK_PYTHON names") from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise WorkerError("--engine spark needs a Java runtime (Java 17): install one or set "
                          "JAVA_HOME")
    builder = SparkSession.builder.master(master or LOCAL_MASTER).appName("attune-summarize")
    for key, value in SETTINGS.items():
        builder = builder.config(key, value)
    if not master or master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1")
    try:
        session = builder.getOrCreate()
    except Exception as error:  # py4j and pyspark raise their own kinds when Java fails
        raise WorkerError(f"could not start Spark ({master or LOCAL_MASTER}): {error}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def answer(spark, request: dict):
    """One request's answer (``spark`` is None until ``open``)."""
    op = request.get("op")
    if op == "open":
        spark = start(request.get("master"))
        for name, table in request["tables"].items():
            frame = (spark.read.option("basePath", table["base"])
                     .option("mergeSchema", "true").parquet(*table["files"]))
            frame.createOrReplaceTempView(name)
        return spark, {"ok": True}
    if spark is None:
        raise WorkerError(f"{op!r} before 'open'")
    if op == "sql":
        rows = spark.sql(request["sql"], args=list(request.get("args", []))).collect()
        return spark, {"rows": [{k: _plain(v) for k, v in row.asDict().items()}
                                for row in rows]}
    if op == "frame":
        frame = spark.createDataFrame([tuple(r) for r in request["rows"]], request["schema"])
        frame.createOrReplaceTempView(request["name"])
        return spark, {"ok": True}
    raise WorkerError(f"unknown request {op!r}")


def main() -> int:
    spark = None
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not corrupt the answers
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "close":
            break
        try:
            spark, reply = answer(spark, request)
        except WorkerError as error:
            reply = {"error": str(error)}
        except Exception as error:  # Spark's own errors (analysis, Java) go back as text
            reply = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    if spark is not None:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
