"""The Trends page's chart "every wave modelled vs completers only" and its sentences, for an
evaluator (exact figures) and a sponsor (published ones), and the same sentences on the
Follow-up page."""

from __future__ import annotations

import json

import plotly

from dashboard.app import create_app
from dashboard.components import render
from dashboard.pages import attrition, common, trends
from dashboard.style import OKABE_ITO, label
from warehouse.filters import Filters
from warehouse.models import wave_model

STATE = {"scale": "CONF", "by": "all", "wf": "pre", "wt": "post"}


def test_model_chart_draws_the_model_and_the_completers_each_with_intervals(evaluator):
    chart = trends.build_model(evaluator, STATE)
    assert chart.empty is None
    assert "points on a 1–5 scale" in chart.title and "95% CI" in chart.title
    assert chart.subtitle.startswith("n = ")
    lines = {trace["name"]: trace for trace in chart.figure.data}
    assert set(lines) == {trends.MODELLED, trends.COMPLETERS}
    colours = {line["line"]["color"] for line in lines.values()}
    assert colours <= set(OKABE_ITO.values()) and len(colours) == 2
    for line in lines.values():
        assert list(line["x"]) == ["End of training", "3 months after", "6 months after",
                                  "12 months after"]
        assert all(up > 0 for up in line["error_y"]["array"])
    estimates = {(r["x"], r["estimate"]) for r in chart.records}
    assert ("12 months after", trends.MODELLED) in estimates
    assert ("12 months after", trends.COMPLETERS) in estimates
    json.dumps(render("trends-model", chart), cls=plotly.utils.PlotlyJSONEncoder)


def test_sentence_under_the_chart_names_the_two_changes_at_the_last_wave(evaluator):
    result = wave_model(evaluator.db, "CONF")
    model, completers = result["waves"][-1], result["completers"][-1]
    chart = trends.build_model(evaluator, STATE)
    comparison, tipping = chart.notes
    assert comparison.startswith("At 12 months the completers' change")
    assert f"({completers['mean_change']:+.2f})" in comparison
    assert f"({model['change_from_pre']:+.2f})" in comparison
    assert tipping == result["tipping_point"]["sentence"]
    assert "scale points" in tipping


def test_split_by_format_shows_the_large_formats_and_says_the_small_one_is_not_shown(demo_db):
    groups = wave_model(create_app(demo_db, login_required=False).attune.db, "CONF",
                        by=("format",))["groups"]
    smallest, *others = sorted(groups, key=lambda g: g["n_participants"])
    floor = smallest["n_participants"] + 1
    assert floor <= others[0]["n_participants"]
    app_ctx = create_app(demo_db, min_cell_size=floor, login_required=False).attune
    chart = trends.build_model(app_ctx, {**STATE, "by": "format"})
    assert len(chart.figure.data) == 2 * 3  # two lines in each of the three formats shown
    name = label("format", smallest["format"])
    assert any(note.startswith(f"{name}: not shown (groups of fewer than {floor},")
               for note in chart.notes)
    assert not any(note.startswith(f"{name}: At") for note in chart.notes)
    (small,) = [r for r in chart.records if r["suppressed"] and r["x"] is None]
    assert small["group"] == name and small["change"] is None and small["n"] is None
    assert sum("At 12 months" in note for note in chart.notes) == 3


def test_sponsor_gets_the_published_model_and_sentences_from_those_figures(sponsor):
    filters = common.filters(sponsor, STATE)
    assert filters.published
    published = wave_model(sponsor.db, "CONF", filters=filters)
    exact = wave_model(sponsor.db, "CONF", filters=Filters(**{
        **{f: getattr(filters, f) for f in filters.__dataclass_fields__}, "published": False}))
    chart = trends.build_model(sponsor, STATE)
    modelled = [r for r in chart.records if r["estimate"] == trends.MODELLED]
    assert [r["change"] for r in modelled] == [w["change_from_pre"]
                                               for w in published["waves"][1:]]
    assert [r["change"] for r in modelled] != [w["change_from_pre"] for w in exact["waves"][1:]]
    assert chart.notes[0] == published["difference"]["sentence"]
    assert f"({published['waves'][-1]['change_from_pre']:+.2f})" in chart.notes[0]
    assert chart.notes[1] == published["tipping_point"]["sentence"]
    assert trends.build_model(sponsor, STATE).records == chart.records  # the same, again


def test_follow_up_page_draws_the_trends_chart_for_everyone_with_its_sentences(evaluator):
    on_trends = trends.build_model(evaluator, STATE)
    follow_up = attrition.build_model(evaluator, {**STATE, "by": "format"})  # not split
    assert follow_up.notes == on_trends.notes and follow_up.notes
    assert follow_up.records == on_trends.records
    assert follow_up.figure is not None
    assert [t["name"] for t in follow_up.figure.data] == [t["name"] for t in on_trends.figure.data]
    assert "does the change last for everyone" in follow_up.title


def test_trend_lines_of_a_pooled_lake_grouped_by_provider_each_have_their_own_colour(
        consortium_db):
    """Providers are not a fixed vocabulary as audiences and formats are: each line still gets
    a colour of its own from the colour-blind-safe palette, the same on both trend charts."""
    pooled = create_app(consortium_db, login_required=False).attune
    state = {**STATE, "by": "provider"}
    for build in (trends.build_quarter, trends.build_sustained):
        chart = build(pooled, state)
        colours = {t["name"]: t["line"]["color"] for t in chart.figure.data
                   if t.get("name") in ("north", "south") and t.get("mode") == "lines+markers"}
        assert set(colours) == {"north", "south"}, build
        assert len(set(colours.values())) == 2 and set(colours.values()) <= set(
            OKABE_ITO.values())


def test_every_panel_of_a_split_model_chart_names_its_waves(demo_db):
    app_ctx = create_app(demo_db, login_required=False).attune
    chart = trends.build_model(app_ctx, {**STATE, "by": "format"})
    x_axes = [value for key, value in chart.figure.layout.items() if key.startswith("xaxis")]
    assert len(x_axes) >= 2
    assert all(axis.get("showticklabels", True) for axis in x_axes)
