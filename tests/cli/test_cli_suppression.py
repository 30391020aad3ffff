"""`attune summarize` prints the analysis layer's suppression: no small group, and no group
whose figures would give a small one away."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from attune.cli import app

GROUPS = {
    ("hr", "workshop"): 20, ("educator", "workshop"): 7, ("coach", "workshop"): 16,
    ("hr", "degree"): 12, ("educator", "degree"): 15, ("coach", "degree"): 13,
}


def test_summarize_inherits_complementary_suppression(tiny_db_factory):
    db = tiny_db_factory(GROUPS)
    result = CliRunner().invoke(app, ["summarize", "--db", str(db), "--by", "audience",
                                      "--format", "workshop", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["audience"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"hr", "educator", "coach"}
    # educator (7) is small; coach (16) would be the total minus hr's 20 minus the rest
    for hidden in ("educator", "coach"):
        assert rows[hidden]["suppressed"] and rows[hidden]["n_pairs"] is None, hidden
        assert rows[hidden]["mean_change"] is None, hidden
    assert rows["hr"]["suppressed"] is False and rows["hr"]["n_pairs"] == 20


def test_summarize_says_only_not_shown_for_every_hidden_group(tiny_db_factory):
    """coach (16 pairs) is hidden only to protect educator (7): it must not be labelled
    "< 11", and neither may educator be told apart from it."""
    db = tiny_db_factory(GROUPS)
    result = CliRunner().invoke(app, ["summarize", "--db", str(db), "--by", "audience",
                                      "--format", "workshop"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
             if line.count("│") > 3 and line.split("│")[1].strip() in ("educator", "coach")}
    assert set(lines) == {"educator", "coach"}
    for line in lines.values():
        assert "not shown" in line and "<" not in line and "suppressed" not in line
    assert lines["educator"].replace("educator", "") == lines["coach"].replace("coach   ", "")


def test_summarize_published_adds_noise_that_stays_the_same_and_says_so(tiny_db_factory):
    db = tiny_db_factory({("hr", "workshop"): 60, ("coach", "workshop"): 52})  # 50+ pairs

    def run(*extra: str) -> tuple[dict, str]:
        result = CliRunner().invoke(app, ["summarize", "--db", str(db), "--by", "audience",
                                          "--scale", "CONF", *extra])
        assert result.exit_code == 0, result.output
        return result.stdout

    exact = json.loads(run("--json"))
    published = json.loads(run("--json", "--published"))
    assert json.loads(run("--json", "--published")) == published  # the same every time
    by = {r["audience"]: r for r in exact}
    for row in published:
        truth = by[row["audience"]]
        assert abs(row["n_pairs"] - truth["n_pairs"]) <= 2
        assert row["mean_change"] != truth["mean_change"]
        half = (truth["ci_high"] - truth["ci_low"]) / 2
        assert abs(row["mean_change"] - truth["mean_change"]) <= half / 10
    assert "random noise" in run("--published") and "random noise" not in run()
