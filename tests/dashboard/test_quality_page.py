"""The data quality page shows what the analysis layer reads: linkage rates per cohort, and
rows skipped and the encoding of each run, on new and older databases alike."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from dashboard.pages.quality import build_linkage, build_runs
from tests.etl import untidy_fixtures as uf
from tests.etl.helpers import run
from tests.etl.linking_fixtures import MAPPING, POST, PRE, codes_file
from tests.etl.platform_helpers import setup_database, write_mapping
from warehouse.connection import Database


def test_linkage_rates_per_cohort_reach_the_quality_page(tmp_path):
    db = setup_database(tmp_path)
    mapping = write_mapping(tmp_path, MAPPING)
    run([codes_file(tmp_path / "pre.csv", PRE, "pre", "2024-03-01")], db, mapping=mapping)
    run([codes_file(tmp_path / "post.csv", POST, "post", "2024-03-20")], db, mapping=mapping)
    chart = build_linkage(SimpleNamespace(db=Database(db, min_cell_size=3), min_cell=3), {})
    assert [record["match_rate"] for record in chart.records] == [pytest.approx(66.67, abs=0.01)]


def test_skipped_rows_and_encoding_reach_the_quality_page_and_old_databases_still_read(tmp_path):
    db = setup_database(tmp_path)
    export = tmp_path / "redcap.csv"
    export.write_bytes(uf.redcap_repeating(uf.rows_of()))
    run([export], db, mapping=write_mapping(tmp_path, uf.REDCAP_MAPPING + uf.REDCAP_REPEAT))
    chart = build_runs(SimpleNamespace(db=Database(db)), {})
    (record,) = [r for r in chart.records if r["kind"] == "responses"]
    assert (record["rows_read"], record["rows_loaded"], record["rows_skipped"]) == (11, 5, 6)
    assert record["encoding"] == "utf-8"
    # A database written before rows_skipped and encoding existed still shows its runs.
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE ingest_runs DROP COLUMN rows_skipped")
    con.execute("ALTER TABLE ingest_runs DROP COLUMN encoding")
    con.close()
    old = build_runs(SimpleNamespace(db=Database(db)), {})
    assert [r["rows_skipped"] for r in old.records if r["kind"] == "responses"] == [None]


def test_missingness_map_draws_scales_not_asked_in_the_grey_it_names(evaluator):
    from dashboard.pages.quality import NOT_ASKED_COLOUR, NOT_ASKED_WORDS, build_missing

    chart = build_missing(evaluator, {})
    answered, not_asked = chart.figure.data
    asked_z, grey_z = answered["z"], not_asked["z"]
    blanks = {(i, j) for i, row in enumerate(asked_z) for j, v in enumerate(row) if v is None}
    assert blanks, "the demo data asks some scales at some waves only"
    assert {(i, j) for i, row in enumerate(grey_z) for j, v in enumerate(row)
            if v is not None} == blanks
    assert {colour for _, colour in not_asked["colorscale"]} == {NOT_ASKED_COLOUR}
    assert NOT_ASKED_COLOUR.lower() not in ("#fff", "#ffffff", "white")
    assert NOT_ASKED_WORDS in chart.subtitle


def test_alpha_legend_lists_waves_in_order_and_the_line_sits_behind_the_points(evaluator):
    from dashboard.pages.quality import build_alpha
    from dashboard.style import label
    from schemas.contract import WAVE_ORDER

    fig = build_alpha(evaluator, {}).figure
    names = [trace["name"] for trace in fig.data]
    in_order = [label("wave", w) for w in sorted(WAVE_ORDER, key=WAVE_ORDER.get)]
    assert len(names) > 2
    assert names == [n for n in in_order if n in names]
    (line,) = fig.layout["shapes"]
    assert (line["x0"], line["layer"]) == (0.7, "below")
