"""Query layer: suppression, filters, statistics against closed-form values, caching."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading

import duckdb
import pytest

from dashboard import queries as q
from dashboard import state as url_state
from dashboard.queries import Database, Filters
from stats.paired import paired_change
from tests.dashboard.conftest import build_tiny_db


def _pairs(n):
    pre = [2 + (i % 5) * 0.25 for i in range(n)]
    post = [p + 0.5 + (i % 3) * 0.25 for i, p in enumerate(pre)]
    return pre, post


def test_group_change_matches_stats_on_raw_pairs(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    rows = q.group_change(db, scale_id="CONF", by=("audience", "format"),
                         complementary=False)
    hr_workshop = next(r for r in rows if (r["audience"], r["format"]) == ("hr", "workshop"))
    expected = paired_change(*_pairs(20))
    assert hr_workshop["n_pairs"] == 20
    for key in ("mean_from", "mean_to", "mean_change", "sd_change", "ci_low", "ci_high", "t",
                "p", "d_z", "g_av"):
        assert hr_workshop[key] == pytest.approx(getattr(expected, key), rel=1e-9, abs=1e-12)
    assert hr_workshop["suppressed"] is False
    assert hr_workshop["p_adj"] is not None and hr_workshop["p_adj"] >= hr_workshop["p"]


def test_small_group_is_suppressed_with_every_number_hidden(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    rows = q.group_change(db, scale_id="CONF", by=("audience", "format"))
    small = next(r for r in rows if r["audience"] == "educator")
    assert small["suppressed"] is True
    for key in q.STAT_KEYS:
        assert small[key] is None, key
    assert 7 not in [v for v in small.values() if isinstance(v, int) and not isinstance(v, bool)]


def test_min_cell_size_is_configurable(tiny_db):
    db = Database(tiny_db, min_cell_size=5)
    rows = q.group_change(db, scale_id="CONF", by=("audience",), filters=Filters(
        format=("workshop",)))
    assert {r["audience"]: r["n_pairs"] for r in rows} == {"educator": 7, "hr": 20}
    strict = Database(tiny_db, min_cell_size=50)
    assert all(r["suppressed"] for r in q.group_change(strict, scale_id="CONF", by=()))


def test_suppression_reaches_every_public_query(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    only_small = Filters(audience=("educator",))
    assert q.group_change(db, scale_id="CONF", by=(), filters=only_small)[0]["suppressed"]
    assert q.change_distribution(db, scale_id="CONF", filters=only_small)["suppressed"]
    ppl = q.people(db, filters=only_small)
    assert ppl[0]["suppressed"] and ppl[0]["n_people"] is None
    # histogram bins under the cell size carry no count
    dist = q.change_distribution(db, scale_id="CONF")
    assert all(b["n"] is None for b in dist["bins"] if b["suppressed"])
    assert all(b["n"] >= 11 for b in dist["bins"] if not b["suppressed"])
    # programme tiers for small programmes are hidden
    assert all(p["tier"] is None for p in q.program_evidence(db, scale_id="CONF",
                                                             filters=only_small))


def test_filters_restrict_groups(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    assert [r["format"] for r in q.group_change(
        db, scale_id="CONF", by=("format",), filters=Filters(format=("degree",)))] == ["degree"]
    supervised = q.group_change(db, scale_id="CONF", by=("format",),
                                filters=Filters(supervision=True))
    assert {r["format"] for r in supervised} == {"degree"}  # cohort C0 (degree) is supervised
    late = q.group_change(db, scale_id="CONF", by=("format",),
                          filters=Filters(cohort_start_from=dt.date(2024, 2, 1)))
    assert {r["format"] for r in late} == {"workshop"}
    none = q.group_change(db, scale_id="CONF", by=(), filters=Filters(sponsor=("nobody",)))
    assert none == []


def test_filter_values_are_parameters_not_sql(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    evil = Filters(audience=("hr') OR 1=1 --",), program=("x'; DROP TABLE responses; --",))
    assert q.group_change(db, scale_id="CONF", by=("audience",), filters=evil) == []
    with pytest.raises(ValueError):
        q.group_change(db, scale_id="CONF", by=("audience; DROP TABLE x",))
    with pytest.raises(ValueError):
        q.group_change(db, scale_id="nope")


def test_reliable_change_counts_in_sql(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    info = q.scales(db)[0]
    pre, post = _pairs(20)
    threshold = info["reliable_threshold"]
    row = q.group_change(db, scale_id="CONF", by=("audience", "format"),
                         filters=Filters(audience=("hr",), format=("workshop",)))[0]
    expected = sum(1 for a, b in zip(pre, post, strict=True) if b - a > threshold)
    assert row["n_improved"] == expected
    assert row["pct_reliable_improved"] == pytest.approx(100 * expected / 20)


def test_cache_hits_and_file_replacement_invalidates(tmp_path):
    path = build_tiny_db(tmp_path / "a.duckdb", {("hr", "workshop"): 15})
    db = Database(path, min_cell_size=11)
    first = q.group_change(db, scale_id="CONF", by=())
    misses = db.cache_misses
    assert q.group_change(db, scale_id="CONF", by=()) == first
    assert db.cache_hits >= 1 and db.cache_misses == misses
    # publish a new file the way etl does: write elsewhere, then os.replace
    other = build_tiny_db(tmp_path / "b.duckdb", {("hr", "workshop"): 30})
    os.replace(other, path)
    second = q.group_change(db, scale_id="CONF", by=())
    assert second[0]["n_pairs"] == 30 and db.opens == 2


def test_connections_are_read_only(tiny_db):
    db = Database(tiny_db)
    with pytest.raises(duckdb.Error):
        db.fetch("CREATE TABLE attune.hack AS SELECT 1")
    with pytest.raises(duckdb.Error):
        db.fetch("SELECT * FROM read_csv('/etc/passwd')")


def test_threads_get_their_own_cursor(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    errors = []

    def work(i):
        try:
            for _ in range(5):
                q.group_change(db, scale_id="CONF", by=("audience",),
                               filters=Filters(format=(("workshop", "degree")[i % 2],)))
                db.clear_cache()
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_group_change_accepts_a_path(tiny_db):
    rows = q.group_change(str(tiny_db), scale_id="CONF", by=("format",))
    assert {r["format"] for r in rows} == {"workshop", "degree"}


def test_views_agree_with_cubes_on_demo(demo_db):
    db = Database(demo_db, min_cell_size=11)
    rows = q.group_change(db, scale_id="KNOW", by=("format",))
    view = {fmt: (n, m) for fmt, n, m in db.fetch(
        "SELECT format, count(*), avg(improvement) FROM attune.paired_scores "
        "WHERE scale_id = 'KNOW' AND wave_from = 'pre' AND wave_to = 'post' GROUP BY format")}
    for r in rows:
        n, mean = view[r["format"]]
        assert r["n_pairs"] == n and r["mean_change"] == pytest.approx(mean, abs=1e-12)


def test_quality_and_dictionary(tiny_db):
    db = Database(tiny_db)
    assert q.quarantine_by_rule(db)[0]["rule"] == "wave_is_allowed"
    assert len(q.quarantine_rows(db)) == 1
    names = {o["name"] for o in q.data_dictionary(db)}
    assert {"responses", "scale_scores", "paired_scores", "scored_responses"} <= names
    responses = next(o for o in q.data_dictionary(db) if o["name"] == "responses")
    assert responses["comment"] and all("column" in c for c in responses["columns"])


def test_url_state_round_trip(tiny_db):
    db = Database(tiny_db)
    options = q.filter_options(db)
    search = "?audience=hr,educator&format=workshop&start=2024-01-01&supervision=yes&wt=post"
    st = url_state.parse(search, options)
    assert st["audience"] == ["educator", "hr"] and st["supervision"] == "yes"
    again = url_state.parse(url_state.encode(st, options), options)
    assert again == st
    junk = url_state.parse("?audience=<script>&scale=DROP&by=evil", options)
    assert junk["audience"] == [] and junk["scale"] == "CONF" and junk["by"] == "all"
    f = url_state.to_filters(st)
    assert f.audience == ("educator", "hr") and f.supervision is True


def test_missing_database_is_explained(tmp_path):
    db = Database(tmp_path / "missing.duckdb")
    with pytest.raises(q.DatabaseUnavailable):
        q.group_change(db, scale_id="CONF")


def test_copy_of_database_is_not_locked(tiny_db, tmp_path):
    """The dashboard's read-only attachment must not block etl writing a copy."""
    db = Database(tiny_db)
    q.group_change(db, scale_id="CONF", by=())
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_db, copy)
    con = duckdb.connect(str(copy))
    con.execute("CREATE TABLE x AS SELECT 1")
    con.close()


def test_pooled_estimate_needs_at_least_two_studies(tiny_db):
    import duckdb

    from dashboard import queries as q

    con = duckdb.connect(str(tiny_db))
    con.execute(
        "INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, yi, vi, "
        "synthetic) VALUES ('S1', 'Synthetic study 1', 2020, 'randomised', 'Confidence', 80, "
        "0.5, 0.05, true)"
    )
    con.close()
    assert q.pooled_evidence(q.Database(tiny_db)) is None
    con = duckdb.connect(str(tiny_db))
    con.execute(
        "INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, yi, vi, "
        "synthetic) VALUES ('S2', 'Synthetic study 2', 2021, 'randomised', 'Confidence', 90, "
        "0.7, 0.04, true)"
    )
    con.close()
    pooled = q.pooled_evidence(q.Database(tiny_db))
    assert pooled["k"] == 2 and 0.5 < pooled["mu"] < 0.7


def test_linkage_rates_per_cohort_reach_the_quality_page(tmp_path):
    from dashboard import queries as q
    from dashboard.pages.quality import build_linkage
    from tests.etl.helpers import run
    from tests.etl.platform_helpers import setup_database, write_mapping
    from tests.etl.test_platform_linking import MAPPING, POST, PRE, _file

    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    run([_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    (row,) = q.linkage_rates(q.Database(db, min_cell_size=3))
    assert (row["cohort_id"], row["wave_from"], row["wave_to"]) == ("C1", "pre", "post")
    assert (row["candidates"], row["exact_matches"], row["fuzzy_matches"]) == (6, 2, 2)
    assert row["match_rate"] == pytest.approx(100 * 4 / 6)

    from types import SimpleNamespace

    chart = build_linkage(SimpleNamespace(db=q.Database(db, min_cell_size=3), min_cell=3), {})
    assert [record["match_rate"] for record in chart.records] == [pytest.approx(66.67, abs=0.01)]
    # Six responses to link is fewer than the default minimum cell size: no counts, no rate.
    (hidden,) = q.linkage_rates(q.Database(db, min_cell_size=11))
    assert hidden["suppressed"] and hidden["match_rate"] is None and hidden["candidates"] is None


def test_changes_only_database_gives_the_same_paired_change_as_the_full_one(tmp_path):
    from dashboard import queries as q
    from tests.dashboard.conftest import build_tiny_db

    db = build_tiny_db(
        tmp_path / "t.duckdb", {("hr", "workshop"): 30, ("educator", "degree"): 25}
    )
    full = q.group_change(q.Database(db), scale_id="CONF", by=("audience", "format"))
    lean = q.group_change(
        q.Database(db, changes_only=True), scale_id="CONF", by=("audience", "format")
    )
    assert lean == full and any(not row["suppressed"] for row in full)


def test_skipped_rows_and_encoding_reach_the_quality_page_and_old_databases_still_read(tmp_path):
    from types import SimpleNamespace

    import duckdb

    from dashboard import queries as q
    from dashboard.pages.quality import build_runs
    from tests.etl import untidy_fixtures as uf
    from tests.etl.helpers import run
    from tests.etl.platform_helpers import setup_database, write_mapping

    db = setup_database(tmp_path)
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of()))
    run([export], db, mapping=write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT))
    chart = build_runs(SimpleNamespace(db=q.Database(db)), {})
    (record,) = [r for r in chart.records if r["kind"] == "responses"]
    assert (record["rows_read"], record["rows_loaded"], record["rows_skipped"]) == (11, 5, 6)
    assert record["encoding"] == "utf-8"
    # A database written before rows_skipped and encoding existed still shows its runs.
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE ingest_runs DROP COLUMN rows_skipped")
    con.execute("ALTER TABLE ingest_runs DROP COLUMN encoding")
    con.close()
    old = build_runs(SimpleNamespace(db=q.Database(db)), {})
    assert [r["rows_skipped"] for r in old.records if r["kind"] == "responses"] == [None]
