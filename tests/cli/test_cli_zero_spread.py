"""`attune summarize` on a group whose pairs all changed by the same amount: the group's
means and mean change are printed, without an interval, and no traceback."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.support import attune

CONSTANT_CHANGE = ("UPDATE responses AS post SET score_CONF = pre.score_CONF + 0.7 "
                   "FROM responses AS pre WHERE post.cohort_id = 'C1' AND post.wave = 'post' "
                   "AND pre.wave = 'pre' AND pre.participant_id = post.participant_id")


@pytest.fixture
def no_spread_db(tiny_db_factory):
    """Workshop (cohort C1): 20 people whose scores all rise by exactly 0.7 points; degree
    (C0): 12 pairs that change by different amounts."""
    path = tiny_db_factory({("hr", "workshop"): 20, ("hr", "degree"): 12})
    con = duckdb.connect(str(path))
    con.execute(CONSTANT_CHANGE)
    con.close()
    return path


def test_summarize_prints_a_group_whose_pairs_all_changed_alike(no_spread_db):
    table = attune("summarize", "--db", str(no_spread_db), "--by", "format")
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stderr
    (workshop,) = [line for line in table.stdout.splitlines() if "workshop" in line]
    assert "+0.70" in workshop and "20" in workshop
    (degree,) = [line for line in table.stdout.splitlines() if "degree" in line]
    assert " to " in degree  # the other group keeps its interval

    listed = attune("summarize", "--db", str(no_spread_db), "--by", "format", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["format"]: row for row in json.loads(listed.stdout)}
    same = rows["workshop"]
    assert same["n_pairs"] == 20 and same["mean_change"] == pytest.approx(0.7, abs=1e-12)
    assert same["ci_low"] is None and same["ci_high"] is None and same["p_adj"] is None
    assert rows["degree"]["ci_low"] < rows["degree"]["ci_high"]
