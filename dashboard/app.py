"""Attune's dashboard: a Dash app with an explicit page router (so it can be created twice in
one process) whose whole state lives in the URL query string.

``create_app(db_path, min_cell_size=None, *, auth_store=None, login_required=True,
local_role="evaluator")``: with ``login_required`` every request needs a signed-in account of
``auth_store`` (default: the accounts file of ``attune users``); without it (``attune demo`` on
127.0.0.1 only) the whole app acts as one local user with ``local_role``. Roles and the sponsor
scope are enforced on the server: see ``dashboard.access``. Every callback is checked against
the validation layout (the frame and every page's components) when the app is created.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from accounts.store import AuthStore, User
from dashboard import access, api, report_download, reset_link, share_button
from dashboard import state as url_state
from dashboard.components import register_generic_callbacks
from dashboard.filter_panel import control_properties, filter_panel
from dashboard.pages import PAGES, register_pages, uses_filters, validation_layouts
from dashboard.pages.charts import DATABASE_UNAVAILABLE
from dashboard.style import DESIGN_STATEMENT, SHORT_WAVE, label
from warehouse.catalog import cohort_dates, filter_options
from warehouse.cell_key import NOISE_SENTENCE
from warehouse.connection import DEFAULT_THREADS, Database
from warehouse.errors import DatabaseUnavailable

ASSETS = Path(__file__).resolve().parent / "assets"


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

    def panel_options(self) -> dict[str, Any]:
        """The choices of the filter panel: ``options``, with the date range of the user's
        own cohorts where the scope withholds the whole database's (a sponsor), so the date
        picker opens on a month of theirs."""
        options = self.options()
        if options.get("start_min") is None:
            first, last = cohort_dates(self.db, access.filters_for({}, self.raw_options()))
            options = {**options, "start_min": first, "start_max": last}
        return options


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
        # a POST with the CSRF token: signing out revokes the session on the server
        html.Form(method="post", action="/logout", style={"display": "inline"}, children=[
            dcc.Input(type="hidden", name="csrf_token", value=access.csrf_token()),
            html.Button("Sign out", type="submit", id="logout", style={
                "background": "none", "border": "0", "padding": "0", "color": "inherit",
                "font": "inherit", "textDecoration": "underline", "cursor": "pointer"}),
        ]),
    ])


def _role() -> str | None:
    """The role of the request's user; None when building the validation layout."""
    user = access.current_user()
    return user.role if user else None


def _shell(app_ctx: AppContext) -> html.Div:
    """The frame for the request's user: their name, their filter choices."""
    try:
        options = app_ctx.panel_options()
        problem = None
    except DatabaseUnavailable:  # its text names the file: never on a page
        options, problem = {}, DATABASE_UNAVAILABLE
    return _frame(app_ctx, _who(app_ctx), options, problem)


def _validation_layout(app_ctx: AppContext) -> html.Div:
    """Every component a callback may name: those of the frame and of every page, with their
    ids and types only (what Dash checks callbacks against). Dash sends it to every browser,
    before login too, so it is built with no user, no filter choices and no data."""
    whole = html.Div([_frame(app_ctx, html.Div(className="who"), {}, None),
                      *validation_layouts(app_ctx, PAGES)])
    return html.Div([_id_only(c) for c in whole._traverse() if getattr(c, "id", None)])


def _id_only(component: Component) -> Component:
    """A copy of ``component`` with its id and no other property (no text, no children)."""
    bare = copy.copy(component)
    for name in list(vars(bare)):
        if name != "id" and _has_prop(component, name):
            delattr(bare, name)
    return bare


LAYOUT_CLASS = "layout"
NO_FILTERS_CLASS = "layout no-filters"  # a page the filters do not apply to: no panel


def _print_line() -> html.P:
    """The line a printout carries above the page (print only): the design statement and the
    date it was printed (set again by ``assets/attune.js`` when printing starts)."""
    return html.P(className="print-only print-line", children=[
        DESIGN_STATEMENT, " Printed ",
        html.Time(dt.date.today().isoformat(), id="print-date"), "."])


def _frame(app_ctx: AppContext, who: html.Div, options: dict[str, Any],
           problem: str | None) -> html.Div:
    """What is around every page: header and navigation, filters, the page, the footer.

    On a narrow screen the stylesheet puts the page first: the filters fold into one
    "Filters: …" button above it and the filters-in-words box goes below it."""
    return html.Div(className="app", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state"),
        html.A("Skip to content", href="#content", className="skip-link"),
        html.Header(className="site-header", children=[
            html.Div(className="brand", children=[
                html.Span("Attune", className="brand-name"),
                html.Span("Outcomes and evidence for attachment-based training",
                          className="brand-tag"),
            ]),
            who,
            share_button.control(app_ctx),
            html.Div(id="nav-holder", children=_nav("/")),
        ]),
        html.Div(className=LAYOUT_CLASS, id="layout", children=[
            filter_panel(options, _role()),
            html.Main(id="content", tabIndex="-1", children=[
                _print_line(),
                html.Div(id="active-filters", className="active-filters", role="note"),
                html.Div(problem and html.Div(problem, className="empty-state", role="alert")),
                html.Div(id="page"),
            ]),
        ]),
        html.Footer(className="site-footer", children=[
            html.P([
                f"Groups with fewer than {app_ctx.min_cell} people are never shown (minimum "
                "cell size), nor groups from which one could be worked out. All figures are "
                "computed from the Attune database; methods on the ",
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
    query_threads: int | None = None,
) -> dash.Dash:
    """The dashboard for the DuckDB file at ``db_path`` (opened read-only).

    ``query_threads``: the DuckDB threads of this process (default ``Database``'s); a server
    of several processes gives each its share of the cores.

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
    database = Database(Path(db_path), min_cell_size=min_cell_size,
                        threads=query_threads or DEFAULT_THREADS)
    local_user = User("local", role, local_sponsor if role == "sponsor" else None)
    app_ctx = AppContext(
        db=database, local_user=local_user, login_required=login_required, auth_store=auth_store
    )
    app = dash.Dash(
        __name__,
        title="Attune",
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    access.install(app.server, auth_store=auth_store, login_required=login_required,
                   local_user=local_user, script_hashes=app.csp_hashes,
                   sponsors=lambda: app_ctx.raw_options().get("sponsors", []))
    app.server.register_blueprint(api.blueprint(app_ctx))  # /api/v1, behind the same guard
    app.server.register_blueprint(report_download.blueprint(app_ctx))  # /report.html, .pdf
    # Set before the layout: otherwise Dash takes the layout function's answer outside a
    # request (no user) as the validation layout.
    app.validation_layout = _validation_layout(app_ctx)
    # Dash builds the layout once on its first request, which may be /login (no user yet).
    app.layout = lambda: _shell(app_ctx) if access.has_user() else html.Div(id="no-user")
    app.attune = app_ctx  # type: ignore[attr-defined]
    register_generic_callbacks(app)
    _register_shell_callbacks(app, app_ctx)
    register_pages(app, app_ctx, PAGES)
    share_button.register(app, app_ctx)
    reset_link.register(app)
    check_callbacks(app)

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
    controls = control_properties()
    filter_inputs = [Input(ident, prop) for ident, prop, _ in controls]
    filter_outputs = [Output(ident, prop) for ident, prop, _ in controls]
    state_keys = [key for _, _, key in controls]

    @app.callback(
        Output("url", "search"),
        *filter_outputs,
        Output("state", "data"),
        Input("url", "search"),
        *filter_inputs,
    )
    def sync_url_and_filters(search, *values):
        """URL -> controls on load/back/forward; controls -> URL on every change."""
        try:
            options = app_ctx.options()
        except DatabaseUnavailable:
            raise PreventUpdate from None
        if ctx.triggered_id in (None, "url"):
            st = url_state.parse(search, options)
            return [no_update, *[st[key] for key in state_keys], st]
        raw = dict(zip(state_keys, values, strict=True))
        st = url_state.parse(url_state.encode(raw, options), options)
        new_search = url_state.encode(st, options)
        return [new_search if new_search != (search or "") else no_update,
                *[no_update] * len(filter_outputs), st]

    @app.callback(Output("page", "children"), Output("nav-holder", "children"),
                  Output("layout", "className"),
                  Input("url", "pathname"), State("url", "search"))
    def route(pathname, search):
        page = next((p for p in PAGES if p.PATH == (pathname or "/")), None)
        if page is not None and not access.page_allowed(page):
            return (html.Div(className="empty-state", role="alert", children=[
                html.H1("Not available"),
                html.P("This page is not available to your role. Use the navigation above."),
            ]), _nav(pathname or "/", search or ""), NO_FILTERS_CLASS)
        if page is None:
            return (html.Div(className="empty-state", role="alert", children=[
                html.H1("Page not found"),
                html.P(f"There is no page at {pathname}. Use the navigation above."),
            ]), _nav(pathname or "/", search or ""), NO_FILTERS_CLASS)
        return (page.layout(app_ctx), _nav(page.PATH, search or ""),
                LAYOUT_CLASS if uses_filters(page) else NO_FILTERS_CLASS)

    # The fold of the filter panel on a narrow screen, in the browser (assets/attune.js).
    app.clientside_callback(
        ClientsideFunction(namespace="attune", function_name="toggleFilters"),
        Output("filters", "className"), Output("filters-toggle", "aria-expanded"),
        Input("filters-toggle", "n_clicks"))

    @app.callback(
        *[Output(f"nav-{p.KEY}", "href") for p in PAGES],
        Output("active-filters", "children"),
        Output("filters-summary", "children"),
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
            html.Span(f"Groups with fewer than {app_ctx.min_cell} people, and groups from "
                      "which one could be worked out, are not shown.",
                      className="suppression-note"),
            *([" ", html.Span(NOISE_SENTENCE, className="noise-note")]
              if filters.published else []),
        ]
        return [*[p.PATH + search if access.page_allowed(p) else "" for p in PAGES], summary,
                _short_summary(scale, st, filters,
                               access.sponsor_scope(app_ctx.raw_options()) is not None)]


def _short_summary(scale: dict[str, Any] | None, st: dict[str, Any], filters: Any,
                   scoped: bool) -> str:
    """The fold button's line, from the same values as the filters-in-words box: scale, waves
    and the filters chosen, without the sponsor restriction a sponsor cannot change."""
    chosen = dataclasses.replace(filters, sponsor=()) if scoped else filters
    described = chosen.describe()
    parts = [scale["name"] if scale else "no scale",
             f"{SHORT_WAVE.get(st['wf'], st['wf'])} → {SHORT_WAVE.get(st['wt'], st['wt'])}",
             *([] if described == type(chosen)().describe() else described.split("; "))]
    return ": " + " · ".join(parts)


class CallbackWithoutComponent(RuntimeError):
    """A callback names a component id, or a property, that no page's layout has."""


def _dependencies(callback: dict[str, Any]) -> list[tuple[str, str]]:
    """(component id as Dash writes it, property) of every output, input and state."""
    outputs = callback["output"]
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return ([(o.component_id_str(), o.component_property) for o in outputs]
            + [(d["id"], d["property"]) for d in (*callback["inputs"], *callback["state"])])


def _has_prop(component: Any, prop: str) -> bool:
    return prop in component._prop_names or any(
        prop.startswith(w) for w in component._valid_wildcard_attributes)


def _matches(pattern: dict[str, Any], ident: dict[str, Any]) -> bool:
    # A wildcard (MATCH, ALL, ALLSMALLER) is written as a one-item list: ["MATCH"].
    return pattern.keys() == ident.keys() and all(
        isinstance(value, list) or ident[key] == value for key, value in pattern.items())


def check_callbacks(app: dash.Dash) -> None:
    """Refuse to start when a callback's output, input or state names a component that is not
    in ``app.validation_layout``, or a property that component does not have. Dash's own check
    (``suppress_callback_exceptions`` off) runs only in the browser, as a console error after
    the page has loaded; this one stops the app before anyone visits it."""
    layout = app.validation_layout
    by_id: dict[str, Any] = {}
    dict_ids: list[tuple[dict[str, Any], Any]] = []
    for component in (layout, *layout._traverse()):
        ident = getattr(component, "id", None)
        if isinstance(ident, dict):
            dict_ids.append((ident, component))
        elif ident:
            by_id[ident] = component
    problems = []
    for callback in app.callback_map.values():
        for ident, prop in _dependencies(callback):
            if ident.startswith("{"):
                pattern = json.loads(ident)
                found = [c for i, c in dict_ids if _matches(pattern, i)]
            else:
                found = [by_id[ident]] if ident in by_id else []
            if not found:
                problems.append(f"no component {ident} (for {ident}.{prop})")
            elif not _has_prop(found[0], prop):
                problems.append(f"{type(found[0]).__name__} {ident} has no property {prop!r}")
    if problems:
        raise CallbackWithoutComponent("callbacks name what no page has: "
                                       + "; ".join(sorted(set(problems))))
