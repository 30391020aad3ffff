"""Outputs that are safe to open: CSV downloads neutralise spreadsheet formulas, and strings
from input files (programme names, citations, codes) are shown as text, never run as HTML or
Markdown."""

from __future__ import annotations

import csv
import io

import duckdb
import plotly.graph_objects as go
import pytest

from dashboard.app import create_app
from dashboard.components import Chart, data_table, neutralise, render, safe_figure, to_csv

XSS_PROGRAM = "<img src=x onerror=alert(1)>"
XSS_CITATION = "**markdown** <b>x</b> [link](javascript:alert(2))"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://evil\",\"x\")"])
def test_formula_cells_are_neutralised(text):
    assert neutralise(text) == "'" + text
    out = to_csv([("a", "A")], [{"a": text}])
    cell = list(csv.reader(io.StringIO(out, newline="")))[1][0]
    assert cell == "'" + text


def test_numbers_and_plain_text_untouched():
    out = to_csv([("n", "N"), ("x", "X"), ("s", "S"), ("e", "=label")],
                 [{"n": -3, "x": -0.25, "s": "hr", "e": None}, {"n": 0, "x": 1.5, "s": "a=b"}])
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["N", "X", "S", "'=label"], ["-3", "-0.25", "hr", ""],
                    ["0", "1.5", "a=b", ""]]
    assert neutralise(-3) == -3 and neutralise(-0.5) == -0.5


def test_figure_strings_are_escaped_but_templates_kept():
    fig = go.Figure(go.Scatter(x=[1], y=[XSS_PROGRAM], name="<b>n</b>",
                               customdata=[[XSS_CITATION, 3]],
                               hovertemplate="%{y}<br>%{customdata[0]}<extra></extra>"))
    fig.update_yaxes(categoryarray=[XSS_PROGRAM])
    out = safe_figure(fig)
    trace = out["data"][0]
    assert trace["y"] == ["&lt;img src=x onerror=alert(1)&gt;"]
    assert trace["name"] == "&lt;b&gt;n&lt;/b&gt;"
    assert trace["customdata"][0][1] == 3
    assert trace["hovertemplate"] == "%{y}<br>%{customdata[0]}<extra></extra>"
    assert out["layout"]["yaxis"]["categoryarray"] == ["&lt;img src=x onerror=alert(1)&gt;"]


def test_ag_grid_renders_no_html():
    grid = data_table([("a", "A")], [{"a": XSS_PROGRAM}] * 80)
    assert grid.dangerously_allow_code is False
    assert all("cellRenderer" not in c for c in grid.columnDefs)
    # Dash children: rendered by React as text
    assert render("x", Chart(title=XSS_PROGRAM))[0] == XSS_PROGRAM


# Installed in every frame before its scripts run: each alert, confirm or prompt is recorded
# in the frame's window.__dialogs instead of being shown.
RECORD_DIALOGS = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (message) => { window.__dialogs.push(`${name}: ${message}`); };
}
"""
IMAGES_SETTLED = "() => Array.from(document.images).every((image) => image.complete)"


@pytest.fixture
def hostile_app(tiny_db_factory, live_server):
    """The app on a database whose programme name and citation are HTML and Markdown."""
    db = tiny_db_factory({("hr", "workshop"): 20, ("hr", "degree"): 15})
    con = duckdb.connect(str(db))
    con.execute("UPDATE programs SET name = ? WHERE program_id = 'P1'", [XSS_PROGRAM])
    con.execute("INSERT INTO evidence (study_id, citation, year, design, audience, format, "
                "outcome_domain, n, yi, vi, synthetic) VALUES ('S1', ?, 2020, 'randomised', "
                "'hr', 'workshop', 'Confidence', 100, 0.5, 0.04, true), ('S2', 'Plain 2021', "
                "2021, 'randomised', 'hr', 'degree', 'Confidence', 80, 0.3, 0.05, true)",
                [XSS_CITATION])
    con.execute("CHECKPOINT")
    con.close()
    app = create_app(db, login_required=False)
    app.attune.db.snapshot()
    return live_server(app)


@pytest.mark.browser
def test_hostile_names_render_literally_in_the_browser(hostile_app, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(RECORD_DIALOGS)
    page.set_default_timeout(20_000)
    page.goto(hostile_app.url + "/evidence?scale=CONF")
    forest = page.locator("#card-evidence-forest")
    forest.locator(".js-plotly-plot").wait_for()
    # the programme name and the citation appear as text in the chart (labels above the bars)
    page.wait_for_function(
        "(s) => document.querySelector('#card-evidence-forest .js-plotly-plot')"
        ".textContent.includes(s)", arg=XSS_PROGRAM)
    svg_text = " ".join(forest.locator("svg.main-svg").all_text_contents())
    assert XSS_PROGRAM in svg_text
    assert "**markdown** <b>x</b>" in svg_text
    # tier list (html): the programme name as text
    page.locator("#card-evidence-tiers .tier-list").get_by_text(XSS_PROGRAM).wait_for()
    # the programme dropdown label is text too
    page.locator("#f-program").click()
    page.get_by_text(f"{XSS_PROGRAM} (P1)").first.wait_for()
    # the table view of the forest shows the citation literally
    forest.get_by_role("button", name="Show as table").click()
    forest.locator(".chart-table table").get_by_text(XSS_CITATION).wait_for()
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#content b, #content strong", has_text="markdown").count() == 0
    assert page.locator(".js-plotly-plot b, .js-plotly-plot tspan[style*='bold']").filter(
        has_text="x").count() == 0
    # An injected <img onerror=...> runs once its image fails: wait until every image in
    # every frame has loaded or failed, then read what each frame recorded.
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")
    recorded = []
    for frame in page.frames:
        frame.wait_for_function(IMAGES_SETTLED)
        recorded += frame.evaluate("() => window.__dialogs || []")
    assert recorded == [] and dialogs == []


def test_figure_text_is_escaped_but_keeps_our_line_breaks():
    figure = go.Figure(go.Heatmap(z=[[1]], text=[["g = 0.48<br>n = 79"]], y=["<img src=x onerror=alert(1)>"]))
    trace = safe_figure(figure)["data"][0]
    assert trace["text"] == [["g = 0.48<br>n = 79"]]
    assert trace["y"] == ["&lt;img src=x onerror=alert(1)&gt;"]
