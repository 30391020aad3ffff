"""Averaging by repetition, played as SP1's sponsor: if asking again drew fresh noise, the
mean of many answers would converge on the exact figure. Under the cell-key method the
noise is a function of who is in the cell, so the same query, recomputed, and the same
people reached through other filters or another page, get the very same figures: averaging
them gains nothing."""

from __future__ import annotations

import json

from tests.attacks.playing import DAY, dashboard_state

REPEATS = 25
FIGURES = ("n_pairs", "mean_from", "mean_to", "mean_change", "ci_low", "ci_high", "g",
           "g_ci_low", "g_ci_high", "pct_reliable_improved")


def test_the_same_query_asked_again_and_again_gets_the_same_answer(sponsor):
    query = {"scale": "S4", "by": ["audience", "format"]}
    answers, charts = set(), set()
    for _ in range(REPEATS):
        sponsor.db.clear_cache()  # computed afresh each time, never served from the cache
        answers.add(json.dumps(sponsor.api("outcomes", **query), sort_keys=True))
        charts.add(json.dumps(sponsor.chart("explorer-heatmap", dashboard_state())["data"],
                              sort_keys=True))
    assert len(answers) == 1 and len(charts) == 1
    shown = [g for g in json.loads(answers.pop())["groups"] if g["shown"]]
    assert shown, "there are figures to average"


def _figures(group: dict) -> tuple:
    return tuple(group[f] for f in FIGURES)


def _one_group(sponsor, **query) -> tuple:
    (group,) = sponsor.api("outcomes", **query)["groups"]
    assert group["shown"]
    return _figures(group)


def test_the_same_people_reached_through_other_filters_get_the_same_figures(sponsor, attack):
    """SP1's only certificate programme is its only hybrid one (P4); a date window can end
    on any day between two cohorts; a cell of one table is a row of another under a filter,
    and the same cell on the explorer's heatmap and in the API."""
    own = attack.own_cohorts()
    assert {c.program_id for c in own if c.format == "certificate"} == {"P4"} == {
        c.program_id for c in own if c.delivery == "hybrid"}
    same_sets = {
        "one programme": [{"program": ["P4"]}, {"format": ["certificate"]},
                          {"delivery": ["hybrid"]}, {"program": ["P4"], "delivery": ["hybrid"]}],
        "one window": [{"end": day.isoformat()} for day in
                       (own[9].start, own[9].start + 5 * DAY, own[10].start - DAY)],
        "one cell": [{"audience": ["hr"], "format": ["workshop"]},
                     {"audience": ["hr"], "program": ["P1", "P2"]},
                     {"audience": ["hr"], "delivery": ["in_person", "online"],
                      "format": ["workshop"]}],
    }
    for name, queries in same_sets.items():
        answers = {_one_group(sponsor, scale="S4", **q) for q in queries}
        assert len(answers) == 1, f"{name}: {answers}"
    # The cell as a cell of two other tables, and on the explorer's heatmap.
    cell = _one_group(sponsor, scale="S4", audience=["hr"], format=["workshop"])
    by_audience = sponsor.api("outcomes", scale="S4", format=["workshop"], by=["audience"])
    by_both = sponsor.api("outcomes", scale="S4", by=["audience", "format"])
    heatmap = sponsor.chart("explorer-heatmap", dashboard_state())["data"]["records"]
    assert _figures(next(g for g in by_audience["groups"] if g["audience"] == "hr")) == cell
    assert _figures(next(g for g in by_both["groups"]
                         if (g["audience"], g["format"]) == ("hr", "workshop"))) == cell
    row = next(r for r in heatmap if (r["audience"], r["format"]) == ("hr", "workshop"))
    assert tuple(row[f] for f in FIGURES) == cell
