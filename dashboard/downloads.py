"""What every CSV download says about itself: the lines at the top of each chart CSV (a card's
"Download CSV" and every file of the ZIP of all charts), written by ``components.to_csv``.

A CSV leaves the dashboard without its page: these lines keep with it the filters it was made
with, its scope (one sponsor's published figures, or every cohort's exact ones), the design
statement and the day it was made. They are comment lines: each begins with ``#`` and is one
cell (it holds no comma, quote or line break), so a spreadsheet shows them as the first rows
of column A above the header row, and a script skips them
(``pandas.read_csv(path, comment="#")``, R's ``read.csv(path, comment.char = "#")``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dashboard import access
from dashboard.style import DESIGN_STATEMENT, label

COMMENT = "# "
PUBLISHED = "published figures (rounded and with a little random noise: see Data and methods)"
_NOT_IN_A_CELL = re.compile(r'[,"\r\n]+')


def comment_line(text: str) -> str:
    """``text`` as one comment line: ``# `` and the text, with every comma (and quote or line
    break) made a semicolon or a space, so the line stays one cell in any CSV reader."""
    return COMMENT + _NOT_IN_A_CELL.sub(lambda m: ";" if "," in m.group(0) else " ", text).strip()


def header_lines(app_ctx: Any, state: dict[str, Any] | None, name: str,
                 made: dt.date | None = None) -> list[str]:
    """The comment lines of a download of ``name`` (a chart's file) for the request's user and
    ``state``: what it is, when, whose figures, which filters, what the design can show."""
    state = state or {}
    raw = app_ctx.raw_options()
    filters = access.filters_for(state, raw)
    scope = access.sponsor_scope(raw)
    scale = next((s["name"] for s in app_ctx.options().get("scales", [])
                  if s["scale_id"] == state.get("scale")), None)
    if scope is not None:
        whose = f"sponsor {scope.sponsor} only: {PUBLISHED}"
    else:
        whose = "every cohort (all sponsors): exact figures"
    waves = (f"{label('wave', state['wf'])} to {label('wave', state['wt'])}"
             if state.get("wf") and state.get("wt") else "")
    made = made or dt.datetime.now(dt.UTC).date()
    return [comment_line(text) for text in (
        f"Attune chart data: {name}",
        f"Made: {made.isoformat()} (UTC)",
        f"Scope: {whose}",
        f"Filters: {filters.describe()}"
        + (f" | scale: {scale}" if scale else "") + (f" | waves: {waves}" if waves else ""),
        f"Design: {DESIGN_STATEMENT}",
    )]
