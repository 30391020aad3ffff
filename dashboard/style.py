"""Colours, labels and number formatting shared by every page (Okabe-Ito palette)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dashboard.figures import Figure
from schemas.contract import AUDIENCES, DELIVERIES, FORMATS

# Okabe & Ito 2008, "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Black is kept for reference marks (pooled estimates).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
GREY = "#8C8C8C"
LIGHT_GREY = "#E6E6E6"
SUPPRESSED_COLOUR = "#BDBDBD"

_CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                                  "sky_blue", "yellow")]
AUDIENCE_COLOURS = {a: _CYCLE[i % len(_CYCLE)] for i, a in enumerate(AUDIENCES)}
FORMAT_COLOURS = {
    "workshop": OKABE_ITO["sky_blue"],
    "short_course": OKABE_ITO["bluish_green"],
    "certificate": OKABE_ITO["orange"],
    "degree": OKABE_ITO["reddish_purple"],
}
# Reliable change: improved / no reliable change / deteriorated.
CHANGE_COLOURS = {
    "improved": OKABE_ITO["blue"],
    "unchanged": LIGHT_GREY,
    "deteriorated": OKABE_ITO["vermillion"],
}
# Evidence tiers 0-5: light to dark blue (ordered, colour-blind safe, prints in greyscale).
TIER_COLOURS = ["#d9d9d9", "#c6dbef", "#9ecae1", "#6baed6", "#2171b5", "#08306b"]
WAVE_LABELS = {
    "pre": "Before training",
    "post": "End of training",
    "followup_3m": "3 months after",
    "followup_6m": "6 months after",
    "followup_12m": "12 months after",
}
SHORT_WAVE = {"pre": "pre", "post": "post", "followup_3m": "3 m", "followup_6m": "6 m",
              "followup_12m": "12 m"}
DIMENSION_LABELS = {"audience": "Audience", "format": "Format", "delivery": "Delivery",
                    "sponsor": "Sponsor", "program": "Programme", "supervision": "Supervision",
                    "cohort_quarter": "Cohort start quarter", "wave_to": "Wave",
                    "provider": "Provider"}
# What a hidden figure says ("not shown", never why) and what a single-group pre/post design
# can and cannot show (said on every page that shows change, ``components.design_note``):
# declared Dash-free in ``warehouse.plain_words``, so the outcomes reports say the same.
from warehouse.plain_words import DESIGN_STATEMENT, SUPPRESSED_TEXT  # noqa: E402,F401


def colour_for(dimension: str, value: Any, among: Sequence[Any] = ()) -> str:
    """A group's colour: fixed per audience and format; for any other grouping (a provider,
    a programme) the palette in the order of the groups drawn (``among``), so that each line
    of a chart has its own."""
    if dimension == "audience":
        return AUDIENCE_COLOURS.get(value, GREY)
    if dimension == "format":
        return FORMAT_COLOURS.get(value, GREY)
    if value in among:
        return _CYCLE[list(among).index(value) % len(_CYCLE)]
    return OKABE_ITO["blue"]


def label(dimension: str, value: Any) -> str:
    """Human label of a code (audience, format, delivery, wave)."""
    table = {"audience": AUDIENCES, "format": FORMATS, "delivery": DELIVERIES,
             "wave": WAVE_LABELS, "wave_to": WAVE_LABELS}.get(dimension, {})
    if value is None:
        return "(not recorded)"
    if isinstance(value, bool):
        return "With supervision" if value else "Without supervision"
    return table.get(value, str(value))


def fmt(value: Any, digits: int = 2) -> str:
    """A number for display; '–' for missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}%"


def fmt_pct_ci(low: float | None, high: float | None, digits: int = 0) -> str:
    """A share's interval, e.g. '28% to 40%'."""
    return f"{fmt_pct(low, digits)} to {fmt_pct(high, digits)}"


def fmt_ci(low: float | None, high: float | None, digits: int = 2) -> str:
    return f"{fmt(low, digits)} to {fmt(high, digits)}"


def fmt_n(n: int | None, min_cell: int) -> str:
    return SUPPRESSED_TEXT if n is None else f"{n:,}"


def figure_layout(fig: Figure, *, height: int = 420, legend: bool = True) -> Figure:
    """The house style: readable fonts, Okabe-Ito colourway, room for labels, no clutter
    (white background and light grid, as Plotly's "plotly_white" template draws them)."""
    fig.update_layout(
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=_CYCLE,
        height=height,
        margin={"l": 10, "r": 20, "t": 30, "b": 40},
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13,
              "color": "#222"},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        hoverlabel={"font_size": 13},
    )
    fig.update_xaxes(automargin=True, gridcolor="#eee", zerolinecolor="#999")
    fig.update_yaxes(automargin=True, gridcolor="#eee", zerolinecolor="#999")
    return fig
