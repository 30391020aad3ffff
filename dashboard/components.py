"""Building blocks every page uses: the chart card (title with units, n, methods note, chart,
"show as table" toggle, CSV download) and the empty states.

Safe output: ``to_csv`` is the one CSV writer of every download (chart cards and the ZIP); it
neutralises spreadsheet formulas. Strings from input files reach the page only as text: Dash
components render children as text, AG Grid cells use no HTML or Markdown renderer, and
``render`` escapes every string of a Plotly figure's data (Plotly draws a subset of HTML in
labels, legends and hovers).
"""

from __future__ import annotations

import csv
import html as html_lib
import io
from dataclasses import dataclass, field
from typing import Any

import dash_ag_grid as dag  # imported at start-up: Dash refuses imports inside callbacks
from dash import MATCH, Input, Output, State, dcc, html

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


def render(name: str, chart: Chart) -> tuple:
    """Values for ``chart_outputs(name)``."""
    if chart.figure is not None and chart.empty is None:
        body: Any = dcc.Graph(
            figure=safe_figure(chart.figure),
            config={"displaylogo": False, "responsive": True,
                    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                    "toImageButtonOptions": {"filename": chart.filename.removesuffix(".csv")}},
            className="graph",
        )
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


def to_csv(columns: list[tuple[str, str]], records: list[dict[str, Any]]) -> str:
    """THE CSV writer of every download (chart cards, the ZIP of all charts). RFC 4180 line
    ends (CRLF), so a cell holding a carriage return or newline is quoted, never split."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(lbl)) for _, lbl in columns])
    for r in records:
        writer.writerow([neutralise("" if r.get(k) is None else r.get(k)) for k, _ in columns])
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
        prevent_initial_call=True,
    )
    def download_csv(n_clicks, data):
        if not n_clicks or not data:
            return None
        content = to_csv([tuple(c) for c in data["columns"]], data["records"])
        return {"content": content, "filename": data.get("filename") or "attune.csv",
                "type": "text/csv"}
