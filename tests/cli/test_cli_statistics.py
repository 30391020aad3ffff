"""`attune summarize` and `attune pool`: the dashboard's numbers, for scripts and researchers."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from stats.paired import paired_change
from tests.support import attune, write_bcg_library


def summarize(demo_db, *args: str):
    result = attune("summarize", "--db", str(demo_db), *args)
    assert result.returncode == 0, result.stderr
    return result


def test_summarize_matches_the_statistics_of_the_raw_pairs(demo_db):
    (row,) = json.loads(summarize(demo_db, "--scale", "BURN", "--by", "", "--json").stdout)
    con = duckdb.connect(str(demo_db), read_only=True)
    pairs = con.execute(
        "SELECT score_from, score_to FROM paired_scores "
        "WHERE scale_id = 'BURN' AND wave_from = 'pre' AND wave_to = 'post' "
        "AND arm = 'intervention'"  # summarize speaks of the people trained
    ).fetchall()
    con.close()
    expected = paired_change(
        np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), higher_is_better=False
    )
    assert row["n_pairs"] == expected.n_pairs == len(pairs)
    for key in ("mean_from", "mean_to", "mean_change", "ci_low", "ci_high", "t", "d_z", "g_av"):
        assert row[key] == pytest.approx(getattr(expected, key), rel=1e-9), key
    assert row["mean_change"] > 0  # burnout fell: an improvement, shown positive
    assert row["mean_to"] < row["mean_from"]


def test_small_groups_come_back_suppressed_with_no_statistics(demo_db):
    rows = json.loads(
        summarize(demo_db, "--scale", "CONF", "--by", "audience,format", "--json").stdout
    )
    suppressed = [row for row in rows if row["suppressed"]]
    shown = [row for row in rows if not row["suppressed"]]
    assert suppressed and shown
    for row in suppressed:
        assert all(
            row[key] is None
            for key in row
            if key not in ("audience", "format", "scale_id", "wave_from", "wave_to", "suppressed")
        )
    assert all(row["n_pairs"] >= 11 for row in shown)
    assert all(row["p_adj"] >= row["p"] for row in shown)


def test_min_cell_option_raises_the_floor(demo_db):
    rows = json.loads(
        summarize(
            demo_db, "--scale", "CONF", "--by", "format", "--min-cell", "100000", "--json"
        ).stdout
    )
    assert rows and all(row["suppressed"] and row["n_pairs"] is None for row in rows)


def test_summarize_csv_has_the_documented_columns(demo_db):
    output = summarize(demo_db, "--by", "format", "--csv").stdout
    reader = csv.DictReader(io.StringIO(output))
    for column in (
        "format",
        "n_pairs",
        "mean_from",
        "mean_to",
        "mean_change",
        "ci_low",
        "ci_high",
        "t",
        "p",
        "p_adj",
        "d_z",
        "d_z_ci_low",
        "d_z_ci_high",
        "g_av",
        "pct_reliable_improved",
        "suppressed",
    ):
        assert column in reader.fieldnames
    assert len(list(reader)) >= 4 * 5  # four formats, five scales measured pre and post


def test_summarize_rejects_an_unknown_grouping(demo_db):
    result = attune("summarize", "--db", str(demo_db), "--by", "shoe_size")
    assert result.returncode == 2
    assert "unknown --by shoe_size" in result.stderr




def test_pool_reproduces_metafor_reml_on_dat_bcg(tmp_path):
    evidence = write_bcg_library(tmp_path / "bcg.csv")
    result = attune("pool", str(evidence), "--json")
    assert result.returncode == 0, result.stderr
    pooled = json.loads(result.stdout)
    # metafor: rma(yi, vi, data = dat.bcg) -- see tests/stats/fixtures/README.md
    assert pooled["k"] == 13
    assert pooled["mu"] == pytest.approx(-0.7145, abs=5e-4)
    assert pooled["tau2"] == pytest.approx(0.3132, abs=5e-4)
    assert pooled["pi_low"] == pytest.approx(-1.8667, abs=5e-4)
    hksj = json.loads(attune("pool", str(evidence), "--hksj", "--json").stdout)
    assert hksj["t"] == pytest.approx(-3.9522, abs=5e-4) and hksj["z"] is None


NEGATIVE_N = ["X1", "A study with a negative n", 2001, "comparison_group", "Tuberculosis", -4,
              0.1, 0.05]
UNKNOWN_DESIGN = ["X2", "A case report", 2002, "case_report", "Tuberculosis", 40, 0.2, 0.05]


def test_pool_leaves_out_the_rows_ingest_quarantines_lists_them_and_exits_one(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    evidence = write_bcg_library(folder / "evidence.csv", (NEGATIVE_N, UNKNOWN_DESIGN))

    result = attune("pool", str(evidence), "--json")
    assert result.returncode == 1, result.stderr
    pooled = json.loads(result.stdout)
    assert pooled["k"] == 13  # the 13 trials, not the two broken rows
    assert pooled["mu"] == pytest.approx(-0.7145, abs=5e-4)
    listed = {row["source_row"]: row for row in pooled["quarantined"]}
    assert set(listed) == {15, 16}  # header on row 1, the 13 trials on rows 2-14
    assert listed[15]["rules"] == ["n_is_positive"] and "-4" in listed[15]["reasons"]
    assert listed[16]["rules"] == ["design_is_allowed"] and "case_report" in listed[16]["reasons"]

    # `attune ingest` sets aside exactly these rows, for the same rules
    database = tmp_path / "evidence.duckdb"
    assert attune("ingest", str(folder), "--db", str(database)).returncode == 1
    con = duckdb.connect(str(database), read_only=True)
    stored = dict(con.execute("SELECT source_row, rules FROM quarantine").fetchall())
    con.close()
    assert stored == {row: entry["rules"] for row, entry in listed.items()}

    table = attune("pool", str(evidence))
    assert table.returncode == 1
    assert "n_is_positive" in table.stdout and "design_is_allowed" in table.stdout


def test_pool_of_a_file_ingest_would_refuse_is_a_usage_error(tmp_path):
    evidence = tmp_path / "evidence.csv"
    evidence.write_text("study_id,yi,vi\nA,0.1,0.01\nB,0.2,0.02\n")
    result = attune("pool", str(evidence))
    assert result.returncode == 2
    assert "missing required column(s): citation, year, design, outcome_domain, n" in (
        " ".join(result.stderr.split()))


def test_scale_option_filters_the_rows_not_the_multiplicity_family(demo_db):
    every = json.loads(summarize(demo_db, "--by", "format", "--json").stdout)
    conf = json.loads(summarize(demo_db, "--by", "format", "--scale", "CONF", "--json").stdout)
    assert len({row["scale_id"] for row in every}) > 1
    # the family: every shown group of every scale (pre -> post) with a p value
    family = [row for row in every if not row["suppressed"] and row["p"] is not None]
    _, bh, _, _ = multipletests([row["p"] for row in family], method="fdr_bh")
    expected = {(row["scale_id"], row["format"]): p_adj
                for row, p_adj in zip(family, bh, strict=True)}
    for row in family:  # (p values this small need a relative tolerance alone)
        assert row["p_adj"] == pytest.approx(expected[row["scale_id"], row["format"]],
                                             rel=1e-9, abs=0)
    shown = [row for row in conf if not row["suppressed"]]
    assert shown and {row["scale_id"] for row in conf} == {"CONF"}
    for row in shown:
        assert row["p_adj"] == pytest.approx(expected["CONF", row["format"]], rel=1e-9, abs=0)
    # CONF as a family of its own would adjust differently: the test tells the two apart
    _, alone, _, _ = multipletests([row["p"] for row in shown], method="fdr_bh")
    assert any(row["p_adj"] != pytest.approx(p, rel=1e-6, abs=0)
               for row, p in zip(shown, alone, strict=True))


def test_json_rows_carry_what_a_script_reads(demo_db):
    rows = json.loads(summarize(demo_db, "--by", "format", "--json").stdout)
    table = list(csv.DictReader(io.StringIO(summarize(demo_db, "--by", "format", "--csv").stdout)))
    # one row per scale and group, every row with the same keys, as the CSV has them
    keys = list(rows[0])
    assert all(list(row) == keys for row in rows)
    assert keys == list(table[0])
    groups = [(row["scale_id"], row["format"]) for row in rows]
    assert len(set(groups)) == len(groups)
    assert groups == [(row["scale_id"], row["format"]) for row in table]
    assert {row["scale_id"] for row in rows} == {"CONF", "KNOW", "PRAC", "RELQ", "BURN"}
    shown = [row for row in rows if not row["suppressed"]]
    assert shown
    for row, cells in zip(rows, table, strict=True):
        assert isinstance(row["suppressed"], bool)
        assert (row["wave_from"], row["wave_to"]) == ("pre", "post")
        if row["suppressed"]:
            assert row["n_pairs"] is None and row["mean_change"] is None
            continue
        assert isinstance(row["n_pairs"], int) and row["n_pairs"] >= 11
        # improvement positive: the size of the change, signed by the scale's direction
        assert abs(row["mean_change"]) == pytest.approx(abs(row["mean_to"] - row["mean_from"]))
        assert row["ci_low"] < row["mean_change"] < row["ci_high"]
        assert row["d_z_ci_low"] < row["d_z"] < row["d_z_ci_high"]
        assert 0 <= row["p"] <= row["p_adj"] <= 1
        assert 0 <= row["pct_reliable_improved"] <= 100
        for key in ("n_pairs", "mean_change", "ci_low", "p_adj", "d_z"):
            # (two runs: DuckDB's parallel sums may differ in the last digits)
            assert float(cells[key]) == pytest.approx(row[key], rel=1e-9, abs=0), key


FORMULA_SPONSOR = '=HYPERLINK("http://example.invalid","open me")'
SPONSOR_OF_WORKSHOP = "UPDATE cohorts SET sponsor_id = ? WHERE cohort_id = 'C1'"
DEGREE_SCORES_FALL = ("UPDATE responses AS post SET score_CONF = 2 * pre.score_CONF - "
                      "post.score_CONF FROM responses AS pre WHERE post.cohort_id = 'C0' AND "
                      "post.wave = 'post' AND pre.wave = 'pre' AND "
                      "pre.participant_id = post.participant_id")


def test_summarize_csv_neutralises_formula_text_and_keeps_negative_numbers(tiny_db_factory):
    database = tiny_db_factory({("hr", "workshop"): 20, ("hr", "degree"): 12})
    con = duckdb.connect(str(database))
    con.execute(SPONSOR_OF_WORKSHOP, [FORMULA_SPONSOR])
    con.execute(DEGREE_SCORES_FALL)
    con.close()
    table = attune("summarize", "--db", str(database), "--by", "sponsor", "--csv")
    assert table.returncode == 0, table.stderr
    rows = {row["sponsor"]: row for row in csv.DictReader(io.StringIO(table.stdout))}
    assert set(rows) == {"'" + FORMULA_SPONSOR, "SP1"}
    fell = rows["SP1"]["mean_change"]
    assert float(fell) < 0 and fell.startswith("-")  # a negative number stays a number
    listed = attune("summarize", "--db", str(database), "--by", "sponsor", "--json")
    assert FORMULA_SPONSOR in {row["sponsor"] for row in json.loads(listed.stdout)}
