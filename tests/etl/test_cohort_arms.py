"""cohorts.csv's optional arm: intervention (blank or no column), comparison or waitlist,
stored as given, and any other value set aside with its reason like every cohort rule."""

from __future__ import annotations

from tests.etl.helpers import query, run, write_dataset

ARM_HEADER = (
    "cohort_id,program_id,sponsor_id,start_date,end_date,supervision,cost_per_participant,arm"
)


def _with_cohorts(tmp_path, *rows: str):
    folder = write_dataset(tmp_path / "export")
    (folder / "cohorts.csv").write_text("\n".join([ARM_HEADER, *rows]) + "\n")
    return folder


def test_cohorts_file_without_an_arm_column_stores_every_cohort_as_intervention(tmp_path):
    db = tmp_path / "a.duckdb"
    run([write_dataset(tmp_path / "export")], db)
    assert query(db, "SELECT cohort_id, arm FROM cohorts ORDER BY cohort_id") == [
        ("C1", "intervention"), ("C2", "intervention")]


def test_waitlist_and_comparison_cohorts_are_stored_with_their_arm_and_blank_is_intervention(
    tmp_path,
):
    folder = _with_cohorts(
        tmp_path,
        "C1,P1,SP1,2024-03-04,2024-03-05,false,300,",
        "C2,P2,SP2,2024-01-15,2024-06-30,true,, waitlist ",
        "C3,P1,SP1,2024-03-04,2024-03-05,false,,comparison",
    )
    db = tmp_path / "a.duckdb"
    report = run([folder], db)
    (cohorts,) = [file for file in report.files if file.kind == "cohorts"]
    assert (cohorts.rows_loaded, cohorts.rows_quarantined) == (3, 0)
    assert query(db, "SELECT cohort_id, arm FROM cohorts ORDER BY cohort_id") == [
        ("C1", "intervention"), ("C2", "waitlist"), ("C3", "comparison")]


def test_unknown_arm_sets_the_cohort_aside_naming_file_row_column_rule_and_value(tmp_path):
    folder = _with_cohorts(
        tmp_path,
        "C1,P1,SP1,2024-03-04,2024-03-05,false,300,intervention",
        "C2,P2,SP2,2024-01-15,2024-06-30,true,,control",
    )
    db = tmp_path / "a.duckdb"
    report = run([folder], db)
    (cohorts,) = [file for file in report.files if file.kind == "cohorts"]
    assert (cohorts.rows_loaded, cohorts.rows_quarantined) == (1, 1)
    ((source, row, rules, reasons),) = query(
        db, "SELECT source, source_row, rules, reasons FROM quarantine "
        "WHERE source LIKE '%cohorts.csv'")
    assert source.endswith("cohorts.csv") and row == 3
    assert rules == ["arm_is_allowed"]
    assert "arm 'control' is not one of intervention, comparison, waitlist" in reasons
    assert query(db, "SELECT cohort_id FROM cohorts") == [("C1",)]


def test_an_arm_in_capitals_is_not_one_of_the_arms(tmp_path):
    # Coded values are read as written (trimmed), like format or audience: never guessed.
    folder = _with_cohorts(tmp_path, "C1,P1,SP1,2024-03-04,2024-03-05,false,300,Waitlist")
    db = tmp_path / "a.duckdb"
    run([folder], db)
    assert query(db, "SELECT rules FROM quarantine WHERE source LIKE '%cohorts.csv'") == [
        (["arm_is_allowed"],)]
