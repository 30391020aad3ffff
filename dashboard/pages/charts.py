"""Charts declared once: a page lists its charts as ``ChartSpec`` entries (``CHARTS``), and
that one list gives the cards of the page's layout, the callbacks that fill them and the
files of the ZIP download. Adding a chart is one entry (with its builder) and its tests.

Every chart, on screen or in a download, is built through ``safe_build``: it refuses pages the
session's role may not see; the builder turns the state the browser sent into query filters
through ``pages.common.filters``, where the sponsor scope is applied (``dashboard.access``).
A builder says why it cannot draw by raising ``CannotShow`` (shown to the reader with its
reason); any other exception is a programming error: logged here with its traceback and
shown only as a generic failure, because its text may hold data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dash import Input, html
from dash.exceptions import PreventUpdate

from dashboard import access
from dashboard.components import Chart, chart_card, chart_outputs, render
from warehouse.errors import CannotShow, DatabaseUnavailable

log = logging.getLogger(__name__)

FAILED = "This chart failed; the error is in the server log."
DATABASE_UNAVAILABLE = ("The database cannot be read just now (it may be being replaced); "
                        "try again in a moment. The details are in the server log.")
NOT_AVAILABLE = "This chart is not available to your role."


@dataclass(frozen=True)
class ChartSpec:
    """One chart of a page: ``id`` names its card and callback (it starts with the page's
    KEY); ``title`` and ``methods`` are the card's heading until the chart is drawn and its
    methods note; ``build(app_ctx, state) -> Chart`` draws it."""

    id: str
    title: str
    methods: str
    build: Callable[[Any, dict[str, Any]], Chart]


def page_layout(heading: str, lead: str, specs: Sequence[ChartSpec]) -> html.Div:
    """A chart page: its heading, the lead paragraph, then one card per spec, in order."""
    return html.Div(className="page", children=[
        html.H1(heading),
        html.P(lead, className="lead"),
        *[chart_card(spec.id, spec.title, spec.methods) for spec in specs],
    ])


def check_specs(page: ModuleType) -> None:
    """Refuse, at start-up, a page whose chart ids are repeated or do not start with its key
    (a download's file names and the load benchmark group charts by that prefix)."""
    ids = [spec.id for spec in page.CHARTS]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"page {page.KEY!r} declares chart ids twice: {', '.join(repeated)}")
    foreign = [i for i in ids if not i.startswith(f"{page.KEY}-")]
    if foreign:
        raise ValueError(f"chart ids of page {page.KEY!r} must start with '{page.KEY}-': "
                         f"{', '.join(foreign)}")


def register_charts(app, app_ctx, page: ModuleType) -> None:
    """One callback per chart of ``page``: state store -> the chart card's outputs."""
    check_specs(page)
    for spec in page.CHARTS:
        app.callback(*chart_outputs(spec.id), Input("state", "data"))(
            _chart_callback(page, spec, app_ctx)
        )


def _chart_callback(page: ModuleType, spec: ChartSpec, app_ctx) -> Callable:
    def update(state):
        if not state:
            raise PreventUpdate
        return render(spec.id, safe_build(page, spec, app_ctx, state))

    update.__name__ = f"update_{spec.id.replace('-', '_')}"
    return update


def safe_build(page: ModuleType, spec: ChartSpec, app_ctx, state: dict) -> Chart:
    """Build ``spec`` of ``page`` in the session's scope. ``CannotShow`` and an unreadable
    database become explained empty states; anything else is logged with its traceback and
    shown as a generic failure."""
    if not access.page_allowed(page):
        return Chart(title="Not available", empty=NOT_AVAILABLE)
    try:
        return spec.build(app_ctx, state)
    except DatabaseUnavailable as error:  # its text names the file: the log only
        log.warning("chart %s (page %s): database unavailable: %s", spec.id, page.KEY, error)
        return Chart(title="Database unavailable", empty=DATABASE_UNAVAILABLE)
    except CannotShow as error:
        return Chart(title="Cannot draw this chart", empty=str(error))
    except Exception:
        log.exception("chart %s (page %s) failed for the filters %s", spec.id, page.KEY, state)
        return Chart(title=spec.title, empty=FAILED)
