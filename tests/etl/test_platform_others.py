"""REDCap, SurveyMonkey and SPSS exports give exactly the rows and scores of the canonical data."""

from __future__ import annotations

import pytest
import yaml

from etl.draft import draft_mapping
from etl.mapping import parse_mapping
from etl.platforms import detect_format, read_export, surveymonkey_names
from schemas.instrument import parse_instrument
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import INSTRUMENT, query, responses_report, run
from tests.etl.platform_helpers import COMPARED, reference_rows, setup_database, write_mapping

INSTRUMENT_OBJECT = parse_instrument(yaml.safe_load(INSTRUMENT))


@pytest.mark.parametrize("labels", [False, True], ids=["raw", "labels"])
def test_redcap_longitudinal_export_gives_the_canonical_rows_and_scores(tmp_path, labels):
    db = setup_database(tmp_path)
    export = tmp_path / "redcap.csv"
    export.write_bytes(pf.redcap_export(pf.good_rows(), labels=labels))
    assert detect_format(export, export.read_bytes()) == "redcap"
    (report,) = responses_report(
        run([export], db, mapping=write_mapping(tmp_path, pf.REDCAP_MAPPING))
    )
    # The never-filled post event of B1 is set aside as unfinished with nothing answered.
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 5, 1)
    assert query(db, COMPARED) == reference_rows(tmp_path)
    ((rules, reasons),) = query(db, "SELECT rules, reasons FROM quarantine")
    assert "unfinished_response_meets_min_answered" in rules and "no item answered" in reasons
    assert "redcap_survey_identifier" in report.message
    assert query(db, "SELECT DISTINCT input_format FROM ingest_runs WHERE kind='responses'") == [
        ("redcap",)
    ]


def test_redcap_labelled_checkboxes_read_as_numbers(tmp_path):
    export = read_export(tmp_path / "r.csv", pf.redcap_export(pf.good_rows(), labels=True))
    assert set(export.table.column("role___1").to_pylist()) <= {"1", None}
    assert set(export.table.column("role___2").to_pylist()) <= {"0", None}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_surveymonkey_export_gives_the_canonical_rows_and_scores(tmp_path, suffix):
    db = setup_database(tmp_path)
    export = pf.surveymonkey_export(pf.good_rows(), tmp_path / f"monkey{suffix}")
    assert detect_format(export, export.read_bytes()) == "surveymonkey"
    (report,) = responses_report(
        run([export], db, mapping=write_mapping(tmp_path, pf.SURVEYMONKEY_MAPPING))
    )
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 5, 0), (
        report.message
    )
    assert query(db, COMPARED) == reference_rows(tmp_path)
    for column in ("IP Address", "Email Address", "First Name", "Last Name", "Custom Data 1"):
        assert column in report.message
    assert query(db, "SELECT min(source_row) FROM responses") == [(3,)]


def test_surveymonkey_columns_are_named_by_option_else_question():
    names = surveymonkey_names(
        ["Respondent ID", "Code", "Matrix q", None, "Pick", "Other"],
        [None, "Open-Ended Response", "Row A", "Row B", "Other", "Response"],
    )
    assert names[:4] == ["Respondent ID", "Code", "Row A", "Row B"]
    assert names[4] == "Pick | Other"


def test_surveymonkey_duplicate_options_get_their_question():
    names = surveymonkey_names(["Q1", None, "Q2", None], ["Yes", "No", "Yes", "No"])
    assert names == ["Q1 | Yes", "Q1 | No", "Q2 | Yes", "Q2 | No"]


def test_spss_export_gives_the_canonical_rows_and_scores(tmp_path):
    db = setup_database(tmp_path)
    export = pf.spss_export(pf.good_rows(), tmp_path / "survey.sav")
    (report,) = responses_report(
        run([export], db, mapping=write_mapping(tmp_path, pf.SPSS_MAPPING))
    )
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 5, 0), (
        report.message
    )
    # The user-missing code 99 of A2's post CONF_02 reads as not answered.
    assert query(db, COMPARED) == reference_rows(tmp_path)
    assert query(db, "SELECT input_format FROM ingest_runs WHERE kind='responses'") == [("spss",)]


def test_spss_value_labels_serve_mapping_init(tmp_path):
    export = pf.spss_export(pf.good_rows(), tmp_path / "survey.sav")
    text = draft_mapping(export, export.read_bytes(), INSTRUMENT_OBJECT)
    mapping = parse_mapping(yaml.safe_load(text))
    assert mapping.format == "spss"
    assert mapping.columns["conf_01"] == "CONF_01" and mapping.columns["burn_03"] == "BURN_03"
    assert mapping.values_for("audience") == {"1": "mental_health", "2": "educator"}
    assert "Therapist / counsellor" in text


def test_redcap_and_surveymonkey_drafts_find_the_items(tmp_path):
    redcap = pf.redcap_export(pf.good_rows())
    text = draft_mapping(tmp_path / "r.csv", redcap, INSTRUMENT_OBJECT)
    mapping = parse_mapping(yaml.safe_load(text))
    assert mapping.columns["conf_03"] == "CONF_03"
    assert mapping.columns["redcap_event_name"] == "wave"
    assert mapping.values_for("wave") == {"pre_arm_1": "pre", "post_arm_1": "post"}
    monkey = pf.surveymonkey_export(pf.good_rows(), tmp_path / "m.csv")
    text = draft_mapping(monkey, monkey.read_bytes(), INSTRUMENT_OBJECT)
    mapping = parse_mapping(yaml.safe_load(text))
    assert mapping.columns[pf.SM_CONF_STATEMENTS[0]] == "CONF_01"
    assert mapping.columns["End Date"] == "completed_at"


@pytest.mark.parametrize("platform", ["surveymonkey", "auto"])
def test_broken_workbook_export_is_refused_with_how_to_get_a_good_one(tmp_path, platform):
    db = setup_database(tmp_path)
    export = tmp_path / "monkey.xlsx"
    export.write_bytes(b"PK\x03\x04 not really a workbook")
    mapping = pf.SURVEYMONKEY_MAPPING.replace("format: surveymonkey", f"format: {platform}")
    (report,) = responses_report(run([export], db, mapping=write_mapping(tmp_path, mapping)))
    assert report.status == "rejected"
    assert "cannot be opened as an Excel workbook" in report.message
    assert "Download the export again, or export CSV" in report.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]
