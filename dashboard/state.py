"""The dashboard's whole state as a URL query string, and back (Dash-free).

Only known keys and allowed values survive parsing, so a hand-edited URL cannot inject
anything; ``encode(parse(s))`` is canonical, and ``parse(encode(state)) == state``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlencode

from dashboard.queries import Filters
from schemas.contract import AUDIENCES, DELIVERIES, FORMATS, WAVES

LIST_KEYS = ("audience", "format", "delivery", "sponsor", "program")
DEFAULTS: dict[str, Any] = {
    "audience": [], "format": [], "delivery": [], "sponsor": [], "program": [],
    "start": None, "end": None, "supervision": "any",
    "scale": None, "wf": "pre", "wt": "post", "by": "all",
}
BY_CHOICES = ("all", "audience", "format")
SUPERVISION_CHOICES = ("any", "yes", "no")


def _allowed(options: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "audience": list(AUDIENCES),
        "format": list(FORMATS),
        "delivery": list(DELIVERIES),
        "sponsor": list(options.get("sponsors", [])),
        "program": list(options.get("programs", {})),
    }


def default_scale(options: dict[str, Any]) -> str | None:
    """The first scale measured before training (so pre->post exists), else the first scale."""
    scales = options.get("scales", [])
    for s in scales:
        if s.get("sd_pre") is not None:
            return s["scale_id"]
    return scales[0]["scale_id"] if scales else None


def defaults(options: dict[str, Any]) -> dict[str, Any]:
    state = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
    state["scale"] = default_scale(options)
    return state


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def parse(search: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """State from a query string such as ``?audience=hr,educator&scale=CONF``."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    state = defaults(options)
    allowed = _allowed(options)

    def first(key: str) -> str | None:
        values = query.get(key)
        return values[0] if values else None

    for key in LIST_KEYS:
        raw = ",".join(query.get(key, []))
        chosen = {v for v in raw.split(",") if v}
        state[key] = [v for v in allowed[key] if v in chosen]
    state["start"], state["end"] = _date(first("start")), _date(first("end"))
    if first("supervision") in SUPERVISION_CHOICES:
        state["supervision"] = first("supervision")
    scale_ids = [s["scale_id"] for s in options.get("scales", [])]
    if first("scale") in scale_ids:
        state["scale"] = first("scale")
    waves = options.get("waves") or list(WAVES)
    if first("wf") in waves:
        state["wf"] = first("wf")
    if first("wt") in waves:
        state["wt"] = first("wt")
    if first("by") in BY_CHOICES:
        state["by"] = first("by")
    return state


def encode(state: dict[str, Any], options: dict[str, Any]) -> str:
    """Canonical query string (``""`` when everything is at its default)."""
    base = defaults(options)
    pairs = []
    for key in ("audience", "format", "delivery", "sponsor", "program", "start", "end",
                "supervision", "scale", "wf", "wt", "by"):
        value = state.get(key)
        if key in LIST_KEYS:
            value = [v for v in _allowed(options)[key] if v in set(value or [])]
            if value:
                pairs.append((key, ",".join(value)))
            continue
        if key in ("start", "end"):
            value = _date(value)
        if value is not None and value != base.get(key):
            pairs.append((key, str(value)))
    return ("?" + urlencode(pairs, safe=",")) if pairs else ""


def to_filters(state: dict[str, Any]) -> Filters:
    supervision = {"yes": True, "no": False}.get(state.get("supervision") or "any")
    start, end = _date(state.get("start")), _date(state.get("end"))
    return Filters(
        audience=tuple(state.get("audience") or ()),
        format=tuple(state.get("format") or ()),
        delivery=tuple(state.get("delivery") or ()),
        sponsor=tuple(state.get("sponsor") or ()),
        program=tuple(state.get("program") or ()),
        cohort_start_from=dt.date.fromisoformat(start) if start else None,
        cohort_start_to=dt.date.fromisoformat(end) if end else None,
        supervision=supervision,
    )
