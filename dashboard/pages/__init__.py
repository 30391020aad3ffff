"""The pages, in navigation order. Each module has KEY, PATH, NAME, ``layout(app_ctx)``,
``BUILDERS`` (chart name -> ``builder(app_ctx, state) -> Chart``) and ``register(app,
app_ctx)``, and may have ``ROLES`` (the roles that may see it; default: every role).

Every chart, on screen or in a download, is built through ``safe_build``: it refuses pages the
session's role may not see and forces the sponsor scope onto the state the browser sent
(``dashboard.access``) before any builder runs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from dash import Input
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard.components import Chart, chart_outputs, render
from dashboard.queries import DatabaseUnavailable


def register_builders(app, app_ctx, builders: dict[str, Callable]) -> None:
    """One callback per chart: state store -> the chart card's outputs."""
    for name, builder in builders.items():
        app.callback(*chart_outputs(name), Input("state", "data"))(
            _make_callback(name, builder, app_ctx)
        )


def _make_callback(name: str, builder: Callable, app_ctx):
    def update(state):
        if not state:
            raise PreventUpdate
        return render(name, safe_build(builder, app_ctx, state))

    update.__name__ = f"update_{name.replace('-', '_')}"
    return update


def safe_build(builder: Callable, app_ctx, state: dict) -> Chart:
    """Run a chart builder in the session's scope; turn the expected failures into explained
    empty states."""
    page = sys.modules.get(builder.__module__)
    if not access.page_allowed(page):
        return Chart(title="Not available", empty="This chart is not available to your role.")
    try:
        state = access.scope_state(state, app_ctx.raw_options())
        return builder(app_ctx, state)
    except DatabaseUnavailable as error:
        return Chart(title="Database unavailable", empty=str(error))
    except ValueError as error:
        return Chart(title="Cannot draw this chart", empty=str(error))


from dashboard.pages import (  # noqa: E402
    attrition,
    console,
    evidence,
    explorer,
    methods,
    overview,
    quality,
    trends,
)

PAGES = [overview, explorer, trends, attrition, evidence, quality, methods, console]
