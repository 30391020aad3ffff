"""Filters reach SQL only through the whitelists, as bound parameters, and restrict the groups."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.contract import FORMATS
from warehouse.connection import Database
from warehouse.errors import CannotShow
from warehouse.filters import Filters
from warehouse.outcomes import group_change


def test_filters_restrict_groups(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    assert [r["format"] for r in group_change(
        db, scale_id="CONF", by=("format",), filters=Filters(format=("degree",)))] == ["degree"]
    supervised = group_change(db, scale_id="CONF", by=("format",),
                              filters=Filters(supervision=True))
    assert {r["format"] for r in supervised} == {"degree"}  # cohort C0 (degree) is supervised
    late = group_change(db, scale_id="CONF", by=("format",),
                        filters=Filters(cohort_start_from=dt.date(2024, 2, 1)))
    assert {r["format"] for r in late} == {"workshop"}
    none = group_change(db, scale_id="CONF", by=(), filters=Filters(sponsor=("nobody",)))
    assert none == []


def test_filter_values_are_parameters_not_sql(tiny_db):
    db = Database(tiny_db, min_cell_size=1)
    evil = Filters(audience=("hr') OR 1=1 --",), program=("x'; DROP TABLE responses; --",))
    assert group_change(db, scale_id="CONF", by=("audience",), filters=evil) == []
    with pytest.raises(ValueError, match="cannot group by"):
        group_change(db, scale_id="CONF", by=("audience; DROP TABLE x",))
    with pytest.raises(CannotShow):
        group_change(db, scale_id="nope")


def test_filters_describe_themselves_in_words():
    assert Filters().describe() == "no filters (all cohorts)"
    words = Filters(format=("workshop",), supervision=False,
                    cohort_start_from=dt.date(2024, 2, 1)).describe()
    assert words == f"format: {FORMATS['workshop']}; cohort start from: 2024-02-01; supervision: no"
