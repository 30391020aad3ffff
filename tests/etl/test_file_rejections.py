"""File-level problems refuse the file with one clear message; other files still load."""

from __future__ import annotations

import pytest

from tests.etl.helpers import (
    GOOD_ROWS,
    HEADER,
    query,
    responses_csv,
    responses_report,
    run,
    write_dataset,
)


def ingest_responses_text(tmp_path, content: bytes | str, name="responses.csv", **options):
    folder = write_dataset(tmp_path / "export")
    (folder / "responses.csv").unlink()
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    db = tmp_path / "a.duckdb"
    report = run([folder], db, **options)
    return report, db


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (HEADER + "\n", "no data rows"),
        (
            "participant_code,cohort_id,wave,completed_at,CONF_01\nA1,C1,pre,2024-03-01,3\n",
            "missing required column(s): audience",
        ),
        (
            # 0x81 is neither UTF-8 nor Windows-1252: not text in any encoding tried
            responses_csv(GOOD_ROWS[0]).encode("utf-8").replace(b"educator", b"\x81ducator"),
            "not UTF-8",
        ),
        (
            responses_csv(GOOD_ROWS[0] + ",3", header=HEADER + ",CONF_06"),
            "unknown item column(s): CONF_06",
        ),
        (
            responses_csv(GOOD_ROWS[0] + ",blue", header=HEADER + ",favourite_colour"),
            "unknown column(s): favourite_colour",
        ),
        (b"\x00\x01\x02PK\x81\x8d\n\x00\x00", "not UTF-8"),
    ],
    ids=[
        "zero-bytes",
        "header-only",
        "missing-column",
        "not-utf8",
        "unknown-item",
        "unknown-column",
        "garbage",
    ],
)
def test_file_level_problem_rejects_the_file_and_names_it(tmp_path, content, words):
    report, db = ingest_responses_text(tmp_path, content)
    (responses,) = responses_report(report)
    assert responses.status == "rejected"
    assert words in responses.message
    assert report.exit_code == 1
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]
    ((status, message, source),) = query(
        db, "SELECT status, message, source FROM ingest_runs WHERE kind = 'responses'"
    )
    assert status == "rejected" and words in message and source.endswith("responses.csv")


def test_rejected_file_does_not_stop_other_files_of_the_run(tmp_path):
    folder = write_dataset(tmp_path / "export")
    (folder / "broken.csv").write_bytes(b"")
    db = tmp_path / "a.duckdb"
    report = run([folder], db)
    statuses = {file.source.rsplit("/", 1)[-1]: file.status for file in report.files}
    assert statuses["broken.csv"] == "rejected"
    assert statuses["responses.csv"] == "loaded"
    assert query(db, "SELECT count(*) FROM responses") == [(5,)]


def test_broken_excel_workbook_is_rejected(tmp_path):
    report, _ = ingest_responses_text(
        tmp_path, b"PK\x03\x04 not really a workbook", name="export.xlsx"
    )
    (responses,) = responses_report(report)
    assert responses.status == "rejected"
    assert "Excel" in responses.message


def test_responses_without_any_instrument_are_rejected_with_the_fix(tmp_path):
    folder = write_dataset(tmp_path / "export")
    db = tmp_path / "a.duckdb"
    report = run([folder / "responses.csv"], db)
    (responses,) = responses_report(report)
    assert responses.status == "rejected"
    assert "Ingest instrument.yaml first" in responses.message


def test_invalid_instrument_is_rejected_naming_the_scale_and_key(tmp_path):
    folder = write_dataset(tmp_path / "export")
    text = (
        (folder / "instrument.yaml")
        .read_text()
        .replace(
            "    min: 1\n    max: 5\n    reverse: [CONF_05]",
            "    min: 5\n    max: 1\n    reverse: [CONF_05]",
        )
    )
    (folder / "instrument.yaml").write_text(text)
    report = run([folder], tmp_path / "a.duckdb")
    instrument = report.files[0]
    assert instrument.kind == "instrument" and instrument.status == "rejected"
    assert "scale 'CONF'" in instrument.message and "'min'" in instrument.message


@pytest.mark.parametrize(
    ("where", "line"),
    [("text column", 3), ("item column", 3), ("header", 1)],
)
def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused_naming_the_byte_and_line(tmp_path, where, line):
    content = responses_csv(*GOOD_ROWS[:3]).encode("utf-8")
    lines = content.split(b"\n")
    if where == "text column":
        lines[2] = lines[2].replace(b"educator", b"\x8fducator")
    elif where == "item column":
        lines[2] = lines[2].replace(b",3,", b",\x9d,", 1)
    else:
        lines[0] = lines[0].replace(b"audience", b"audi\x90nce")
    report, db = ingest_responses_text(tmp_path, b"\n".join(lines))
    (responses,) = responses_report(report)
    assert responses.status == "rejected"
    assert "not UTF-8 text" in responses.message
    assert f"on line {line})" in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


@pytest.mark.parametrize("name", ["programs.csv", "cohorts.csv", "evidence.csv"])
def test_refused_table_file_still_records_the_encoding_it_was_read_as(tmp_path, name):
    path = tmp_path / name
    path.write_bytes("id,remarque\nP1,café\n".encode("windows-1252"))
    db = tmp_path / "a.duckdb"
    (report,) = run([path], db).files
    assert report.status == "rejected"
    assert query(db, "SELECT status, encoding FROM ingest_runs") == [
        ("rejected", "windows-1252 (guessed)")
    ]
