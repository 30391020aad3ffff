"""The pages, in navigation order. Each module has KEY, PATH, NAME, ``layout(app_ctx)``,
``BUILDERS`` (chart name -> ``builder(app_ctx, state) -> Chart``) and ``register(app,
app_ctx)``."""

from __future__ import annotations

from collections.abc import Callable

from dash import Input
from dash.exceptions import PreventUpdate

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
    """Run a chart builder; turn the expected failures into explained empty states."""
    try:
        return builder(app_ctx, state)
    except DatabaseUnavailable as error:
        return Chart(title="Database unavailable", empty=str(error))
    except ValueError as error:
        return Chart(title="Cannot draw this chart", empty=str(error))


from dashboard.pages import (  # noqa: E402
    attrition,
    evidence,
    explorer,
    methods,
    overview,
    quality,
    trends,
)

PAGES = [overview, explorer, trends, attrition, evidence, quality, methods]
