"""`attune summarize` and `attune pool`: the dashboard's numbers, for scripts and researchers."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from etl.ingest import ingest
from stats.paired import paired_change
from tests.cli.test_cli_ingest import attune

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
FIXTURES = Path(__file__).resolve().parents[1] / "stats" / "fixtures"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    ingest([DEMO], database)
    return database


def summarize(demo_db, *args: str):
    result = attune("summarize", "--db", str(demo_db), *args)
    assert result.returncode == 0, result.stderr
    return result


def test_summarize_matches_the_statistics_of_the_raw_pairs(demo_db):
    (row,) = json.loads(summarize(demo_db, "--scale", "BURN", "--by", "", "--json").stdout)
    con = duckdb.connect(str(demo_db), read_only=True)
    pairs = con.execute(
        "SELECT score_from, score_to FROM paired_scores "
        "WHERE scale_id = 'BURN' AND wave_from = 'pre' AND wave_to = 'post'"
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
    rows = list(csv.DictReader((FIXTURES / "dat_bcg.csv").open()))
    evidence = tmp_path / "bcg.csv"
    with evidence.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["study_id", "yi", "vi"])
        for row in rows:
            tpos, tneg, cpos, cneg = (float(row[key]) for key in ("tpos", "tneg", "cpos", "cneg"))
            n1, n2 = tpos + tneg, cpos + cneg
            writer.writerow(
                [
                    row["trial"],
                    math.log((tpos / n1) / (cpos / n2)),
                    1 / tpos - 1 / n1 + 1 / cpos - 1 / n2,
                ]
            )
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


def test_pool_of_the_loaded_evidence_table(demo_db):
    result = attune("pool", "--db", str(demo_db), "--method", "DL", "--json")
    assert result.returncode == 0, result.stderr
    pooled = json.loads(result.stdout)
    assert pooled["k"] >= 10 and pooled["method"] == "DL"
    assert pooled["ci_low"] < pooled["mu"] < pooled["ci_high"]
