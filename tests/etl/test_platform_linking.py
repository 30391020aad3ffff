"""Self-generated codes: built from components, linked across waves despite typos, never stored."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from etl.linking import normalise_component
from tests.etl.helpers import query, responses_report, run
from tests.etl.linking_fixtures import MAPPING, POST, PRE, codes_file
from tests.etl.platform_helpers import setup_database, write_mapping


def test_components_are_normalised():
    values = normalise_component(pa.array([" m ", "03", "Ö", "é-1", "", None, "0"]))
    assert values.to_pylist() == ["M", "3", "O", "E1", None, None, "0"]


def test_codes_link_across_waves_with_one_component_tolerance(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    pre = run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    assert responses_report(pre)[0].status == "loaded"
    post = run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    (report,) = responses_report(post)
    assert (report.rows_loaded, report.rows_quarantined) == (6, 1)
    assert "C1 pre->post 4/6 (2 exact, 2 within tolerance 1)" in report.message
    assert query(
        db,
        "SELECT cohort_id, wave_from, wave_to, file_wave, candidates, exact_matches, "
        "fuzzy_matches, unmatched, match_rate, tolerance FROM linkage",
    ) == [("C1", "pre", "post", "post", 6, 2, 2, 2, 4 / 6, 1)]
    pairs = query(db, "SELECT count(DISTINCT participant_id) FROM paired_scores")
    assert pairs == [(4,)]
    ((rules, reasons),) = query(db, "SELECT rules, reasons FROM quarantine")
    assert rules == ["code_components_are_present"] and "month" in reasons


def test_tolerance_zero_links_exact_codes_only(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING.replace("tolerance: 1", "tolerance: 0"))
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    assert query(db, "SELECT exact_matches, fuzzy_matches, unmatched FROM linkage") == [(2, 0, 4)]


def test_waves_in_one_file_link_too(tmp_path):
    db = setup_database(tmp_path)
    path = tmp_path / "both.csv"
    pre = codes_file(tmp_path / "a.csv", PRE, "pre", "2024-03-01").read_text().splitlines()
    post = codes_file(tmp_path / "b.csv", POST[:4], "post", "2024-03-20").read_text().splitlines()
    path.write_text("\n".join(pre + post[1:]) + "\n")
    (report,) = responses_report(run([path], db, mapping=write_mapping(tmp_path, MAPPING)))
    assert report.rows_loaded == 11
    assert query(db, "SELECT count(DISTINCT participant_id) FROM paired_scores") == [(4,)]


def test_neither_the_code_nor_its_components_are_stored(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        ]
        dump = " ".join(str(con.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables)
    finally:
        con.close()
    assert "ZQX" not in dump.upper()
    assert "M-3-ZQX-2" not in dump.upper()
    assert "mother" not in query(db, "SELECT string_agg(raw, ' ') FROM quarantine")[0][0]


def test_older_databases_get_the_linkage_tables(tmp_path):
    db = setup_database(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE linkage; DROP TABLE linkage_keys")
    con.execute("ALTER TABLE responses DROP COLUMN flag_unfinished")
    con.close()
    mapping = write_mapping(tmp_path, MAPPING)
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    assert query(db, "SELECT count(*) FROM linkage_keys") == [(4 * len(PRE),)]
    comments = query(
        db,
        "SELECT count(*) FROM duckdb_columns() WHERE table_name IN ('linkage', 'linkage_keys') "
        "AND comment IS NULL",
    )
    assert comments == [(0,)]
