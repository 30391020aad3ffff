"""The filter panel, one control per entry of ``warehouse.filters.FILTER_SPECS``, and the
control properties the URL-sync callback reads and writes, in the same order.

Every control is reachable with the keyboard: dropdowns are searchable and labelled (label
``for`` their id), radio groups sit in a fieldset with a legend. A control whose spec hides
it from the user's role stays in the page (the URL-sync callback names it) but hidden, so it
is neither seen nor focused.

On a narrow screen (a phone) the panel folds behind one button, "Filters: …", whose line says
what is applied (filled by the shell's active-filters callback) and which opens and closes the
controls (``aria-expanded``); on a wide screen the button is hidden and the panel is open
beside the page. The stylesheet (``assets/attune.css``) decides which, by the screen's width.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from dash import dcc, html

from dashboard.style import label
from warehouse.filters import DATE_RANGE, FILTER_SPECS, MULTI, FilterSpec, Options

CONTROL_PREFIX = "f-"


def control_id(spec: FilterSpec) -> str:
    return CONTROL_PREFIX + spec.name


def control_properties() -> list[tuple[str, str, str]]:
    """``(component id, property, state key)`` of every control value, in spec order."""
    out = []
    for spec in FILTER_SPECS:
        if spec.kind == DATE_RANGE:
            first, last = spec.keys
            out += [(control_id(spec), "start_date", first), (control_id(spec), "end_date", last)]
        else:
            out.append((control_id(spec), "value", spec.keys[0]))
    return out


def _choice_options(spec: FilterSpec, options: Options) -> list[dict[str, Any]]:
    return [{"label": text if text is not None else label(spec.vocabulary or spec.name, value),
             "value": value} for value, text in spec.choices(options).items()]


def _dropdown(spec: FilterSpec, options: Options) -> html.Div:
    single = spec.kind != MULTI
    return html.Div(className="filter", children=[
        html.Label(spec.label, htmlFor=control_id(spec), id=f"label-{spec.name}"),
        dcc.Dropdown(id=control_id(spec), options=_choice_options(spec, options),
                     multi=not single, placeholder=spec.placeholder, clearable=not single,
                     searchable=True, className="dropdown"),
    ])


def _radio(spec: FilterSpec, options: Options) -> html.Fieldset:
    return html.Fieldset(className="filter", children=[
        html.Legend(spec.label),
        dcc.RadioItems(id=control_id(spec), options=_choice_options(spec, options),
                       inline=True, className="radio"),
    ])


def _dates(spec: FilterSpec, options: Options) -> html.Div:
    # The bounds are those of the user's scope (a sponsor's own cohorts: AppContext.
    # panel_options), so the calendar opens on a month that holds their data.
    first, last = (options.get(k) for k in spec.bounds) if spec.bounds else (None, None)
    return html.Div(className="filter", children=[
        html.Label(spec.label, htmlFor=control_id(spec), id=f"label-{spec.name}"),
        dcc.DatePickerRange(
            id=control_id(spec), min_date_allowed=first, max_date_allowed=last,
            initial_visible_month=first, display_format="YYYY-MM-DD",
            start_date_placeholder_text="From", end_date_placeholder_text="To",
            clearable=True,
        ),
    ])


WIDGETS = {"dropdown": _dropdown, "radio": _radio, "dates": _dates}


def control(spec: FilterSpec, options: Options, role: str | None = None) -> html.Div:
    """The control of one spec, hidden when the spec hides it from ``role``."""
    built = WIDGETS[spec.widget](spec, options)
    if role in spec.hidden_from or (spec.hidden_when_single and len(spec.choices(options)) < 2):
        built.hidden = True
    return built


PANEL_CLASS = "filters no-print"
OPEN_CLASS = "open"  # the folded panel, opened (narrow screens only)


def filter_panel(options: Options, role: str | None = None) -> html.Aside:
    """The panel for a user of ``role`` with these filter choices: the fold button (narrow
    screens), then one control per spec, in spec order, controls of one row side by side,
    then the reset link."""
    children: list[Any] = [html.H2("Filters", className="filters-title")]
    for row, specs in groupby(FILTER_SPECS, key=lambda s: s.row):
        controls = [control(spec, options, role) for spec in specs]
        children += [html.Div(className="filter-row", children=controls)] if row else controls
    children.append(dcc.Link("Reset all filters", href="?", id="reset-filters",
                             className="reset"))
    toggle = html.Button(
        id="filters-toggle", type="button", n_clicks=0, className="filters-toggle",
        **{"aria-expanded": "false", "aria-controls": "filters-body"},
        children=[html.Span("Filters", className="filters-toggle-name"),
                  html.Span(id="filters-summary", className="filters-summary")])
    return html.Aside(className=PANEL_CLASS, id="filters", **{"aria-label": "Filters"},
                      children=[toggle, html.Div(id="filters-body", className="filters-body",
                                                 children=children)])
