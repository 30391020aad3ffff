"""One table file in the canonical layout (programmes, cohorts, evidence) read and checked
against the contract: its valid rows and its quarantine, each row with every rule it broke.

`attune ingest` stores what this finds; `attune pool FILE` pools the valid rows of an
evidence file without any database. Both read and check a file through this one path, so a
row that ingest quarantines is never pooled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from etl.delimited import encoding_of
from etl.parse import parse
from etl.read import read_canonical_table, read_file_bytes
from etl.validate import Validated, check_columns, schema_failures, split
from schemas.contract import DEFAULT_ARM
from schemas.rules import failures, no_failures
from schemas.specs import EVIDENCE, TableSpec
from schemas.tables import EvidenceModel
from stats.meta import study_effect_size

# What a table stores beyond its file (evidence: the effect sizes), and the failures of that.
Complete = Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


@dataclass
class TableFile:
    """One table file as checked."""

    validated: Validated  # every row as parsed, which rows to keep, the quarantine
    dropped: list[str] = field(default_factory=list)  # columns left out on request (--drop)
    encoding: str | None = None  # the text encoding the file was read as


def validate_table_file(
    source: str,
    data: bytes,
    spec: TableSpec,
    schema: pa.DataFrameSchema,
    *,
    drop: tuple[str, ...] = (),
    complete: Complete | None = None,
    read_as: Callable[[str | None], None] | None = None,
) -> TableFile:
    """Read ``data`` (the bytes of the file named ``source``) as a ``spec`` table and check
    every row against ``schema``: parsing, the model's checks, ragged rows and what
    ``complete`` adds. Raises ``FileRejected`` when the file is refused whole (unreadable, a
    required column missing, an unknown column, personal data); ``read_as`` hears the text
    encoding as soon as the file is read, so that a refusal still records it."""
    table, ragged = read_canonical_table(source, data, spec.numbers)
    encoding = encoding_of(table)
    if read_as is not None:
        read_as(encoding)
    table, dropped = check_columns(table, spec, drop=drop)
    frame, found = parse(table, spec)
    found = pd.concat([found, schema_failures(frame, schema), ragged], ignore_index=True)
    if complete is not None:
        frame, more = complete(frame)
        found = pd.concat([found, more], ignore_index=True)
    return TableFile(split(frame, found, table), dropped, encoding)


def effect_sizes(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evidence rows with yi and vi worked out from what each study reports
    (stats.meta.study_effect_size) and synthetic blank as false, and a failure of
    effect_size_is_given for each row that gives no usable effect size."""
    frame = frame.copy()
    converted = [study_effect_size(row) for row in frame.to_dict("records")]
    frame["yi"] = [pair[0] if pair else np.nan for pair in converted]
    frame["vi"] = [pair[1] if pair else np.nan for pair in converted]
    # (a file without the column has it as blank text: object dtype fills it without a cast)
    frame["synthetic"] = (
        frame["synthetic"].astype(object).fillna(False).astype(bool)
        if "synthetic" in frame
        else False
    )
    no_effect = np.flatnonzero(frame["yi"].isna().to_numpy() | frame["vi"].isna().to_numpy())
    return frame, failures(no_effect, "effect_size_is_given")


def cohort_arms(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort rows with a blank arm (or a file without the column) as the default arm,
    intervention: a file written before cohorts had an arm holds trained cohorts only. An arm
    that is not allowed was quarantined by arm_is_allowed already."""
    frame = frame.copy()
    frame["arm"] = frame["arm"].astype(object).fillna(DEFAULT_ARM).astype(str)
    return frame, no_failures()


def validate_evidence(source: str, data: bytes, drop: tuple[str, ...] = ()) -> TableFile:
    """An evidence file checked as `attune ingest` checks it; each valid row carries the
    ``yi`` and ``vi`` worked out from what the study reports (``effect_sizes``)."""
    return validate_table_file(
        source, data, EVIDENCE, EvidenceModel.to_schema(), drop=drop, complete=effect_sizes
    )


def read_evidence_file(path: Path, drop: tuple[str, ...] = ()) -> TableFile:
    """``validate_evidence`` of the file at ``path`` (``FileRejected`` if it cannot be read)."""
    return validate_evidence(str(path), read_file_bytes(Path(path)), drop)
