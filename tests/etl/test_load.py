"""Loading is idempotent, replaces only when asked, and documents every table and column."""

from __future__ import annotations

import duckdb

from tests.etl.helpers import GOOD_ROWS, query, responses_csv, responses_report, run, write_dataset


def test_reingesting_the_same_files_is_a_no_op_that_says_so(dataset, db_path):
    first = run([dataset], db_path)
    second = run([dataset], db_path)
    assert {file.status for file in second.files} == {"skipped"}
    assert all("already loaded" in file.message for file in second.files)
    assert second.exit_code == 0
    assert query(db_path, "SELECT count(*) FROM responses") == [(5,)]
    assert query(db_path, "SELECT count(*) FROM scale_scores") == [(10,)]
    assert first.exit_code == 0


def test_corrected_export_without_replace_quarantines_rows_already_loaded(
    dataset, db_path, tmp_path
):
    run([dataset], db_path)
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(responses_csv(GOOD_ROWS[0].replace(",2,2,3,2,4,", ",3,3,3,3,3,")))
    (report,) = responses_report(run([corrected], db_path))
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1)
    ((rules, reasons),) = query(db_path, "SELECT rules, reasons FROM quarantine")
    assert rules == ["response_not_already_loaded"]
    assert "--replace" in reasons and "responses.csv" in reasons


def test_corrected_export_with_replace_replaces_the_rows_and_their_scores(
    dataset, db_path, tmp_path
):
    run([dataset], db_path)
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(responses_csv(GOOD_ROWS[0].replace(",2,2,3,2,4,", ",3,3,3,3,3,")))
    (report,) = responses_report(run([corrected], db_path, replace=True))
    assert (report.rows_loaded, report.rows_replaced, report.rows_quarantined) == (1, 1, 0)
    assert query(db_path, "SELECT count(*) FROM responses") == [(5,)]
    scores = query(
        db_path,
        "SELECT s.score FROM scale_scores s JOIN responses r USING (participant_id, cohort_id, wave) "
        "WHERE r.source LIKE '%corrected.csv' AND s.scale_id = 'CONF'",
    )
    assert scores == [(3.0,)]
    assert query(db_path, "SELECT count(*) FROM scale_scores WHERE scale_id = 'CONF'") == [(5,)]


def test_every_run_conserves_rows(tmp_path):
    rows = (*GOOD_ROWS, "Z1,C9,pre,2024-03-01,educator,5,2,2,3,2,4,4,4,3")
    folder = write_dataset(tmp_path / "export", rows=rows)
    db = tmp_path / "a.duckdb"
    run([folder], db)
    for read, loaded, quarantined in query(
        db,
        "SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_runs WHERE status <> 'rejected'",
    ):
        assert read == loaded + quarantined
    assert query(db, "SELECT count(*) FROM responses") == [(5,)]
    assert query(db, "SELECT count(*) FROM quarantine WHERE source LIKE '%responses.csv'") == [(1,)]


def test_every_table_view_and_column_has_a_comment(dataset, db_path):
    run([dataset], db_path)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name, comment FROM duckdb_tables() UNION ALL "
            "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        columns = con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE table_name IN (SELECT table_name FROM duckdb_tables() UNION "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal)"
        ).fetchall()
    finally:
        con.close()
    assert {"responses", "scale_scores", "paired_scores", "quarantine", "ingest_runs"} <= {
        t for t, _ in tables
    }
    assert [name for name, comment in tables if not comment] == []
    assert [(table, column) for table, column, comment in columns if not comment] == []
    item_comment = [comment for table, column, comment in columns if column == "CONF_05"]
    assert "reverse-keyed" in item_comment[0]


def test_paired_scores_gives_one_row_per_participant_scale_and_wave_pair(dataset, db_path):
    run([dataset], db_path)
    rows = query(
        db_path,
        "SELECT scale_id, wave_from, wave_to, score_from, score_to, change, improvement "
        "FROM paired_scores ORDER BY scale_id, score_from",
    )
    # A1 and A2 have pre and post; B1 has only pre.
    assert len(rows) == 4
    burn = [row for row in rows if row[0] == "BURN"]
    # Burnout: lower is better, so a fall is a positive improvement.
    for _, wave_from, wave_to, score_from, score_to, change, improvement in burn:
        assert (wave_from, wave_to) == ("pre", "post")
        assert change == score_to - score_from
        assert improvement == -change
    assert sorted(round(row[5], 4) for row in burn) == [-1.0, -1.0]


def test_instrument_change_that_would_rescore_loaded_data_is_refused(dataset, db_path):
    run([dataset], db_path)
    text = (dataset / "instrument.yaml").read_text().replace("reverse: [CONF_05]", "reverse: []")
    (dataset / "instrument.yaml").write_text(text)
    report = run([dataset / "instrument.yaml"], db_path)
    assert report.files[0].status == "rejected"
    assert "CONF" in report.files[0].message


def test_responses_file_alone_uses_the_instrument_and_cohorts_already_loaded(
    dataset, db_path, tmp_path
):
    run([dataset / "instrument.yaml", dataset / "programs.csv", dataset / "cohorts.csv"], db_path)
    later = tmp_path / "later_wave.csv"
    later.write_text(responses_csv("B1,C2,post,2024-07-02,mental_health,20,3,3,3,3,3,2,2,2"))
    (report,) = responses_report(run([later], db_path))
    assert report.status == "loaded"
    assert query(db_path, "SELECT count(*) FROM scale_scores") == [(2,)]


def test_a_database_made_before_scale_scores_carried_the_audience_gains_it_on_the_next_ingest(
    dataset, db_path, tmp_path
):
    run([dataset], db_path)
    with duckdb.connect(str(db_path)) as con:  # the view as an older Attune wrote it
        con.execute("CREATE OR REPLACE VIEW scale_scores AS SELECT participant_id, cohort_id, "
                    "wave, 'CONF' AS scale_id, score_CONF AS score, answered_CONF AS "
                    "items_answered FROM responses WHERE answered_CONF > 0")
    more = tmp_path / "more.csv"
    more.write_text(responses_csv("Z9,C1,pre,2024-03-01,hr,5,2,2,3,2,4,4,4,3"))
    run([more], db_path)
    audiences = query(db_path, "SELECT DISTINCT audience FROM scored_responses "
                               "WHERE participant_id IS NOT NULL ORDER BY 1")
    expected = query(db_path, "SELECT DISTINCT audience FROM responses ORDER BY 1")
    assert audiences == expected and audiences
    assert query(db_path, "SELECT count(*) FROM scale_scores WHERE scale_id = 'BURN'") != [(0,)]
