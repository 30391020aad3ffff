"""Check an input table against the contract and split it into valid rows and a quarantine.

Two passes, both vectorised: parsing (is each value a number, a date, true/false, present?) and
the Pandera model of the table (allowed values, ranges, references, cross-column rules). Every
row that breaks any rule is quarantined with every rule it broke, in words; nothing is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc

from etl.columns import each_column
from etl.dates import ISO_DATE, real_dates
from etl.delimited import RAGGED_COLUMN
from etl.privacy import find_personal_data
from etl.read import FileRejected
from schemas.tables import describe

NUMBER = r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"
ITEM_LIKE = re.compile(r"^([A-Za-z]+)_?\d+[A-Za-z]?$")


@dataclass(frozen=True)
class TableSpec:
    """The columns a kind of input file has, and how each is parsed."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    numbers: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    nullable: frozenset[str] = frozenset()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass
class Validated:
    """The outcome of validating one table."""

    frame: pd.DataFrame  # every row as parsed
    keep: np.ndarray  # rows that broke no rule
    quarantine: pd.DataFrame  # source_row, rules, reasons, raw
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.frame)

    @property
    def valid(self) -> pd.DataFrame:
        return self.frame[self.keep]

    @property
    def rule_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rules in self.quarantine["rules"]:
            for rule in rules:
                counts[rule] = counts.get(rule, 0) + 1
        return dict(sorted(counts.items(), key=lambda pair: -pair[1]))


def check_columns(
    table: pyarrow.Table,
    spec: TableSpec,
    known_items: tuple[str, ...] = (),
    drop: tuple[str, ...] = (),
) -> tuple[pyarrow.Table, list[str]]:
    """Refuse the file for missing required columns, personal data or unknown columns."""
    present = [column for column in drop if column in table.column_names]
    if present:
        table = table.drop_columns(present)
    columns = table.column_names
    missing = [column for column in spec.required if column not in columns]
    if missing:
        raise FileRejected(
            f"missing required column(s): {', '.join(missing)}",
            f"A {spec.kind} file needs the columns {', '.join(spec.required)}.",
        )
    expected = set(spec.columns) | set(known_items)
    text_columns = {
        column: table.column(column).to_pandas()
        for column in columns
        if column not in expected or pyarrow.types.is_string(table.column(column).type)
    }
    findings = find_personal_data(
        text_columns, expected_text_columns=expected - spec.numbers - set(known_items)
    )
    if findings:
        raise FileRejected("; ".join(finding.message() for finding in findings))
    unknown = [column for column in columns if column not in expected]
    if unknown:
        known_prefixes = {
            ITEM_LIKE.match(item).group(1) for item in known_items if ITEM_LIKE.match(item)
        }
        unknown_items = [
            column
            for column in unknown
            if (match := ITEM_LIKE.match(column)) and match.group(1) in known_prefixes
        ]
        if unknown_items:
            raise FileRejected(
                f"unknown item column(s): {', '.join(unknown_items)} are not items of any scale "
                "in instrument.yaml",
                "Add them to a scale in instrument.yaml, or leave them out with --drop.",
            )
        raise FileRejected(
            f"unknown column(s): {', '.join(unknown)}",
            "Leave them out with --drop COLUMN, or rename them to the contract's names "
            "(see the README's input format).",
        )
    return table, present


def no_failures() -> pd.DataFrame:
    """An empty failure frame: one row per failing row, rule and column, with the value."""
    return pd.DataFrame({"row": [], "rule": [], "column": [], "value": []})


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


def _dates(array: pyarrow.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
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
    failures: list[pd.DataFrame] = []
    raw_text: dict[str, pyarrow.ChunkedArray] = {}

    def fail(column: str, rule: str, mask: np.ndarray) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            if column not in raw_text:
                raw_text[column] = text_values(table.column(column))
            values = raw_text[column].take(pyarrow.array(rows)).to_pylist()
            failures.append(
                pd.DataFrame({"row": rows, "rule": rule, "column": column, "value": values})
            )

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
            values, bad = _dates(array)
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
        if column in spec.required and column not in spec.nullable:
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
    failure_frame = (
        pd.concat(failures, ignore_index=True)
        if failures
        else no_failures()
    )
    return frame, failure_frame


def schema_failures(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Every failure of the schema's named checks: one row per failing row, rule and column.

    The checks are the Pandera model's own; they are run here one by one on whole columns so
    that only the failing rows' positions are collected. (Pandera's lazy `validate` formats a
    report line per failing cell, which took about a minute when every row of a
    1,000,000-row file broke a rule.) Types and presence were settled by `parse`, and blanks
    pass value checks, as in Pandera's nullable columns.
    """

    def column_failures(name: str) -> list[pd.DataFrame]:
        series = frame[name]
        found = []
        for check in schema.columns[name].checks:
            output = check(series).check_output  # nulls are dropped: index = row positions
            failing = output.index.to_numpy()[~output.to_numpy(dtype=bool)]
            if len(failing):
                found.append(
                    pd.DataFrame(
                        {
                            "row": failing,
                            "rule": check.name,
                            "column": name,
                            "value": series.take(failing).to_numpy(),
                        }
                    )
                )
        return found

    names = [name for name in schema.columns if name in frame]
    per_column: list[list[pd.DataFrame]] = []
    if names:  # the first check registers Pandera's backends: once, before the threads start
        per_column = [column_failures(names[0]), *each_column(column_failures, names[1:])]
    parts = [part for found in per_column for part in found]
    for check in schema.checks:
        output = check(frame).check_output
        failing = np.flatnonzero(~output.to_numpy(dtype=bool))
        if len(failing):
            parts.append(
                pd.DataFrame({"row": failing, "rule": check.name, "column": None, "value": None})
            )
    if not parts:
        return no_failures()
    return pd.concat(parts, ignore_index=True)


# Rules that set a row aside before any other rule is read: a row the reader could not split
# into the header's fields, and responses the platform marks as not real (previews, tests,
# spam). Such a row is reported under these rules alone and takes part in no other rule (a
# preview never makes the real response with the same code a duplicate).
SET_ASIDE_RULES = (
    "row_has_as_many_fields_as_header",
    "response_is_not_a_preview",
    "response_is_not_spam",
)


def take_ragged(table: pyarrow.Table) -> tuple[pyarrow.Table, pd.DataFrame]:
    """The table without the reader's ragged-row mark, and a failure for each marked row."""
    if RAGGED_COLUMN not in table.column_names:
        return table, no_failures()
    marks = table.column(RAGGED_COLUMN)
    rows = np.flatnonzero(pc.is_valid(marks).to_numpy(zero_copy_only=False))
    failures = pd.DataFrame(
        {
            "row": rows,
            "rule": "row_has_as_many_fields_as_header",
            "column": None,
            "value": marks.take(pyarrow.array(rows)).to_pylist(),
        }
    )
    return table.drop_columns([RAGGED_COLUMN]), failures


def set_aside_first(failures: pd.DataFrame) -> pd.DataFrame:
    """Rows broken by a set-aside rule keep only those failures (see SET_ASIDE_RULES)."""
    set_aside = failures["rule"].isin(SET_ASIDE_RULES).to_numpy()
    if not set_aside.any():
        return failures
    rows = np.unique(failures["row"].to_numpy(dtype=np.int64)[set_aside])
    other = failures["row"].isin(rows).to_numpy() & ~set_aside
    return failures[~other]


def raw_rows_as_json(
    table: pyarrow.Table, rows: np.ndarray, hash_code: Callable[[str], str] | None
) -> list[str]:
    """The quarantined rows as read, as JSON, with the participant code replaced by its hash."""
    if not len(rows):
        return []
    records = table.take(pyarrow.array(rows)).to_pylist()
    result = []
    for record in records:
        if hash_code and record.get("participant_code") not in (None, ""):
            record["participant_code"] = "hmac:" + hash_code(str(record["participant_code"]))
        result.append(json.dumps(record, default=str, ensure_ascii=False))
    return result


def spreadsheet_rows(n_rows: int) -> np.ndarray:
    """Row numbers of a file with one header row, as a spreadsheet shows them."""
    return np.arange(n_rows, dtype=np.int64) + 2


def split(
    frame: pd.DataFrame,
    failures: pd.DataFrame,
    table: pyarrow.Table,
    hash_code: Callable[[str], str] | None = None,
    row_numbers: np.ndarray | None = None,
) -> Validated:
    """Valid rows, and a quarantine with each failing row's rules and reasons.

    ``row_numbers`` are the rows' numbers as a spreadsheet shows the file (default: the header
    is row 1, data from row 2); a platform export's header rows, merged or skipped rows make
    them differ. A participant code is never quoted: the reasons name its keyed hash."""
    failures = set_aside_first(failures).sort_values(["row"], kind="stable")
    if hash_code is not None:
        # (a blank code component's failure names the components, not the code)
        coded = (
            (failures["column"] == "participant_code").to_numpy()
            & failures["value"].notna().to_numpy()
            & (failures["rule"] != "code_components_are_present").to_numpy()
        )
        if coded.any():
            failures = failures.copy()
            failures.loc[coded, "value"] = [
                "hmac:" + hash_code(str(value)) for value in failures["value"][coded]
            ]
    bad_rows = np.unique(failures["row"].to_numpy(dtype=np.int64))
    keep = np.ones(len(frame), dtype=bool)
    keep[bad_rows] = False
    rules: list[list[str]] = []
    reasons: list[str] = []
    for _, group in failures.groupby("row", sort=True):
        rules.append(list(dict.fromkeys(group["rule"])))
        reasons.append(
            "; ".join(
                dict.fromkeys(
                    describe(rule, column, value)
                    for rule, column, value in zip(
                        group["rule"], group["column"], group["value"], strict=True
                    )
                )
            )
        )
    numbers = spreadsheet_rows(len(frame)) if row_numbers is None else row_numbers
    quarantine = pd.DataFrame(
        {
            "source_row": numbers[bad_rows].astype(np.int64),
            "rules": rules,
            "reasons": reasons,
            "raw": raw_rows_as_json(table, bad_rows, hash_code),
        }
    )
    return Validated(frame=frame, keep=keep, quarantine=quarantine)
