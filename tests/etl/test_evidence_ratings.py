"""evidence.csv's optional study ratings (attrition, followup_months, risk_of_bias,
independent): stored as given, NULL when the file leaves them out, and a value outside the
contract set aside with its reason like every evidence rule."""

from __future__ import annotations

import duckdb
import pytest

from etl.load import ensure_platform_schema, schema_sql
from tests.etl.helpers import query, run

HEADER = "study_id,citation,year,design,outcome_domain,n,yi,vi{extra}\n"
COLUMNS = ",attrition,followup_months,risk_of_bias,independent"
GOOD = "S1,A study,2019,randomised,Confidence,263,0.34,0.0154,"


def _load(tmp_path, *rows: str, extra: str = COLUMNS):
    evidence = tmp_path / "evidence.csv"
    evidence.write_text(HEADER.format(extra=extra) + "\n".join(rows) + "\n")
    db = tmp_path / "a.duckdb"
    (report,) = run([evidence], db).files
    return report, db


def test_study_ratings_are_stored_as_given(tmp_path):
    report, db = _load(tmp_path, GOOD + "12.5,12,low,true",
                       "S2,B study,2020,comparison_group,Confidence,90,0.5,0.05,,6,high,false")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    assert query(db, "SELECT study_id, attrition, followup_months, risk_of_bias, independent "
                     "FROM evidence ORDER BY study_id") == [
        ("S1", 12.5, 12.0, "low", True), ("S2", None, 6.0, "high", False)]


def test_a_file_without_the_rating_columns_stores_them_as_null_not_reported(tmp_path):
    report, db = _load(tmp_path, "S1,A study,2019,randomised,Confidence,263,0.34,0.0154",
                       extra="")
    assert report.rows_loaded == 1
    assert query(db, "SELECT attrition, followup_months, risk_of_bias, independent "
                     "FROM evidence") == [(None, None, None, None)]


@pytest.mark.parametrize(
    ("ratings", "rule", "words"),
    [
        ("10,12,serious,true", "risk_of_bias_is_allowed",
         "risk_of_bias 'serious' is not one of low, some_concerns, high"),
        ("10,12,Low,true", "risk_of_bias_is_allowed", "risk_of_bias 'Low' is not one of"),
        ("120,12,low,true", "attrition_is_a_percentage",
         "attrition must be a percentage between 0 and 100 (not a proportion), got 120"),
        ("10,-3,low,true", "followup_months_is_not_negative",
         "followup_months must not be negative, got -3"),
        ("10,12,low,developer", "value_is_true_or_false",
         "independent must be true or false, got 'developer'"),
    ],
)  # fmt: skip
def test_a_rating_outside_the_contract_sets_the_study_aside_with_its_reason(
    tmp_path, ratings, rule, words
):
    report, db = _load(tmp_path, GOOD + "12,12,low,true",
                       "S2,B study,2020,randomised,Confidence,90,0.5,0.05," + ratings)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    ((row, rules, reasons),) = query(db, "SELECT source_row, rules, reasons FROM quarantine")
    assert row == 3 and rules == [rule]
    assert words in reasons
    assert query(db, "SELECT study_id FROM evidence") == [("S1",)]


def test_an_evidence_table_made_before_the_ratings_gains_them_as_null(tmp_path):
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(schema_sql("ddl.sql"))
        for column in ("attrition", "followup_months", "risk_of_bias", "independent"):
            con.execute(f"ALTER TABLE evidence DROP COLUMN {column}")
        con.execute("INSERT INTO evidence (study_id, citation, year, design, outcome_domain, "
                    "n, synthetic) VALUES ('OLD', 'Old study', 2010, 'randomised', "
                    "'Confidence', 50, false)")
        ensure_platform_schema(con)
        assert con.execute("SELECT attrition, followup_months, risk_of_bias, independent "
                           "FROM evidence").fetchall() == [(None, None, None, None)]
