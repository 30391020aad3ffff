"""The columns each kind of input file has and how each is read, from the Pandera models.

A column's kind (text, number, date, true/false) is its model field's annotation; whether the
file must carry it is whether the annotation allows None; whether a value may be blank is the
field's `nullable`. The contract's column lists (schemas/contract.py), which the generator and
the mapping files use, give the order; a model that disagrees with them is a programming error
raised on import, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.dtypes as pandera_dtypes
import pandera.pandas as pa

from schemas.contract import (
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    EVIDENCE_OPTIONAL_COLUMNS,
    EVIDENCE_REQUIRED_COLUMNS,
    PROGRAM_COLUMNS,
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
)
from schemas.tables import CohortsModel, EvidenceModel, ProgramsModel, ResponsesModel

TEXT, NUMBER, DATE, BOOLEAN = "text", "number", "date", "boolean"


class ContractError(Exception):
    """A model and the contract's column lists disagree: fix the code, not the data."""


@dataclass(frozen=True)
class TableSpec:
    """The columns a kind of input file has, each with its kind, and those that must hold a
    value in every row."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    kinds: dict[str, str]  # column -> TEXT, NUMBER, DATE or BOOLEAN
    must_be_present: frozenset[str]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def _of_kind(self, kind: str) -> frozenset[str]:
        return frozenset(column for column, its in self.kinds.items() if its == kind)

    @property
    def numbers(self) -> frozenset[str]:
        return self._of_kind(NUMBER)

    @property
    def dates(self) -> frozenset[str]:
        return self._of_kind(DATE)

    @property
    def booleans(self) -> frozenset[str]:
        return self._of_kind(BOOLEAN)


def column_kind(dtype) -> str:
    """How a column is read, from the Pandera data type of its annotation."""
    if pandera_dtypes.is_bool(dtype):
        return BOOLEAN
    if pandera_dtypes.is_datetime(dtype):
        return DATE
    if pandera_dtypes.is_numeric(dtype):
        return NUMBER
    if pandera_dtypes.is_string(dtype):
        return TEXT
    raise ContractError(f"no input column kind for the type {dtype}")


def table_spec(
    kind: str,
    model: type[pa.DataFrameModel],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> TableSpec:
    """The spec of a file whose columns the model describes, in the contract's order.

    Fields with `joined_from` metadata are joined in before validation, never in the file."""
    fields = {
        name: column
        for name, column in model.to_schema().columns.items()
        if "joined_from" not in (column.metadata or {})
    }
    in_model = {name for name, column in fields.items() if column.required}
    out_of_model = set(fields) - in_model
    if in_model != set(required) or out_of_model != set(optional):
        raise ContractError(
            f"{model.__name__} has required fields {sorted(in_model)} and optional fields "
            f"{sorted(out_of_model)}; the contract lists {sorted(required)} and {sorted(optional)}"
        )
    blank_allowed = [name for name, column in fields.items() if column.nullable]
    if set(blank_allowed) != set(optional):
        raise ContractError(
            f"{model.__name__}: the optional columns must be the nullable ones, got "
            f"{sorted(blank_allowed)} for {sorted(optional)}"
        )
    return TableSpec(
        kind=kind,
        required=tuple(required),
        optional=tuple(optional),
        kinds={name: column_kind(fields[name].dtype) for name in (*required, *optional)},
        must_be_present=frozenset(name for name in fields if not fields[name].nullable),
    )


PROGRAMS = table_spec("programs", ProgramsModel, PROGRAM_COLUMNS[:4], PROGRAM_COLUMNS[4:])
COHORTS = table_spec("cohorts", CohortsModel, COHORT_REQUIRED_COLUMNS, COHORT_OPTIONAL_COLUMNS)
EVIDENCE = table_spec(
    "evidence", EvidenceModel, EVIDENCE_REQUIRED_COLUMNS, EVIDENCE_OPTIONAL_COLUMNS
)
RESPONSES = table_spec(
    "responses", ResponsesModel, RESPONSE_REQUIRED_COLUMNS, RESPONSE_OPTIONAL_COLUMNS
)
