"""The overview's Benjamini-Hochberg adjusted p column: adjusted over the one multiplicity
family (every scale shown), not scale by scale."""

from __future__ import annotations

import math

import pytest

from dashboard.app import create_app
from dashboard.pages.overview import build_headline
from stats.multiplicity import benjamini_hochberg
from warehouse.outcomes import group_change


def test_overview_adjusts_p_over_every_scale_it_shows(demo_db):
    app_ctx = create_app(demo_db, login_required=False).attune
    state = {"scale": "CONF", "wf": "pre", "wt": "post"}
    chart = build_headline(app_ctx, state)
    shown = [r for r in chart.records if not r["suppressed"]]
    assert len(shown) >= 4
    raw = {s["scale_id"]: group_change(app_ctx.db, scale_id=s["scale_id"], by=())
           for s in app_ctx.options()["scales"]}
    p = [row["p"] for rows in raw.values() for row in rows if not row["suppressed"]]
    assert len(p) == len(shown)
    assert [r["p_adj"] for r in shown] == pytest.approx(benjamini_hochberg(p), rel=1e-12, abs=0)
    assert any(not math.isclose(r["p_adj"], raw_p) for r, raw_p in zip(shown, p, strict=True))
