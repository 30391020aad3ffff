"""`attune mapping init` drafts as a user reads them: ids and metadata recognised across
platform layouts, value maps from SPSS value labels, identifying columns under drop:, and one
drop: pattern for a run of columns still to decide."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from etl.draft import draft_mapping
from etl.mapping import parse_mapping
from schemas.instrument import parse_instrument
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import INSTRUMENT, query, responses_report, run
from tests.etl.platform_helpers import COMPARED, reference_rows, setup_database, write_mapping

INSTRUMENT_OBJECT = parse_instrument(yaml.safe_load(INSTRUMENT))


def draft(path, data: bytes | None = None) -> tuple[str, object]:
    data = path.read_bytes() if data is None else data
    text = draft_mapping(path, data, INSTRUMENT_OBJECT)
    return text, parse_mapping(yaml.safe_load(text))


def drop_section(text: str) -> str:
    return text.split("\ndrop:", 1)[1].split("\n\n", 1)[0]


def test_mapping_init_drafts_label_maps_from_spss_value_labels(tmp_path):
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "s.sav", reverse_agree=True)
    text, mapping = draft(sav)
    # The file codes 1 = "Strongly agree": the map places the labels by the scale.
    assert mapping.values_for("CONF_02") == {
        "strongly agree": "5",
        "agree": "4",
        "neither agree nor disagree": "3",
        "disagree": "2",
        "strongly disagree": "1",
        "no answer": None,
    }
    assert '    "Strongly agree": 5   # code 1 in the file' in text
    assert mapping.values_for("BURN_01")["always"] == "5"
    assert mapping.values_for("audience") == {"1": "mental_health", "2": "educator"}
    assert mapping.values_for("wave") == {"1": "pre", "2": "post"}


def test_labels_that_do_not_cover_the_scale_are_left_to_complete(tmp_path):
    ends = {1: "Not at all", 5: "Completely"}
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "s.sav", agree_labels=ends)
    text, mapping = draft(sav)
    assert '    # "Not at all": TODO   # code 1 in the file; a number 1-5' in text
    assert mapping.values_for("CONF_01") == {"no answer": None}


def test_drafted_mapping_for_reversed_spss_coding_loads_the_answers(tmp_path):
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "s.sav", reverse_agree=True)
    text, _ = draft(sav)
    completed = text.replace("  # - ", "  - ")  # take the proposed drop: patterns
    db = setup_database(tmp_path)
    (report,) = responses_report(run([sav], db, mapping=write_mapping(tmp_path, completed)))
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0), (report.message, completed)
    assert query(db, COMPARED) == reference_rows(tmp_path)
    # A1's pre answers 2, 2, 3, 2, 4 are held as codes 4, 4, 3, 4, 2 in the file.
    assert query(
        db,
        "SELECT CONF_01, CONF_02, CONF_03, CONF_04, CONF_05 FROM responses "
        "WHERE wave = 'pre' AND years_experience = 5",
    ) == [(2.0, 2.0, 3.0, 2.0, 4.0)]
    assert query(db, "SELECT min(duration_seconds) FROM responses") == [(600.0,)]


def test_spss_metadata_names_are_mapped_and_response_id_is_not_the_code(tmp_path):
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "s.sav")
    text, mapping = draft(sav)
    assert mapping.columns["Duration__in_seconds_"] == "duration_seconds"
    assert mapping.columns["RecordedDate"] == "completed_at"
    assert mapping.columns["Q1"] == "participant_code"
    assert "ResponseId" not in mapping.columns and "EndDate" not in mapping.columns


def test_zip_code_question_is_not_proposed_as_participant_code_and_is_dropped(tmp_path):
    # A survey without a participant-code question, asking for a ZIP code instead.
    data = pf.qualtrics_export(pf.good_rows(), extra=()).decode("utf-8-sig")
    asked = pf.QUESTION_TEXT["Q1"]
    assert asked in data
    export = tmp_path / "zip.csv"
    export.write_text(data.replace(asked, "What is your ZIP code?"), encoding="utf-8")
    text, mapping = draft(export)
    assert "participant_code" not in mapping.columns.values()
    assert "# no participant code found" in text
    assert "Q1" in mapping.drop
    assert '  - Q1   # its question "What is your ZIP code?" asks for a postal code' in text


def _surveymonkey_without_code(tmp_path):
    rows = pf.surveymonkey_rows(pf.good_rows())
    position = rows[0].index("What is your participant code?")
    path = tmp_path / "monkey.csv"
    path.write_text(pf._csv([row[:position] + row[position + 1 :] for row in rows]))
    return path


def _spss_respondent_id(tmp_path):
    rows = pf.good_rows()
    return pf.write_sav(
        tmp_path / "monkey.sav",
        {
            "respondent_id": [float(11400000000 + n) for n in range(len(rows))],
            "collector_id": [405000000.0] * len(rows),
            **{item.lower(): [float(row[item] or 3) for row in rows] for item in pf.ITEMS},
        },
        labels={"respondent_id": "Respondent ID code"},
    )


def _spss_legacy_v1(tmp_path):
    rows = pf.good_rows()
    return pf.write_sav(
        tmp_path / "legacy.sav",
        {
            "V1": [f"R_{n:04d}xyz" for n in range(len(rows))],
            "V8": ["2024-03-01 10:00:00"] * len(rows),
            **{item.lower(): [float(row[item] or 3) for row in rows] for item in pf.ITEMS},
        },
        labels={"V1": "ResponseID", "V8": "StartDate"},
    )


def _qualtrics_2016(tmp_path):
    data = pf.qualtrics_export(pf.good_rows(), extra=()).decode("utf-8-sig")
    asked = pf.QUESTION_TEXT["Q1"]
    path = tmp_path / "q2016.csv"
    path.write_text(
        data.replace("ResponseId", "ResponseID").replace(asked, "Your code"), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("build", "column", "dropped"),
    [
        (_surveymonkey_without_code, "Respondent ID", False),
        (_spss_respondent_id, "respondent_id", True),
        (_spss_legacy_v1, "V1", True),
        (_qualtrics_2016, "ResponseID", False),
    ],
    ids=["surveymonkey", "spss_surveymonkey", "spss_legacy_qualtrics", "qualtrics_2016"],
)
def test_response_id_is_never_proposed_as_participant_code(tmp_path, build, column, dropped):
    text, mapping = draft(build(tmp_path))
    assert mapping.columns.get(column) is None
    if dropped:  # not a column the platform's reader knows: left out, saying why
        assert f"  - {column}   # a response id: it differs at every wave" in text
    else:  # the platform's own metadata: read for its meaning, never stored
        assert column not in text.split("\ncolumns:", 1)[1]
    if build is _qualtrics_2016:
        assert mapping.columns["Q1"] == "participant_code"
    else:
        assert "participant_code" not in mapping.columns.values()


def test_drop_patterns_are_proposed_for_runs_of_columns_still_todo(tmp_path):
    sav = pf.spss_qualtrics_export(pf.good_rows(), tmp_path / "s.sav")
    text, mapping = draft(sav)
    section = drop_section(text)
    assert '  # - "Q30_*"   # 40 columns still TODO: Q30_1, ..., Q30_40' in section
    assert '  # - "*_TEXT"   # 2 text-entry columns still TODO' in section
    assert "# Q30_17: TODO" in text and "# Q11_TEXT: TODO" in text  # each still listed
    assert mapping.drop == ("Q7",)  # proposals are commented: nothing dropped yet
    uncommented = parse_mapping(yaml.safe_load(text.replace("  # - ", "  - ")))
    assert uncommented.drop == ("Q7", "*_TEXT", "Q30_*")


def test_identifying_columns_numbered_alike_are_dropped_by_one_pattern(tmp_path):
    rows = pf.good_rows()
    sav = pf.write_sav(
        tmp_path / "s.sav",
        {
            "Q40_1": [f"020 7946 00{n:02d}" for n in range(len(rows))],
            "Q40_2": [f"07700 900{n:03d}" for n in range(len(rows))],
            "Q41": [row["participant_code"] for row in rows],
        },
        labels={
            "Q40_1": "What is your phone number? - Home",
            "Q40_2": "What is your phone number? - Mobile",
            "Q41": "Your participant code",
        },
    )
    text, mapping = draft(sav)
    assert mapping.drop == ("Q40_*",)
    assert '  - "Q40_*"   # 2 columns: its question "What is your phone number? - Home"' in text
    assert mapping.columns == {"Q41": "participant_code"}


def test_no_pattern_is_proposed_that_would_match_a_mapped_column(tmp_path):
    # Q5_1..Q5_5 are mapped to CONF items: a run of TODO columns Q5_6, Q5_7 gets no "Q5_*".
    rows = pf.good_rows()
    sav = pf.write_sav(
        tmp_path / "s.sav",
        {
            **{f"Q5_{i}": [float(row[f"CONF_0{i}"] or 3) for row in rows] for i in range(1, 6)},
            "Q5_6": [1.0] * len(rows),
            "Q5_7": [2.0] * len(rows),
        },
        labels={f"Q5_{i}": f"CONF_0{i} statement" for i in range(1, 6)},
    )
    text, mapping = draft(sav)
    assert mapping.columns["Q5_3"] == "CONF_03"
    assert "# Q5_6: TODO" in text and "Q5_*" not in text
    assert "drop: []" in text


def test_duplicate_column_names_are_drafted_as_the_reader_names_them(tmp_path):
    # A second Q10_TEXT column, as a survey with two text boxes of the same name exports it.
    text = pf.qualtrics_export(pf.good_rows(), extra=()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    export = tmp_path / "twice.csv"
    export.write_text(pf._csv([row + [row[-2]] for row in rows]), encoding="utf-8")
    text, mapping = draft(export)
    assert '  # "Q10_TEXT.2": TODO' in text
    assert "  # Q10_TEXT: TODO" in text


def _redcap_without(columns: tuple[str, ...]) -> bytes:
    rows = list(csv.reader(io.StringIO(pf.redcap_export(pf.good_rows()).decode(), newline="")))
    keep = [position for position, name in enumerate(rows[0]) if name not in columns]
    return pf._csv([[row[position] for position in keep] for row in rows]).encode()


def test_redcap_record_id_is_the_code_only_in_a_longitudinal_export(tmp_path):
    # Longitudinal: the same record at every event, so the record can be the code.
    text, mapping = draft(tmp_path / "r.csv", _redcap_without(("code",)))
    assert mapping.columns["record_id"] == "participant_code"
    assert mapping.columns["redcap_event_name"] == "wave"
    # One project per wave: each record is a response, never the participant code.
    text, mapping = draft(tmp_path / "r.csv", _redcap_without(("code", "redcap_event_name")))
    assert "participant_code" not in mapping.columns.values()
    # A code field, when there is one, is the code.
    text, mapping = draft(tmp_path / "r.csv", pf.redcap_export(pf.good_rows()))
    assert mapping.columns["code"] == "participant_code" and "record_id" not in mapping.columns
