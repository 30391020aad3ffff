"""`attune pool` per outcome domain, with --bias, --mods and --subgroup, against R metafor.

The evidence file is metafor's dat.bcg in the evidence.csv input format (as
tests/cli/test_cli_statistics.py writes it), here with each trial's year and with its
allocation carried in the ``design`` column (random -> randomised, alternate ->
comparison_group, systematic -> single_group_pre_post). The reference values are made by
tests/cli/fixtures/make_pool_reference.R (R 4.2.2, metafor 3.8-1, REML converged to 1e-12);
they agree with ../shared/reference/README.md ("dat_bcg.csv again").
"""

from __future__ import annotations

import csv
import json

import pytest

from stats.meta import meta_analysis
from tests.support import ALLOCATION_AS_DESIGN, PROJECT, attune, write_bcg_library

REFERENCE = {
    row["quantity"]: float(row["value"])
    for row in csv.DictReader((PROJECT / "tests" / "cli" / "fixtures" / "pool_reference.csv")
                              .open())
}
TOL = 1e-4
# Three studies of another outcome domain, with effects unlike the BCG trials'.
WELLBEING = (
    ["W1", "Wellbeing study 1", 2015, "randomised", "Wellbeing", 80, 0.40, 0.050],
    ["W2", "Wellbeing study 2", 2017, "randomised", "Wellbeing", 120, 0.55, 0.030],
    ["W3", "Wellbeing study 3", 2019, "comparison_group", "Wellbeing", 60, 0.20, 0.070],
)




def pool_json(*args: str) -> dict:
    result = attune("pool", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bias_analyses_reproduce_metafor_on_dat_bcg(tmp_path):
    out = pool_json(str(write_bcg_library(tmp_path / "evidence.csv")), "--bias")
    assert out["domain"] == "Tuberculosis" and out["k"] == 13 and out["bias_reason"] is None
    egger, classical = out["egger"], out["egger_classical"]
    for key in ("z", "p", "limit_estimate", "limit_ci_low", "limit_ci_high"):
        assert egger[key] == pytest.approx(REFERENCE[f"egger.{key}"], abs=TOL), key
    assert classical["df"] == REFERENCE["egger_classical.df"] == 11
    for key in ("t", "p"):
        assert classical[key] == pytest.approx(REFERENCE[f"egger_classical.{key}"], abs=TOL)
    for key in ("tau", "p"):
        assert out["rank_test"][key] == pytest.approx(REFERENCE[f"rank_test.{key}"], abs=TOL)
    filled = out["trim_and_fill"]
    assert filled["k0"] == REFERENCE["trim_and_fill.k0"] == 1 and filled["side"] == "right"
    for key in ("estimate", "se", "tau2"):
        assert filled[key] == pytest.approx(REFERENCE[f"trim_and_fill.{key}"], abs=TOL), key
    without = {row["study_id"]: row for row in out["leave_one_out"]}
    assert set(without) == {str(i) for i in range(1, 14)}
    for trial, row in without.items():
        assert row["estimate"] == pytest.approx(REFERENCE[f"leave_one_out.{trial}.estimate"],
                                                abs=TOL), trial
        assert row["q"] == pytest.approx(REFERENCE[f"leave_one_out.{trial}.q"], abs=TOL), trial
    assert without["8"]["estimate"] == pytest.approx(-0.7948, abs=TOL)
    largest = max(out["cooks_distance"], key=lambda row: row["value"])
    assert largest["study_id"] == "4"
    assert largest["value"] == pytest.approx(REFERENCE["cooks_distance.4"], abs=TOL)


def test_meta_regression_on_year_reproduces_metafor(tmp_path):
    out = pool_json(str(write_bcg_library(tmp_path / "evidence.csv")), "--mods", "year")
    fit = out["meta_regression"]
    assert out["meta_regression_reason"] is None and fit["k"] == 13
    terms = {row["term"]: row for row in fit["coefficients"]}
    assert list(terms) == ["intercept", "year"]
    for term, row in terms.items():
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert row[key] == pytest.approx(REFERENCE[f"year.{term}.{key}"], abs=TOL), (term, key)
    for key in ("qm", "qm_p", "qe", "qe_p", "tau2"):
        assert fit[key] == pytest.approx(REFERENCE[f"year.{key}"], abs=TOL), key
    assert fit["r2"] == pytest.approx(REFERENCE["year.r2"], abs=0.01)


def test_subgroups_by_design_reproduce_metafor_subgroups_by_allocation(tmp_path):
    out = pool_json(str(write_bcg_library(tmp_path / "evidence.csv")), "--subgroup", "design")
    assert out["q_between"] == pytest.approx(REFERENCE["alloc.q_between"], abs=TOL)
    assert out["q_between_p"] == pytest.approx(REFERENCE["alloc.q_between_p"], abs=TOL)
    levels = {row["level"]: row for row in out["subgroups"]}
    assert set(levels) == set(ALLOCATION_AS_DESIGN.values())
    for allocation, design in ALLOCATION_AS_DESIGN.items():
        assert levels[design]["k"] == REFERENCE[f"alloc.{allocation}.k"]
        for key in ("estimate", "se"):
            assert levels[design][key] == pytest.approx(
                REFERENCE[f"alloc.{allocation}.{key}"], abs=TOL), (design, key)


def test_without_a_domain_each_domain_is_pooled_on_its_own(tmp_path):
    evidence = write_bcg_library(tmp_path / "evidence.csv", WELLBEING)
    out = pool_json(str(evidence))
    domains = {entry["domain"]: entry for entry in out["domains"]}
    assert set(domains) == {"Tuberculosis", "Wellbeing"}
    # the BCG trials pool as they do alone: the other domain's studies are not mixed in
    assert domains["Tuberculosis"]["k"] == 13
    assert domains["Tuberculosis"]["mu"] == pytest.approx(REFERENCE["reml.estimate"], abs=TOL)
    assert domains["Tuberculosis"]["tau2"] == pytest.approx(REFERENCE["reml.tau2"], abs=TOL)
    alone = meta_analysis([row[6] for row in WELLBEING], [row[7] for row in WELLBEING])
    assert domains["Wellbeing"]["studies"] == ["W1", "W2", "W3"]
    assert domains["Wellbeing"]["mu"] == pytest.approx(alone.mu, rel=1e-9)
    assert out["quarantined"] == [] and out["skipped"] == 0
    # --domain gives that domain's keys at the top level
    one = pool_json(str(evidence), "--domain", "Wellbeing")
    assert one["domain"] == "Wellbeing" and one["mu"] == pytest.approx(alone.mu, rel=1e-9)


def test_bias_on_a_domain_with_fewer_than_ten_studies_says_so(tmp_path):
    evidence = write_bcg_library(tmp_path / "evidence.csv", WELLBEING)
    sentence = ("Small-study bias is assessed only with at least 10 studies (Sterne et al. "
                "2011); this domain has 3.")
    out = pool_json(str(evidence), "--domain", "Wellbeing", "--bias")
    assert out["bias_reason"] == sentence
    assert all(out[key] is None for key in ("egger", "egger_classical", "rank_test",
                                            "trim_and_fill", "leave_one_out", "cooks_distance"))
    both = {entry["domain"]: entry for entry in pool_json(str(evidence), "--bias")["domains"]}
    assert both["Tuberculosis"]["bias_reason"] is None and both["Tuberculosis"]["egger"]
    assert both["Wellbeing"]["bias_reason"] == sentence
    table = attune("pool", str(evidence), "--bias")
    assert table.returncode == 0, table.stderr
    assert sentence in " ".join(table.stdout.split())
    assert "Egger's test (classical)" in table.stdout  # shown for the domain of 13


def test_an_unknown_moderator_column_exits_two_naming_the_columns(tmp_path):
    evidence = write_bcg_library(tmp_path / "evidence.csv")
    for option in ("--mods", "--subgroup"):
        result = attune("pool", str(evidence), option, "ablat")
        assert result.returncode == 2
        message = " ".join(result.stderr.split())
        assert f"unknown {option} column(s) ablat" in message
        assert "year, design, audience, format, n" in message


def test_pool_of_the_loaded_table_gives_each_domain_its_own_estimate(demo_db):
    out = pool_json("--db", str(demo_db), "--method", "DL")
    entries = out["domains"]
    assert len(entries) == len({entry["domain"] for entry in entries}) >= 2
    pooled = [entry for entry in entries if entry["mu"] is not None]
    assert pooled and all(entry["method"] == "DL" for entry in pooled)
    for entry in pooled:
        assert entry["k"] == len(entry["studies"]) >= 2
        assert entry["ci_low"] < entry["mu"] < entry["ci_high"]
