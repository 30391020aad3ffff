"""REDCap projects as they really are: one response from the rows of one record and event.

A REDCap export has one row per record and event, plus one row per instance of each
repeating instrument. So:
- rows of one record and event that are not repeating-instrument rows are merged into one
  (values that disagree keep the rows apart, for the duplicate rule to report);
- repeating-instrument rows become responses only where the mapping's `repeat:` says which
  instrument and which wave each instance is; the record's shared fields (code, cohort,
  profession, kept on its non-repeating row) fill the blanks of each of its instances;
- every other row is skipped with its reason, and counted (rows_skipped).
Rows the reader could not split (all blank, marked ragged) are left alone for the quarantine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.refusal import FileRejected

EVENT_COLUMNS = ("redcap_event_name", "Event Name")
INSTRUMENT_COLUMNS = ("redcap_repeat_instrument", "Repeat Instrument")
INSTANCE_COLUMNS = ("redcap_repeat_instance", "Repeat Instance")
# The column that carries each repeating instance's wave (from `repeat: waves:`).
REPEAT_WAVE_COLUMN = "redcap_repeat_wave"


@dataclass(frozen=True)
class Repeat:
    """The mapping's `repeat:`: the repeating instrument that holds the survey, and the wave
    of each instance number (None: skip that instance)."""

    instrument: str
    waves: dict[str, str | None]


@dataclass
class Arranged:
    """The export's rows as responses: the table, each row's position in the file, and the
    rows skipped, counted by reason."""

    table: pa.Table
    positions: np.ndarray
    skipped: Counter


def _first(names: list[str], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in names), None)


def _text(table: pa.Table, name: str | None) -> list[str | None]:
    if name is None:
        return [None] * table.num_rows
    column = pc.utf8_trim_whitespace(table.column(name).cast(pa.string()))
    return [value or None for value in column.to_pylist()]


def _instance_key(value: str | None) -> str:
    text = (value or "").strip()
    try:
        return str(int(float(text)))
    except ValueError:
        return text


def arrange(table: pa.Table, repeat: Repeat | None, ragged: np.ndarray) -> Arranged:
    """Merge and pick the rows of a REDCap export (see the module's docstring)."""
    names = table.column_names
    record = names[0]  # REDCap always exports the record id field first
    event = _first(names, EVENT_COLUMNS)
    instrument = _first(names, INSTRUMENT_COLUMNS)
    instance = _first(names, INSTANCE_COLUMNS)
    if repeat is not None and (instrument is None or instance is None):
        raise FileRejected(
            "the mapping has repeat: but the export has no redcap_repeat_instrument and "
            "redcap_repeat_instance columns",
            "Export the project with its repeating instruments, or remove repeat: from the "
            "mapping file",
        )
    records, events = _text(table, record), _text(table, event)
    instruments, instances = _text(table, instrument), _text(table, instance)
    rows = table.to_pylist() if _needs_merging(records, events, instruments, ragged) else None
    if rows is None:
        return Arranged(table, np.arange(table.num_rows), Counter())
    skipped: Counter = Counter()
    kept: list[int] = []
    merged: dict[int, dict] = {}
    base_of: dict[tuple, int] = {}  # (record, event) -> its first non-repeating row
    repeating: dict[tuple, list[int]] = {}
    for position in range(len(rows)):
        if ragged[position] or records[position] is None:
            kept.append(position)
            continue
        key = (records[position], events[position])
        if instruments[position] is None:
            if key not in base_of:
                base_of[key] = position
                kept.append(position)
                continue
            first = base_of[key]
            target = merged.setdefault(first, dict(rows[first]))
            if _disagree(target, rows[position]):
                kept.append(position)
                continue
            for name, value in rows[position].items():
                if target.get(name) in (None, "") and value not in (None, ""):
                    target[name] = value
            skipped["merged into the response of the same record and event"] += 1
            continue
        name = instruments[position]
        if repeat is None or name != repeat.instrument:
            skipped[
                f"a row of repeating instrument {name!r}, which the mapping's repeat: does "
                "not name"
            ] += 1
            continue
        number = _instance_key(instances[position])
        wave = repeat.waves.get(number, "missing")
        if wave == "missing":
            skipped[f"instance {number} of {name!r}, which repeat: waves: does not list"] += 1
            continue
        if wave is None:
            skipped[f"instance {number} of {name!r}, mapped to null in repeat: waves:"] += 1
            continue
        repeating.setdefault(key, []).append(position)
        merged[position] = dict(rows[position], **{REPEAT_WAVE_COLUMN: wave})
        kept.append(position)
    shared: set[int] = set()  # the records' non-repeating rows, merged into their instances
    if repeat is not None:  # the shared row's fields go into each instance
        for key, first in base_of.items():
            instances_of = repeating.get(key, [])
            base = merged.get(first, rows[first])
            for position in instances_of:
                target = merged[position]
                for name, value in base.items():
                    if target.get(name) in (None, "") and value not in (None, ""):
                        target[name] = value
            shared.add(first)
            skipped[
                "the record's shared row, merged into its instances"
                if instances_of
                else f"a record and event with no instance of {repeat.instrument!r}"
            ] += 1
    kept = sorted(set(kept) - shared)
    columns = [*names, *([REPEAT_WAVE_COLUMN] if repeat is not None else [])]
    data = {
        name: pa.array(
            [merged.get(position, rows[position]).get(name) for position in kept], pa.string()
        )
        for name in columns
    }
    return Arranged(pa.table(data), np.array(kept, dtype=np.int64), skipped)


def _needs_merging(records, events, instruments, ragged) -> bool:
    if any(value is not None for value in instruments):
        return True
    keys = [
        (record, event)
        for record, event, bad in zip(records, events, ragged, strict=True)
        if record is not None and not bad
    ]
    return len(set(keys)) != len(keys)


def _disagree(first: dict, other: dict) -> bool:
    return any(
        value not in (None, "") and first.get(name) not in (None, "") and first[name] != value
        for name, value in other.items()
    )


def never_opened_checkboxes(table: pa.Table) -> pa.Table:
    """Checkbox boxes (`field___N`) all 0 on a form whose `<form>_complete` is blank or 0 were
    never answered: blank, not "unchecked". A form's fields are the columns before its
    `<form>_complete` column, back to the previous form's."""
    names = table.column_names
    columns = {name: table.column(name) for name in names}
    start = 0
    for end, name in enumerate(names):
        if not name.endswith("_complete"):
            continue
        status = pc.fill_null(pc.utf8_trim_whitespace(table.column(name).cast(pa.string())), "")
        unopened = pc.is_in(pc.utf8_lower(status), pa.array(["", "0", "incomplete"]))
        fields: dict[str, list[str]] = {}
        for column in names[start:end]:
            if "___" in column:
                fields.setdefault(column.rsplit("___", 1)[0], []).append(column)
        for boxes in fields.values():
            all_zero = unopened
            for box in boxes:
                value = pc.fill_null(pc.utf8_trim_whitespace(columns[box].cast(pa.string())), "")
                all_zero = pc.and_(all_zero, pc.equal(value, "0"))
            for box in boxes:
                columns[box] = pc.if_else(all_zero, None, columns[box].cast(pa.string()))
        start = end + 1
    return pa.table(columns).replace_schema_metadata(table.schema.metadata)
