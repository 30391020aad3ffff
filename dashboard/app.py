"""Attune's dashboard: a Dash app with an explicit page router (so it can be created twice in
one process) whose whole state lives in the URL query string.

``create_app(db_path, min_cell_size=None, *, auth_store=None, login_required=True,
local_role="evaluator")``: with ``login_required`` every request needs a signed-in account of
``auth_store`` (default: the accounts file of ``attune users``); without it (``attune demo`` on
127.0.0.1 only) the whole app acts as one local user with ``local_role``. Roles and the sponsor
scope are enforced on the server: see ``dashboard.access``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard import state as url_state
from dashboard.accounts import AuthStore, User
from dashboard.components import register_generic_callbacks
from dashboard.pages import PAGES
from dashboard.queries import Database, DatabaseUnavailable, filter_options
from dashboard.style import label

ASSETS = Path(__file__).resolve().parent / "assets"
FILTER_IDS = ("audience", "format", "delivery", "sponsor", "program", "dates", "supervision",
              "scale", "wf", "wt", "by")


@dataclass
class AppContext:
    db: Database
    local_user: User
    login_required: bool = True
    auth_store: AuthStore | None = None  # accounts and audit log (console queries audit here)

    @property
    def role(self) -> str:
        """The role of the request's user (the local user's outside a request)."""
        return (access.current_user() or self.local_user).role

    @property
    def min_cell(self) -> int:
        return self.db.min_cell_size

    def raw_options(self) -> dict[str, Any]:
        """Every filter choice in the database: for scoping code only, never sent as is."""
        return filter_options(self.db)

    def options(self) -> dict[str, Any]:
        """The filter choices the request's user may see (sponsor: only their own)."""
        return access.scope_options(filter_options(self.db))


def visible_pages() -> list:
    return [p for p in PAGES if access.page_allowed(p)]


def _nav(active: str, search: str = "") -> html.Nav:
    shown = visible_pages()
    # Pages the role may not see get no link, only an empty hidden target for update_links.
    hidden = [dcc.Link("", href="", id=f"nav-{page.KEY}", style={"display": "none"})
              for page in PAGES if page not in shown]
    return html.Nav(
        className="site-nav", **{"aria-label": "Pages"},
        children=[html.Ul([
            html.Li(dcc.Link(page.NAME, href=page.PATH + search, id=f"nav-{page.KEY}",
                             className="nav-link" + (" active" if page.PATH == active else "")))
            for page in shown
        ]), *hidden],
    )


def _who(app_ctx: AppContext) -> html.Div:
    user = access.current_user() or app_ctx.local_user
    scope = f", sponsor {user.sponsor_id}" if user.sponsor_id else ""
    if not app_ctx.login_required:
        return html.Div(className="who", children=[
            f"Local demo without login ({user.role}{scope})"])
    return html.Div(className="who", children=[
        html.Span(f"{user.name} ({user.role}{scope})", id="who-name"), " · ",
        html.A("Sign out", href="/logout", id="logout"),
    ])


def _dropdown(id_: str, label_text: str, options: list[dict], multi: bool = True,
              placeholder: str = "All", clearable: bool = True) -> html.Div:
    return html.Div(className="filter", children=[
        html.Label(label_text, htmlFor=f"f-{id_}", id=f"label-{id_}"),
        dcc.Dropdown(id=f"f-{id_}", options=options, multi=multi, placeholder=placeholder,
                     clearable=clearable, searchable=True, className="dropdown"),
    ])


def _filter_panel(options: dict[str, Any]) -> html.Aside:
    scales = options.get("scales", [])
    waves = options.get("waves", [])
    start_min, start_max = options.get("start_min"), options.get("start_max")
    return html.Aside(
        className="filters no-print", id="filters", **{"aria-label": "Filters"},
        children=[
            html.H2("Filters", className="filters-title"),
            _dropdown("scale", "Outcome scale", [
                {"label": f"{s['name']} ({s['scale_id']})", "value": s["scale_id"]}
                for s in scales], multi=False, placeholder="Choose a scale", clearable=False),
            html.Div(className="filter-row", children=[
                _dropdown("wf", "From wave", [{"label": label("wave", w), "value": w}
                                             for w in waves], multi=False, clearable=False),
                _dropdown("wt", "To wave", [{"label": label("wave", w), "value": w}
                                           for w in waves], multi=False, clearable=False),
            ]),
            _dropdown("audience", "Audience", [{"label": label("audience", a), "value": a}
                                               for a in options.get("audiences", [])]),
            _dropdown("format", "Programme format", [{"label": label("format", f), "value": f}
                                                     for f in options.get("formats", [])]),
            _dropdown("delivery", "Delivery", [{"label": label("delivery", d), "value": d}
                                               for d in options.get("deliveries", [])]),
            _dropdown("sponsor", "Sponsor", [{"label": s, "value": s}
                                             for s in options.get("sponsors", [])]),
            _dropdown("program", "Programme", [
                {"label": f"{name} ({pid})", "value": pid}
                for pid, name in options.get("programs", {}).items()]),
            html.Div(className="filter", children=[
                html.Label("Cohort start date", htmlFor="f-dates", id="label-dates"),
                dcc.DatePickerRange(
                    id="f-dates", min_date_allowed=start_min, max_date_allowed=start_max,
                    initial_visible_month=start_min, display_format="YYYY-MM-DD",
                    start_date_placeholder_text="From", end_date_placeholder_text="To",
                    clearable=True,
                ),
            ]),
            html.Fieldset(className="filter", children=[
                html.Legend("Ongoing supervision"),
                dcc.RadioItems(id="f-supervision", options=[
                    {"label": "Any", "value": "any"}, {"label": "With", "value": "yes"},
                    {"label": "Without", "value": "no"}], inline=True,
                    className="radio"),
            ]),
            html.Fieldset(className="filter", children=[
                html.Legend("Compare groups by (trends, follow-up)"),
                dcc.RadioItems(id="f-by", options=[
                    {"label": "All together", "value": "all"},
                    {"label": "Audience", "value": "audience"},
                    {"label": "Format", "value": "format"}], inline=True, className="radio"),
            ]),
            dcc.Link("Reset all filters", href="?", id="reset-filters", className="reset"),
        ],
    )


def _shell(app_ctx: AppContext) -> html.Div:
    try:
        options = app_ctx.options()
        problem = None
    except DatabaseUnavailable as error:
        options, problem = {}, str(error)
    return dbc.Container(fluid=True, className="app", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state"),
        html.A("Skip to content", href="#content", className="skip-link"),
        html.Header(className="site-header", children=[
            html.Div(className="brand", children=[
                html.Span("Attune", className="brand-name"),
                html.Span("Outcomes and evidence for attachment-based training",
                          className="brand-tag"),
            ]),
            _who(app_ctx),
            html.Div(id="nav-holder", children=_nav("/")),
        ]),
        html.Div(className="layout", children=[
            _filter_panel(options),
            html.Main(id="content", tabIndex="-1", children=[
                html.Div(id="active-filters", className="active-filters", role="note"),
                html.Div(problem and html.Div(problem, className="empty-state", role="alert")),
                html.Div(id="page"),
            ]),
        ]),
        html.Footer(className="site-footer", children=[
            html.P([
                f"Groups with fewer than {app_ctx.min_cell} people are never shown (minimum "
                "cell size). All figures are computed from the Attune database; methods on the ",
                dcc.Link("Data and methods", href="/methods"), " page.",
            ]),
        ]),
    ])


def create_app(
    db_path: Path,
    min_cell_size: int | None = None,
    *,
    auth_store: AuthStore | None = None,
    login_required: bool = True,
    local_role: str | None = None,
    local_sponsor: str | None = None,
) -> dash.Dash:
    """The dashboard for the DuckDB file at ``db_path`` (opened read-only).

    ``login_required=False`` makes every visitor the local user ``local_role`` (default
    ``$ATTUNE_ROLE`` or "evaluator"; a "sponsor" local user needs ``local_sponsor``): only for
    a demo bound to 127.0.0.1.
    """
    role = (local_role or os.environ.get("ATTUNE_ROLE") or "evaluator").lower()
    if role not in access.ALL_ROLES:
        raise ValueError(f"local_role must be one of {', '.join(access.ALL_ROLES)}")
    if role == "sponsor" and not local_sponsor:
        raise ValueError("a sponsor local user needs local_sponsor")
    if login_required and auth_store is None:
        auth_store = AuthStore()
    database = Database(Path(db_path), min_cell_size=min_cell_size)
    local_user = User("local", role, local_sponsor if role == "sponsor" else None)
    app_ctx = AppContext(
        db=database, local_user=local_user, login_required=login_required, auth_store=auth_store
    )
    app = dash.Dash(
        __name__,
        title="Attune",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    access.install(app.server, auth_store=auth_store, login_required=login_required,
                   local_user=local_user)
    # Dash builds the layout once on its first request, which may be /login (no user yet).
    app.layout = lambda: _shell(app_ctx) if access.has_user() else html.Div(id="no-user")
    app.attune = app_ctx  # type: ignore[attr-defined]
    register_generic_callbacks(app)
    _register_shell_callbacks(app, app_ctx)
    for page in PAGES:
        page.register(app, app_ctx)

    # Build the aggregate tables in the background so the first visitor does not wait.
    def warm() -> None:
        try:
            database.snapshot()
        except DatabaseUnavailable:
            pass

    # Not a daemon: DuckDB aborts the process if the interpreter exits mid-query.
    threading.Thread(target=warm, name="attune-warmup", daemon=False).start()
    return app


def _register_shell_callbacks(app: dash.Dash, app_ctx: AppContext) -> None:
    filter_inputs = [
        Input("f-audience", "value"), Input("f-format", "value"), Input("f-delivery", "value"),
        Input("f-sponsor", "value"), Input("f-program", "value"),
        Input("f-dates", "start_date"), Input("f-dates", "end_date"),
        Input("f-supervision", "value"), Input("f-scale", "value"), Input("f-wf", "value"),
        Input("f-wt", "value"), Input("f-by", "value"),
    ]
    filter_outputs = [Output(i.component_id, i.component_property) for i in filter_inputs]

    @app.callback(
        Output("url", "search"),
        *filter_outputs,
        Output("state", "data"),
        Input("url", "search"),
        *filter_inputs,
    )
    def sync_url_and_filters(search, audience, fmt_, delivery, sponsor, program, start, end,
                             supervision, scale, wf, wt, by):
        """URL -> controls on load/back/forward; controls -> URL on every change."""
        try:
            options = app_ctx.options()
        except DatabaseUnavailable:
            raise PreventUpdate from None
        if ctx.triggered_id in (None, "url"):
            st = url_state.parse(search, options)
            values = [st["audience"], st["format"], st["delivery"], st["sponsor"],
                      st["program"], st["start"], st["end"], st["supervision"], st["scale"],
                      st["wf"], st["wt"], st["by"]]
            return [no_update, *values, st]
        raw = {"audience": audience, "format": fmt_, "delivery": delivery, "sponsor": sponsor,
               "program": program, "start": start, "end": end, "supervision": supervision,
               "scale": scale, "wf": wf, "wt": wt, "by": by}
        st = url_state.parse(url_state.encode(raw, options), options)
        new_search = url_state.encode(st, options)
        return [new_search if new_search != (search or "") else no_update,
                *[no_update] * len(filter_outputs), st]

    @app.callback(Output("page", "children"), Output("nav-holder", "children"),
                  Input("url", "pathname"), State("url", "search"))
    def route(pathname, search):
        page = next((p for p in PAGES if p.PATH == (pathname or "/")), None)
        if page is not None and not access.page_allowed(page):
            return (html.Div(className="empty-state", role="alert", children=[
                html.H1("Not available"),
                html.P("This page is not available to your role. Use the navigation above."),
            ]), _nav(pathname or "/", search or ""))
        if page is None:
            return (html.Div(className="empty-state", role="alert", children=[
                html.H1("Page not found"),
                html.P(f"There is no page at {pathname}. Use the navigation above."),
            ]), _nav(pathname or "/", search or ""))
        return page.layout(app_ctx), _nav(page.PATH, search or "")

    @app.callback(
        *[Output(f"nav-{p.KEY}", "href") for p in PAGES],
        Output("active-filters", "children"),
        Input("state", "data"),
    )
    def update_links(st):
        if not st:
            raise PreventUpdate
        options = app_ctx.options()
        search = url_state.encode(st, options)
        filters = access.filters_for(st, app_ctx.raw_options())
        scale = next((s for s in options["scales"] if s["scale_id"] == st.get("scale")), None)
        summary = [
            html.Strong("Showing: "),
            f"{scale['name'] if scale else 'no scale'}, {label('wave', st['wf'])} → "
            f"{label('wave', st['wt'])}; {filters.describe()}. ",
            html.Span(f"Groups with fewer than {app_ctx.min_cell} people are suppressed.",
                      className="suppression-note"),
        ]
        return [*[p.PATH + search if access.page_allowed(p) else "" for p in PAGES], summary]
