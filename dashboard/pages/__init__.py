"""The pages, in navigation order. Each module has KEY, PATH, NAME, ``layout(app_ctx)`` and
``CHARTS`` (its ``dashboard.pages.charts.ChartSpec`` list: the cards of its layout and their
callbacks; empty for a page without charts), and may have ``ROLES`` (the roles that may see
it; default: every role), ``FILTERS = False`` (the filters do not apply to it: the frame
shows no filter panel there; see ``uses_filters``), ``register(app, app_ctx)`` (callbacks of
its own besides the charts') and ``validation_layout(app_ctx)`` (its components without data,
when its layout needs the database; default: the layout)."""

from __future__ import annotations

from dash import html

from dashboard.pages import (
    attrition,
    comparisons,
    console,
    evidence,
    explorer,
    methods,
    overview,
    quality,
    trends,
)
from dashboard.pages.charts import register_charts, safe_build

__all__ = ["PAGES", "register_pages", "safe_build", "uses_filters", "validation_layouts"]

PAGES = [overview, explorer, trends, attrition, comparisons, evidence, quality, methods, console]


def uses_filters(page) -> bool:
    """Whether the filter panel applies to ``page`` (its ``FILTERS``, default True)."""
    return getattr(page, "FILTERS", True)


def register_pages(app, app_ctx, pages) -> None:
    """Every page's chart callbacks (from its CHARTS) and its own callbacks."""
    for page in pages:
        register_charts(app, app_ctx, page)
        own = getattr(page, "register", None)
        if own is not None:
            own(app, app_ctx)


def validation_layouts(app_ctx, pages) -> list[html.Div]:
    """Every page's components for Dash's validation layout: no data, whoever asks."""
    return [getattr(page, "validation_layout", page.layout)(app_ctx) for page in pages]
