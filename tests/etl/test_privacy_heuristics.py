"""Privacy heuristics name the right cause: ids are not phones, IP addresses are IP addresses,
and quasi-identifiers (postal codes, birth dates or years) are refused even as a mapped column.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest

from etl.privacy import identifier_like, personal_source_column
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import (
    GOOD_ROWS,
    query,
    responses_report,
    run,
    with_extra_column,
    write_dataset,
)
from tests.etl.platform_helpers import setup_database, write_mapping


def ingest_extra_column(tmp_path, name: str, values: list[str], **options):
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([with_extra_column(tmp_path, name, values)], db, **options))
    return responses, db


RESPONDENT_IDS = ["11400000001", "11400000002", "11400000003", "11400000004", "11400000005"]
TEN_DIGITS = ["1140000001", "1140000002", "1140000003", "1140000004", "1140000005"]


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("RespondentID", TEN_DIGITS),
        ("Respondent ID", RESPONDENT_IDS),
        ("ResponseId", TEN_DIGITS),
        ("record_id", ["0123456789", "0123456790", "0123456791", "0123456792", "0123456793"]),
        ("study_id", TEN_DIGITS),
        ("V1", TEN_DIGITS),
        ("Collector ID", ["412345678"] * 5),
    ],
)
def test_ten_digit_respondent_id_is_refused_as_an_unknown_column_not_as_a_phone_number(
    tmp_path, column, values
):
    responses, db = ingest_extra_column(tmp_path, column, values)
    assert responses.status == "rejected"
    assert f"unknown column(s): {column}" in responses.message
    assert "personal data" not in responses.message
    assert "phone" not in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_respondent_id_left_out_with_drop_lets_the_file_load(tmp_path):
    responses, db = ingest_extra_column(
        tmp_path, "RespondentID", TEN_DIGITS, drop=("RespondentID",)
    )
    assert responses.status == "loaded"
    assert responses.dropped_columns == ["RespondentID"]
    assert query(db, "SELECT count(*) FROM responses") == [(5,)]


def test_plain_ten_digit_integers_in_any_column_are_not_called_phone_numbers(tmp_path):
    responses, db = ingest_extra_column(tmp_path, "q9", TEN_DIGITS)
    assert responses.status == "rejected"
    assert "unknown column(s): q9" in responses.message
    assert "phone" not in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("phone", "+44 7700 900123", "its name suggests a phone number"),
        ("contact", "+44 7700 900123", "it holds phone numbers"),
        ("contact", "0044 7700 900123", "it holds phone numbers"),
        ("contact", "07700 900123", "it holds phone numbers"),
        ("contact", "07700900123", "it holds phone numbers"),
        ("contact", "(555) 123-4567", "it holds phone numbers"),
    ],
)
def test_values_with_a_phone_shape_are_still_refused_as_phone_numbers(tmp_path, column, value, why):
    responses, db = ingest_extra_column(tmp_path, column, [value] * 5)
    assert responses.status == "rejected"
    assert f"column '{column}' looks like personal data ({why})" in responses.message
    assert f"--drop {column}" in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("ip", "10", "its name suggests an IP address"),
        ("ip_address", "10", "its name suggests an IP address"),
        ("q9", "192.0.2.10", "it holds IP addresses"),
        ("q9", "2001:db8::7", "it holds IP addresses"),
    ],
)
def test_ip_addresses_are_refused_as_ip_addresses(tmp_path, column, value, why):
    responses, db = ingest_extra_column(tmp_path, column, [value] * 5)
    assert responses.status == "rejected"
    assert f"column '{column}' looks like personal data ({why})" in responses.message
    assert "phone" not in responses.message and "location" not in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_latitude_is_refused_as_a_location_not_as_an_ip_address(tmp_path):
    responses, _ = ingest_extra_column(tmp_path, "latitude", ["51.5"] * 5)
    assert "its name suggests a location" in responses.message
    assert "IP" not in responses.message


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("zip", "90210", "its name suggests a postal code (a quasi-identifier)"),
        ("ZIP code", "90210", "its name suggests a postal code (a quasi-identifier)"),
        ("postcode", "SW1A 1AA", "its name suggests a postal code (a quasi-identifier)"),
        ("q9", "SW1A 1AA", "it holds postal codes (a quasi-identifier)"),
        ("q9", "90210-1234", "it holds postal codes (a quasi-identifier)"),
        ("birth_year", "1980", "its name suggests a date or year of birth (a quasi-identifier)"),
        ("Year of birth", "1980", "its name suggests a date or year of birth (a quasi-identifier)"),
        ("dob", "1980-01-01", "its name suggests a date or year of birth (a quasi-identifier)"),
    ],
)
def test_quasi_identifiers_are_refused_naming_the_cause(tmp_path, column, value, why):
    responses, db = ingest_extra_column(tmp_path, column, [value] * 5)
    assert responses.status == "rejected"
    assert f"column '{column}' looks like personal data ({why})" in responses.message
    assert "phone" not in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_five_digit_values_alone_are_not_refused_as_postal_codes(tmp_path):
    responses, _ = ingest_extra_column(
        tmp_path, "q9", ["90210", "10001", "60601", "94105", "02139"]
    )
    assert responses.status == "rejected"
    assert "unknown column(s): q9" in responses.message
    assert "personal data" not in responses.message


@pytest.mark.parametrize(
    ("code", "why"), [("192.0.2.10", "IP addresses"), ("SW1A 1AA", "postal codes")]
)
def test_participant_codes_that_are_ip_addresses_or_postcodes_are_refused(tmp_path, code, why):
    rows = [row.replace("A1,", f"{code},", 1) for row in GOOD_ROWS]
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([write_dataset(tmp_path / "export", rows=rows)], db))
    assert responses.status == "rejected"
    assert f"column 'participant_code' looks like personal data (it holds {why}" in (
        responses.message
    )
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


# --- Platform exports: the question text counts --------------------------------------------


def qualtrics_with(question: str, codes: dict[str, str] | None = None, column: str = "Q1") -> bytes:
    """The tiny dataset's Qualtrics export, with the participant code's column named `column`,
    asking `question`, its codes replaced by `codes` (old code -> value)."""
    pre = [row for row in pf.good_rows() if row["wave"] == "pre"]
    text = pf.qualtrics_export(pre, extra=()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    position = rows[0].index("Q1")
    rows[0][position], rows[1][position] = column, question
    for row in rows[3:]:
        row[position] = (codes or {}).get(row[position], row[position])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def ingest_qualtrics(tmp_path, export: bytes, mapping: str = pf.QUALTRICS_MAPPING_NUMERIC):
    db = setup_database(tmp_path)
    path = tmp_path / "pre.csv"
    path.write_bytes(export)
    (report,) = responses_report(run([path], db, mapping=write_mapping(tmp_path, mapping)))
    return report, db


ZIP_CODES = {"A1": "90210", "A2": "10001", "B1": "60601"}


def test_zip_code_question_mapped_to_participant_code_is_refused_naming_the_column(tmp_path):
    export = qualtrics_with("What is your ZIP code?", ZIP_CODES, column="Q4")
    mapping = pf.QUALTRICS_MAPPING_NUMERIC.replace(
        "  Q1: participant_code", "  Q4: participant_code"
    )
    report, db = ingest_qualtrics(tmp_path, export, mapping)
    assert report.status == "rejected"
    assert report.message.startswith(
        "column 'Q4' (mapped to participant_code) looks like personal data "
        '(its question "What is your ZIP code?" asks for a postal code (a quasi-identifier))'
    )
    assert "list it under drop: in the mapping file" in report.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_participant_code_column_of_uk_postcodes_is_refused_by_its_values(tmp_path):
    postcodes = {"A1": "SW1A 1AA", "A2": "M1 1AE", "B1": "EH1 2NG"}
    export = qualtrics_with("Please type your participant code", postcodes)
    report, db = ingest_qualtrics(tmp_path, export)
    assert report.status == "rejected"
    assert "column 'Q1' (mapped to participant_code) looks like personal data" in report.message
    assert "it holds postal codes (a quasi-identifier)" in report.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_birth_year_question_left_unmapped_is_refused_as_personal_data(tmp_path):
    export = qualtrics_with(
        "In what year were you born?", {"A1": "1980", "A2": "1975", "B1": "1990"}
    )
    mapping = pf.QUALTRICS_MAPPING_NUMERIC.replace("  Q1: participant_code\n", "").replace(
        "  wave: pre\n", "  wave: pre\n  participant_code: X\n"
    )
    report, db = ingest_qualtrics(tmp_path, export, mapping)
    assert report.status == "rejected"
    assert report.message.startswith(
        "column 'Q1' looks like personal data (its question \"In what year were you born?\" "
        "asks for a date or year of birth (a quasi-identifier))"
    )
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("Your participant code (not your name or e-mail address)", None),
        ("Make up your code: your mother's initial and the day you were born", None),
        ("Your participant code", {"A1": "1140000001", "A2": "1140000002", "B1": "1140000003"}),
    ],
    ids=["instructions-name-a-name", "instructions-name-a-birthday", "ten-digit-codes"],
)
def test_participant_code_question_and_numeric_codes_are_not_refused(tmp_path, question, codes):
    report, db = ingest_qualtrics(tmp_path, qualtrics_with(question, codes))
    assert report.status == "loaded", report.message
    assert query(db, "SELECT count(DISTINCT participant_id) FROM responses") == [(3,)]


# --- The helpers `attune mapping init` uses --------------------------------------------------


def test_identifier_like_names_why_a_column_cannot_be_a_participant_code():
    assert identifier_like("Q4", "What is your ZIP code?", pa.array(["90210"])) == (
        'its question "What is your ZIP code?" asks for a postal code (a quasi-identifier)'
    )
    assert identifier_like("Q2", None, ["ann@example.org"]) == "it holds e-mail addresses"
    assert identifier_like("mobile", None, None) == "its name suggests a phone number"
    assert identifier_like("Q9", "IP", ["192.0.2.1", "192.0.2.2"]) == "it holds IP addresses"


def test_codes_free_text_and_respondent_ids_are_fit_to_be_participant_codes():
    assert identifier_like("Q1", "Your participant code", pa.array(["K7QF 2M9X", "A1"])) is None
    assert identifier_like("Respondent ID", None, RESPONDENT_IDS) is None
    assert identifier_like("code", None, ["my code is the name of my first pet"] * 3) is None
    # An unexpected column of free text is still personal data.
    assert personal_source_column("q17", None, ["my code is the name of my first pet"] * 3) == (
        "it holds free text, which can identify people"
    )
