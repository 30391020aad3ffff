"""Exports that are not tidy load what they hold, set aside what they cannot, and say so."""

from __future__ import annotations

import pytest

from etl.draft import draft_mapping
from etl.platforms import detect_format, read_export
from tests.etl import platform_fixtures as pf
from tests.etl import untidy_fixtures as uf
from tests.etl.helpers import (
    GOOD_ROWS,
    HEADER,
    query,
    responses_csv,
    responses_report,
    run,
    write_dataset,
)
from tests.etl.platform_helpers import COMPARED, reference_rows, setup_database, write_mapping


def reference_wave(tmp_path, wave: str) -> list[tuple]:
    return [row for row in reference_rows(tmp_path) if row[2] == wave]


def ingest_canonical(tmp_path, content: bytes):
    folder = write_dataset(tmp_path / "export")
    (folder / "responses.csv").write_bytes(content)
    db = tmp_path / "a.duckdb"
    (report,) = responses_report(run([folder], db))
    return report, db


def every_text_value(db) -> str:
    """Every text value stored anywhere in the database, for searching for a leak."""
    columns = query(
        db,
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE data_type = 'VARCHAR' AND NOT internal",
    )
    return "\n".join(
        str(value)
        for table, column in columns
        for (value,) in query(db, f'SELECT "{column}" FROM "{table}"')
    )


# --- Encodings -----------------------------------------------------------------------------


def test_windows_1252_file_loads_its_accents_and_records_the_guess(tmp_path):
    rows = [row.replace("A1,", "ZOÉ1,", 1) for row in GOOD_ROWS]
    report, db = ingest_canonical(tmp_path, responses_csv(*rows).encode("cp1252"))
    assert (report.status, report.rows_loaded) == ("loaded", 5)
    assert report.encoding == "windows-1252 (guessed)"
    assert "read as windows-1252 (guessed)" in report.message
    ((encoding,),) = query(db, "SELECT encoding FROM ingest_runs WHERE kind = 'responses'")
    assert encoding == "windows-1252 (guessed)"
    # the accented code is one participant across waves, as typed
    assert query(db, "SELECT count(DISTINCT participant_id) FROM responses") == [(3,)]


def test_utf8_file_records_utf8_and_says_nothing_about_encoding(tmp_path):
    report, db = ingest_canonical(tmp_path, responses_csv(*GOOD_ROWS).encode("utf-8"))
    assert report.status == "loaded" and report.message is None
    assert query(db, "SELECT encoding FROM ingest_runs WHERE kind = 'responses'") == [("utf-8",)]


def test_mapping_encoding_overrides_the_guess_and_a_wrong_one_refuses_the_file(tmp_path):
    db = setup_database(tmp_path)
    export = tmp_path / "pre.csv"
    export.write_bytes(uf.qualtrics_2016(uf.rows_of("pre")).decode().replace(
        "Cohort", "Cohort (année)").encode("latin-1"))
    named = write_mapping(tmp_path, uf.QUALTRICS_MAPPING + "encoding: latin-1\n")
    (report,) = responses_report(run([export], db, mapping=named, wave="pre"))
    assert report.status == "loaded" and report.encoding == "iso8859-1"
    wrong = write_mapping(tmp_path, uf.QUALTRICS_MAPPING + "encoding: utf-16\n", "wrong.yaml")
    other = tmp_path / "pre2.csv"
    other.write_bytes(export.read_bytes() + b"\n")
    (refused,) = responses_report(run([other], db, mapping=wrong, wave="pre"))
    assert refused.status == "rejected"
    assert "encoding" in refused.message


# --- Header layouts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    ["legacy", "2016", "two-row"],
)
def test_every_qualtrics_layout_gives_the_canonical_rows_and_never_loads_a_header(
    tmp_path, layout
):
    data = {
        "legacy": uf.qualtrics_legacy,
        "2016": uf.qualtrics_2016,
        "two-row": lambda rows: uf.qualtrics_2016(rows, import_row=False),
    }[layout](uf.rows_of("pre"))
    export = tmp_path / "pre.csv"
    export.write_bytes(data)
    assert detect_format(export, data) == "qualtrics"
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.QUALTRICS_MAPPING.replace("qualtrics", "auto"))
    (report,) = responses_report(run([export], db, mapping=mapping, wave="pre"))
    assert (report.status, report.rows_read, report.rows_loaded) == ("loaded", 3, 3)
    assert query(db, COMPARED) == reference_wave(tmp_path, "pre")
    first_row = {"legacy": 3, "2016": 4, "two-row": 3}[layout]
    assert query(db, "SELECT min(source_row) FROM responses") == [(first_row,)]


def test_legacy_layout_names_columns_by_their_label_row_and_drops_personal_ones(tmp_path):
    export = read_export(tmp_path / "x.csv", uf.qualtrics_legacy(uf.rows_of("pre")))
    names = export.table.column_names
    assert names[:3] == ["ResponseID", "ResponseSet", "Name"] and "Q5_1" in names
    assert {"Name", "EmailAddress", "IPAddress"} <= set(export.personal_columns())
    assert "" not in names  # the trailing comma's empty column is gone


def test_duplicate_column_names_are_numbered_in_file_order_and_can_be_mapped(tmp_path):
    text = uf.qualtrics_2016(uf.rows_of("pre")).decode()
    lines = text.split("\r\n")
    # a side-by-side question repeats the name Q7 (its answers are not survey items)
    lines[0] += ",Q7,Q7"
    lines[1] += ",Helpful?,Helpful? (colleagues)"
    lines[2] += ",{'ImportId': 'QID7_1'},{'ImportId': 'QID7_2'}"
    for position in range(3, 6):
        lines[position] += ",1,2"
    export = tmp_path / "pre.csv"
    export.write_text("\r\n".join(lines))
    names = read_export(export, export.read_bytes()).table.column_names
    assert names[-2:] == ["Q7", "Q7.2"]
    assert "Q7.2" in draft_mapping(export, export.read_bytes(), None)
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.QUALTRICS_MAPPING + 'drop: [Q7, "Q7.2"]\n')
    (report,) = responses_report(run([export], db, mapping=mapping, wave="pre"))
    assert report.status == "loaded" and "Q7, Q7.2" in report.message


def test_trailing_empty_unnamed_column_is_ignored_but_a_nameless_column_with_values_refuses(
    tmp_path,
):
    rows = [row + "," for row in GOOD_ROWS]
    report, _ = ingest_canonical(tmp_path, responses_csv(*rows, header=HEADER + ",").encode())
    assert (report.status, report.rows_loaded) == ("loaded", 5)
    rows = [row + ",x" for row in GOOD_ROWS]
    refused, _ = ingest_canonical(
        tmp_path / "b", responses_csv(*rows, header=HEADER + ",").encode()
    )
    assert refused.status == "rejected" and "have no name" in refused.message


def test_surveymonkey_two_row_csv_is_recognised_without_its_metadata_columns(tmp_path):
    data = b"Your code,Profession\r\nOpen-Ended Response,Response\r\nA1,Teacher\r\n"
    assert detect_format(tmp_path / "x.csv", data) == "surveymonkey"
    export = read_export(tmp_path / "x.csv", data)
    assert export.table.num_rows == 1 and export.table.column_names == ["Your code", "Profession"]


# --- Ragged rows ---------------------------------------------------------------------------


def test_row_cut_short_is_quarantined_with_both_counts_and_the_rest_loads(tmp_path):
    content = responses_csv(*GOOD_ROWS).encode() + b"5ZRC-PNYH,C1,pre,2024-03-0"
    report, db = ingest_canonical(tmp_path, content)
    assert (report.status, report.rows_read, report.rows_loaded, report.rows_quarantined) == (
        "partial",
        6,
        5,
        1,
    )
    ((row, rules, reasons),) = query(db, "SELECT source_row, rules, reasons FROM quarantine")
    assert row == 7 and rules == ["row_has_as_many_fields_as_header"]
    assert "4 field(s) where the header has 14" in reasons
    assert "5ZRC-PNYH" not in every_text_value(db)


def test_row_with_an_extra_field_keeps_every_later_row_number(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] += ",surplus"
    report, db = ingest_canonical(tmp_path, responses_csv(*rows).encode())
    assert (report.rows_loaded, report.rows_quarantined) == (4, 1)
    assert query(db, "SELECT source_row FROM quarantine") == [(3,)]
    assert query(db, "SELECT source_row FROM responses ORDER BY source_row") == [
        (2,),
        (4,),
        (5,),
        (6,),
    ]


def test_platform_export_cut_short_quarantines_the_last_row_only(tmp_path):
    data = uf.qualtrics_2016(uf.rows_of("pre"))
    export = tmp_path / "pre.csv"
    export.write_bytes(data[: data.rstrip().rfind(b",") - 3])
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.QUALTRICS_MAPPING)
    (report,) = responses_report(run([export], db, mapping=mapping, wave="pre"))
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert query(db, "SELECT source_row, rules FROM quarantine") == [
        (6, ["row_has_as_many_fields_as_header"])
    ]


def test_file_with_no_readable_header_is_still_refused(tmp_path):
    report, _ = ingest_canonical(tmp_path, b'participant_code,"cohort\r_id\n')
    assert report.status == "rejected"


# --- Previews before every other rule ------------------------------------------------------


def test_preview_that_repeats_a_real_code_never_makes_the_real_response_a_duplicate(tmp_path):
    text = uf.qualtrics_2016(uf.rows_of("pre")).decode()
    lines = text.rstrip("\r\n").split("\r\n")
    preview = lines[3].split(",")
    preview[0], preview[3] = "R_preview", "1"  # Status 1: Survey Preview, same code as row 4
    lines.append(",".join(preview))
    export = tmp_path / "pre.csv"
    export.write_text("\r\n".join(lines) + "\r\n")
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.QUALTRICS_MAPPING)
    (report,) = responses_report(run([export], db, mapping=mapping, wave="pre"))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    assert query(db, "SELECT source_row, rules FROM quarantine") == [
        (7, ["response_is_not_a_preview"])
    ]


# --- REDCap --------------------------------------------------------------------------------


def test_redcap_repeating_instrument_without_repeat_is_skipped_and_counted(tmp_path):
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of()))
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.REDCAP_MAPPING)
    (report,) = responses_report(run([export], db, mapping=mapping, wave="pre"))
    assert report.rows_read == 11  # 3 records x (1 shared row + 1 contact log) + 5 instances
    assert report.rows_read == report.rows_loaded + report.rows_quarantined + report.rows_skipped
    assert report.rows_skipped == 8 and "repeating instrument 'survey'" in report.message
    assert query(db, "SELECT rows_skipped FROM ingest_runs WHERE kind = 'responses'") == [(8,)]


def test_redcap_repeat_block_turns_instances_into_waves_with_the_records_shared_fields(tmp_path):
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of()))
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT)
    (report,) = responses_report(run([export], db, mapping=mapping))
    assert (report.status, report.rows_loaded, report.rows_quarantined) == ("loaded", 5, 0)
    assert report.rows_skipped == 6  # 3 shared rows merged, 3 contact-log rows
    assert report.rows_read == report.rows_loaded + report.rows_quarantined + report.rows_skipped
    # years_experience is not in this REDCap project: compare everything else
    assert [row[:5] + row[6:] for row in query(db, COMPARED)] == [
        row[:5] + row[6:] for row in reference_rows(tmp_path)
    ]


def test_redcap_event_mapped_to_null_is_skipped_on_purpose_and_exits_clean(tmp_path):
    data = pf.redcap_export(pf.good_rows(), empty_event=False).decode()
    width = len(pf.REDCAP_FIELDS)
    enrolment = ["1", "enrollment_arm_1"] + [""] * (width - 3) + ["2"]
    export = tmp_path / "redcap.csv"
    export.write_text(data + ",".join(enrolment) + "\r\n")
    db = setup_database(tmp_path)
    mapping = pf.REDCAP_MAPPING.replace("waves:\n", "waves:\n  enrollment_arm_1: null\n")
    result = run([export], db, mapping=write_mapping(tmp_path, mapping))
    (report,) = responses_report(result)
    assert result.exit_code == 0
    assert (report.rows_read, report.rows_loaded, report.rows_skipped) == (6, 5, 1)
    assert "redcap_event_name 'enrollment_arm_1' is mapped to null in waves:" in report.message
    assert query(db, COMPARED) == reference_rows(tmp_path)


def test_redcap_not_completed_timestamp_is_quarantined_as_an_unfinished_survey(tmp_path):
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of(), not_completed="A1"))
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT)
    (report,) = responses_report(run([export], db, mapping=mapping))
    assert (report.rows_loaded, report.rows_quarantined) == (4, 1)
    ((rules, reasons),) = query(db, "SELECT rules, reasons FROM quarantine")
    assert rules == ["survey_is_completed"] and "was not completed" in reasons


def test_redcap_checkboxes_of_a_form_never_opened_are_not_answers(tmp_path):
    data = (
        b"record_id,redcap_event_name,role___1,role___2,practice_complete,"
        b"mood___1,mood___2,mood_complete\r\n"
        b"1,pre_arm_1,0,0,,0,0,2\r\n"
        b"2,pre_arm_1,0,0,0,1,0,\r\n"
        b"3,pre_arm_1,1,0,,0,0,0\r\n"
    )
    table = read_export(tmp_path / "r.csv", data).table
    assert table.column("role___1").to_pylist() == [None, None, "1"]
    assert table.column("role___2").to_pylist() == [None, None, "0"]
    # a completed form's unticked boxes are real answers; a box ticked anywhere is too
    assert table.column("mood___1").to_pylist() == ["0", "1", None]


def test_redcap_row_cut_short_keeps_its_file_row_number_after_rows_are_merged(tmp_path):
    data = uf.redcap_repeating(uf.rows_of())
    export = tmp_path / "redcap.csv"
    export.write_bytes(data + b"3,,survey,3,B1,C2")  # an interrupted download's last line
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT)
    (report,) = responses_report(run([export], db, mapping=mapping))
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (12, 5, 1)
    # the header is row 1 and the file's 11 complete rows are rows 2-12
    assert query(db, "SELECT source_row, rules FROM quarantine") == [
        (13, ["row_has_as_many_fields_as_header"])
    ]
