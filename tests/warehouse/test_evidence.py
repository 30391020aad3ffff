"""The evidence library: one study is its own estimate; two or more are pooled."""

from __future__ import annotations

import duckdb

from warehouse.connection import Database
from warehouse.evidence import evidence, pooled_evidence

INSERT_STUDY = (
    "INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, yi, vi, "
    "synthetic) VALUES (?, ?, ?, 'randomised', 'Confidence', ?, ?, ?, true)")


def test_pooled_estimate_needs_at_least_two_studies(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_STUDY, ["S1", "Synthetic study 1", 2020, 80, 0.5, 0.05])
    con.close()
    assert pooled_evidence(Database(tiny_db)) is None
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_STUDY, ["S2", "Synthetic study 2", 2021, 90, 0.7, 0.04])
    con.close()
    pooled = pooled_evidence(Database(tiny_db))
    assert pooled["k"] == 2 and 0.5 < pooled["mu"] < 0.7


def test_study_whose_reported_interval_is_reversed_is_listed_without_an_effect_size(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_STUDY, ["S1", "Synthetic study 1", 2020, 80, 0.5, 0.05])
    con.execute("INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, g, "
                "g_ci_low, g_ci_high, synthetic) VALUES ('S2', 'Reversed CI', 2021, "
                "'randomised', 'Confidence', 40, 0.4, 0.9, 0.1, true)")
    con.close()
    studies = {s["study_id"]: s for s in evidence(Database(tiny_db))}
    assert studies["S1"]["es"] == 0.5
    assert studies["S2"]["es"] is None and studies["S2"]["g"] == 0.4
