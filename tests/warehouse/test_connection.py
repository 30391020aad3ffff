"""The analysis layer's connection: read-only and locked down, one cursor per thread, results
cached per database file and handed back as copies, rebuilt when ingest publishes a file."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import threading

import duckdb
import pytest

from tests.support import build_tiny_db
from warehouse.catalog import filter_options
from warehouse.connection import Database
from warehouse.errors import DatabaseUnavailable
from warehouse.filters import Filters
from warehouse.outcomes import change_distribution, group_change

READ_IN_ANOTHER_PROCESS = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM responses").fetchall()[0][0])
"""


def test_cache_hits_and_file_replacement_invalidates(tmp_path):
    path = build_tiny_db(tmp_path / "a.duckdb", {("hr", "workshop"): 15})
    db = Database(path, min_cell_size=11)
    first = group_change(db, scale_id="CONF", by=())
    misses = db.cache_misses
    assert group_change(db, scale_id="CONF", by=()) == first
    assert db.cache_hits >= 1 and db.cache_misses == misses
    # publish a new file the way etl does: write elsewhere, then os.replace
    other = build_tiny_db(tmp_path / "b.duckdb", {("hr", "workshop"): 30})
    os.replace(other, path)
    second = group_change(db, scale_id="CONF", by=())
    assert second[0]["n_pairs"] == 30 and db.opens == 2


def test_a_caller_changing_a_result_changes_it_for_no_one_else(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    queries = {
        "group_change": lambda: group_change(db, scale_id="CONF", by=("audience", "format")),
        "change_distribution": lambda: change_distribution(db, scale_id="CONF"),
        "filter_options": lambda: filter_options(db),
    }
    for name, query in queries.items():
        first = copy.deepcopy(query())
        mine = query()
        hits = db.cache_hits
        if isinstance(mine, list):
            mine[0]["n_pairs"] = -1
            mine.append({"injected": True})
        else:
            for value in mine.values():
                if isinstance(value, (list, dict)) and value:
                    (value.pop() if isinstance(value, list) else value.popitem())
            mine["n_pairs"] = -1
        assert query() == first, name
        assert db.cache_hits > hits, f"{name}: the second read must come from the cache"


def test_connections_are_read_only(tiny_db):
    db = Database(tiny_db)
    with pytest.raises(duckdb.Error):
        db.fetch("CREATE TABLE attune.hack AS SELECT 1")
    with pytest.raises(duckdb.Error):
        db.fetch("SELECT * FROM read_csv('/etc/passwd')")


def test_threads_get_their_own_cursor(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    errors = []

    def work(i):
        try:
            for _ in range(5):
                group_change(db, scale_id="CONF", by=("audience",),
                             filters=Filters(format=(("workshop", "degree")[i % 2],)))
                db.clear_cache()
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_group_change_accepts_a_path(tiny_db):
    rows = group_change(str(tiny_db), scale_id="CONF", by=("format",))
    assert {r["format"] for r in rows} == {"workshop", "degree"}


def test_missing_database_is_explained(tmp_path):
    db = Database(tmp_path / "missing.duckdb")
    with pytest.raises(DatabaseUnavailable):
        group_change(db, scale_id="CONF")


def test_copy_of_database_is_not_locked(tiny_db, tmp_path):
    """The read-only attachment blocks neither another process (the console, `attune
    summarize`, a researcher's DuckDB) reading the file itself nor etl writing a copy."""
    db = Database(tiny_db)
    group_change(db, scale_id="CONF", by=())
    # Another process first: copying the file below, in this process, would drop this
    # process's lock on it (POSIX locks go with any descriptor of the file being closed).
    reader = subprocess.run([sys.executable, "-c", READ_IN_ANOTHER_PROCESS, str(tiny_db)],
                            capture_output=True, text=True, timeout=120)
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.strip() == "78"
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_db, copy)
    con = duckdb.connect(str(copy))
    con.execute("CREATE TABLE x AS SELECT 1")
    con.close()
    assert group_change(db, scale_id="CONF", by=())[0]["n_pairs"] == 39
