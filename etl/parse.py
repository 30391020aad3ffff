"""Parse an input table's columns into typed values, naming every value of the wrong type.

The first of the two validation passes (the second is `etl.validate.schema_failures`): each
column is read as its model field's kind (schemas/specs.py) a whole column at a time in Arrow,
and a value that is not a number, not a date, not true/false, or blank where the field is not
nullable becomes a failure of value_is_a_number, value_is_a_date, value_is_true_or_false or
value_is_present.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pyarrow
import pyarrow.compute as pc

from etl.columns import each_column
from etl.dates import ISO_DATE, real_dates
from schemas.rules import failures, no_failures
from schemas.specs import TableSpec

NUMBER = r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"


def text_values(array: pyarrow.ChunkedArray) -> pyarrow.ChunkedArray:
    """Any column as trimmed text, blanks as null (as ``parse`` reads text)."""
    if not pyarrow.types.is_string(array.type) and not pyarrow.types.is_large_string(array.type):
        if pyarrow.types.is_floating(array.type):
            integral = pc.equal(pc.round(array), array)
            as_int = pc.cast(pc.if_else(integral, array, None), pyarrow.int64(), safe=False)
            array = pc.if_else(
                integral, pc.cast(as_int, pyarrow.string()), pc.cast(array, pyarrow.string())
            )
        elif pyarrow.types.is_timestamp(array.type):
            array = pc.strftime(array, format="%Y-%m-%d")
        else:
            array = pc.cast(array, pyarrow.string())
    trimmed = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def _numbers(
    array: pyarrow.ChunkedArray, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 (written into ``out`` when given) and a mask of values that are present
    but not numbers."""
    if pyarrow.types.is_floating(array.type) or pyarrow.types.is_integer(array.type):
        values = _float64(pc.cast(array, pyarrow.float64()), out)
        return values, np.zeros(len(values), dtype=bool)
    text = text_values(array)
    try:
        values = _float64(pc.cast(text, pyarrow.float64()), out)
        return values, np.zeros(len(text), dtype=bool)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        is_number = pc.fill_null(pc.match_substring_regex(text, NUMBER), True)
        values = _float64(pc.cast(pc.if_else(is_number, text, None), pyarrow.float64()), out)
        return values, ~is_number.to_numpy(zero_copy_only=False)


def _float64(array: pyarrow.ChunkedArray, out: np.ndarray | None) -> np.ndarray:
    """A float64 Arrow column as numpy, nulls as NaN, chunk by chunk into ``out`` if given."""
    if out is None:
        return array.to_numpy(zero_copy_only=False)
    start = 0
    for chunk in array.chunks:
        out[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        start += len(chunk)
    return out


def iso_dates(array: pyarrow.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """ISO dates (exactly YYYY-MM-DD) as datetime64[s], and a mask of values that are present
    but not such dates.

    Seconds, not nanoseconds: datetime64[ns] holds only 1677-09-21 to 2262-04-11 and wraps
    outside it (1583-01-01 became 2167-07-21). In seconds every year stays as written, and
    the contract's plausibility rules (schemas/tables.py) name a date such as 1583-01-01."""
    text = text_values(array)
    try:  # fast path: every value a valid ISO date (Arrow's cast is strict: four-digit years)
        days = pc.cast(text, pyarrow.date32()).to_numpy(zero_copy_only=False)
        return days.astype("datetime64[s]"), np.zeros(len(days), dtype=bool)
    except pyarrow.ArrowInvalid:
        pass
    shaped = pc.if_else(pc.match_substring_regex(text, ISO_DATE), text, None)
    dates = real_dates(shaped)  # 2024-02-31 is no date
    bad = pc.and_(pc.is_valid(text), pc.is_null(dates))
    values = pc.cast(dates, pyarrow.date32()).to_numpy(zero_copy_only=False)
    return values.astype("datetime64[s]"), bad.to_numpy(zero_copy_only=False)


def _booleans(array: pyarrow.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    lowered = pc.utf8_lower(text_values(array))
    is_true = pc.fill_null(pc.equal(lowered, "true"), False).to_numpy(zero_copy_only=False)
    is_false = pc.fill_null(pc.equal(lowered, "false"), False).to_numpy(zero_copy_only=False)
    present = pc.is_valid(lowered).to_numpy(zero_copy_only=False)
    return is_true, present & ~is_true & ~is_false


def item_block(n_rows: int, n_items: int) -> np.ndarray:
    """Room for the item answers: rows x items, column-major (each item contiguous)."""
    return np.empty((n_rows, n_items), dtype=np.float64, order="F")


def parse(
    table: pyarrow.Table,
    spec: TableSpec,
    item_columns: tuple[str, ...] = (),
    items: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed columns, and the failures of values that are missing or of the wrong type.

    The item columns are written into one column-major float64 block (``items``, from
    ``item_block``, if the caller wants to keep it) that the frame's item columns are views of:
    pandas does not copy 44 million answers to consolidate them, and scoring reads views."""
    n_rows = table.num_rows
    typed: dict[str, object] = {}
    if items is None:
        items = item_block(n_rows, len(item_columns))
    item_position = {column: position for position, column in enumerate(item_columns)}
    found: list[pd.DataFrame] = []
    raw_text: dict[str, pyarrow.ChunkedArray] = {}

    def fail(column: str, rule: str, mask: np.ndarray) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            if column not in raw_text:
                raw_text[column] = text_values(table.column(column))
            values = raw_text[column].take(pyarrow.array(rows)).to_pylist()
            found.append(failures(rows, rule, column, values))

    def item_values(column: str) -> np.ndarray | None:
        """Write an item column into its place in the block; its not-a-number mask."""
        values = items[:, item_position[column]]
        if column not in table.column_names:
            values[:] = np.nan
            return None
        return _numbers(table.column(column), out=values)[1]

    for column in spec.columns:
        if column not in table.column_names:
            if column in spec.numbers:
                typed[column] = np.full(n_rows, np.nan)
            else:
                typed[column] = pd.Series([None] * n_rows, dtype="str")
            continue
        array = table.column(column)
        if column in spec.numbers:
            values, bad = _numbers(array)
            fail(column, "value_is_a_number", bad)
            missing = np.isnan(values) & ~bad
        elif column in spec.dates:
            values, bad = iso_dates(array)
            fail(column, "value_is_a_date", bad)
            missing = np.isnat(values) & ~bad
        elif column in spec.booleans:
            values, bad = _booleans(array)
            fail(column, "value_is_true_or_false", bad)
            missing = pc.is_null(text_values(array)).to_numpy(zero_copy_only=False)
        else:
            text = text_values(array)
            values = text.to_pandas(
                types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan)
            )
            missing = values.isna().to_numpy()
        if column in spec.must_be_present:
            fail(column, "value_is_present", missing)
        typed[column] = values
    for column, bad in zip(item_columns, each_column(item_values, item_columns), strict=True):
        if bad is not None:
            fail(column, "value_is_a_number", bad)
    frame = pd.DataFrame(typed)
    if item_columns:
        frame = pd.concat(
            [frame, pd.DataFrame(items, columns=list(item_columns), copy=False)], axis=1
        )
    return frame, pd.concat(found, ignore_index=True) if found else no_failures()
