"""Arbitrary bytes and malformed exports never crash ingest, never half-load, and conserve rows."""

from __future__ import annotations

import io

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.etl.helpers import GOOD_ROWS, HEADER, query, run, write_dataset

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_consistent(folder, report, expected_rows: int | None = None):
    (responses,) = [file for file in report.files if file.kind == "responses"]
    db = folder / "a.duckdb"
    loaded = query(db, "SELECT count(*) FROM responses")[0][0]
    quarantined = query(db, "SELECT count(*) FROM quarantine WHERE source = ?", [responses.source])[
        0
    ][0]
    if responses.status == "rejected":
        assert loaded == 0 and responses.message
        return
    assert responses.rows_loaded == loaded
    assert responses.rows_quarantined == quarantined
    assert responses.rows_read == loaded + quarantined
    if expected_rows is not None:
        assert responses.rows_read == expected_rows


@FUZZ
@given(content=st.binary(max_size=2000))
@example(content=b"\r\x00")  # a carriage return inside the header row once crashed the reader
def test_arbitrary_bytes_as_a_csv_never_crash_or_half_load(tmp_path_factory, content):
    folder = write_dataset(tmp_path_factory.mktemp("bytes"))
    (folder / "responses.csv").write_bytes(content)
    assert_consistent(folder, run([folder], folder / "a.duckdb"))


@FUZZ
@given(content=st.binary(max_size=2000))
def test_arbitrary_bytes_after_a_valid_header_never_crash(tmp_path_factory, content):
    folder = write_dataset(tmp_path_factory.mktemp("tail"))
    (folder / "responses.csv").write_bytes((HEADER + "\n" + GOOD_ROWS[0] + "\n").encode() + content)
    assert_consistent(folder, run([folder], folder / "a.duckdb"))


@FUZZ
@given(content=st.binary(max_size=3000))
def test_arbitrary_bytes_as_an_excel_file_never_crash(tmp_path_factory, content):
    folder = write_dataset(tmp_path_factory.mktemp("xlsx"))
    (folder / "responses.csv").unlink()
    (folder / "responses.xlsx").write_bytes(b"PK\x03\x04" + content)
    assert_consistent(folder, run([folder], folder / "a.duckdb"))


CELL = st.one_of(
    st.none(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=10),
    st.booleans(),
    st.dates(),
)


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=14, max_size=14), min_size=1, max_size=8))
def test_malformed_excel_rows_are_conserved(tmp_path_factory, rows):
    folder = write_dataset(tmp_path_factory.mktemp("cells"))
    (folder / "responses.csv").unlink()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    (folder / "responses.xlsx").write_bytes(buffer.getvalue())
    non_empty = sum(1 for row in rows if any(cell not in (None, "") for cell in row))
    assert_consistent(folder, run([folder], folder / "a.duckdb"), expected_rows=non_empty or None)
