"""The JSON API's query string, declared once: the dashboard's own URL keys (every control of
``warehouse.filters.FILTER_SPECS``, so a bookmark's query works on the API too) plus ``by``,
the groups to split the answer into. The handlers read their parameters through
``parse_query`` and the OpenAPI document (``dashboard.openapi``) describes ``PARAMETERS``,
so what is documented is what is accepted.

Unlike the dashboard, which quietly drops what it does not know (a hand-edited URL still
opens a page), the API refuses: an unknown key, a value outside the allowed ones, a date that
is not ``YYYY-MM-DD``, or a ``by`` outside ``BY_DIMENSIONS`` or longer than ``MAX_GROUPINGS``
raises ``BadQuery`` naming the key and what it allows. The allowed values are those of the
asking user's scoped filter choices (``dashboard.access.scope_options``): a sponsor may name
only their own sponsor id and programmes, and a refusal lists nothing of anyone else's. The
scope itself is still applied only where the pages apply it, in
``dashboard.access.filters_for``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warehouse.filters import (
    DATE_RANGE,
    FILTER_SPECS,
    MULTI,
    FilterSpec,
    Options,
    clean_state,
    iso_date,
)

DATE_FORMAT = "a date written YYYY-MM-DD"
# The most groupings one answer's table may have, its own included (trends: the quarter).
# As on the pages, which show at most two-way tables: the small-cell protection of a
# three-way table (warehouse.disclosure.complementary_suppression) took 20 s to minutes on
# the demo data, which would let any account keep the server busy.
MAX_GROUPINGS = 2
# The dashboard's own "by" (how the trends and follow-up pages split their lines) is a view
# setting of the pages; the API's ``by`` below takes its place and says more.
REPLACED_BY_THE_API = frozenset({"by"})


@dataclass(frozen=True)
class Parameter:
    """One query key of the API: ``spec`` is its filter of ``FILTER_SPECS`` (None for ``by``)."""

    key: str
    spec: FilterSpec | None
    description: str

    @property
    def is_list(self) -> bool:
        return self.spec is None or self.spec.kind == MULTI

    @property
    def is_date(self) -> bool:
        return self.spec is not None and self.spec.kind == DATE_RANGE

    def allowed(self, options: Options) -> list[Any] | None:
        """The values it takes for a user with these (scoped) options; None: any date."""
        if self.spec is None:
            return list(BY_DIMENSIONS)
        return None if self.is_date else self.spec.allowed_values(options)

    def default(self, options: Options) -> Any:
        if self.spec is None:
            return []
        return None if self.is_date else self.spec.default_for(options)


# The groups an answer may be split into (``by``), each with what its values are. Every name
# is a grouping of the analysis layer (``warehouse.filters.GROUP_COLUMNS``).
BY_DIMENSIONS: dict[str, str] = {
    "audience": "the participant's audience code (e.g. hr, educator)",
    "format": "the programme format code (e.g. workshop, degree)",
    "delivery": "how the programme is delivered (in_person, online, hybrid)",
    "program": "the programme id",
    "cohort_quarter": "the calendar quarter the cohort started, e.g. 2024-Q3",
    "supervision": "whether the cohort has ongoing supervision: yes or no",
    "provider": "the training provider of a consortium's pooled lake (`attune serve --lake`)",
}


def _describe(spec: FilterSpec, key: str) -> str:
    """A filter's documentation, from its entry of ``FILTER_SPECS``."""
    if spec.kind == DATE_RANGE:
        end = "first" if key == spec.keys[0] else "last"
        text = f"{spec.label}: the {end} date included ({DATE_FORMAT}); empty means open."
    elif spec.kind == MULTI:
        text = (f"{spec.label}: comma-separated codes (repeating the key adds more); none "
                "means no restriction.")
    elif spec.column is None:
        text = f"{spec.label} (a view setting: which numbers to compute, not a filter)."
    else:
        text = f"{spec.label}: one of the allowed values."
    if spec.for_sponsor is not None:
        text += (" A sponsor account may name only its own; its answers always cover only "
                 "its own cohorts.")
    return text


PARAMETERS: tuple[Parameter, ...] = (
    *(Parameter(key, spec, _describe(spec, key)) for spec in FILTER_SPECS
      if spec.name not in REPLACED_BY_THE_API for key in spec.keys),
    Parameter("by", None, "Groups to split the answer into: comma-separated, any of "
              + ", ".join(BY_DIMENSIONS) + f", at most {MAX_GROUPINGS} in all (the trends' "
              "quarter counts); empty means one group of every matching cohort."),
)
PARAMETER_KEYS: tuple[str, ...] = tuple(p.key for p in PARAMETERS)


class BadQuery(ValueError):
    """A query the API refuses: ``key`` is the key at fault, ``allowed`` what it takes (a
    list of keys or values, or a sentence)."""

    def __init__(self, message: str, key: str, allowed: list[Any] | str):
        super().__init__(message)
        self.key, self.allowed = key, allowed

    def as_dict(self) -> dict[str, Any]:
        return {"error": str(self), "key": self.key, "allowed": self.allowed}


@dataclass(frozen=True)
class ApiQuery:
    """A checked query: the dashboard's state (every key of every filter, as the pages hold
    it) and the groups asked for."""

    state: dict[str, Any]
    by: tuple[str, ...]

    def echo(self) -> dict[str, Any]:
        """What was understood, for the answer's ``state``: every API key with its value."""
        return {**{k: self.state[k] for k in PARAMETER_KEYS if k != "by"}, "by": list(self.by)}


def _one_value(key: str, values: list[str]) -> str:
    if len(values) > 1:
        raise BadQuery(f"{key!r} takes one value; it was given {len(values)} times.", key,
                       "one value")
    return values[0]


def _checked(parameter: Parameter, values: list[str], options: Options) -> Any:
    """The value of one key as the state holds it, or ``BadQuery``."""
    key, allowed = parameter.key, parameter.allowed(options)
    if parameter.is_list:
        items = [item for value in values for item in value.split(",") if item]
        for item in items:
            if item not in allowed:
                raise BadQuery(f"{key!r} does not take {item!r}.", key, allowed)
        return list(dict.fromkeys(items))
    value = _one_value(key, values)
    if parameter.is_date:
        if value and iso_date(value) != value:
            raise BadQuery(f"{key!r} takes {DATE_FORMAT}, not {value!r}.", key, DATE_FORMAT)
        return value or None
    if value not in allowed:
        raise BadQuery(f"{key!r} does not take {value!r}.", key, allowed)
    return value


def parse_query(args: Mapping[str, list[str]], options: Options,
                fixed: tuple[str, ...] = ()) -> ApiQuery:
    """The checked query from the query string's keys and their values (``args[key]`` is the
    list of values sent for ``key``, as werkzeug's ``MultiDict.to_dict(flat=False)`` gives),
    against the asking user's scoped ``options``. ``fixed`` are the groupings the answer
    always has (left out of ``by``, and counted towards ``MAX_GROUPINGS``). Raises
    ``BadQuery``."""
    unknown = [k for k in args if k not in PARAMETER_KEYS]
    if unknown:
        raise BadQuery(f"Unknown query key {unknown[0]!r}.", unknown[0], list(PARAMETER_KEYS))
    sent: dict[str, Any] = {}
    by: tuple[str, ...] = ()
    for parameter in PARAMETERS:
        values = [v for v in args.get(parameter.key, []) if v != ""]
        if not values:
            continue
        value = _checked(parameter, values, options)
        if parameter.spec is None:
            by = tuple(d for d in value if d not in fixed)
        else:
            sent[parameter.key] = value
    most = MAX_GROUPINGS - len(fixed)
    if len(by) > most:
        raise BadQuery(f"'by' takes at most {most} of the groupings here, not {len(by)}.",
                       "by", list(BY_DIMENSIONS))
    return ApiQuery(clean_state(sent, options), by)
