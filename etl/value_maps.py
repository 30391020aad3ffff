"""How a mapping's value maps and drop: entries apply to an export's columns (etl.mapping).

- Value maps: each distinct source value is looked up once, by its key (`value_key`);
  an SPSS code is looked up by itself, then through its value label, so a map keyed by labels
  serves a file of codes, and a reversed coding (1 = "Strongly agree") loads as the labels say,
  never as the codes are. A value with no entry is a row-level problem unless it is already
  canonical, and a code of a label-keyed map never is.
- drop: entries are column names or fnmatch patterns (`"Q30_*"`, `"*_TEXT"`); a pattern never
  leaves out a column that `columns:` maps or `linking:` uses.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contract import AUDIENCES, WAVES

if TYPE_CHECKING:
    from etl.mapping import Mapping


NUMBER = re.compile(r"^[-+]?\d+(\.\d*)?$")


def value_key(value: object) -> str:
    """How source values are compared with the mapping's keys: trimmed, blanks collapsed,
    case-folded, whole numbers without decimals (so 1, 1.0 and '1' are one key)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split()).casefold()
    if NUMBER.match(text) and float(text).is_integer():
        text = str(int(float(text)))
    return text


def source_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A source column as trimmed text, blanks as null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def already_canonical(target: str, numeric: bool):
    """Whether a source value with no mapping is already what the target takes: a number for
    an item or a numeric column (a raw export next to a labelled one), a wave or audience."""
    if numeric:
        return lambda value: bool(NUMBER.match(value.strip()))
    vocabulary = {"wave": set(WAVES), "audience": set(AUDIENCES)}.get(target)
    if vocabulary is None:
        return lambda value: False
    return lambda value: value in vocabulary


def keyed_by_labels(value_map: dict[str, str | None]) -> bool:
    """Whether a value map translates answer labels: a key that is not a number gives a value.
    A map whose only labels go to null (`{"Don't know": null}`) still takes codes as they are."""
    return any(value is not None and not NUMBER.match(key) for key, value in value_map.items())


def apply_values(
    column: pa.Array,
    value_map: dict[str, str | None],
    passes=lambda value: False,
    labels: dict[str, str] | None = None,
) -> tuple[pa.Array, np.ndarray, pa.Array]:
    """Map each distinct source value once; returns the mapped column (unmapped values kept as
    they were), a mask of rows whose value has no mapping, and each row's value as a reason
    names it.

    `labels` are the source column's value labels (SPSS: code -> label). A code is looked up
    by itself first, then by its label, so a map keyed by labels serves a file of codes. With
    such a map a code is never taken as already canonical: a code whose label has no entry is
    unmapped (named with its label), and so is a code with no label when the map translates
    other labels of the column, since passing it through would load a reversed coding
    reversed (1 = "Strongly agree" is not 1 on a map where "Strongly disagree" is 1).
    """
    labels = {value_key(code): str(label) for code, label in (labels or {}).items()}
    by_label = bool(labels) and keyed_by_labels(value_map)
    translates = by_label and any(
        value_map.get(value_key(label)) is not None for label in labels.values()
    )
    encoded = column.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    mapped, known, shown = [], [], []
    for value in distinct:
        key = value_key(value)
        label = labels.get(key)
        label_key = value_key(label) if label is not None else None
        if key in value_map:
            mapped.append(value_map[key])
            known.append(True)
        elif label_key is not None and label_key in value_map:
            mapped.append(value_map[label_key])
            known.append(True)
        else:
            mapped.append(value)
            if by_label and label is not None:
                known.append(False)
                value = f"{value} (value label: {label})"
            elif translates and NUMBER.match(value.strip()):
                known.append(False)
                value = f"{value} (no value label in the file)"
            else:
                known.append(passes(value))
        shown.append(value)
    indices = encoded.indices
    result = pc.take(pa.array(mapped, pa.string()), indices)
    unmapped = pc.take(pa.array(known, pa.bool_()), indices)
    unmapped = pc.invert(pc.fill_null(unmapped, True)).to_numpy(zero_copy_only=False)
    return result, unmapped, pc.take(pa.array(shown, pa.string()), indices)


GLOB = re.compile(r"[*?\[]")


def dropped_columns(names: list[str], mapping: Mapping, exact: tuple[str, ...] = ()) -> list[str]:
    """The export's columns left out on purpose, in the order drop: lists them.

    An entry of drop: that is a column's name leaves out that column; any other entry with
    `*`, `?` or `[` is a pattern (fnmatch, case-sensitive: `"Q1_*"`, `"*_TEXT"`) leaving out
    every column it matches, except a column that columns: maps or linking: uses (naming a
    column says more than a pattern). `exact` (`--drop`) holds names only. Names and patterns
    that match nothing are ignored, so one mapping serves exports that differ slightly.
    """
    present = set(names)
    kept = set(mapping.columns) | set(mapping.linking.components if mapping.linking else ())
    found: list[str] = []
    for entry in mapping.drop:
        if entry in present:
            found.append(entry)
        elif GLOB.search(entry):
            found += [
                name for name in names if name not in kept and fnmatch.fnmatchcase(name, entry)
            ]
    found += [name for name in exact if name in present]
    return list(dict.fromkeys(found))
