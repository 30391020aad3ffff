"""One definition of the analysis: what researchers get from the documented views
(``paired_scores``: matched pairs, improvement, cohort quarter) is what the dashboard's
summaries give, for every scale and every wave pair."""

from __future__ import annotations

import itertools

import pytest

from warehouse.catalog import scales, waves
from warehouse.connection import Database
from warehouse.outcomes import change_distribution, change_family
from warehouse.summaries import HIST_BIN_WIDTH

FROM_THE_VIEW = """
SELECT scale_id, wave_from, wave_to, {groups}
       count(*) AS n_pairs, avg(score_from) AS mean_from, avg(score_to) AS mean_to,
       stddev_samp(score_from) AS sd_from, stddev_samp(score_to) AS sd_to,
       avg(improvement) AS mean_change, stddev_samp(change) AS sd_change,
       if(any_value(s.threshold) IS NULL, NULL, count_if(improvement > s.threshold))
           AS n_improved,
       if(any_value(s.threshold) IS NULL, NULL, count_if(improvement < -s.threshold))
           AS n_deteriorated
FROM attune.paired_scores
LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS scale_id, unnest(?::DOUBLE[]) AS threshold) AS s
    USING (scale_id)
WHERE arm = 'intervention'  -- the summaries' figures are of the people trained
GROUP BY ALL
"""
# Groups of one or two pairs are left out (suppressed): their t has a single degree of freedom,
# where an interval for d_z cannot always be found; nothing else about them is tested here.
FLOOR = 3
MEASURES = ("n_pairs", "mean_from", "mean_to", "sd_from", "sd_to", "mean_change",
            "sd_change", "n_improved", "n_deteriorated")


def _view(db: Database, groups: tuple[str, ...]) -> dict[tuple, dict]:
    info = scales(db)
    sql = FROM_THE_VIEW.format(groups="".join(f"{g}, " for g in groups))
    rows = db.fetch_dicts(sql, [[s["scale_id"] for s in info],
                                [s["reliable_threshold"] for s in info]])
    return {(r["scale_id"], r["wave_from"], r["wave_to"], *(r[g] for g in groups)): r
            for r in rows}


def _summaries(db: Database, groups: tuple[str, ...]) -> dict[tuple, dict]:
    order = [w["wave"] for w in waves(db)]
    out = {}
    for wave_from, wave_to in itertools.combinations(order, 2):
        for row in change_family(db, wave_from=wave_from, wave_to=wave_to, by=groups,
                                 min_cell_size=FLOOR, complementary=False):
            out[(row["scale_id"], wave_from, wave_to, *(row[g] for g in groups))] = row
    return out


@pytest.mark.parametrize("groups", [(), ("format",), ("cohort_quarter", "audience")],
                         ids=["overall", "by-format", "by-quarter-and-audience"])
def test_views_and_summaries_agree_on_every_scale_and_wave_pair(demo_db, groups):
    db = Database(demo_db, min_cell_size=FLOOR)
    view, summaries = _view(db, groups), _summaries(db, groups)
    assert set(summaries) == set(view)
    assert {k[0] for k in view} >= {"CONF", "KNOW", "PRAC", "BURN", "RELQ"}
    assert len({k[1:3] for k in view}) == 10  # every pair of the five waves
    for key, expected in view.items():
        got = summaries[key]
        if got["suppressed"]:
            assert expected["n_pairs"] < FLOOR, key
            continue
        for measure in MEASURES:
            if expected[measure] is None:  # an SD of one pair; a scale without a threshold
                assert got[measure] is None, (key, measure)
                continue
            assert got[measure] == pytest.approx(expected[measure], rel=1e-9, abs=1e-12), (
                key, measure)


HISTOGRAM_FROM_THE_VIEW = """
SELECT round(floor((improvement + ? / 2 + 1e-9) / ?) * ?, 6) AS bin, count(*) AS n
FROM attune.paired_scores
WHERE arm = 'intervention' AND scale_id = ? AND wave_from = ? AND wave_to = ?
GROUP BY ALL ORDER BY bin
"""


@pytest.mark.parametrize(("scale_id", "wave_from", "wave_to"),
                         [("CONF", "pre", "post"), ("BURN", "pre", "post"),
                          ("KNOW", "post", "followup_6m")])
def test_the_histogram_of_improvement_counts_what_the_view_counts(demo_db, scale_id,
                                                                  wave_from, wave_to):
    db = Database(demo_db, min_cell_size=1)
    width = HIST_BIN_WIDTH
    expected = dict(db.fetch(HISTOGRAM_FROM_THE_VIEW,
                             [width, width, width, scale_id, wave_from, wave_to]))
    got = change_distribution(db, scale_id=scale_id, wave_from=wave_from, wave_to=wave_to,
                              min_cell_size=1)
    assert len(expected) > 5
    assert {b["bin"]: b["n"] for b in got["bins"]} == expected
    assert got["n_pairs"] == sum(expected.values())
