"""Data and methods: the data dictionary, how each statistic is computed, example SQL,
and every chart's numbers for download."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from importlib import resources
from pathlib import Path

from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard.components import data_table, to_csv
from dashboard.downloads import header_lines
from dashboard.pages.charts import DATABASE_UNAVAILABLE, safe_build
from stats.tiers import TIER_RULES
from warehouse.catalog import scales
from warehouse.cell_key import NOISE_SENTENCE, published_scale
from warehouse.dictionary import data_dictionary

KEY, PATH, NAME = "methods", "/methods", "Data and methods"
FILTERS = False  # no filter applies here: the frame shows no panel
CHARTS = ()  # no charts of its own: it downloads every other page's
# Shipped inside the stats package (package data), so an installed wheel has it too.
METHODS_MD = resources.files("stats").joinpath("METHODS.md")
log = logging.getLogger("attune.methods")

# Rendering the methods text: HTML comments (the generated tables' markers) are dropped, and a
# bracket pair not followed by "(" is escaped, so an interval such as [0.195, 0.840] reads as
# text instead of an empty reference link; code spans and blocks are left as written.
HTML_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
BRACKETS = re.compile(r"\[([^\[\]\n]*)\](?!\()")
# What the sponsor's copy leaves out (researcher material): the opening paragraph on the code
# and its tests, the section of reference values the tests reproduce (their fixture files),
# and every parenthesis naming a source file, e.g. " (`stats/paired.py`)".
_PATH_SPAN = r"`[^`]*(?:/|\.py\b|\.sql\b|\.R\b)[^`]*`"
_IN_PARENS = r"(?:[^()`]|`[^`]*`)*"
SOURCE_REFERENCE = re.compile(rf" ?\({_IN_PARENS}{_PATH_SPAN}{_IN_PARENS}\)")
CODE_INTRO = re.compile(r"\A(# [^\n]*\n\n)(?:[^\n]+\n)+")
TESTS_SECTION = re.compile(r"^## Reference values reproduced by the tests\n.*?(?=^## |\Z)",
                           re.S | re.M)
SPONSOR_INTRO = "How each statistic on these pages is computed, with its published source.\n"

EXAMPLE_SQL = """-- Open the file read-only:  duckdb -readonly ~/.local/share/attune/attune.duckdb
-- Mean change pre -> post of the people trained per scale and format (matched pairs),
-- suppressing small cells (arm: intervention, comparison or waitlist):
SELECT scale_id, format, count(*) AS n_pairs,
       avg(score_from) AS mean_pre, avg(score_to) AS mean_post,
       avg(improvement) AS mean_improvement, stddev_samp(change) AS sd_change
FROM paired_scores
WHERE wave_from = 'pre' AND wave_to = 'post' AND arm = 'intervention'
GROUP BY ALL
HAVING count(*) >= 11
ORDER BY scale_id, format;

-- Response counts per wave and cohort quarter:
SELECT cohort_quarter, wave, count(DISTINCT participant_id) AS people
FROM scored_responses GROUP BY ALL ORDER BY ALL;

-- Why rows were quarantined:
SELECT unnest(rules) AS rule, count(*) FROM quarantine GROUP BY rule ORDER BY 2 DESC;
"""


def layout(app_ctx) -> html.Div:
    sponsor = access.is_sponsor()  # no data dictionary, no pooled statistics for sponsors
    try:
        dictionary = [] if sponsor else data_dictionary(app_ctx.db)
        scale_rows = scales(app_ctx.db)
        if sponsor:  # drawn from every sponsor's cohorts: published only as rounded figures
            scale_rows = [published_scale(row) for row in scale_rows]
    except Exception:  # noqa: BLE001 - the page still renders; its text names the file
        log.exception("the methods page could not read the database")
        dictionary, scale_rows = [], []
        problem = html.P(DATABASE_UNAVAILABLE, role="alert")
    else:
        problem = None
    methods = methods_markdown(METHODS_MD.read_text(encoding="utf-8") if METHODS_MD.is_file()
                               else "_The methods text is not written yet; each chart's "
                               "methods note says how its numbers are computed._", sponsor)
    return html.Div(className="page", children=[
        html.H1("Data and methods"),
        problem,
        _download_card(app_ctx),
        html.Section(className="card", children=[
            html.H2("How the statistics are computed"),
            html.P(["Minimum cell size: no statistic is shown for fewer than ",
                    html.Strong(str(app_ctx.min_cell)), " people; the query layer returns "
                    "such groups without numbers, so charts, tables and downloads cannot show "
                    "them."]),
            html.P(NOISE_SENTENCE, className="noise-note") if sponsor else None,
            html.H3("Scales and reliable-change thresholds", className="h3"),
            data_table([("scale_id", "Scale"), ("name", "Name"), ("domain", "Domain"),
                        ("level_name", "Kirkpatrick level"), ("n_items", "Items"),
                        ("higher_is_better", "Higher is better"),
                        ("reliability_used", "Reliability used"),
                        ("reliability_source", "Source"),
                        *([] if sponsor else [("sd_pre", "Pre-training SD")]),
                        ("reliable_threshold", "Reliable change (points)")], scale_rows),
            html.H3("Evidence tiers", className="h3"),
            data_table([("tier", "Tier"), ("label", "Label"), ("requirements", "Requirements"),
                        ("studies", "Published studies also need")], TIER_RULES),
            dcc.Markdown(methods, className="markdown", link_target="_blank"),
        ]),
        None if sponsor else html.Section(className="card", children=[
            html.H2("Example SQL for researchers"),
            html.Pre(html.Code(EXAMPLE_SQL), className="sql"),
        ]),
        None if sponsor else html.Section(className="card", id="data-dictionary", children=[
            html.H2("Data dictionary"),
            html.P("Generated from the comments stored in the database (duckdb_tables(), "
                   "duckdb_views(), duckdb_columns())."),
            *[
                html.Details(className="dict-entry", children=[
                    html.Summary([html.Code(obj["name"]), f" ({obj['kind']}) — ",
                                  obj["comment"]]),
                    data_table([("column", "Column"), ("type", "Type"),
                                ("comment", "Meaning")], obj["columns"]),
                ])
                for obj in dictionary
            ],
        ]),
    ])


def methods_markdown(text: str, sponsor: bool = False) -> str:
    """The methods text as the page renders it (see ``HTML_COMMENT`` and ``BRACKETS``); for a
    sponsor (and a share link's visitor) without the researcher material."""
    text = HTML_COMMENT.sub("", text)
    if sponsor:
        text = CODE_INTRO.sub(lambda m: m.group(1) + SPONSOR_INTRO, text, count=1)
        text = SOURCE_REFERENCE.sub("", TESTS_SECTION.sub("", text))
    return "".join(part if CODE.fullmatch(part) else BRACKETS.sub(r"\\[\1\\]", part)
                   for part in CODE.split(text))


def _download_card(app_ctx) -> html.Section:
    return html.Section(className="card", children=[
        html.H2("Download the numbers behind every chart"),
        html.P("One CSV per chart, for the filters now selected, in a ZIP file. Groups "
               f"with fewer than {app_ctx.min_cell} people are suppressed as on screen."),
        html.P("Every CSV (here and under each chart) begins with a few lines starting with "
               "#: the filters, whose figures they are, the design and the date it was made. "
               "A spreadsheet shows them above the table; pandas skips them with "
               "read_csv(path, comment=\"#\"). Numbers keep 4 decimals."),
        html.Button("Download all chart data (ZIP)", id="methods-zip-btn", n_clicks=0,
                    className="btn", type="button"),
        dcc.Download(id="methods-zip"),
    ])


def validation_layout(app_ctx) -> html.Div:
    """The components this page's callbacks use, without the database's contents: the
    validation layout is sent to every browser, and the data dictionary is not for sponsors."""
    return html.Div(className="page", children=[_download_card(app_ctx)])


def all_chart_data(app_ctx, state, made=None) -> bytes:
    """A ZIP of every chart's CSV for this state: each chart built as its card builds it
    (``safe_build``: same builder, same scope) and written as its card writes it (the same
    comment lines on top: ``downloads.header_lines``), so the ZIP holds what the cards show."""
    from dashboard.pages import PAGES  # not at the top: dashboard.pages imports this module

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for page in PAGES:
            for spec in page.CHARTS:
                chart = safe_build(page, spec, app_ctx, state)
                if chart.columns:
                    filename = f"{spec.id}--{Path(chart.filename).name}"
                    header = header_lines(app_ctx, state, Path(chart.filename).name, made)
                    archive.writestr(filename, to_csv(chart.columns, chart.records, header))
    return buffer.getvalue()


def register(app, app_ctx) -> None:
    @app.callback(Output("methods-zip", "data"), Input("methods-zip-btn", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def download_zip(n_clicks, state):
        if not n_clicks or not state:
            raise PreventUpdate
        return dcc.send_bytes(all_chart_data(app_ctx, state), "attune-chart-data.zip")
