"""The researchers' SQL console: one read-only query at a time against the database's tables
and views (``dashboard.console`` does the locking down, the limits and the audit)."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard.access import current_user
from dashboard.console import (
    ACTION,
    MEMORY_LIMIT,
    ROW_LIMIT,
    TIME_LIMIT_S,
    audit_detail,
    run_console_query,
    size_words,
)
from dashboard.console_process import QUEUE_LENGTH, QUEUE_WAIT_S
from dashboard.console_rules import ROW_GENERATORS

KEY, PATH, NAME = "console", "/console", "SQL console"
FILTERS = False  # no filter applies here: the frame shows no panel
ROLES = ("researcher", "admin")
MSG_ROLE = "the SQL console is for " + " and ".join(f"{role}s" for role in ROLES)
CHARTS = ()  # a query and its result, no charts

EXAMPLE = """SELECT wave, count(*) AS responses
FROM responses
GROUP BY wave
ORDER BY wave"""


def limits_note() -> str:
    generators = ", ".join(f"{name}()" for name in ROW_GENERATORS)
    quarantine = " and ".join(r for r in ROLES if r in access.QUARANTINE_ROLES) or "no"
    return (f"Read-only: one SELECT (or WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, SHOW TABLES) at "
            f"a time, over the database's tables and views (the data dictionary lists them) "
            f"and {generators}. No files, network, extensions, settings, PRAGMA or system "
            f"tables; the quarantined rows only for the {quarantine} role. One query runs at "
            f"a time on this server: up to {QUEUE_LENGTH} more wait at most "
            f"{QUEUE_WAIT_S:g} s, others are told the console is busy. Queries stop after "
            f"{TIME_LIMIT_S:g} s or {MEMORY_LIMIT} of memory; the first {ROW_LIMIT:,} rows "
            f"or {size_words()} of text are shown. File paths are shown by their last part. "
            "Every query, refused ones too, is recorded in the audit log with your name and "
            "the time. Results here are not suppressed: do not copy cells under the minimum "
            "cell size into reports.")


def layout(app_ctx) -> html.Div:
    return html.Div(className="page", children=[
        html.H1("SQL console"),
        html.P(limits_note(), className="lead", id="console-limits"),
        html.Section(className="card", children=[
            html.Label("SQL query", htmlFor="console-sql", className="h3"),
            dcc.Textarea(id="console-sql", value=EXAMPLE, spellCheck="false",
                         title="SQL query (one statement)",
                         style={"width": "100%", "height": "10em", "fontFamily": "monospace"}),
            html.Div(className="console-actions", children=[
                html.Button("Run query", id="console-run", n_clicks=0, type="button",
                            className="btn"),
                html.Span(id="console-status", className="console-status", role="status"),
            ]),
        ]),
        html.Div(id="console-alert", role="alert", **{"aria-live": "assertive"}),
        dcc.Loading(html.Div(id="console-result", **{"aria-live": "polite"})),
    ])


def result_view(result) -> tuple[list, list]:
    """(alert children, result children) for a ``ConsoleResult``; cells are plain text."""
    if result.error:
        return [html.P(f"Query failed: {result.error}", className="error")], []
    summary = f"{len(result.rows):,} row(s) in {result.seconds:.2f} s" + cut_words(result)
    if not result.columns:
        return [], [html.P(summary)]
    table = html.Table(className="table", **{"data-testid": "console-table"}, children=[
        html.Caption(summary),
        html.Thead(html.Tr([html.Th(str(col), scope="col") for col in result.columns])),
        html.Tbody([
            html.Tr([html.Td("NULL" if v is None else str(v)) for v in row])
            for row in result.rows
        ]),
    ])
    return [], [html.Div(table, className="table-scroll")]


def cut_words(result) -> str:
    """What the summary says when the answer was cut, and by which limit."""
    if result.cut_by == "size":
        return (f"; the answer was cut at {size_words()} (the console's size limit): only the "
                f"first {len(result.rows):,} row(s) are shown")
    if result.truncated:
        return f"; only the first {len(result.rows):,} are shown (the console's row limit)"
    return ""


def _audit(app_ctx):
    audit = getattr(app_ctx, "console_audit", None)
    if audit is not None:
        return audit
    store = getattr(app_ctx, "auth_store", None)
    return store.audit if store is not None else None  # None: the accounts file's audit log


def run_for_request(app_ctx, sql: str):
    """Run ``sql`` for the request's user (researcher or admin only: any other role's attempt
    is refused and audited). The quarantine is readable for the roles that see quarantined
    rows on the quality page (``access.sees_quarantined_rows``)."""
    try:
        access.require_roles(*ROLES)
    except access.Forbidden:
        access.audit_refusal(ACTION, f"{MSG_ROLE}; {audit_detail(sql)}")
        raise
    user = current_user() or app_ctx.local_user
    return run_console_query(app_ctx.db.path, sql or "", user.name, audit=_audit(app_ctx),
                             sees_quarantine=access.sees_quarantined_rows())


# While a query runs: the last answer (or error) is hidden, the button waits, a status says so.
RUNNING = [(Output("console-alert", "hidden"), True, False),
           (Output("console-result", "hidden"), True, False),
           (Output("console-run", "disabled"), True, False),
           (Output("console-status", "children"), "Running the query…", "")]


def register(app, app_ctx) -> None:
    @app.callback(
        Output("console-alert", "children"),
        Output("console-result", "children"),
        Input("console-run", "n_clicks"),
        State("console-sql", "value"),
        prevent_initial_call=True,
        running=RUNNING,
    )
    def run_query(n_clicks, sql):
        if not n_clicks:
            raise PreventUpdate
        try:
            result = run_for_request(app_ctx, sql)
        except access.Forbidden:
            return [html.P(f"Not run: {MSG_ROLE}.", className="error")], []
        return result_view(result)
