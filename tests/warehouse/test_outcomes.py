"""Paired change per group: statistics against closed-form values, the minimum cell size, the
reasons a result cannot be shown, a group with no spread, and the multiplicity family."""

from __future__ import annotations

import math

import duckdb
import pytest

from stats.multiplicity import benjamini_hochberg
from stats.paired import paired_change
from warehouse.catalog import scales
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.filters import Filters
from warehouse.followup import attrition_bias
from warehouse.outcomes import (
    NO_INTERVAL_NO_SPREAD,
    STAT_KEYS,
    change_distribution,
    change_family,
    group_change,
    pair_counts,
)


def _pairs(n):
    pre = [2 + (i % 5) * 0.25 for i in range(n)]
    post = [p + 0.5 + (i % 3) * 0.25 for i, p in enumerate(pre)]
    return pre, post


def test_group_change_matches_stats_on_raw_pairs(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    rows = group_change(db, scale_id="CONF", by=("audience", "format"),
                        complementary=False)
    hr_workshop = next(r for r in rows if (r["audience"], r["format"]) == ("hr", "workshop"))
    expected = paired_change(*_pairs(20))
    assert hr_workshop["n_pairs"] == 20
    for key in ("mean_from", "mean_to", "mean_change", "sd_change", "ci_low", "ci_high", "t",
                "p", "d_z", "g_av"):
        assert hr_workshop[key] == pytest.approx(getattr(expected, key), rel=1e-9, abs=1e-12)
    assert hr_workshop["suppressed"] is False and hr_workshop["no_interval"] is None
    assert hr_workshop["p_adj"] is not None and hr_workshop["p_adj"] >= hr_workshop["p"]


def test_small_group_is_suppressed_with_every_number_hidden(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    rows = group_change(db, scale_id="CONF", by=("audience", "format"))
    small = next(r for r in rows if r["audience"] == "educator")
    assert small["suppressed"] is True
    for key in STAT_KEYS:
        assert small[key] is None, key
    assert 7 not in [v for v in small.values() if isinstance(v, int) and not isinstance(v, bool)]


def test_min_cell_size_is_configurable(tiny_db):
    db = Database(tiny_db, min_cell_size=5)
    rows = group_change(db, scale_id="CONF", by=("audience",), filters=Filters(
        format=("workshop",)))
    assert {r["audience"]: r["n_pairs"] for r in rows} == {"educator": 7, "hr": 20}
    strict = Database(tiny_db, min_cell_size=50)
    assert all(r["suppressed"] for r in group_change(strict, scale_id="CONF", by=()))


def test_reliable_change_counts_in_sql(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    info = scales(db)[0]
    pre, post = _pairs(20)
    threshold = info["reliable_threshold"]
    row = group_change(db, scale_id="CONF", by=("audience", "format"),
                       filters=Filters(audience=("hr",), format=("workshop",)))[0]
    expected = sum(1 for a, b in zip(pre, post, strict=True) if b - a > threshold)
    assert row["n_improved"] == expected
    assert row["pct_reliable_improved"] == pytest.approx(100 * expected / 20)


def test_unknown_scale_or_wave_and_waves_out_of_order_cannot_be_shown(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    with pytest.raises(CannotShow, match="no scale 'nope'"):
        group_change(db, scale_id="nope")
    with pytest.raises(CannotShow, match="no scale 'nope'"):
        change_distribution(db, scale_id="nope")
    with pytest.raises(CannotShow, match="no scale 'nope'"):
        pair_counts(db, scale_id="nope")
    with pytest.raises(CannotShow, match="no wave 'mid'"):
        group_change(db, scale_id="CONF", wave_to="mid")
    with pytest.raises(CannotShow, match="no wave 'mid'"):
        attrition_bias(db, scale_id="CONF", wave_to="mid")
    with pytest.raises(CannotShow, match="'pre' does not come after it"):
        group_change(db, scale_id="CONF", wave_from="post", wave_to="pre")
    with pytest.raises(CannotShow, match="'post' does not come after it"):
        change_family(db, wave_from="post", wave_to="post", by=())


@pytest.fixture
def no_spread_db(tiny_db_factory):
    """hr/workshop (cohort C1): 20 people whose scores rise by exactly 0.7 points each (their
    pre scores differ); hr/degree (C0): 12 pairs that change by different amounts."""
    path = tiny_db_factory({("hr", "workshop"): 20, ("hr", "degree"): 12})
    con = duckdb.connect(str(path))
    con.execute("UPDATE responses AS post SET score_CONF = pre.score_CONF + 0.7 "
                "FROM responses AS pre WHERE post.cohort_id = 'C1' AND post.wave = 'post' "
                "AND pre.wave = 'pre' AND pre.participant_id = post.participant_id")
    con.close()
    return path


def test_group_whose_pairs_all_change_alike_has_a_mean_change_and_no_interval(no_spread_db):
    db = Database(no_spread_db, min_cell_size=11)
    rows = {r["format"]: r for r in group_change(db, scale_id="CONF", by=("format",))}
    same = rows["workshop"]
    assert same["suppressed"] is False and same["n_pairs"] == 20
    assert same["mean_change"] == pytest.approx(0.7, abs=1e-12)
    assert same["sd_change"] == 0.0
    for key in ("ci_low", "ci_high", "t", "p", "p_adj", "d_z", "d_z_ci_low", "d_z_ci_high"):
        assert same[key] is None, key
    assert same["no_interval"] == NO_INTERVAL_NO_SPREAD
    assert same["sd_from"] > 0 and same["g"] is not None  # the scores themselves vary
    # The other group keeps its interval; the family has one test left, so p_adj = p.
    varied = rows["degree"]
    assert varied["no_interval"] is None and varied["ci_low"] < varied["ci_high"]
    assert varied["p_adj"] == pytest.approx(varied["p"])
    overall = group_change(db, scale_id="CONF", by=())[0]
    assert overall["no_interval"] is None and overall["ci_low"] is not None


# --- the multiplicity family ---------------------------------------------------------------


def test_family_adjusts_every_shown_group_of_every_scale_together(demo_db):
    db = Database(demo_db, min_cell_size=11)
    family = change_family(db, by=("format",))
    tests = [r for r in family if not r["suppressed"] and r["p"] is not None]
    assert len({r["scale_id"] for r in tests}) >= 4 and len(tests) >= 12
    expected = benjamini_hochberg([r["p"] for r in tests])
    assert [r["p_adj"] for r in tests] == pytest.approx(expected, rel=1e-12, abs=0)
    assert any(not math.isclose(r["p_adj"], r["p"]) for r in tests)
    assert all(r["p_adj"] is None for r in family if r["suppressed"])
    # One scale asked for alone carries the family's p_adj, not a family of its own.
    for scale_id in {r["scale_id"] for r in tests}:
        alone = group_change(db, scale_id=scale_id, by=("format",))
        assert alone == [r for r in family if r["scale_id"] == scale_id]


def test_each_wave_pair_is_a_family_of_its_own(demo_db):
    db = Database(demo_db, min_cell_size=11)
    waves = ("post", "followup_3m", "followup_6m")
    rows = change_family(db, wave_to=waves, by=("wave_to",))
    for wave in waves:
        tests = [r for r in rows if r["wave_to"] == wave and r["p"] is not None]
        assert len(tests) >= 2, wave
        assert [r["p_adj"] for r in tests] == pytest.approx(
            benjamini_hochberg([r["p"] for r in tests]), rel=1e-12, abs=0)
        alone = change_family(db, wave_to=wave, by=())
        assert [r["p_adj"] for r in alone if r["p"] is not None] == pytest.approx(
            [r["p_adj"] for r in tests], rel=1e-12, abs=0)
