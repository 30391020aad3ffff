"""The dashboard's whole state as a URL query string, and back (Dash-free), for every control
of ``warehouse.filters.FILTER_SPECS``.

Only known keys and allowed values survive parsing, so a hand-edited URL cannot inject
anything; ``encode(parse(s))`` is canonical, and ``parse(encode(state)) == state``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from warehouse.filters import FILTER_SPECS, MULTI, Options, clean_state


def defaults(options: Options) -> dict[str, Any]:
    """The state of a URL without a query: every control at its default."""
    return {key: spec.default_for(options) for spec in FILTER_SPECS for key in spec.keys}


def parse(search: str | None, options: Options) -> dict[str, Any]:
    """State from a query string such as ``?audience=hr,educator&scale=CONF``: a
    multi-choice key takes comma-separated values (repeated keys add up), any other key
    its first value."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    sent: dict[str, Any] = {}
    for spec in FILTER_SPECS:
        for key in spec.keys:
            values = query.get(key, [])
            if spec.kind == MULTI:
                sent[key] = ",".join(values).split(",")
            elif values:
                sent[key] = values[0]
    return clean_state(sent, options)


def encode(state: dict[str, Any], options: Options) -> str:
    """Canonical query string (``""`` when everything is at its default): the keys in the
    order of the specs, only allowed values, nothing at its default."""
    cleaned = clean_state(state, options)
    base = defaults(options)
    pairs = []
    for spec in FILTER_SPECS:
        for key in spec.keys:
            value = cleaned[key]
            if spec.kind == MULTI:
                if value:
                    pairs.append((key, ",".join(value)))
            elif value is not None and value != base[key]:
                pairs.append((key, str(value)))
    return ("?" + urlencode(pairs, safe=",")) if pairs else ""
