"""Check an input table against the contract and split it into valid rows and a quarantine.

A file is refused whole for a missing required column, personal data or an unknown column
(`check_columns`). Its rows then pass two vectorised passes: parsing (`etl.parse`: is each
value a number, a date, true/false, present?) and the Pandera model's checks
(`schema_failures`: allowed values, ranges, references, cross-column rules). Every row that
breaks any rule is quarantined with every rule it broke, in words (`split`); nothing is dropped.
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

from etl.columns import each_column
from etl.privacy import find_personal_data
from etl.refusal import FileRejected
from schemas.rules import SET_ASIDE_RULES, describe, failures, no_failures
from schemas.specs import TableSpec

ITEM_LIKE = re.compile(r"^([A-Za-z]+)_?\d+[A-Za-z]?$")


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
                found.append(failures(failing, check.name, name, series.take(failing).to_numpy()))
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
            parts.append(failures(failing, check.name))
    if not parts:
        return no_failures()
    return pd.concat(parts, ignore_index=True)


def set_aside_first(found: pd.DataFrame) -> pd.DataFrame:
    """Rows broken by a set-aside rule keep only those failures (see SET_ASIDE_RULES)."""
    set_aside = found["rule"].isin(SET_ASIDE_RULES).to_numpy()
    if not set_aside.any():
        return found
    rows = np.unique(found["row"].to_numpy(dtype=np.int64)[set_aside])
    other = found["row"].isin(rows).to_numpy() & ~set_aside
    return found[~other]


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
    found: pd.DataFrame,
    table: pyarrow.Table,
    hash_code: Callable[[str], str] | None = None,
    row_numbers: np.ndarray | None = None,
) -> Validated:
    """Valid rows, and a quarantine with each failing row's rules and reasons.

    ``row_numbers`` are the rows' numbers as a spreadsheet shows the file (default: the header
    is row 1, data from row 2); a platform export's header rows, merged or skipped rows make
    them differ. A participant code is never quoted: the reasons name its keyed hash."""
    found = set_aside_first(found).sort_values(["row"], kind="stable")
    if hash_code is not None:
        # (a blank code component's failure names the components, not the code)
        coded = (
            (found["column"] == "participant_code").to_numpy()
            & found["value"].notna().to_numpy()
            & (found["rule"] != "code_components_are_present").to_numpy()
        )
        if coded.any():
            found = found.copy()
            found.loc[coded, "value"] = [
                "hmac:" + hash_code(str(value)) for value in found["value"][coded]
            ]
    bad_rows = np.unique(found["row"].to_numpy(dtype=np.int64))
    keep = np.ones(len(frame), dtype=bool)
    keep[bad_rows] = False
    rules: list[list[str]] = []
    reasons: list[str] = []
    for _, group in found.groupby("row", sort=True):
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
