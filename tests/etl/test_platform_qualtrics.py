"""Qualtrics exports, as exported, give exactly the rows and scores of the canonical data."""

from __future__ import annotations

import json

import pytest
import yaml

from etl.draft import draft_mapping
from etl.mapping import parse_mapping
from etl.platforms import detect_format, read_export
from schemas.instrument import parse_instrument
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import INSTRUMENT, query, responses_report, run
from tests.etl.platform_helpers import COMPARED, reference_rows, setup_database, write_mapping


def _split(rows):
    return [r for r in rows if r["wave"] == "pre"], [r for r in rows if r["wave"] == "post"]


@pytest.mark.parametrize("text", [False, True], ids=["numeric", "choice-text"])
@pytest.mark.parametrize("utf16", [False, True], ids=["utf8-bom-csv", "utf16-tsv"])
def test_qualtrics_exports_give_the_canonical_rows_and_scores(tmp_path, text, utf16):
    pre, post = _split(pf.good_rows())
    db = setup_database(tmp_path)
    suffix = ".tsv" if utf16 else ".csv"
    pre_file = tmp_path / f"pre{suffix}"
    pre_file.write_bytes(pf.qualtrics_export(pre, text=text, utf16=utf16))
    post_file = tmp_path / f"post{suffix}"
    post_file.write_bytes(
        pf.qualtrics_export(post, text=text, utf16=utf16, extra=("preview",), unfinished=("A2",))
    )
    mapping = write_mapping(
        tmp_path, pf.QUALTRICS_MAPPING_TEXT if text else pf.QUALTRICS_MAPPING_NUMERIC
    )
    first = run([pre_file], db, mapping=mapping)
    second = run([post_file], db, mapping=mapping, wave="post")
    (pre_report,) = responses_report(first)
    (post_report,) = responses_report(second)
    # Previews and spam are set aside with their reason; so is an unfinished response too
    # short to score. An unfinished one that meets min_answered (A2 post) is kept, flagged.
    assert (pre_report.rows_read, pre_report.rows_loaded, pre_report.rows_quarantined) == (6, 3, 3)
    assert (post_report.rows_read, post_report.rows_loaded, post_report.rows_quarantined) == (
        3,
        2,
        1,
    )
    assert query(db, COMPARED) == reference_rows(tmp_path)
    rules = query(db, "SELECT source_row, rules FROM quarantine ORDER BY source, source_row")
    assert sorted(rule for _, (rule,) in rules) == sorted(
        [
            "response_is_not_a_preview",
            "response_is_not_spam",
            "unfinished_response_meets_min_answered",
            "response_is_not_a_preview",
        ]
    )
    # Rows are numbered as a spreadsheet shows them: three header rows, data from row 4.
    assert {row for row, _ in rules} == {7, 8, 9, 6}
    assert query(db, "SELECT count(*) FROM responses WHERE flag_unfinished") == [(1,)]
    assert query(db, "SELECT duration_seconds FROM responses LIMIT 1") == [(600.0,)]
    runs = query(
        db,
        "SELECT input_format, mapping_sha256, message FROM ingest_runs WHERE kind = 'responses'",
    )
    for input_format, sha, message in runs:
        assert input_format == "qualtrics" and len(sha) == 64
        assert "IPAddress" in message and "ExternalReference" in message
    assert "IPAddress" in pre_report.message and "Q10_TEXT" in pre_report.dropped_columns


def test_personal_data_never_reaches_the_database(tmp_path):
    pre, _ = _split(pf.good_rows())
    db = setup_database(tmp_path)
    export = tmp_path / "pre.csv"
    export.write_bytes(pf.qualtrics_export(pre))
    run([export], db, mapping=write_mapping(tmp_path, pf.QUALTRICS_MAPPING_NUMERIC))
    con_text = " ".join(str(row) for row in query(db, "SELECT raw FROM quarantine")) + str(
        query(db, "SELECT * FROM responses")
    )
    for trap in ("192.0.2.", "@example.org", "51.5", "X-preview"):
        assert trap not in con_text


def test_unmapped_value_is_a_row_reason_naming_the_value_and_key(tmp_path):
    pre, _ = _split(pf.good_rows())
    db = setup_database(tmp_path)
    export = tmp_path / "pre.csv"
    export.write_bytes(pf.qualtrics_export(pre, text=True, extra=()))
    mapping = pf.QUALTRICS_MAPPING_TEXT.replace(' "Teacher": educator', ' "Coach": coach')
    (report,) = responses_report(run([export], db, mapping=write_mapping(tmp_path, mapping)))
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)
    reasons = query(db, "SELECT rules, reasons FROM quarantine")
    for rules, reason in reasons:
        assert rules == ["value_is_mapped"]
        assert "audience value 'Teacher' has no mapping" in reason and "values:" in reason


def test_unmapped_source_column_refuses_the_file_listing_the_columns(tmp_path):
    pre, _ = _split(pf.good_rows())
    db = setup_database(tmp_path)
    export = tmp_path / "pre.csv"
    export.write_bytes(pf.qualtrics_export(pre))
    mapping = (
        pf.QUALTRICS_MAPPING_NUMERIC.replace("  Q3: years_experience\n", "")
        .replace("  cohort: cohort_id\n", "")
        .replace("  wave: pre\n", "  wave: pre\n  cohort_id: C1\n")
    )
    (report,) = responses_report(run([export], db, mapping=write_mapping(tmp_path, mapping)))
    assert report.status == "rejected"
    assert "unmapped source column(s): Q3, cohort" in report.message
    assert "drop:" in report.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_a_column_that_looks_personal_is_still_refused(tmp_path):
    pre, _ = _split(pf.good_rows())
    db = setup_database(tmp_path)
    export = tmp_path / "pre.csv"
    data = pf.qualtrics_export(pre, extra=()).decode("utf-8-sig").splitlines()
    data[0] += ",Email"
    data[1] += ",Your e-mail"
    data[2] += ',"{""ImportId"":""QID99""}"'
    data[3:] = [line + f",p{n}@example.net" for n, line in enumerate(data[3:])]
    export.write_text("\n".join(data) + "\n")
    (report,) = responses_report(
        run([export], db, mapping=write_mapping(tmp_path, pf.QUALTRICS_MAPPING_NUMERIC))
    )
    assert report.status == "rejected"
    assert "column 'Email' looks like personal data" in report.message


def test_detects_qualtrics_and_reads_header_rows(tmp_path):
    pre, _ = _split(pf.good_rows())
    data = pf.qualtrics_export(pre, extra=())
    assert detect_format(tmp_path / "x.csv", data) == "qualtrics"
    export = read_export(tmp_path / "x.csv", data)
    assert export.table.num_rows == 3 and export.first_row == 4
    assert export.questions["Q1"].startswith("Please type your participant code\n")
    auto = yaml.safe_load(pf.QUALTRICS_MAPPING_NUMERIC) | {"format": "auto"}
    db = setup_database(tmp_path)
    path = tmp_path / "pre.csv"
    path.write_bytes(data)
    (report,) = responses_report(
        run([path], db, mapping=write_mapping(tmp_path, yaml.safe_dump(auto)))
    )
    assert report.status == "loaded"


def test_mapping_init_drafts_a_mapping_that_only_needs_its_todos(tmp_path):
    pre, _ = _split(pf.good_rows())
    data = pf.qualtrics_export(pre, text=True, extra=())
    instrument = parse_instrument(yaml.safe_load(INSTRUMENT))
    text = draft_mapping(tmp_path / "pre.csv", data, instrument)
    mapping = parse_mapping(yaml.safe_load(text))
    assert mapping.format == "qualtrics"
    assert mapping.columns["RecordedDate"] == "completed_at"
    assert mapping.columns["Q1"] == "participant_code"
    assert [mapping.columns[f"Q5_{i}"] for i in range(1, 6)] == [
        "CONF_01",
        "CONF_02",
        "CONF_03",
        "CONF_04",
        "CONF_05",
    ]
    assert mapping.values_for("CONF_03")["strongly agree"] == "5"
    assert mapping.values_for("BURN_01")["never"] == "1"
    assert mapping.values_for("audience")["therapist / counsellor"] == "mental_health"
    assert "# cohort_id: TODO" in text or "cohort: cohort_id" in text
    assert "# Q10_TEXT: TODO" in text
    assert "IPAddress" in text and "IPAddress:" not in text
    # Completing the TODOs gives a working mapping.
    completed = text.replace("  # wave: TODO", "  wave: pre #").replace(
        "# Q10_TEXT: TODO", "Q10_TEXT: years_experience #"
    )
    completed = completed.replace("drop: []", "drop: [Q10_TEXT]").replace(
        "Q10_TEXT: years_experience #", "# Q10"
    )
    db = setup_database(tmp_path)
    path = tmp_path / "pre.csv"
    path.write_bytes(data)
    mapping_path = write_mapping(tmp_path, completed)
    (report,) = responses_report(run([path], db, mapping=mapping_path))
    assert report.status == "loaded", (report.message, completed)


def test_mapping_file_errors_name_the_key():
    from etl.mapping import MappingError

    with pytest.raises(MappingError, match="unknown key"):
        parse_mapping({"colums": {}})
    with pytest.raises(MappingError, match="waves"):
        parse_mapping({"waves": {"pre_arm_1": "baseline"}})
    with pytest.raises(MappingError, match="more than one source column"):
        parse_mapping({"columns": {"Q1": "CONF_01", "Q2": "CONF_01"}})
    assert json.dumps(parse_mapping({"values": {"audience": {"Yes": "coach"}}}).values)
