"""`attune summarize --lake` on DuckDB: the same answers as `summarize --db` for every group
and field, and a consortium of providers pooled, grouped and filtered by provider."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from attune.cli import app
from etl.lake_export import export_lake
from tests.lake.conftest import assert_same_rows, summarize


@pytest.mark.parametrize("by", ["audience,format", "", "sponsor", "cohort_quarter",
                                "delivery,supervision", "program"])
def test_lake_summary_equals_the_database_summary(demo_db, demo_lake, by):
    assert_same_rows(summarize("--lake", str(demo_lake), "--by", by),
                     summarize("--db", str(demo_db), "--by", by))


@pytest.mark.parametrize("options", [
    ("--published", "--by", "audience"),
    ("--from", "pre", "--to", "followup_6m", "--by", "format"),
    ("--scale", "PRAC", "--audience", "hr,educator", "--by", "format"),
    ("--sponsor", "SP02", "--min-cell", "5", "--by", "audience"),
])
def test_lake_summary_equals_the_database_summary_with_options(demo_db, demo_lake, options):
    assert_same_rows(summarize("--lake", str(demo_lake), *options),
                     summarize("--db", str(demo_db), *options))


def test_a_lake_summary_names_what_is_wrong_with_its_options(demo_lake, tmp_path):
    runner = CliRunner()
    cases = [
        (["--lake", str(demo_lake), "--scale", "NOPE"], "unknown --scale NOPE"),
        (["--lake", str(demo_lake), "--provider", "east"],
         "no provider east in the lake; it holds: north"),
        (["--lake", str(demo_lake), "--engine", "hive"], "unknown --engine hive"),
        (["--lake", str(tmp_path)], "no lake here"),
        (["--engine", "spark"], "give --lake DIR"),
        (["--by", "providers"], "unknown --by providers"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["summarize", *args])
        assert result.exit_code == 2, args
        assert message in " ".join(result.output.split()), (args, result.output)


def test_consortium_groups_by_provider_with_each_providers_own_figures(
        demo_db, south_db, consortium_lake):
    by_provider = {row["provider"]: row for row in summarize(
        "--lake", str(consortium_lake), "--by", "provider", "--scale", "CONF")}
    assert set(by_provider) == {"north", "south"}
    for provider, db in (("north", demo_db), ("south", south_db)):
        (alone,) = summarize("--db", str(db), "--by", "", "--scale", "CONF")
        for field in ("n_pairs", "mean_from", "mean_to", "mean_change", "ci_low", "ci_high",
                      "d_z", "g_av"):
            assert by_provider[provider][field] == pytest.approx(alone[field], rel=1e-9), field


def test_consortium_pools_every_provider_and_a_provider_filter_restricts(
        demo_db, south_db, consortium_lake):
    (pooled,) = summarize("--lake", str(consortium_lake), "--by", "", "--scale", "CONF")
    alone = [summarize("--db", str(db), "--by", "", "--scale", "CONF")[0]
             for db in (demo_db, south_db)]
    assert pooled["n_pairs"] == sum(row["n_pairs"] for row in alone)
    # One provider of the lake answers exactly as its own database does, reliable change too
    assert_same_rows(summarize("--lake", str(consortium_lake), "--provider", "south"),
                     summarize("--db", str(south_db)))


def test_participants_are_never_linked_across_providers(tiny_pair, tmp_path):
    """The two databases hold the same participant and cohort ids: pooled, every pair is
    still one provider's (pre of one never meets post of the other)."""
    lake = tmp_path / "lake"
    for provider, db in zip(("north", "south"), tiny_pair, strict=True):
        export_lake(db, lake, provider)
    rows = {row["format"]: row for row in summarize(
        "--lake", str(lake), "--by", "format", "--min-cell", "5")}
    assert rows["degree"]["n_pairs"] == 24 and rows["workshop"]["n_pairs"] == 14
    (one,) = [r for r in summarize("--db", str(tiny_pair[0]), "--by", "format",
                                   "--min-cell", "5") if r["format"] == "degree"]
    assert rows["degree"]["mean_change"] == pytest.approx(one["mean_change"], rel=1e-12)


def test_suppression_applies_to_the_pooled_groups(tiny_pair, tmp_path):
    """hr/workshop has 7 pairs at each provider: not shown by either, shown pooled (14)."""
    lake = tmp_path / "lake"
    for provider, db in zip(("north", "south"), tiny_pair, strict=True):
        export_lake(db, lake, provider)
    for db in tiny_pair:
        alone = {r["format"]: r for r in summarize("--db", str(db), "--by", "format")}
        assert alone["workshop"]["suppressed"] and alone["workshop"]["n_pairs"] is None
    pooled = {r["format"]: r for r in summarize("--lake", str(lake), "--by", "format")}
    assert pooled["workshop"]["suppressed"] is False and pooled["workshop"]["n_pairs"] == 14
    by_provider = summarize("--lake", str(lake), "--by", "provider,format")
    hidden = [r for r in by_provider if r["format"] == "workshop"]
    assert len(hidden) == 2 and all(r["suppressed"] and r["mean_change"] is None
                                    for r in hidden)
