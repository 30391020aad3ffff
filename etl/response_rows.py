"""Which rows of an export are responses: the reader's ragged rows marked for the quarantine,
REDCap rows merged per record and event (etl/redcap.py), and rows whose wave or event the
mapping maps to null skipped on purpose, each skip counted with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.platforms import Export
from etl.read import take_ragged
from etl.redcap import arrange
from etl.refusal import FileRejected
from etl.value_maps import source_text, value_key

if TYPE_CHECKING:
    from etl.mapping import Mapping


def not_completed(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """REDCap writes `[not completed]` where a survey has no completion time: blank, and the
    rows that say so."""
    marked = pc.fill_null(pc.equal(pc.utf8_lower(column), "[not completed]"), False)
    rows = np.flatnonzero(marked.to_numpy(zero_copy_only=False))
    if not len(rows):
        return column, rows
    return pc.if_else(marked, None, column), rows


def responses_of(
    export: Export, mapping: Mapping
) -> tuple[Export, np.ndarray, Counter, pd.DataFrame]:
    """The export's rows that are responses: ragged rows marked for the quarantine, REDCap
    rows merged per record and event, rows whose wave or event maps to null skipped. Returns
    the export over those rows, each row's position in the file, the skipped rows by reason,
    and the ragged rows' failures."""
    table, ragged = take_ragged(export.table)
    is_ragged = np.zeros(table.num_rows, dtype=bool)
    is_ragged[ragged["row"].to_numpy(dtype=np.int64)] = True
    positions = np.arange(table.num_rows)
    skipped: Counter = Counter()
    if export.format == "redcap":
        if mapping.repeat is not None and "wave" in mapping.columns.values():
            raise FileRejected(
                "with repeat: each instance's wave comes from repeat: waves:, so no column "
                "may also be mapped to wave",
                "Remove the column mapped to wave from columns:, or remove repeat:",
            )
        arranged = arrange(table, mapping.repeat, is_ragged)
        table, positions, skipped = arranged.table, arranged.positions, arranged.skipped
    elif mapping.repeat is not None:
        raise FileRejected(
            "repeat: is for REDCap exports with repeating instruments",
            "Remove repeat: from the mapping file, or set format: redcap",
        )
    wave_source = next(
        (source for source, target in mapping.columns.items() if target == "wave"), None
    )
    wave_map = mapping.values_for("wave") or {}
    if wave_source in table.column_names and None in wave_map.values():
        values = source_text(table.column(wave_source)).to_pylist()
        skip = np.array(
            [value is not None and wave_map.get(value_key(value), "") is None for value in values],
            dtype=bool,
        )
        for value in (value for value, drop in zip(values, skip, strict=True) if drop):
            skipped[f"{wave_source} {value!r} is mapped to null in waves:"] += 1
        if skip.any():
            table = table.filter(pa.array(~skip))
            positions = positions[~skip]
    # The ragged rows' failures, renumbered to the rows kept.
    new_row = np.full(len(is_ragged), -1, dtype=np.int64)
    new_row[positions] = np.arange(len(positions))
    ragged = ragged.assign(row=new_row[ragged["row"].to_numpy(dtype=np.int64)])
    ragged = ragged[ragged["row"] >= 0].reset_index(drop=True)
    return replace(export, table=table), positions, skipped, ragged
