"""Words that say no more than a single-group before-and-after design allows: every page that
shows change states the design, no within-person change is rated small/medium/large, and
every effect size and share comes with its interval (cells, hovers, tables)."""

from __future__ import annotations

import re

import pytest

from dashboard.app import create_app
from dashboard.pages import PAGES, attrition, evidence, explorer, overview, trends
from dashboard.style import DESIGN_STATEMENT, fmt
from warehouse.outcomes import family_p_adj

STATE = {"scale": "CONF", "wf": "pre", "wt": "post", "by": "format", "supervision": "any"}
CHANGE_PAGES = (overview, explorer, trends, evidence)
# Wording that claims impact, or rates within-person change with Cohen's labels.
OVERCLAIMS = re.compile(r"impact|sustained effect|what changed for the people trained|"
                        r"\bmedium\b|0\.2 small|(small|medium|large) (effect|change)", re.I)


@pytest.fixture(scope="module")
def app_ctx(demo_db):
    return create_app(demo_db, login_required=False).attune


def _texts(node) -> list[str]:
    """Every string of a Dash component tree (children and props)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for child in node for t in _texts(child)]
    if hasattr(node, "to_plotly_json"):
        props = node.to_plotly_json()["props"]
        return [t for value in props.values() for t in _texts(value)]
    return []


def _chart_texts(chart) -> list[str]:
    return [chart.title, chart.subtitle, chart.empty or "", *chart.notes,
            *(name for _, name in chart.columns), *_texts(chart.extra)]


@pytest.mark.parametrize("page", CHANGE_PAGES, ids=lambda p: p.KEY)
def test_every_page_that_shows_change_states_the_design(app_ctx, page):
    assert DESIGN_STATEMENT in _texts(page.layout(app_ctx))


def test_overview_is_called_outcomes_in_the_navigation_and_its_heading(app_ctx):
    assert overview.NAME == "Outcomes"
    assert "Outcomes" in _texts(overview.layout(app_ctx))


def test_no_page_claims_impact_or_rates_within_person_change(app_ctx):
    for page in PAGES:
        if page.KEY == "console":
            continue
        texts = _texts(page.layout(app_ctx))
        for spec in page.CHARTS:
            texts += [spec.title, spec.methods, *_chart_texts(spec.build(app_ctx, STATE))]
        for text in texts:
            assert not OVERCLAIMS.search(text), (page.KEY, text)
            if "negligible" in text:  # kept only for the between-group baseline check
                assert "baseline" in text, (page.KEY, text)


def test_attrition_band_says_it_reads_a_baseline_difference(app_ctx):
    chart = attrition.build_bias(app_ctx, STATE)
    band = [n for n in chart.notes if "Shaded band" in n]
    assert band and "baseline difference" in band[0]


def test_heatmap_cells_and_hovers_show_g_with_its_interval(app_ctx):
    chart = explorer.build_heatmap(app_ctx, STATE)
    heat = chart.figure.to_plotly_json()["data"][0]
    cells = [t for row in heat["text"] for t in row if t]
    shown = [r for r in chart.records if not r["suppressed"] and r["g"] is not None]
    assert shown and len(cells) == len(shown)
    for r in shown:
        expected = f"g = {fmt(r['g'])}<br>95% CI {fmt(r['g_ci_low'])} to {fmt(r['g_ci_high'])}"
        assert any(c.startswith(expected) for c in cells), expected
    assert "%{text}" in heat["hovertemplate"]


def test_explorer_table_gives_d_z_and_share_intervals_and_names_the_family(app_ctx):
    chart = explorer.build_heatmap(app_ctx, STATE)
    keys = dict(chart.columns)
    for key in ("d_z_ci_low", "d_z_ci_high", "pct_reliable_improved_ci_low",
                "pct_reliable_improved_ci_high"):
        assert key in keys
        assert any(r[key] is not None for r in chart.records), key
    n_family = sum(1 for k in family_p_adj(app_ctx.db, wave_from="pre", wave_to="post")
                   if k[1] == "post")
    assert f"adjusted over the {n_family:,} " in keys["p_adj"]


def test_dumbbell_note_does_not_read_intervals_as_tests():
    note = next(s.methods for s in explorer.CHARTS if s.id == "explorer-dumbbell")
    assert "overlapping intervals do not mean no difference" in note
    assert "adjusted p" in note
    assert "unlikely under no change" not in note


def test_share_reliably_improved_shows_its_interval_on_hover_and_card(app_ctx):
    chart = explorer.build_reliable(app_ctx, STATE)
    improved = next(t for t in chart.figure.to_plotly_json()["data"] if t["name"] == "Reliably improved")
    shown = [r for r in chart.records if not r["suppressed"]]
    assert improved["customdata"] == [
        f" (95% CI {r['pct_reliable_improved_ci_low']:.1f}% to "
        f"{r['pct_reliable_improved_ci_high']:.1f}%)" for r in shown]
    assert "%{customdata}" in improved["hovertemplate"]
    headline = overview.build_headline(app_ctx, STATE)
    card = next(c for c in headline.extra.children[0].children
                if c.to_plotly_json()["props"].get("data-testid") == "card-reliable")
    assert "95% CI" in " ".join(_texts(card))
    assert "pct_reliable_improved_ci_low" in dict(headline.columns)
    assert "adjusted over the" in dict(headline.columns)["p_adj"]
