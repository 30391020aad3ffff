"""Every filter of ``FILTER_SPECS`` narrows the rows of a real database to those it names,
and a sponsor's scope holds whatever any filter says. Both walk the spec table, so a new
entry is covered without a new test, on the demo database and on a consortium's pooled lake
(where the provider filter has something to choose)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from warehouse.catalog import filter_options
from warehouse.connection import Database
from warehouse.filters import (
    DATA_FILTERS,
    DATE_RANGE,
    MULTI,
    Filters,
    FilterSpec,
    SponsorScope,
    filters_from_state,
    where_clause,
)

ROWS = """
SELECT d.sponsor_id, d.program_id, {columns}
FROM memory.people_cube AS c JOIN memory.cohort_dim AS d USING (cidx) WHERE {where}
"""


# Filters offered only where several providers are pooled: nothing to choose in the demo.
POOLED_ONLY = ("provider",)


@pytest.fixture(scope="module", params=["demo_db", "consortium_db"])
def demo(request) -> tuple[Database, dict[str, Any]]:
    db = Database(request.getfixturevalue(request.param))
    return db, filter_options(db)


def _rows(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """Every summary row the filters let through, with each filter's column."""
    columns = ", ".join(f"{s.column} AS {s.name}" for s in DATA_FILTERS)
    where, params = where_clause(filters)
    return db.fetch_dicts(ROWS.format(columns=columns, where=where), params)


def _candidates(spec: FilterSpec, db: Database,
                options: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """States that set only this filter, each with a test of the rows it must keep."""
    if spec.kind == MULTI:
        return [({spec.name: [v]}, lambda row, v=v: row[spec.name] == v)
                for v in spec.choices(options)]
    if spec.kind == DATE_RANGE:
        first, last = spec.keys
        starts = sorted({r[spec.name] for r in _rows(db, Filters())})
        middle = starts[len(starts) // 2]
        return [({first: middle.isoformat()}, lambda row: row[spec.name] >= middle),
                ({last: middle.isoformat()}, lambda row: row[spec.name] <= middle)]
    values = spec.values or {}
    return [({spec.name: choice}, lambda row, want=values[choice]: want is None
             or row[spec.name] == want)
            for choice in spec.choices(options) if choice in values]


@pytest.mark.parametrize("spec", DATA_FILTERS, ids=lambda s: s.name)
def test_each_filter_keeps_only_the_rows_it_names_and_narrows_the_result(demo, spec):
    db, options = demo
    if spec.name in POOLED_ONLY and not options["providers"]:
        assert spec.choices(options) == {}  # a provider's own database: nothing to offer
        return
    everything = _rows(db, Filters())
    narrower = 0
    for state, keeps in _candidates(spec, db, options):
        got = _rows(db, filters_from_state(state, options))
        assert got, (spec.name, state)  # every value offered matches some rows
        assert all(keeps(row) for row in got), (spec.name, state)
        narrower += len(got) < len(everything)
    assert narrower, f"no value of {spec.name} narrows the rows"


def _sponsor_with_two_programmes(options: dict[str, Any]) -> str:
    owners = options["program_sponsors"]
    return next(s for s in options["sponsors"]
                if sum(s in owners[p] for p in options["programs"]) >= 2)


@pytest.mark.parametrize("spec", DATA_FILTERS, ids=lambda s: s.name)
def test_sponsor_scope_holds_whatever_each_filter_says(demo, spec):
    """For each filter, every value it may take (another sponsor's included, all at once
    too) leaves a sponsor with rows of their own sponsor and programmes only."""
    db, options = demo
    sponsor = _sponsor_with_two_programmes(options)
    scope = SponsorScope.of(sponsor, options)
    states = [state for state, _ in _candidates(spec, db, options)]
    if spec.kind == MULTI:
        states.append({spec.name: list(spec.choices(options))})
    own = _rows(db, filters_from_state({}, options, scope))
    assert own and len(own) < len(_rows(db, Filters()))
    for state in states:
        got = _rows(db, filters_from_state(state, options, scope))
        assert {r["sponsor_id"] for r in got} <= {sponsor}, (spec.name, state)
        assert {r["program_id"] for r in got} <= scope.programs, (spec.name, state)
        # The arm chooses which cohorts (by default the intervention arm): compare with the
        # sponsor's own rows of the same arm.
        arm = {k: v for k, v in state.items() if k == "arm"}
        assert len(got) <= len(_rows(db, filters_from_state(arm, options, scope)) if arm else own)


def test_sponsor_without_cohorts_sees_nothing(demo):
    db, options = demo
    scope = SponsorScope.of("\x00no-sponsor", options)
    state = {s.name: list(s.choices(options)) for s in DATA_FILTERS if s.kind == MULTI}
    assert _rows(db, filters_from_state(state, options, scope)) == []


def test_values_outside_the_options_never_reach_the_filters(demo):
    _, options = demo
    program = next(iter(options["programs"]))
    sent = {"audience": ["hr", "<script>", 3], "program": program, "start": "not a date",
            "supervision": "maybe", "sponsor": [{"x": 1}], "provider": ["nowhere"]}
    got = filters_from_state(sent, options)
    assert got == Filters(audience=("hr",), program=(program,))
    assert filters_from_state({"end": "2024-03-05T00:00:00"}, options).cohort_start_to == \
        dt.date(2024, 3, 5)
