"""Building blocks every page uses: the chart card (title with units, n, methods note, chart,
"show as table" toggle, CSV download) and the empty states.

Safe output: ``to_csv`` is the one CSV writer of every download (chart cards and the ZIP); it
neutralises spreadsheet formulas. Strings from input files reach the page only as text: Dash
components render children as text, AG Grid cells use no HTML or Markdown renderer, and
``render`` escapes every string of a Plotly figure's data (Plotly draws a subset of HTML in
labels, legends and hovers).

Phone first: ``render`` draws every figure so that it reads from a 390 px phone up
(``readable_at_any_width``: legend below the plot, long axis titles and category labels
wrapped), and a chart whose form does not survive a phone (the explorer's heatmap) brings its
own ``narrow`` form, which the stylesheet shows instead of the figure on a narrow screen. The
toolbar is hidden on narrow screens and on paper (``assets/attune.css``); printing redraws
every figure at the printable width (``assets/attune.js``).
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

import dash_ag_grid as dag  # imported at start-up: Dash refuses imports inside callbacks
from dash import MATCH, Input, Output, State, dcc, html

from dashboard.downloads import header_lines
from dashboard.figures import Figure
from dashboard.style import DESIGN_STATEMENT, fmt
from warehouse.csv_cells import neutralise  # the formula guard every CSV writer shares


@dataclass
class Chart:
    """What a chart card shows. ``records``/``columns`` are the exact numbers behind it."""

    title: str
    subtitle: str = ""
    figure: Figure | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    empty: str | None = None  # why nothing is drawn
    filename: str = "attune.csv"
    notes: list[str] = field(default_factory=list)  # e.g. suppressed groups
    extra: Any = None  # page-specific content (cards, lists) shown above the chart
    narrow: Any = None  # content shown instead of the figure on a narrow screen (a phone)


def design_note() -> html.Span:
    """The design statement (``style.DESIGN_STATEMENT``) as a line of a page's lead: every
    page that shows change carries it, on screen and in print."""
    return html.Span(DESIGN_STATEMENT, className="design-note",
                     **{"data-testid": "design-note"})


def with_design_note(lead: str) -> list:
    """A page's lead paragraph followed, on its own line, by the design statement."""
    return [lead, html.Br(), design_note()]


def chart_id(name: str, part: str) -> dict[str, str]:
    return {"type": f"chart-{part}", "chart": name}


def chart_card(name: str, title: str, methods: str) -> html.Section:
    """Layout of one chart card (from a page's ``ChartSpec``); filled by its callback through
    ``chart_outputs``."""
    return html.Section(
        className="card chart-card",
        id=f"card-{name}",
        **{"aria-labelledby": f"title-{name}"},
        children=[
            html.H2(title, id=chart_id(name, "title"), className="chart-title",
                    **{"data-testid": f"title-{name}"}),
            html.P(id=chart_id(name, "subtitle"), className="chart-subtitle"),
            html.Div(id=chart_id(name, "extra")),
            dcc.Loading(
                html.Div(id=chart_id(name, "body"), className="chart-body"),
                type="dot", delay_show=400,
            ),
            html.Div(id=chart_id(name, "table"), className="chart-table", hidden=True),
            html.Ul(id=chart_id(name, "notes"), className="chart-notes"),
            html.P(["Method: ", methods], className="methods-note"),
            html.Div(
                className="chart-actions no-print",
                children=[
                    html.Button("Show as table", id=chart_id(name, "toggle"), n_clicks=0,
                                className="btn btn-outline", type="button",
                                **{"aria-pressed": "false", "aria-controls": f"table-{name}"}),
                    html.Button("Download CSV", id=chart_id(name, "csv"), n_clicks=0,
                                className="btn btn-outline", type="button"),
                    dcc.Download(id=chart_id(name, "download")),
                ],
            ),
            dcc.Store(id=chart_id(name, "data")),
        ],
    )


def chart_outputs(name: str) -> list[Output]:
    return [
        Output(chart_id(name, "title"), "children"),
        Output(chart_id(name, "subtitle"), "children"),
        Output(chart_id(name, "extra"), "children"),
        Output(chart_id(name, "body"), "children"),
        Output(chart_id(name, "notes"), "children"),
        Output(chart_id(name, "data"), "data"),
    ]


def empty_state(message: str, detail: str | None = None) -> html.Div:
    return html.Div(
        className="empty-state", role="status",
        children=[html.P(message, className="empty-title")]
        + ([html.P(detail, className="empty-detail")] if detail else []),
    )


# Trace attributes that may carry strings from input files (labels, codes, citations).
FIGURE_DATA_KEYS = ("x", "y", "z", "text", "hovertext", "customdata", "name", "labels",
                    "ids", "legendgroup")
AXIS_TEXT_KEYS = ("categoryarray", "ticktext")


def _escape_deep(value: Any) -> Any:
    if isinstance(value, str):
        # Line breaks are the one tag let through: our cell labels use them, and a <br> from
        # an input file can do no more than break a line.
        return html_lib.escape(value, quote=False).replace("&lt;br&gt;", "<br>")
    if isinstance(value, (list, tuple)):
        return [_escape_deep(v) for v in value]
    if hasattr(value, "tolist") and getattr(value, "dtype", None) is not None:
        return _escape_deep(value.tolist()) if value.dtype.kind in "OUS" else value
    return value


def safe_figure(figure: Any) -> dict[str, Any]:
    """The figure as a dict with every data string HTML-escaped, so Plotly shows
    ``<img src=x onerror=alert(1)>`` or ``<b>x</b>`` literally instead of as markup. Templates
    (hovertemplate) are ours and keep their ``<br>``; data reaches them only through
    %{...} placeholders, which are filled with the escaped values."""
    fig = figure.to_plotly_json()
    for trace in fig.get("data", []):
        for key in FIGURE_DATA_KEYS:
            if key in trace:
                trace[key] = _escape_deep(trace[key])
    layout = fig.get("layout", {})
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            for k in AXIS_TEXT_KEYS:
                if k in axis:
                    axis[k] = _escape_deep(axis[k])
    if layout.get("annotations"):
        layout["annotations"] = [
            {**annotation, "text": html_lib.escape(annotation["text"], quote=False)}
            if isinstance(annotation, dict) and isinstance(annotation.get("text"), str)
            else annotation
            for annotation in layout["annotations"]
        ]
    return fig


# Text that must fit a chart 340 px wide (a 390 px phone less the card's padding): its plot
# area is about 280 px beside the y labels; 13 px text is about 8.6 px a character.
AXIS_TITLE_CHARS = 20  # one line of an axis title, centred on a plot area of 180 px
TICK_CHARS = 24  # one line of a category label on the y axis: half the chart's width at most
PLOT_PX = 280  # the plot area's width on a phone
X_TICK_FONT, X_CHAR_PX = 11, 6.8  # category labels of the x axis, once wrapped
LINE_PX = 17  # the height of one line of 13 px text, with its leading
ROW_GAP_PX = 8  # between two rows' labels


def _wrapped(text: str, width: int) -> str:
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False)) or text


def _categories(fig: dict[str, Any], letter: str) -> dict[str, list[str]]:
    """Each ``letter`` (x or y) axis's category labels (layout key -> labels in order of
    appearance), for the axes whose traces are placed by text."""
    found: dict[str, list[str]] = {}
    for trace in fig.get("data", []):
        values = trace.get(letter)
        if not isinstance(values, list) or not values or \
                not all(isinstance(v, str) for v in values):
            continue
        ref = trace.get(f"{letter}axis", letter)
        labels = found.setdefault(f"{letter}axis" + ref[1:], [])
        labels += [v for v in dict.fromkeys(values) if v not in labels]
    return found


def _lines(text: str) -> int:
    return text.count("<br>") + 1


def readable_at_any_width(fig: dict[str, Any]) -> dict[str, Any]:
    """``fig`` (Plotly JSON, changed in place) made to read at a phone's width as on a wide
    screen: a legend above the plot moves below it (the toolbar never covers it and it never
    takes the plot's width); an axis title longer than a line is wrapped; a y axis's long
    category labels are wrapped over lines, the first and last given a full row, and the
    figure made tall enough for every axis's labels, so none is cut at the plot's edge or
    overlaps the next; an x axis's category
    labels too wide to sit side by side on a phone are wrapped, upright, in smaller type
    (rather than turned, which crosses them)."""
    layout = fig.setdefault("layout", {})
    legend = layout.get("legend") or {}
    if layout.get("showlegend", True) and legend.get("yref", "paper") == "paper" \
            and legend.get("y", 1) >= 1:
        layout["legend"] = {**legend, "orientation": "h", "x": 0, "xanchor": "left",
                            "yref": "container", "y": 0, "yanchor": "bottom"}
    for key, axis in layout.items():
        if not (key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict)):
            continue
        title = axis.get("title")
        if isinstance(title, dict) and isinstance(title.get("text"), str) \
                and "<br>" not in title["text"] and len(title["text"]) > AXIS_TITLE_CHARS:
            axis["title"] = {**title, "text": _wrapped(title["text"], AXIS_TITLE_CHARS)}
    for key, labels in _categories(fig, "x").items():
        axis = layout.setdefault(key, {})
        slot = int(PLOT_PX / len(labels) / X_CHAR_PX)
        words = [w for v in labels for w in v.split()]
        if "ticktext" in axis or any("<br>" in v for v in labels) or \
                max(map(len, labels)) <= slot or max(map(len, words)) > slot:
            continue
        axis.update(tickmode="array", tickvals=labels, tickangle=0,
                    ticktext=[_wrapped(v, slot) for v in labels],
                    tickfont={**axis.get("tickfont", {}), "size": X_TICK_FONT})
    growth = 1.0
    margin = layout.get("margin") or {}
    plot = (layout.get("height") or 0) - margin.get("t", 80) - margin.get("b", 80) - 40
    for key, labels in _categories(fig, "y").items():
        axis = layout.setdefault(key, {})
        if "ticktext" not in axis and not any("<br>" in v for v in labels) \
                and max(map(len, labels)) > TICK_CHARS:
            axis.update(tickmode="array", tickvals=labels,
                        ticktext=[_wrapped(v, TICK_CHARS) for v in labels])
        if "range" not in axis:  # a full row for the first and last label too
            ends = [len(labels) - 0.5, -0.5]
            reverse = axis.pop("autorange", None) == "reversed"
            axis["range"] = ends if reverse else ends[::-1]
        shown = axis.get("ticktext", labels)
        low, high = axis.get("domain", [0, 1])
        need = len(labels) * (max(map(_lines, shown)) * LINE_PX + ROW_GAP_PX)
        if plot > 0 and max(map(_lines, shown)) > 1:
            growth = max(growth, need / (plot * (high - low)))
    if growth > 1:
        layout["height"] = round(layout["height"] + plot * (growth - 1))
    return fig


def render(name: str, chart: Chart) -> tuple:
    """Values for ``chart_outputs(name)``."""
    if chart.figure is not None and chart.empty is None:
        body: Any = dcc.Graph(
            figure=readable_at_any_width(safe_figure(chart.figure)),
            config={"displaylogo": False, "responsive": True,
                    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                    "toImageButtonOptions": {"filename": chart.filename.removesuffix(".csv")}},
            className="graph",
        )
        if chart.narrow is not None:
            body = html.Div(className="has-narrow", children=[
                body, html.Div(chart.narrow, className="narrow-form")])
    elif chart.empty is None and chart.extra is not None:
        body = None
    else:
        body = empty_state(chart.empty or "Nothing to show for these filters.")
    data = {"columns": chart.columns, "records": chart.records, "filename": chart.filename}
    notes = [html.Li(n) for n in chart.notes]
    return chart.title, chart.subtitle, chart.extra, body, notes, data


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt(value, 3)
    return "–" if value is None else str(value)


GRID_THRESHOLD = 60


def data_table(columns: list[tuple[str, str]], records: list[dict[str, Any]],
               caption: str | None = None, table_id: str | None = None) -> Any:
    """A plain, accessible HTML table (scoped headers, caption); a virtualised AG Grid when
    there are more than GRID_THRESHOLD rows (thousands of html components are slow in Dash)."""
    if len(records) > GRID_THRESHOLD:
        return dag.AgGrid(
            columnDefs=[{"field": k, "headerName": lbl, "resizable": True, "sortable": True,
                         "filter": True} for k, lbl in columns],
            rowData=[{k: _cell(r.get(k)) for k, _ in columns} for r in records],
            columnSize="autoSize", style={"height": "420px", "width": "100%"},
            dashGridOptions={"ensureDomOrder": True, "enableCellTextSelection": True},
            dangerously_allow_code=False,  # cells are text: no HTML, no Markdown renderer
            className="grid",
        )
    head = html.Thead(html.Tr([html.Th(lbl, scope="col") for _, lbl in columns]))
    body = html.Tbody([
        html.Tr([html.Td(_cell(r.get(k))) for k, _ in columns]) for r in records
    ])
    children = ([html.Caption(caption)] if caption else []) + [head, body]
    return html.Table(children, className="table", id=table_id or "")


CSV_DIGITS = 4  # a float keeps 4 decimals, and 4 significant digits when below 1 in size


def csv_value(value: Any) -> Any:
    """A cell as every CSV writes it: a float rounded to ``CSV_DIGITS`` decimals (at least
    ``CSV_DIGITS`` significant digits, so a p of 0.000123 stays 0.000123), an integer, a
    string or anything else as it is; None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{CSV_DIGITS}g}") if abs(value) < 1 else round(value, CSV_DIGITS)
    return value


def to_csv(columns: list[tuple[str, str]], records: list[dict[str, Any]],
           header: list[str] | tuple[str, ...] = ()) -> str:
    """THE CSV writer of every download (chart cards, the ZIP of all charts): first the
    ``header`` comment lines (``dashboard.downloads.header_lines``: filters, scope, design,
    date), then the header row and one row per record, each cell through ``csv_value`` and
    the formula guard. RFC 4180 line ends (CRLF), so a cell holding a carriage return or
    newline is quoted, never split."""
    buffer = io.StringIO()
    for line in header:
        buffer.write(line + "\r\n")  # one cell each (downloads.comment_line), never quoted
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(lbl)) for _, lbl in columns])
    for r in records:
        writer.writerow([neutralise(csv_value(r.get(k))) for k, _ in columns])
    return buffer.getvalue()


def register_generic_callbacks(app) -> None:
    """Table toggle, table rendering and CSV download for every chart card (MATCH)."""

    @app.callback(
        Output(chart_id(MATCH, "table"), "hidden"),
        Output(chart_id(MATCH, "body"), "hidden"),
        Output(chart_id(MATCH, "toggle"), "children"),
        Output(chart_id(MATCH, "toggle"), "aria-pressed"),
        Input(chart_id(MATCH, "toggle"), "n_clicks"),
    )
    def toggle_table(n_clicks):
        showing_table = bool(n_clicks and n_clicks % 2)
        return (not showing_table, showing_table,
                "Show as chart" if showing_table else "Show as table",
                "true" if showing_table else "false")

    @app.callback(
        Output(chart_id(MATCH, "table"), "children"),
        Input(chart_id(MATCH, "toggle"), "n_clicks"),
        Input(chart_id(MATCH, "data"), "data"),
    )
    def fill_table(n_clicks, data):
        # Built only while shown: large hidden tables cost the browser seconds.
        if not (n_clicks and n_clicks % 2):
            return None
        if not data or not data.get("records"):
            return empty_state("No numbers to tabulate for these filters.")
        return data_table([tuple(c) for c in data["columns"]], data["records"])

    @app.callback(
        Output(chart_id(MATCH, "download"), "data"),
        Input(chart_id(MATCH, "csv"), "n_clicks"),
        State(chart_id(MATCH, "data"), "data"),
        State("state", "data"),
        prevent_initial_call=True,
    )
    def download_csv(n_clicks, data, state):
        if not n_clicks or not data:
            return None
        filename = data.get("filename") or "attune.csv"
        content = to_csv([tuple(c) for c in data["columns"]], data["records"],
                         header_lines(app.attune, state, filename))
        return {"content": content, "filename": filename, "type": "text/csv"}
