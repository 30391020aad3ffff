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
