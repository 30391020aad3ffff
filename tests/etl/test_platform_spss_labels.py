"""SPSS value labels and drop: patterns as a user meets them when ingesting a .sav export.

The .sav files are Qualtrics surveys exported as SPSS (tests/etl/platform_fixtures.py,
`spss_qualtrics_export`): the items hold codes, their value labels say which answer each code
is, and a survey can code an agreement scale either way round.
"""

from __future__ import annotations

import pytest

from etl.mapping import MappingError, parse_mapping
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import query, responses_report, run
from tests.etl.platform_helpers import COMPARED, reference_rows, setup_database, write_mapping

AGREE_MAP = (
    '{"Strongly disagree": 1, "Disagree": 2, "Neither agree nor disagree": 3, "Agree": 4,'
    ' "Strongly agree": 5}'
)


def spss_mapping(conf_map: str = AGREE_MAP, drop: str = '[Q7, "Q30_*", "*_TEXT"]') -> str:
    return (
        "format: spss\ncolumns:\n  Q1: participant_code\n  Q2: audience\n"
        "  Q3: years_experience\n  Q4: cohort_id\n  wave: wave\n  RecordedDate: completed_at\n"
        "  Duration__in_seconds_: duration_seconds\n"
        + "".join(f"  Q5_{i}: CONF_0{i}\n" for i in range(1, 6))
        + "".join(f"  Q6_{i}: BURN_0{i}\n" for i in range(1, 4))
        + f'values:\n  audience: {{1: mental_health, 2: educator}}\n  "CONF_*": {conf_map}\n'
        + f"waves: {{1: pre, 2: post}}\ndrop: {drop}\n"
    )


def ingest_sav(tmp_path, mapping: str, drop: tuple[str, ...] = (), **export):
    db = setup_database(tmp_path)
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "survey.sav", **export)
    (report,) = responses_report(
        run([sav], db, mapping=write_mapping(tmp_path, mapping), drop=drop)
    )
    return db, report


A1_PRE_CONF_01 = "SELECT CONF_01 FROM responses WHERE wave = 'pre' AND years_experience = 5"


@pytest.mark.parametrize("reverse", [True, False], ids=["reversed", "in_order"])
def test_label_keyed_value_map_applies_to_spss_codes(tmp_path, reverse):
    db, report = ingest_sav(tmp_path, spss_mapping(), reverse_agree=reverse)
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0), report.message
    # A1 answered "Disagree" (2): the reversed file holds code 4, which loads as 2.
    assert query(db, A1_PRE_CONF_01) == [(2.0,)]
    assert query(db, COMPARED) == reference_rows(tmp_path)


def test_spss_code_whose_label_is_not_in_the_label_map_is_quarantined_naming_both(tmp_path):
    labels = dict(enumerate(["Strongly disagree", "Disagree", "Neutral", "Agree"], 1))
    db, report = ingest_sav(tmp_path, spss_mapping(), agree_labels=labels | {5: "Strongly agree"})
    # A1 pre and A2 pre answered 3 ("Neutral", not in the map): never loaded as 3.
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)
    for rules, reasons in query(db, "SELECT rules, reasons FROM quarantine"):
        assert set(rules) == {"value_is_mapped"}
        assert "value '3 (value label: Neutral)' has no mapping" in reasons
    assert query(db, "SELECT count(*) FROM responses WHERE CONF_03 = 3") == [(0,)]


def test_unlabelled_spss_code_is_quarantined_when_the_map_reads_the_labels(tmp_path):
    # Only the end points are labelled, and the file codes 1 = "Strongly agree": codes 2-4
    # cannot be told apart from their reversed meaning, so they are not taken as they are.
    ends = {1: "Strongly disagree", 5: "Strongly agree"}
    db, report = ingest_sav(tmp_path, spss_mapping(), reverse_agree=True, agree_labels=ends)
    assert (report.rows_loaded, report.rows_quarantined) == (0, 5)
    reasons = " ".join(reason for (reason,) in query(db, "SELECT reasons FROM quarantine"))
    assert "value '4 (no value label in the file)' has no mapping" in reasons


def test_code_entry_of_a_value_map_wins_over_the_codes_label(tmp_path):
    conf_map = AGREE_MAP.replace("{", "{3: null, ")
    db, report = ingest_sav(tmp_path, spss_mapping(conf_map))
    assert report.rows_loaded == 5, report.message
    # A2 pre answered 3 everywhere: read as not answered, not through its label as 3.
    assert query(
        db,
        "SELECT answered_CONF, score_CONF FROM responses WHERE years_experience = 12 "
        "AND wave = 'pre'",
    ) == [(0, None)]


def test_map_that_only_nulls_a_label_keeps_spss_codes_as_they_are(tmp_path):
    # 99 = "No answer" is labelled but not declared missing: the map reads it as not answered
    # and leaves the codes 1-5 as the answers they are.
    db, report = ingest_sav(tmp_path, spss_mapping('{"No answer": null}'), missing_declared=False)
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0), report.message
    assert query(db, COMPARED) == reference_rows(tmp_path)


def test_drop_patterns_leave_the_matched_columns_out(tmp_path):
    db, report = ingest_sav(tmp_path, spss_mapping())
    assert report.status == "loaded", report.message
    ((message,),) = query(db, "SELECT message FROM ingest_runs WHERE kind = 'responses'")
    left_out = message.split("left out column(s) ")[1].split("; ")[0].split(", ")
    assert left_out == ["Q7", *(f"Q30_{i}" for i in range(1, 41)), "Q10_TEXT", "Q11_TEXT"]
    assert query(db, "SELECT count(*), min(duration_seconds) FROM responses") == [(5, 600.0)]


def test_drop_pattern_is_case_sensitive_and_never_drops_a_mapped_column(tmp_path):
    _, report = ingest_sav(tmp_path, spss_mapping(drop='[Q7, "q30_*", "*_TEXT"]'))
    assert report.status == "rejected"
    assert "unmapped source column(s): Q30_1, Q30_2" in report.message
    db, report = ingest_sav(tmp_path / "mapped", spss_mapping(drop='[Q7, "Q*", "*_TEXT"]'))
    assert report.rows_loaded == 5, report.message
    assert query(db, COMPARED) == reference_rows(tmp_path)  # Q1..Q6 are mapped: kept


def test_command_line_drop_takes_names_not_patterns(tmp_path):
    _, report = ingest_sav(tmp_path, spss_mapping(drop='[Q7, "*_TEXT"]'), drop=("Q30_*",))
    assert report.status == "rejected"
    assert "unmapped source column(s): Q30_1, Q30_2" in report.message
    db, report = ingest_sav(
        tmp_path / "named",
        spss_mapping(drop='[Q7, "*_TEXT"]'),
        drop=tuple(f"Q30_{i}" for i in range(1, 41)),
    )
    assert report.rows_loaded == 5, report.message


def test_drop_entries_must_be_names_or_patterns():
    assert parse_mapping({"drop": ["Q1_*", "Q7"]}).drop == ("Q1_*", "Q7")
    with pytest.raises(MappingError, match="drop: each entry must be a column name or a pattern"):
        parse_mapping({"drop": [{"Q1_*": "x"}]})
