"""The page "Comparisons, dose and cost": the trained arm against its comparison or waitlist
arm, what goes with larger change, and what the training cost, for an evaluator (exact
figures, the analysis layer's own), a sponsor (the comparison and the dose model not
published yet, the cost figures published) and a database without comparison cohorts."""

from __future__ import annotations

import json

import plotly
import pytest

from dashboard.app import create_app
from dashboard.components import render
from dashboard.pages import PAGES, attrition, common, comparisons, evidence
from dashboard.style import DESIGN_STATEMENT, OKABE_ITO
from warehouse.comparison import compare_arms
from warehouse.cost import cost
from warehouse.dose import CAVEAT, dose_response
from warehouse.filters import Filters

STATE = {"scale": "CONF", "by": "all", "wf": "pre", "wt": "post"}
BUILDERS = {spec.id: spec.build for spec in comparisons.CHARTS}


def _texts(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for child in node for t in _texts(child)]
    if hasattr(node, "to_plotly_json"):
        return [t for value in node.to_plotly_json()["props"].values() for t in _texts(value)]
    return []


def _colours(figure) -> set[str]:
    out = set()
    for trace in figure.data:
        colour = trace.get("marker", {}).get("color")
        out.update(colour if isinstance(colour, list) else [colour] if colour else [])
    return out


def test_page_sits_after_attrition_and_before_evidence_with_its_name_and_path():
    assert (comparisons.KEY, comparisons.PATH, comparisons.NAME) == (
        "comparisons", "/comparisons", "Comparisons, dose and cost")
    at = PAGES.index(comparisons)
    assert PAGES[at - 1] is attrition and PAGES[at + 1] is evidence


def test_lead_says_what_the_page_can_and_cannot_say_and_states_the_design(evaluator):
    texts = _texts(comparisons.layout(evaluator))
    assert DESIGN_STATEMENT in texts
    lead = " ".join(texts)
    assert "alike before training and few people dropped out" in lead
    assert "an association, not an effect" in lead
    assert "cost per participant recorded" in lead


@pytest.mark.parametrize("chart_id", list(BUILDERS))
def test_each_chart_draws_a_figure_with_n_intervals_safe_colours_and_its_table(
        evaluator, chart_id):
    chart = BUILDERS[chart_id](evaluator, STATE)
    assert chart.empty is None and chart.figure is not None
    assert "95%" in chart.title and ("points on a 1–5 scale" in chart.title
                                     or "in the sponsors' currency" in chart.title)
    assert chart.subtitle.startswith("n = ") and "cohorts" in chart.subtitle
    assert chart.records and chart.columns
    assert all(set(r) <= {k for k, _ in chart.columns} for r in chart.records)
    assert _colours(chart.figure) and _colours(chart.figure) <= set(OKABE_ITO.values())
    assert any(t.get("error_x", {}).get("array") for t in chart.figure.data)
    json.dumps(render(chart_id, chart), cls=plotly.utils.PlotlyJSONEncoder)


def test_arms_chart_lists_each_programme_with_both_arms_and_its_ancova_effect(evaluator):
    result = compare_arms(evaluator.db, "CONF", "post")
    both = result["programs"]
    assert len(both) >= 2  # the demo's waitlist cohorts
    chart = comparisons.build_arms(evaluator, STATE)
    assert [r["programme"] for r in chart.records] == [p["program_name"] for p in both]
    for record, programme in zip(chart.records, both, strict=True):
        assert record["ancova"] == programme["ancova"]["estimate"]
        assert record["did"] == programme["did"]["estimate"]
        assert record["baseline_g"] == programme["baseline_g"]
        assert record["attrition_standard"] == programme["attrition_standard"]
        assert record["design_reason"] == programme["design_reason"]
        assert record["attrition_overall"] == pytest.approx(
            100 * programme["attrition_overall"])
    ancova = next(t for t in chart.figure.data if t["name"].startswith("ANCOVA"))
    assert list(ancova["x"]) == [p["ancova"]["estimate"] for p in both]
    assert list(ancova["y"]) == [comparisons.wrap(p["program_name"]) for p in both]
    assert any(s.get("x0") == 0 and s.get("x1") == 0 for s in chart.figure.layout["shapes"])
    sentences = " ".join(_texts(chart.extra))
    assert all(p["design_reason"] in sentences for p in both)
    left = " ".join(chart.notes)
    assert result["left_out"] and all(p["program_name"] in left for p in result["left_out"])
    assert result["left_out"][0]["reason"] in left


def test_dose_chart_states_the_caveat_the_reference_and_readable_terms(evaluator):
    result = dose_response(evaluator.db, "CONF", "pre", "post")
    chart = comparisons.build_dose(evaluator, STATE)
    assert chart.extra.children == CAVEAT
    assert [{k: r[k] for k in ("term", "estimate", "se", "ci_low", "ci_high")}
            for r in chart.records] == result["coefficients"]
    labels = [y for trace in chart.figure.data for y in trace["y"]]
    assert "log contact hours<br>(per e-fold)" in labels and "with supervision" in labels
    assert not any("[" in y for y in labels)  # no model term such as format[degree]
    assert "Format: Certificate" in labels
    assert "Compared with the format Workshop (1–2 days) and the audience Therapists" \
        in chart.notes[0]


def test_cost_chart_table_holds_cost_figures_by_format_and_by_programme(evaluator):
    chart = comparisons.build_cost(evaluator, STATE)
    for by, grouping in comparisons.GROUPINGS:
        groups = cost(evaluator.db, scale_id="CONF", by=by)["groups"]
        rows = [r for r in chart.records if r["grouping"] == grouping]
        assert len(rows) == len(groups) >= 4
        for row, group in zip(rows, groups, strict=True):
            for key, _ in comparisons.COST_COLUMNS[2:-2]:
                assert row[key] == group[key], (by, key)
    per_person = next(t for t in chart.figure.data if t["type"] == "bar")
    by_format = cost(evaluator.db, scale_id="CONF", by="format")["groups"]
    assert list(per_person["x"]) == [g["cost_per_participant"] for g in by_format]


def test_a_cost_figure_not_given_is_shown_as_its_reason(evaluator):
    chart = comparisons.build_cost(evaluator, {**STATE, "scale": "REAC"})  # post only
    groups = cost(evaluator.db, scale_id="REAC", by="format")["groups"]
    why = groups[0]["reasons"]["cost_per_tenth_sd"]
    assert why in chart.records[0]["reasons"]
    assert any(why in note for note in chart.notes)
    missing = [t for t in chart.figure.data if t.get("text") and "not given (see notes)"
               in t["text"]]
    assert missing and why in missing[0]["hovertext"][0]


def test_sponsor_sees_the_comparison_and_dose_not_published_and_published_costs(sponsor):
    for chart_id in ("comparisons-arms", "comparisons-dose"):
        chart = BUILDERS[chart_id](sponsor, STATE)
        assert chart.figure is None and "not published yet" in chart.empty
        assert chart.records == []
    f = common.filters(sponsor, STATE)
    assert f.published and f.sponsor == ("SP01",)
    chart = comparisons.build_cost(sponsor, STATE)
    published = cost(sponsor.db, scale_id="CONF", by="format", filters=f)["groups"]
    rows = [r for r in chart.records if r["grouping"] == "Format"]
    shown = [r for r in rows if not r["suppressed"]]
    assert chart.empty is None and shown
    assert [r["cost_per_participant"] for r in rows] == \
        [g["cost_per_participant"] for g in published]
    assert all(float(r["cost_per_participant"]).is_integer() for r in shown)  # rounded
    exact = cost(sponsor.db, scale_id="CONF", by="format",
                 filters=Filters(sponsor=("SP01",)))["groups"]
    assert [r["cost_per_participant"] for r in rows] != \
        [g["cost_per_participant"] for g in exact]  # not the exact figures


def test_without_comparison_cohorts_the_arms_chart_says_how_to_add_one(tiny_db):
    app_ctx = create_app(tiny_db, login_required=False).attune
    chart = comparisons.build_arms(app_ctx, STATE)
    assert chart.figure is None and chart.empty == comparisons.NO_ARMS
    assert "cohorts.csv" in chart.empty and "arm column" in chart.empty
    assert "comparison or waitlist" in chart.empty
    assert chart.notes and all("a comparison needs both arms" in n for n in chart.notes)


@pytest.mark.browser
def test_page_renders_at_390_px_without_sideways_scrolling(live_app, page):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_default_timeout(20_000)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_app.url + "/comparisons")
    page.get_by_role("heading", level=1, name=comparisons.NAME).wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")
    for spec in comparisons.CHARTS:
        card = page.locator(f"#card-{spec.id}")
        card.locator(".chart-body .js-plotly-plot .main-svg").first.wait_for()
        assert card.locator(".empty-state").count() == 0, spec.id
        box = card.locator(".chart-body .js-plotly-plot").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, spec.id
    assert page.get_by_test_id("dose-caveat").inner_text() == CAVEAT
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
