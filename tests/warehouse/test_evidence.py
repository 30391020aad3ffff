"""The evidence library: one study is its own estimate; two or more are pooled."""

from __future__ import annotations

import duckdb
import pytest

from stats.bias import egger_test
from stats.meta import meta_analysis
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.evidence import domain_evidence, evidence, gap_map, pooled_evidence

INSERT_STUDY = (
    "INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, yi, vi, "
    "synthetic) VALUES (?, ?, ?, 'randomised', 'Confidence', ?, ?, ?, true)")


def test_pooled_estimate_needs_at_least_two_studies(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_STUDY, ["S1", "Synthetic study 1", 2020, 80, 0.5, 0.05])
    con.close()
    assert pooled_evidence(Database(tiny_db), domain="Confidence") is None
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_STUDY, ["S2", "Synthetic study 2", 2021, 90, 0.7, 0.04])
    con.close()
    pooled = pooled_evidence(Database(tiny_db), domain="Confidence")
    assert pooled["k"] == 2 and 0.5 < pooled["mu"] < 0.7
    assert pooled_evidence(Database(tiny_db), domain="Burnout") is None  # no studies of it


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


INSERT_RATED = (
    "INSERT INTO evidence (study_id, citation, year, design, audience, outcome_domain, n, yi, "
    "vi, synthetic, attrition, followup_months, risk_of_bias, independent) "
    "VALUES (?, 'Synthetic study (not a real publication)', 2020, 'randomised', 'hr', "
    "'Confidence', 263, 0.34, 0.0154, true, ?, ?, ?, ?)")


def test_each_study_is_rated_with_its_own_risk_of_bias_follow_up_and_attrition(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_RATED, ["WELL", 12, 12, "low", True])
    con.execute(INSERT_RATED, ["BIASED", 12, 12, "high", True])
    con.execute(INSERT_RATED, ["SILENT", None, None, None, None])
    con.close()
    studies = {s["study_id"]: s for s in evidence(Database(tiny_db))}
    assert (studies["WELL"]["tier"], studies["WELL"]["tier_provisional"]) == (5, False)
    assert studies["BIASED"]["tier"] == 2
    assert any("high caps a study at tier 2" in r for r in studies["BIASED"]["tier_reasons"])
    silent = studies["SILENT"]
    assert (silent["tier"], silent["tier_provisional"]) == (5, True)
    assert silent["tier_not_checked"] == ["attrition", "followup_months", "risk_of_bias",
                                          "independent"]
    assert "Attrition: not reported." in silent["tier_reasons"]


def test_the_gap_map_colours_each_published_cell_by_its_best_study(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute(INSERT_RATED, ["BIASED", 12, 12, "high", True])
    con.execute(INSERT_RATED, ["WELL", 12, 12, "low", True])
    con.execute(INSERT_RATED.replace("'hr'", "'coach'"), ["DEV", 12, 12, "low", False])
    con.close()
    cells = {(c["audience"], c["domain"]): c for c in gap_map(Database(tiny_db))
             if c["source"] == "Published studies"}
    assert (cells[("hr", "Confidence")]["tier"], cells[("hr", "Confidence")]["count"]) == (5, 2)
    assert cells[("coach", "Confidence")]["tier"] == 4  # by the developer: capped at 4
    assert cells[("hr", "Confidence")]["synthetic"] is True


def test_the_demo_library_gives_the_gap_map_more_than_one_colour(demo_db):
    tiers = {c["tier"] for c in gap_map(Database(demo_db)) if c["source"] == "Published studies"}
    assert len(tiers) >= 3 and max(tiers) == 5


INSERT_DOMAIN_STUDY = (
    "INSERT INTO evidence (study_id, citation, year, design, outcome_domain, n, yi, vi, "
    "synthetic) VALUES (?, 'Synthetic study (not a real publication)', ?, ?, ?, ?, ?, ?, true)")
# Twelve Confidence studies (small ones with larger effects) and three Wellbeing studies.
CONFIDENCE = [(f"C{i:02d}", 2000 + i, "randomised" if i % 2 else "comparison_group",
               "Confidence", 40 + 20 * i, 0.9 - 0.05 * i, 0.12 - 0.008 * i)
              for i in range(1, 13)]
WELLBEING = [("W1", 2015, "randomised", "Wellbeing", 80, 0.10, 0.05),
             ("W2", 2017, "single_group_pre_post", "Wellbeing", 120, 0.80, 0.03),
             ("W3", 2019, "randomised", "Wellbeing", 60, 0.20, 0.07)]


def library(tiny_db, studies) -> Database:
    con = duckdb.connect(str(tiny_db))
    con.executemany(INSERT_DOMAIN_STUDY, [list(s) for s in studies])
    con.close()
    return Database(tiny_db)


def test_each_outcome_domain_is_pooled_on_its_own_never_across_domains(tiny_db):
    database = library(tiny_db, CONFIDENCE + WELLBEING)
    entries = {e["domain"]: e for e in domain_evidence(database)}
    assert set(entries) == {"Confidence", "Wellbeing"}
    for name, studies in (("Confidence", CONFIDENCE), ("Wellbeing", WELLBEING)):
        alone = meta_analysis([s[5] for s in studies], [s[6] for s in studies])
        assert entries[name]["k"] == len(studies)
        assert entries[name]["studies"] == [s[0] for s in studies]
        assert entries[name]["pooled"]["mu"] == pytest.approx(alone.mu, rel=1e-9)
        assert pooled_evidence(database, domain=name)["mu"] == pytest.approx(alone.mu, rel=1e-9)
    with pytest.raises(CannotShow, match="never pooled together"):
        pooled_evidence(database, domain=None)
    # Wellbeing mixes a within-person change with between-group effects, and says so
    assert entries["Wellbeing"]["mixes_designs"] and not entries["Confidence"]["mixes_designs"]
    assert "not the same quantity" in entries["Wellbeing"]["note"]


def test_small_study_bias_is_assessed_only_from_ten_studies(tiny_db):
    database = library(tiny_db, CONFIDENCE + WELLBEING)
    entries = {e["domain"]: e for e in domain_evidence(database)}
    few = entries["Wellbeing"]
    assert few["bias"] is None
    assert few["bias_reason"] == ("Small-study bias is assessed only with at least 10 studies "
                                  "(Sterne et al. 2011); this domain has 3.")
    many = entries["Confidence"]
    yi, vi = [s[5] for s in CONFIDENCE], [s[6] for s in CONFIDENCE]
    assert many["bias_reason"] is None
    assert many["bias"]["egger"]["z"] == pytest.approx(egger_test(yi, vi).z, rel=1e-9)
    assert many["bias"]["egger"]["p"] < 0.10  # the small studies' larger effects are seen
    assert [r["study_id"] for r in many["bias"]["cooks_distance"]] == [s[0] for s in CONFIDENCE]
    # GRADE rates the domain down for it; the domain of 3 cannot be assessed for it
    publication = {c["name"]: c for c in many["certainty"]["concerns"]}["Publication bias"]
    assert publication["verdict"] == "serious"
    assert {c["name"]: c for c in few["certainty"]["concerns"]}["Publication bias"][
        "verdict"] == "not assessable"


def test_a_domain_can_be_pooled_for_one_design_only(tiny_db):
    database = library(tiny_db, CONFIDENCE + WELLBEING)
    entries = {e["domain"]: e for e in domain_evidence(database, design="randomised")}
    randomised = [s for s in CONFIDENCE if s[2] == "randomised"]
    assert entries["Confidence"]["studies"] == [s[0] for s in randomised]
    assert entries["Wellbeing"]["designs"] == ["randomised"] and entries["Wellbeing"]["k"] == 2


def test_a_domain_with_one_study_has_no_pool_and_says_why(tiny_db):
    database = library(tiny_db, CONFIDENCE[:1])
    (entry,) = domain_evidence(database)
    assert entry["pooled"] is None and entry["k"] == 1
    assert "at least 2 studies" in entry["reason"]
    assert pooled_evidence(database, domain="Confidence") is None

