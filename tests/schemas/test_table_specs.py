"""A file's columns, their kinds and which must hold a value come from the Pandera models; a
model that disagrees with the contract's column lists is refused before any file is read."""

from __future__ import annotations

import pandera.pandas as pa
import pytest

from schemas.specs import BOOLEAN, DATE, NUMBER, TEXT, ContractError, table_spec


class VisitsModel(pa.DataFrameModel):
    visit_id: str = pa.Field(description="Identifier of the visit.")
    visited_on: pa.DateTime = pa.Field(description="Day of the visit.")
    minutes: float | None = pa.Field(nullable=True, description="Length of the visit.")
    followed_up: bool | None = pa.Field(nullable=True, description="Whether a call followed.")
    weekday: str | None = pa.Field(nullable=True, description="Day of the week.")


def test_column_kinds_and_presence_come_from_the_model_annotations():
    spec = table_spec(
        "visits", VisitsModel, ("visit_id", "visited_on"), ("minutes", "followed_up", "weekday")
    )
    assert spec.kinds == {
        "visit_id": TEXT,
        "visited_on": DATE,
        "minutes": NUMBER,
        "followed_up": BOOLEAN,
        "weekday": TEXT,
    }
    assert (spec.numbers, spec.dates, spec.booleans) == (
        {"minutes"},
        {"visited_on"},
        {"followed_up"},
    )
    assert spec.must_be_present == {"visit_id", "visited_on"}
    assert spec.columns == ("visit_id", "visited_on", "minutes", "followed_up", "weekday")


def test_contract_column_the_model_lacks_is_a_contract_error():
    with pytest.raises(ContractError, match="VisitsModel has required fields"):
        table_spec("visits", VisitsModel, ("visit_id", "visited_on", "room"), ("minutes",))


def test_column_the_contract_calls_required_but_the_model_optional_is_a_contract_error():
    with pytest.raises(ContractError, match="the contract lists"):
        table_spec(
            "visits", VisitsModel, ("visit_id", "visited_on", "minutes"), ("followed_up", "weekday")
        )


def test_optional_column_that_may_not_be_blank_is_a_contract_error():
    class Strict(pa.DataFrameModel):
        visit_id: str = pa.Field()
        minutes: float | None = pa.Field(nullable=False)

    with pytest.raises(ContractError, match="optional columns must be the nullable ones"):
        table_spec("visits", Strict, ("visit_id",), ("minutes",))
