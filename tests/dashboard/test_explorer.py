"""Charts of paired change with a group whose pairs all changed by the same amount: drawn,
with the group's point and no interval bar, and a note saying why (no server error)."""

from __future__ import annotations

import duckdb
import pytest

from dashboard.app import create_app
from dashboard.pages.explorer import build_dumbbell
from dashboard.pages.trends import build_sustained
from warehouse.outcomes import NO_INTERVAL_NO_SPREAD

CONSTANT_CHANGE = ("UPDATE responses AS later SET score_CONF = pre.score_CONF + 0.7 "
                   "FROM responses AS pre WHERE later.cohort_id = 'C1' AND later.wave <> 'pre' "
                   "AND pre.wave = 'pre' AND pre.participant_id = later.participant_id")


@pytest.fixture
def app_ctx(tiny_db_factory):
    """Workshop (cohort C1): 20 people whose scores all rise by exactly 0.7 points at every
    later wave; degree (C0): 12 pairs that change by different amounts."""
    path = tiny_db_factory({("hr", "workshop"): 20, ("hr", "degree"): 12}, followup=True)
    con = duckdb.connect(str(path))
    con.execute(CONSTANT_CHANGE)
    con.close()
    return create_app(path, login_required=False).attune


def test_mean_chart_draws_a_group_without_spread_with_no_interval_bar(app_ctx):
    chart = build_dumbbell(app_ctx, {"scale": "CONF", "wf": "pre", "wt": "post", "by": "all"})
    assert chart.figure is not None and chart.empty is None
    later = [t for t in chart.figure.data if "error_x" in t]
    bars = {t["name"]: (t["error_x"]["arrayminus"], t["error_x"]["array"]) for t in later}
    workshop = next(v for k, v in bars.items() if "Workshop" in k)
    degree = next(v for k, v in bars.items() if "Workshop" not in k)
    assert workshop == ([0.0], [0.0])
    assert degree[0][0] > 0 and degree[1][0] > 0
    assert any(NO_INTERVAL_NO_SPREAD in note for note in chart.notes)


def test_sustained_chart_draws_a_group_without_spread(app_ctx):
    chart = build_sustained(app_ctx, {"scale": "CONF", "wf": "pre", "wt": "post",
                                      "by": "format"})
    assert chart.figure is not None and chart.empty is None
    workshop = next(t for t in chart.figure.data if "Workshop" in t.get("name", ""))
    assert workshop["error_y"]["array"] == [0, 0] == workshop["error_y"]["arrayminus"]
    assert workshop["y"] == pytest.approx([0.7, 0.7])
