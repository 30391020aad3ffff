"""A killed ingest leaves the database as it was; messy input never loses a row."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic.dataset import generate_dataset
from tests.etl.helpers import GOOD_ROWS, HEADER, query, run, write_dataset

PROJECT = Path(__file__).resolve().parents[2]


def test_killed_ingest_leaves_the_database_consistent_and_a_rerun_completes(tmp_path):
    big = tmp_path / "big"
    generate_dataset(big, participants=40_000, seed=7, single_responses_file=True)
    db = tmp_path / "attune.duckdb"
    run([big / "instrument.yaml", big / "programs.csv", big / "cohorts.csv"], db)
    before = query(db, "SELECT count(*), (SELECT count(*) FROM ingest_runs) FROM cohorts")
    work_copy = db.with_name(db.name + ".ingest-tmp")
    process = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "ingest", str(big / "responses.csv"), "--db", str(db)],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not work_copy.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # well into reading and validating the big file
    assert process.poll() is None, "ingest finished before it could be killed: make the file bigger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert query(db, "SELECT count(*), (SELECT count(*) FROM ingest_runs) FROM cohorts") == before
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]
    # The next run removes the stale copy and loads the file completely.
    report = run([big / "responses.csv"], db)
    assert not work_copy.exists()
    (big_report,) = report.files
    assert big_report.rows_read == big_report.rows_loaded + big_report.rows_quarantined
    loaded = query(db, "SELECT count(*) FROM responses WHERE source LIKE '%big%'")[0][0]
    assert loaded == big_report.rows_loaded > 50_000


VALUE = st.one_of(
    st.sampled_from(
        ["", " ", "1", "3", "5", "9", "-1", "2.5", "NaN", "true", "pre", "post", "C1", "C9"]
    ),
    st.sampled_from(["2024-03-01", "2024-03-20", "2099-01-01", "31/02/2024", "educator", "hr"]),
    st.text(min_size=0, max_size=12),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    messy_rows=st.lists(st.lists(VALUE, min_size=14, max_size=14), min_size=1, max_size=12),
    keep_good=st.booleans(),
)
def test_rows_are_conserved_whatever_the_input(tmp_path_factory, messy_rows, keep_good):
    folder = write_dataset(tmp_path_factory.mktemp("messy"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    for row in GOOD_ROWS if keep_good else []:
        writer.writerow(row.split(","))
    writer.writerows(messy_rows)
    (folder / "responses.csv").write_text(buffer.getvalue(), encoding="utf-8")
    db = folder / "a.duckdb"
    report = run([folder], db)
    (responses,) = [file for file in report.files if file.kind == "responses"]
    if responses.status == "rejected":  # a whole-file refusal loads nothing at all
        assert query(db, "SELECT count(*) FROM responses") == [(0,)]
        assert responses.message
        return
    # A row is a CSV record: a bare carriage return in a value that the writer left unquoted
    # ends a record, as every CSV reader reads it, so count records the way a reader does.
    records = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))[1:]
    expected = len([record for record in records if record])
    assert responses.rows_read == expected
    assert responses.rows_loaded + responses.rows_quarantined == expected
    assert query(db, "SELECT count(*) FROM responses") == [(responses.rows_loaded,)]
    assert query(db, "SELECT count(*) FROM quarantine WHERE source LIKE '%responses.csv'") == [
        (responses.rows_quarantined,)
    ]
