"""The researchers' SQL console: one read-only query at a time against the database's tables
and views (``dashboard.console`` does the locking down, the limits and the audit)."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard.access import current_user
from dashboard.console import MEMORY_LIMIT, ROW_LIMIT, TIME_LIMIT_S, run_console_query

KEY, PATH, NAME = "console", "/console", "SQL console"
ROLES = ("researcher", "admin")
CHARTS = ()  # a query and its result, no charts

EXAMPLE = """SELECT wave, count(*) AS responses
FROM responses
GROUP BY wave
ORDER BY wave"""


def limits_note() -> str:
    return (f"Read-only: one SELECT (or DESCRIBE, SUMMARIZE, SHOW, EXPLAIN) at a time. No "
            f"files, network or extensions, no settings. Queries stop after "
            f"{TIME_LIMIT_S:g} s or {MEMORY_LIMIT} of memory; the first {ROW_LIMIT:,} rows are "
            "shown. Every query is recorded in the audit log with your name and the time. "
            "Results here are not suppressed: do not copy cells under the minimum cell size "
            "into reports.")


def layout(app_ctx) -> html.Div:
    return html.Div(className="page", children=[
        html.H1("SQL console"),
        html.P(limits_note(), className="lead", id="console-limits"),
        html.Section(className="card", children=[
            html.Label("SQL query", htmlFor="console-sql", className="h3"),
            dcc.Textarea(id="console-sql", value=EXAMPLE, spellCheck="false",
                         title="SQL query (one statement)",
                         style={"width": "100%", "height": "10em", "fontFamily": "monospace"}),
            html.Button("Run query", id="console-run", n_clicks=0, type="button",
                        className="button"),
        ]),
        html.Div(id="console-alert", role="alert", **{"aria-live": "assertive"}),
        dcc.Loading(html.Div(id="console-result", **{"aria-live": "polite"})),
    ])


def result_view(result) -> tuple[list, list]:
    """(alert children, result children) for a ``ConsoleResult``; cells are plain text."""
    if result.error:
        return [html.P(f"Query failed: {result.error}", className="error")], []
    summary = (f"{len(result.rows):,} row(s) in {result.seconds:.2f} s"
               + (f"; only the first {len(result.rows):,} are shown" if result.truncated
                  else ""))
    if not result.columns:
        return [], [html.P(summary)]
    table = html.Table(className="data-table", **{"data-testid": "console-table"}, children=[
        html.Caption(summary),
        html.Thead(html.Tr([html.Th(str(col), scope="col") for col in result.columns])),
        html.Tbody([
            html.Tr([html.Td("NULL" if v is None else str(v)) for v in row])
            for row in result.rows
        ]),
    ])
    return [], [html.Div(table, className="table-scroll")]


def _audit(app_ctx):
    audit = getattr(app_ctx, "console_audit", None)
    if audit is not None:
        return audit
    store = getattr(app_ctx, "auth_store", None)
    return store.audit if store is not None else None  # None: the accounts file's audit log


def run_for_request(app_ctx, sql: str):
    """Run ``sql`` for the request's user (researcher or admin only)."""
    access.require_roles(*ROLES)
    user = current_user() or app_ctx.local_user
    return run_console_query(app_ctx.db.path, sql or "", user.name, audit=_audit(app_ctx))


def register(app, app_ctx) -> None:
    @app.callback(
        Output("console-alert", "children"),
        Output("console-result", "children"),
        Input("console-run", "n_clicks"),
        State("console-sql", "value"),
        prevent_initial_call=True,
    )
    def run_query(n_clicks, sql):
        if not n_clicks:
            raise PreventUpdate
        try:
            result = run_for_request(app_ctx, sql)
        except access.Forbidden:
            return [html.P("The SQL console is for researchers.", className="error")], []
        return result_view(result)
