"""Filters declared once: ``FILTER_SPECS`` lists every control of the filter panel (its name,
kind, label, URL key, default, allowed values, SQL column and who may use it), and from it
come the URL round trip (``dashboard.state``), the panel (``dashboard.filter_panel``), the
``Filters`` value, the WHERE clause and its parameters, and the sponsor scope. Adding a filter
is one entry here plus its tests (``tests/warehouse/test_filter_specs.py`` walks every entry).

User input never reaches SQL text: a filter's predicate is built from its entry's column, and
values are bound as parameters. Columns name two aliases every summary query uses: ``c`` (a
summary row) and ``d`` (the cohort it belongs to, ``memory.cohort_dim``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from schemas.contract import ARMS, AUDIENCES, DEFAULT_ARM, DELIVERIES, FORMATS, WAVES
from warehouse.cell_key import published_scale

Options = Mapping[str, Any]  # what warehouse.catalog.filter_options returns

MULTI = "multi-choice"  # any of several values; none chosen means no restriction
DATE_RANGE = "date range"  # from and to dates, either may be open
ONE_OF = "single choice"  # exactly one of a fixed set of choices

# Filter name -> the labels of its codes, for Filters.describe.
VOCABULARIES: dict[str, Mapping[str, str]] = {
    "audience": AUDIENCES, "format": FORMATS, "delivery": DELIVERIES, "arm": ARMS}


@dataclass(frozen=True)
class SponsorScope:
    """What a sponsor may see: their own sponsor id, and the programmes and providers (of a
    pooled lake) they have cohorts with."""

    sponsor: str
    programs: frozenset[str]
    providers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, sponsor: str, options: Options) -> SponsorScope:
        owners = options.get("program_sponsors") or {}
        trainers = options.get("provider_sponsors") or {}
        return cls(sponsor, frozenset(p for p in options.get("programs", {})
                                      if sponsor in owners.get(p, ())),
                   frozenset(p for p in options.get("providers", ())
                             if sponsor in trainers.get(p, ())))


@dataclass(frozen=True)
class FilterSpec:
    """One control of the filter panel and, when it has a ``column``, one filter of the data.

    ``choices(options)`` gives the values the panel offers, each with its text (None: the
    dashboard's label of the value in ``vocabulary``): by default the entries of
    ``options[source]`` (a list of codes, or a dict code -> name shown by ``text``).
    ``allowed(options)`` gives the values a URL or the browser's state may hold (default:
    the choices). ``default`` is a value or a
    function of the options. A filter restricts ``column``; without one the control is a view
    setting (which scale or waves to show) that never reaches a WHERE clause. A ``ONE_OF``
    filter compares the column with ``values[choice]`` (None: no restriction). ``for_sponsor``
    is the sponsor's restriction of the chosen values, applied on the server whatever the
    browser sent; ``hidden_from`` lists the roles that neither see nor set the control.
    """

    name: str  # the control's id is f-<name>; also its URL key unless url_keys says otherwise
    kind: str
    label: str
    source: str | None = None
    text: Callable[[str, Any], str] | None = None
    choices_from: Callable[[Options], dict[Any, str | None]] | None = None
    default: Any = None
    allowed: Callable[[Options], Iterable[Any]] | None = None
    column: str | None = None
    values: Mapping[str, Any] | None = None
    url_keys: tuple[str, ...] = ()  # a date range has two: from, to
    fields: tuple[str, ...] = ()  # its fields of Filters (default: its name)
    vocabulary: str | None = None
    widget: str = "dropdown"  # dropdown, radio or dates: how the panel shows it
    row: str | None = None  # consecutive controls of one row sit side by side
    placeholder: str = "All"
    bounds: tuple[str, str] | None = None  # options keys of a date range's first and last date
    hidden_from: tuple[str, ...] = ()
    for_sponsor: Callable[[Any, SponsorScope], Any] | None = None
    hidden_when_single: bool = False  # hide the control when the data offer one choice

    @property
    def unset(self) -> Any:
        """Its ``Filters`` value when nothing is chosen: the default's value (a ONE_OF whose
        default restricts, such as the intervention arm) or no restriction."""
        if self.kind == MULTI:
            return ()
        if self.kind == ONE_OF and self.values and not callable(self.default):
            return self.values.get(self.default)
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        """Its keys in the URL and in the browser's state."""
        return self.url_keys or (self.name,)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Its fields of ``Filters`` (none for a view setting)."""
        return (self.fields or (self.name,)) if self.column else ()

    @property
    def predicates(self) -> tuple[str, ...]:
        """One SQL condition per field, each with one parameter."""
        if self.column is None:
            return ()
        if self.kind == MULTI:
            return (f"list_contains(?, {self.column})",)
        if self.kind == DATE_RANGE:
            return (f"{self.column} >= ?", f"{self.column} <= ?")
        return (f"{self.column} = ?",)

    def default_for(self, options: Options) -> Any:
        value = self.default(options) if callable(self.default) else self.default
        return list(value) if isinstance(value, list) else value

    def choices(self, options: Options) -> dict[Any, str | None]:
        """The values the panel offers, each with its text (None: its vocabulary label)."""
        if self.choices_from is not None:
            return self.choices_from(options)
        entries = options.get(self.source, []) if self.source else []
        pairs = entries.items() if isinstance(entries, Mapping) else ((e, None) for e in entries)
        return {code: self.text(code, name) if self.text else None for code, name in pairs}

    def allowed_values(self, options: Options) -> list[Any]:
        return list(self.allowed(options) if self.allowed else self.choices(options))

    def clean(self, key: str, raw: Any, options: Options) -> Any:
        """The value of ``key`` as the state holds it, from whatever was sent: only allowed
        values (a list in their canonical order), an ISO date, or else the default."""
        if self.kind == MULTI:
            sent = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
            chosen = {v for v in sent if isinstance(v, str)}
            return [v for v in self.allowed_values(options) if v in chosen]
        if self.kind == DATE_RANGE:
            return iso_date(raw)
        if isinstance(raw, str) and raw in self.allowed_values(options):
            return raw
        return self.default_for(options)

    def filter_values(self, state: Mapping[str, Any]) -> tuple[Any, ...]:
        """Its ``Filters`` field values from cleaned state values."""
        if self.kind == MULTI:
            return (tuple(state[self.name]),)
        if self.kind == DATE_RANGE:
            return tuple(dt.date.fromisoformat(state[k]) if state[k] else None
                         for k in self.keys)
        return ((self.values or {}).get(state[self.name]),)


def iso_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a date or datetime text, else None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def default_scale(options: Options) -> str | None:
    """The first scale measured before training (so pre->post exists), else the first scale."""
    scales = options.get("scales", [])
    for s in scales:
        if s.get("measured_before"):
            return s["scale_id"]
    return scales[0]["scale_id"] if scales else None


def _fixed(choices: dict[str, str]) -> Callable[[Options], dict[Any, str | None]]:
    """Choices that do not depend on the data."""
    return lambda options: dict(choices)


def _scale_choices(options: Options) -> dict[Any, str | None]:
    return {s["scale_id"]: f"{s['name']} ({s['scale_id']})" for s in options.get("scales", [])}


def _arm_choices(options: Options) -> dict[Any, str | None]:
    present = options.get("arms") or [DEFAULT_ARM]
    choices: dict[Any, str | None] = {a: ARMS[a] for a in present}
    if len(present) > 1:
        choices["all"] = "All arms together"
    return choices


def _own_sponsor_only(chosen: list[str], scope: SponsorScope) -> list[str]:
    return [scope.sponsor]


def _own_programmes_only(chosen: list[str], scope: SponsorScope) -> list[str]:
    return [p for p in chosen if p in scope.programs]


def _own_providers_only(chosen: list[str], scope: SponsorScope) -> list[str]:
    return [p for p in chosen if p in scope.providers]


def _by_choices(options: Options) -> dict[Any, str | None]:
    choices: dict[Any, str | None] = {"all": "All together", "audience": "Audience",
                                      "format": "Format"}
    if len(options.get("providers") or ()) > 1:  # a consortium's pooled lake
        choices["provider"] = "Provider"
    return choices


FILTER_SPECS: tuple[FilterSpec, ...] = (
    FilterSpec("scale", ONE_OF, "Outcome scale", choices_from=_scale_choices,
               default=default_scale, placeholder="Choose a scale"),
    FilterSpec("wf", ONE_OF, "From wave", source="waves", default="pre", vocabulary="wave",
               allowed=lambda o: o.get("waves") or list(WAVES), row="waves"),
    FilterSpec("wt", ONE_OF, "To wave", source="waves", default="post", vocabulary="wave",
               allowed=lambda o: o.get("waves") or list(WAVES), row="waves"),
    FilterSpec("audience", MULTI, "Audience", source="audiences", default=[],
               allowed=lambda o: AUDIENCES, column="c.audience", vocabulary="audience"),
    FilterSpec("format", MULTI, "Programme format", source="formats", default=[],
               allowed=lambda o: FORMATS, column="d.format", vocabulary="format"),
    FilterSpec("delivery", MULTI, "Delivery", source="deliveries", default=[],
               allowed=lambda o: DELIVERIES, column="d.delivery", vocabulary="delivery"),
    FilterSpec("provider", MULTI, "Provider", source="providers", text=lambda code, _: code,
               default=[], column="d.provider", hidden_when_single=True,
               for_sponsor=_own_providers_only),
    FilterSpec("sponsor", MULTI, "Sponsor", source="sponsors", text=lambda code, _: code,
               default=[], column="d.sponsor_id", hidden_from=("sponsor",),
               for_sponsor=_own_sponsor_only),
    FilterSpec("program", MULTI, "Programme", source="programs",
               text=lambda code, name: f"{name} ({code})", default=[], column="d.program_id",
               for_sponsor=_own_programmes_only),
    FilterSpec("dates", DATE_RANGE, "Cohort start date", column="d.cohort_start",
               url_keys=("start", "end"), fields=("cohort_start_from", "cohort_start_to"),
               widget="dates", bounds=("start_min", "start_max")),
    FilterSpec("supervision", ONE_OF, "Ongoing supervision",
               choices_from=_fixed({"any": "Any", "yes": "With", "no": "Without"}),
               default="any", column="d.supervision",
               values={"any": None, "yes": True, "no": False}, widget="radio"),
    FilterSpec("arm", ONE_OF, "Arm", choices_from=_arm_choices, default=DEFAULT_ARM,
               allowed=lambda o: [*ARMS, "all"], column="d.arm",
               values={**{a: a for a in ARMS}, "all": None}, widget="radio",
               vocabulary="arm", hidden_when_single=True),
    FilterSpec("by", ONE_OF, "Compare groups by (trends, follow-up)",
               choices_from=_by_choices, default="all", widget="radio"),
)
DATA_FILTERS: tuple[FilterSpec, ...] = tuple(s for s in FILTER_SPECS if s.column)


def _field_type(spec: FilterSpec) -> Any:
    return {MULTI: tuple[str, ...], DATE_RANGE: dt.date | None}.get(spec.kind, Any)


def _normalise(self) -> None:
    """Multi-choice fields become sorted tuples without repeats (a single text is one value),
    so equal selections make equal (and equally cached) Filters."""
    for spec in DATA_FILTERS:
        if spec.kind == MULTI:
            value = getattr(self, spec.name)
            value = (value,) if isinstance(value, str) else value
            object.__setattr__(self, spec.name, tuple(sorted(set(value or ()))))


def _describe(self) -> str:
    """The filters in words, for chart footers and printed pages."""
    parts = []
    for f in fields(self):
        if f.name == "published":
            continue
        value = getattr(self, f.name)
        if value == f.default:
            continue
        if value is None:  # a restriction by default, lifted
            parts.append(f"{f.name}: all")
            continue
        if value in ((), None):
            continue
        if isinstance(value, tuple):
            names = [VOCABULARIES.get(f.name, {}).get(v, v) for v in value]
            parts.append(f"{f.name}: {', '.join(names)}")
        elif f.name in VOCABULARIES:
            parts.append(f"{f.name}: {VOCABULARIES[f.name].get(value, value)}")
        elif isinstance(value, bool):
            parts.append(f"{f.name.replace('_', ' ')}: " + ("yes" if value else "no"))
        else:
            parts.append(f"{f.name.replace('_', ' ')}: {value.isoformat()}")
    return "; ".join(parts) if parts else "no filters (all cohorts)"


# What the user selected, one field per filter of FILTER_SPECS (empty tuples and None mean
# "no restriction"), and whether the figures are published: computed for someone outside the
# trusted roles (a sponsor, a report, a share link), so that disclosure control applies
# (warehouse.cell_key). Results are cached per Filters, so published and exact figures never
# mix.
Filters = make_dataclass(
    "Filters",
    [*((name, _field_type(spec), field(default=spec.unset))
       for spec in DATA_FILTERS for name in spec.field_names),
     ("published", bool, field(default=False))],
    frozen=True,
    namespace={"__post_init__": _normalise, "describe": _describe,
               "__doc__": "What the user selected (empty tuples and None mean no "
                          "restriction), and whether the figures are published.",
               "__module__": __name__},
)

# Filters field -> SQL predicate with one parameter. Alias c = summary row, d = cohort_dim.
FILTER_COLUMNS: dict[str, str] = {
    name: predicate for spec in DATA_FILTERS
    for name, predicate in zip(spec.field_names, spec.predicates, strict=True)}


def clean_state(sent: Mapping[str, Any], options: Options) -> dict[str, Any]:
    """The whole state from what was sent (a parsed URL or the browser's state store): every
    key of every spec, each holding only an allowed value or its default."""
    return {key: spec.clean(key, sent.get(key), options)
            for spec in FILTER_SPECS for key in spec.keys}


def filters_from_state(state: Mapping[str, Any], options: Options,
                       scope: SponsorScope | None = None, *, published: bool = False
                       ) -> Filters:
    """The ``Filters`` of a state sent by the browser, cleaned against ``options`` (every
    filter value in the database). With a sponsor's ``scope``, each filter's sponsor
    restriction is applied: this is the one place the sponsor scope reaches the data. A
    sponsor's figures are always ``published`` (disclosure control applies)."""
    cleaned = clean_state(state, options)
    if scope is not None:
        for spec in DATA_FILTERS:
            if spec.for_sponsor is not None:
                cleaned[spec.name] = spec.for_sponsor(cleaned[spec.name], scope)
    values = [v for spec in DATA_FILTERS for v in spec.filter_values(cleaned)]
    names = [name for spec in DATA_FILTERS for name in spec.field_names]
    return Filters(**dict(zip(names, values, strict=True)),
                   published=published or scope is not None)


def scope_options(options: Options, scope: SponsorScope) -> dict[str, Any]:
    """The filter choices a sponsor may see: each filter's choices cut to what its sponsor
    restriction lets through, no date bounds (they are drawn from every sponsor's cohorts),
    no snapshot cutoff, and the scales as published (``published_scale``)."""
    scoped = dict(options)
    for spec in DATA_FILTERS:
        if spec.for_sponsor is not None:
            source = options.get(spec.source, [])
            keep = set(spec.for_sponsor(list(source), scope))
            scoped[spec.source] = ({k: v for k, v in source.items() if k in keep}
                           if isinstance(source, Mapping) else [v for v in source if v in keep])
        if spec.bounds:
            scoped.update(dict.fromkeys(spec.bounds))
    scoped["program_sponsors"] = {p: [scope.sponsor] for p in scoped.get("programs", {})}
    scoped["provider_sponsors"] = {p: [scope.sponsor] for p in scoped.get("providers", ())}
    scoped["cutoff"] = None
    # The scales' pre-training SD and threshold are drawn from every sponsor's cohorts.
    scoped["scales"] = [published_scale(s) for s in options.get("scales", [])]
    return scoped


# Grouping name -> column expression.
GROUP_COLUMNS: dict[str, str] = {
    "audience": "c.audience",
    "format": "d.format",
    "delivery": "d.delivery",
    "provider": "d.provider",
    "sponsor": "d.sponsor_id",
    "program": "d.program_id",
    "supervision": "d.supervision",
    "cohort_quarter": "d.cohort_quarter",
    "scale_id": "c.scale_id",
    "wave_to": "c.wave_to",
}


def where_clause(filters: Filters, skip: Iterable[str] = ()) -> tuple[str, list[Any]]:
    """The filters as one SQL condition over ``c`` and ``d`` and its parameters, in order."""
    clauses, params = [], []
    for name, predicate in FILTER_COLUMNS.items():
        if name in skip:
            continue
        value = getattr(filters, name)
        if value in ((), None):
            continue
        clauses.append(predicate)
        params.append(list(value) if isinstance(value, tuple) else value)
    return (" AND ".join(clauses) or "TRUE"), params


def group_clause(by: Sequence[str]) -> tuple[str, str]:
    """``(select, group_by)`` SQL for grouping by ``by``: the select part ends with a comma.

    An unknown grouping is a programming error (the whitelist is the only way in)."""
    unknown = [name for name in by if name not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(GROUP_COLUMNS)}")
    select = "".join(f"{GROUP_COLUMNS[name]} AS {name}, " for name in by)
    group = ", ".join(GROUP_COLUMNS[name] for name in by) or "()"
    return select, group


_ORDER = {**{k: i for i, k in enumerate(AUDIENCES)}, **{k: i for i, k in enumerate(FORMATS)},
          **{k: i for i, k in enumerate(WAVES)}}


def group_sort_key(value: Any) -> tuple:
    """Sort key of one grouping value: audiences, formats and waves in the contract's order,
    then anything else as text. Groups come back in this fixed order, so suppression hides
    the same groups on every request."""
    if isinstance(value, str) and value in _ORDER:
        return (0, _ORDER[value], value)
    return (1, 0, str(value))


def groups_sort_key(values: Iterable[Any]) -> tuple:
    """``group_sort_key`` over a group's values, in the order of the grouping."""
    return tuple(group_sort_key(v) for v in values)
