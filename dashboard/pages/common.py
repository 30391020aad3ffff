"""Helpers shared by the pages. What the reader must change before a chart can be drawn is
raised as ``CannotShow`` (its text is shown on the card)."""

from __future__ import annotations

from typing import Any

from dashboard import access
from warehouse.errors import CannotShow
from warehouse.filters import Filters


def scale_info(app_ctx, state: dict[str, Any]) -> dict[str, Any]:
    options = app_ctx.options()
    for s in options["scales"]:
        if s["scale_id"] == state.get("scale"):
            return s
    raise CannotShow("Choose an outcome scale in the filters.")


def filters(app_ctx, state: dict[str, Any]) -> Filters:
    """The query filters for the browser's state, in the session user's scope (a sponsor's
    filters keep their own sponsor and programmes, whatever the state says)."""
    return access.filters_for(state, app_ctx.raw_options())


def check_waves(app_ctx, state: dict[str, Any]) -> tuple[str, str]:
    waves = app_ctx.options()["waves"]
    wf, wt = state.get("wf") or "pre", state.get("wt") or "post"
    if wf not in waves or wt not in waves or waves.index(wt) <= waves.index(wf):
        raise CannotShow("Choose a 'to' wave that comes after the 'from' wave.")
    return wf, wt


def units(scale: dict[str, Any]) -> str:
    return f"points on a {scale['min_value']:g}–{scale['max_value']:g} scale"


def too_few(what: str, min_cell: int) -> str:
    """The empty state of a chart whose every group of ``what`` is hidden: the page-wide
    rule, never which reason hid them."""
    return f"No {what} can be shown: {hidden_reason(min_cell)}."


def by_dims(state: dict[str, Any]) -> tuple[str, ...]:
    by = state.get("by") or "all"
    return () if by == "all" else (by,)


def slug(*parts: Any) -> str:
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).lower()


def p_adj_label(n_tests: int, family: str) -> str:
    """The heading of a Benjamini-Hochberg adjusted p: which family it was adjusted over
    (``warehouse.outcomes.family_p_adj``), so that a reader knows what the adjustment means."""
    return f"p (Benjamini-Hochberg, adjusted over the {n_tests:,} {family})"


def hidden_reason(min_cell: int) -> str:
    """The rule for hidden groups, said once for the page: never which reason hid which
    group (that would tell which ones are small)."""
    return (f"groups of fewer than {min_cell}, and groups from which one could be worked "
            "out, are never shown")
