"""`attune summarize --lake --engine spark`: Spark in local mode (``local[1]``, small data, in
the Python that ``ATTUNE_SPARK_PYTHON`` names) gives the same answers as `summarize --db` and
as DuckDB on the lake, and reads the lake through its manifest."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.lake_export import export_lake
from schemas.lake import LakeError, read_manifest, table_files
from tests.lake.conftest import assert_same_rows, summarize
from tests.support import build_tiny_db
from warehouse.lake import lake_change_family
from warehouse.spark_moments import SPARK_PYTHON_ENV, spark_python

# `make test` installs pyspark into its own environment beside Attune's (see the Makefile).
SPARK_VENV_PYTHON = Path(__file__).resolve().parents[2] / ".venv-spark" / "bin" / "python"
GROUPS = {("hr", "workshop"): 20, ("educator", "workshop"): 7, ("coach", "workshop"): 16,
          ("hr", "degree"): 12, ("educator", "degree"): 15, ("coach", "degree"): 13}
# What the README shows a platform team: the manifest's files, read with basePath so the
# partition columns come back from the folders.
README_READ = """
import json, sys
from pyspark.sql import SparkSession
lake, files = sys.argv[1], json.loads(sys.argv[2])
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1").getOrCreate())
responses = spark.read.option("basePath", f"{lake}/responses").parquet(*files)
print(json.dumps({"columns": responses.columns, "rows": responses.count(),
                  "sp1": responses.where("sponsor = 'SP1'").count()}))
spark.stop()
"""


@pytest.fixture(autouse=True)
def _spark_python(monkeypatch):
    if not os.environ.get(SPARK_PYTHON_ENV):
        monkeypatch.setenv(SPARK_PYTHON_ENV, str(SPARK_VENV_PYTHON))


@pytest.fixture(scope="module")
def tiny_lake(tmp_path_factory):
    """A small database whose scale has no declared reliability (the engine computes the
    baseline Cronbach alpha, as the database's summaries do), exported as one provider."""
    folder = tmp_path_factory.mktemp("spark-lake")
    db = build_tiny_db(folder / "tiny.duckdb", GROUPS)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE scales SET reliability = NULL")
    export_lake(db, folder / "lake", "north")
    return db, folder / "lake"


@pytest.mark.parametrize("options", [("--by", "audience,format"),
                                     ("--by", "format", "--published")])
def test_spark_summary_equals_the_database_summary(tiny_lake, options):
    """pyspark is not even importable here: the worker, in its own Python, did the work."""
    assert importlib.util.find_spec("pyspark") is None
    db, lake = tiny_lake
    expected = summarize("--db", str(db), *options)
    assert_same_rows(summarize("--lake", str(lake), "--engine", "spark", *options), expected)


def test_spark_groups_a_consortium_by_provider_as_duckdb_does(tiny_pair, tmp_path):
    lake = tmp_path / "lake"
    for provider, db in zip(("north", "south"), tiny_pair, strict=True):
        export_lake(db, lake, provider)
    options = ("--lake", str(lake), "--by", "provider,format", "--min-cell", "5")
    rows = summarize(*options, "--engine", "spark")
    assert {row["provider"] for row in rows} == {"north", "south"}
    assert_same_rows(rows, summarize(*options, "--engine", "duckdb"))


def test_spark_reads_one_version_through_the_manifest_with_base_path(tiny_lake):
    db, lake = tiny_lake
    files = [str(lake / path) for path in table_files(read_manifest(lake), "responses")]
    run = subprocess.run([spark_python(), "-c", README_READ, str(lake), json.dumps(files)],
                         capture_output=True, text=True, check=True)
    read = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"provider", "sponsor", "cohort_year"} <= set(read["columns"])
    with duckdb.connect(str(db), read_only=True) as con:
        expected = con.execute("SELECT count(*) FROM responses").fetchall()[0][0]
        sp1 = con.execute("SELECT count(*) FROM responses JOIN cohorts USING (cohort_id) "
                          "WHERE sponsor_id = 'SP1'").fetchall()[0][0]
    assert (read["rows"], read["sp1"]) == (expected, sp1)


def test_spark_without_java_says_what_is_missing(monkeypatch, tiny_lake, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LakeError, match="needs a Java runtime"):
        lake_change_family(tiny_lake[1], engine="spark")


def test_a_python_without_pyspark_is_named_in_the_error(monkeypatch, tiny_lake):
    monkeypatch.setenv(SPARK_PYTHON_ENV, sys.executable)
    with pytest.raises(LakeError, match="has no pyspark"):
        lake_change_family(tiny_lake[1], engine="spark")
