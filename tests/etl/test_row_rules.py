"""Each rule of the responses contract quarantines the row that breaks it, with its reason."""

from __future__ import annotations

import json

import pytest

from stats.meta import smcr_from_prepost
from tests.etl.helpers import GOOD_ROWS, query, responses_report, run, write_dataset

# One broken row per rule: (rule, row, words the reason must contain).
BROKEN_ROWS = [
    (
        "item_within_scale_range",
        "Z1,C1,pre,2024-03-01,educator,5,9,2,3,2,4,4,4,3",
        "CONF_01 must be within its scale's range, got 9",
    ),
    (
        "value_is_a_number",
        "Z1,C1,pre,2024-03-01,educator,5,agree,2,3,2,4,4,4,3",
        "CONF_01 must be a number, got 'agree'",
    ),
    (
        "value_is_a_date",
        "Z1,C1,pre,31/02/2024,educator,5,2,2,3,2,4,4,4,3",
        "completed_at must be a date written YYYY-MM-DD, got '31/02/2024'",
    ),
    ("value_is_a_date", "Z1,C1,pre,2024-02-31,educator,5,2,2,3,2,4,4,4,3", "got '2024-02-31'"),
    (
        "date_not_in_future",
        "Z1,C1,post,2099-01-01,educator,5,2,2,3,2,4,4,4,3",
        "completed_at 2099-01-01 is in the future",
    ),
    (
        "cohort_id_exists",
        "Z1,C9,pre,2024-03-01,educator,5,2,2,3,2,4,4,4,3",
        "cohort_id 'C9' is not in cohorts.csv",
    ),
    (
        "wave_is_allowed",
        "Z1,C1,mid,2024-03-01,educator,5,2,2,3,2,4,4,4,3",
        "wave 'mid' is not one of pre, post",
    ),
    (
        "audience_is_allowed",
        "Z1,C1,pre,2024-03-01,teacher,5,2,2,3,2,4,4,4,3",
        "audience 'teacher' is not one of",
    ),
    (
        "value_is_present",
        ",C1,pre,2024-03-01,educator,5,2,2,3,2,4,4,4,3",
        "participant_code must not be blank",
    ),
    (
        "pre_wave_within_14_days_of_cohort_start",
        "Z1,C1,pre,2024-03-25,educator,5,2,2,3,2,4,4,4,3",
        "more than 14 days after the cohort started",
    ),
    (
        "later_wave_not_before_cohort_end",
        "Z1,C1,post,2024-03-01,educator,5,2,2,3,2,4,4,4,3",
        "before the cohort ended",
    ),
    (
        "years_experience_within_0_to_70",
        "Z1,C1,pre,2024-03-01,educator,99,2,2,3,2,4,4,4,3",
        "years_experience must be between 0 and 70, got 99",
    ),
]


@pytest.mark.parametrize(
    ("rule", "row", "words"),
    BROKEN_ROWS,
    ids=[case[0] + f"-{i}" for i, case in enumerate(BROKEN_ROWS)],
)
def test_row_breaking_a_rule_is_quarantined_with_its_reason(tmp_path, rule, row, words):
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, row))
    db = tmp_path / "a.duckdb"
    report = run([folder], db)
    (responses,) = responses_report(report)
    assert (responses.rows_read, responses.rows_loaded, responses.rows_quarantined) == (6, 5, 1)
    assert responses.status == "partial"
    assert report.exit_code == 1
    ((source, source_row, rules, reasons),) = query(
        db, "SELECT source, source_row, rules, reasons FROM quarantine"
    )
    assert source.endswith("responses.csv")
    assert source_row == 7  # header is row 1, the broken row is the sixth data row
    assert rule in rules
    assert words in reasons


def test_duplicate_participant_cohort_wave_quarantines_every_copy(tmp_path):
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, GOOD_ROWS[0]))
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([folder], db))
    assert (responses.rows_loaded, responses.rows_quarantined) == (4, 2)
    rows = query(db, "SELECT source_row, rules FROM quarantine ORDER BY source_row")
    assert [row[0] for row in rows] == [2, 7]
    assert all(row[1] == ["one_response_per_participant_cohort_wave"] for row in rows)


def test_codes_differing_only_in_case_or_blanks_are_one_participant(tmp_path):
    # "a 1" and "A1" get the same keyed hash, so two rows with them at one wave are duplicates.
    copy = "a 1" + GOOD_ROWS[0][2:]
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, copy))
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([folder], db))
    assert (responses.rows_loaded, responses.rows_quarantined) == (4, 2)
    assert query(db, "SELECT count(*) FROM (SELECT participant_id, cohort_id, wave FROM "
                     "responses GROUP BY ALL HAVING count(*) > 1)") == [(0,)]


def test_row_breaking_several_rules_lists_every_reason(tmp_path):
    row = "Z1,C9,mid,2024-03-01,teacher,5,9,2,3,2,4,4,4,3"
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, row))
    db = tmp_path / "a.duckdb"
    run([folder], db)
    ((rules, reasons),) = query(db, "SELECT rules, reasons FROM quarantine")
    assert set(rules) == {
        "cohort_id_exists",
        "wave_is_allowed",
        "audience_is_allowed",
        "item_within_scale_range",
    }
    assert reasons.count(";") == 3


def test_quarantined_row_keeps_raw_values_but_never_the_participant_code(tmp_path):
    row = "SECRET-CODE-7,C1,pre,2024-03-01,educator,5,9,2,3,2,4,4,4,3"
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, row))
    db = tmp_path / "a.duckdb"
    run([folder], db)
    ((raw,),) = query(db, "SELECT raw FROM quarantine")
    record = json.loads(raw)
    assert record["participant_code"].startswith("hmac:")
    assert "SECRET" not in raw
    assert float(record["CONF_01"]) == 9


def test_valid_rows_of_a_file_with_bad_rows_still_load(tmp_path):
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, BROKEN_ROWS[0][1]))
    db = tmp_path / "a.duckdb"
    run([folder], db)
    assert query(db, "SELECT count(*) FROM responses") == [(5,)]


def test_strict_refuses_the_whole_file_when_a_row_breaks_a_rule(tmp_path):
    folder = write_dataset(tmp_path / "export", rows=(*GOOD_ROWS, BROKEN_ROWS[0][1]))
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([folder], db, strict=True))
    assert responses.status == "rejected"
    assert responses.rows_loaded == 0
    assert "--strict" in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]
    assert query(db, "SELECT count(*) FROM quarantine") == [(1,)]


COHORT_HEADER = (
    "cohort_id,program_id,sponsor_id,start_date,end_date,supervision,cost_per_participant"
)


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("C3,P9,SP1,2024-03-04,2024-03-05,false,", "program_id_exists"),
        ("C3,P1,SP1,2024-03-04,2024-03-01,false,", "end_date_not_before_start_date"),
        ("C3,P1,SP1,2024-03-04,2024-03-05,maybe,", "value_is_true_or_false"),
        ("C3,P1,SP1,2024-03-04,2024-03-05,false,-5", "cost_is_not_negative"),
        ("C1,P1,SP1,2024-03-04,2024-03-05,false,", "cohort_id_is_unique"),
    ],
)
def test_cohort_row_breaking_a_rule_is_quarantined(tmp_path, row, rule):
    folder = write_dataset(tmp_path / "export")
    cohorts = (folder / "cohorts.csv").read_text() + row + "\n"
    (folder / "cohorts.csv").write_text(cohorts)
    db = tmp_path / "a.duckdb"
    report = run([folder], db)
    (cohort_report,) = [file for file in report.files if file.kind == "cohorts"]
    assert cohort_report.rows_quarantined >= 1
    assert any(rule in rules for (rules,) in query(db, "SELECT rules FROM quarantine"))


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("P3,Mentoring,bootcamp,online,10", "format_is_allowed"),
        ("P3,Mentoring,workshop,by_post,10", "delivery_is_allowed"),
        ("P3,Mentoring,workshop,online,0", "contact_hours_is_positive"),
    ],
)
def test_program_row_breaking_a_rule_is_quarantined(tmp_path, row, rule):
    folder = write_dataset(tmp_path / "export")
    (folder / "programs.csv").write_text((folder / "programs.csv").read_text() + row + "\n")
    db = tmp_path / "a.duckdb"
    run([folder], db)
    assert query(db, "SELECT rules FROM quarantine") == [([rule],)]
    assert query(db, "SELECT count(*) FROM programs") == [(2,)]


EVIDENCE = """\
study_id,citation,year,design,outcome_domain,n,yi,vi,synthetic
S1,Synthetic study 1 (not a real publication),2019,randomised,Confidence,80,0.4,0.05,true
"""


@pytest.mark.parametrize(
    ("row", "rule", "words"),
    [
        ("S2,Study,nineteen,randomised,Confidence,80,0.4,0.05,", "value_is_a_number",
         "year must be a number, got 'nineteen'"),
        ("S2,Study,2019,randomised,Confidence,80,0.4,0.05,maybe", "value_is_true_or_false",
         "synthetic must be true or false, got 'maybe'"),
        (",Study,2019,randomised,Confidence,80,0.4,0.05,", "value_is_present",
         "study_id must not be blank"),
        ("S1,Study,2019,randomised,Confidence,80,0.4,0.05,", "study_id_is_unique",
         "study_id 'S1' appears more than once"),
        ("S2,Study,2019,cohort_study,Confidence,80,0.4,0.05,", "design_is_allowed",
         "design 'cohort_study' is not one of single_group_pre_post, comparison_group, "
         "randomised"),
        ("S2,Study,1850,randomised,Confidence,80,0.4,0.05,", "year_is_plausible",
         "year must be between 1900 and this year, got 1850"),
        ("S2,Study,2019,randomised,Confidence,12.5,0.4,0.05,", "n_is_positive",
         "n must be a whole number above 0, got 12.5"),
        ("S2,Study,2019,randomised,Confidence,80,0.4,-0.05,", "vi_is_positive",
         "vi must be above 0, got -0.05"),
        ("S2,Study,2019,randomised,Confidence,80,,,", "effect_size_is_given",
         "give yi and vi, or g with its 95% CI"),
    ],
)  # fmt: skip
def test_evidence_row_breaking_a_rule_is_quarantined_with_its_reason(tmp_path, row, rule, words):
    evidence = tmp_path / "evidence.csv"
    evidence.write_text(EVIDENCE + row + "\n")
    db = tmp_path / "a.duckdb"
    (report,) = run([evidence], db).files
    assert (report.rows_read, report.rows_quarantined) == (2, 2 if rule.endswith("unique") else 1)
    assert all(rule in rules for (rules,) in query(db, "SELECT rules FROM quarantine"))
    assert any(words in reasons for (reasons,) in query(db, "SELECT reasons FROM quarantine"))


def test_evidence_row_without_yi_loads_with_the_effect_size_of_its_means_and_synthetic_false(
    tmp_path,
):
    evidence = tmp_path / "evidence.csv"
    evidence.write_text(
        "study_id,citation,year,design,outcome_domain,n,mean_pre,mean_post,sd_pre,r\n"
        "S2,A study,2019,single_group_pre_post,Confidence,50,3.0,3.5,1.0,0.5\n"
    )
    db = tmp_path / "a.duckdb"
    (report,) = run([evidence], db).files
    assert (report.status, report.rows_loaded) == ("loaded", 1)
    ((yi, vi, synthetic),) = query(db, "SELECT yi, vi, synthetic FROM evidence")
    assert (yi, vi) == pytest.approx(
        smcr_from_prepost(mean_pre=3.0, mean_post=3.5, sd_pre=1.0, r=0.5, n=50)
    )
    assert 0.45 < yi < 0.5  # d = 0.5, shrunk by the small-sample correction
    assert synthetic is False


def test_evidence_row_with_g_and_its_interval_loads_with_the_variance_of_that_interval(tmp_path):
    evidence = tmp_path / "evidence.csv"
    evidence.write_text(
        "study_id,citation,year,design,outcome_domain,n,g,g_ci_low,g_ci_high\n"
        "S3,A study,2020,randomised,Confidence,120,0.42,0.05,0.79\n"
        "S4,Reversed interval,2020,randomised,Confidence,120,0.42,0.79,0.05\n"
    )
    db = tmp_path / "a.duckdb"
    (report,) = run([evidence], db).files
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    ((study, yi, vi),) = query(db, "SELECT study_id, yi, vi FROM evidence")
    # Cochrane Handbook 6.3.1: SE = (0.79 - 0.05) / (2 * 1.959964)
    assert (study, yi, vi) == ("S3", pytest.approx(0.42), pytest.approx((0.74 / 3.919928) ** 2))
    assert query(db, "SELECT rules FROM quarantine") == [(["effect_size_is_given"],)]
