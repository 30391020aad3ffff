"""Find the files of a dataset and read each one into an Arrow table, or refuse it clearly.

Reading is byte-exact and format-blind: a CSV with a UTF-8 BOM or CRLF line endings, a UTF-16
export, an Excel workbook and a Parquet file with the same rows give the same table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.delimited import RAGGED_COLUMN, check_header, encoding_of, read_delimited, with_encoding
from etl.refusal import FileRejected
from schemas.contract import (
    COHORTS_FILE,
    EVIDENCE_FILE,
    INSTRUMENT_FILE,
    PROGRAMS_FILE,
    RESPONSE_SUFFIXES,
)
from schemas.rules import failures, no_failures


@dataclass
class InputSet:
    """The files of one ingest, told apart by name."""

    instrument: Path | None = None
    programs: Path | None = None
    cohorts: Path | None = None
    evidence: Path | None = None
    responses: list[Path] = field(default_factory=list)

    def all_files(self) -> list[Path]:
        named = [self.instrument, self.programs, self.cohorts, self.evidence]
        return [path for path in named if path is not None] + self.responses


def _is_hidden(path: Path) -> bool:
    return any(part.startswith((".", "~$")) for part in path.parts if part not in (".", ".."))


def discover(paths: list[Path], response_suffixes: tuple[str, ...] = ()) -> InputSet:
    """Sort the given files and folders (searched recursively) into an InputSet."""
    found = InputSet()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not _is_hidden(p.relative_to(path))
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    for path in files:
        name = path.name.lower()
        if name == INSTRUMENT_FILE:
            found.instrument = path
        elif name == PROGRAMS_FILE:
            found.programs = path
        elif name == COHORTS_FILE:
            found.cohorts = path
        elif name == EVIDENCE_FILE:
            found.evidence = path
        elif path.suffix.lower() in RESPONSE_SUFFIXES + response_suffixes:
            found.responses.append(path)
    return found


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_csv_bytes(
    data: bytes, numeric_columns: frozenset[str] = frozenset(), encoding: str | None = None
) -> pa.Table:
    """Parse CSV (or TSV) bytes; columns named in numeric_columns are read as float64 when
    every value is a number, every other column as text. Rows whose field count is not the
    header's are marked (see etl.delimited); the encoding read is in the table's metadata.
    Entirely empty trailing columns with no name (a trailing comma on every line) are left
    out; every other column needs a name of its own."""
    cells, table = read_delimited(data, encoding, numeric_columns)
    names = check_header(cells) + ([RAGGED_COLUMN] if RAGGED_COLUMN in table.column_names else [])
    return with_encoding(table.rename_columns(names), encoding_of(table))


@contextmanager
def first_sheet_rows(data: bytes, fix: str) -> Iterator[Iterator[tuple]]:
    """The rows of an Excel workbook's first sheet, as openpyxl gives their values, read
    lazily; the workbook is closed after the block. A file that is no workbook is refused,
    with ``fix`` saying how to mend it."""
    import openpyxl  # heavy, and only Excel files need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise FileRejected(
            f"the file cannot be opened as an Excel workbook ({type(error).__name__})", fix
        ) from error
    try:
        yield workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _excel_table(data: bytes) -> pa.Table:
    """The first sheet as text columns named by its first row; blank rows are left out."""
    fix = "Open it in Excel and save it again as .xlsx, or export CSV UTF-8."
    with first_sheet_rows(data, fix) as rows:
        header_row = next(rows, None)
        if header_row is None:
            raise FileRejected(
                "the workbook's first sheet is empty", "Put the data on the first sheet."
            )
        width = len(header_row)
        while width and header_row[width - 1] in (None, ""):
            width -= 1
        header = check_header(
            [column if column is not None else "" for column in header_row[:width]]
        )
        columns: list[list[object]] = [[] for _ in header]
        for row in rows:
            values = list(row[:width]) + [None] * (width - len(row))
            if all(value in (None, "") for value in values):
                continue
            for position, value in enumerate(values):
                columns[position].append(cell_text(value))
    return pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )


def cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parquet_table(data: bytes) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as error:
        raise FileRejected(
            f"the file cannot be read as Parquet ({error})", "Export it again as Parquet or CSV."
        ) from error
    check_header(table.column_names)
    return table


def read_table(
    path: Path,
    data: bytes,
    numeric_columns: frozenset[str] = frozenset(),
    encoding: str | None = None,
) -> pa.Table:
    """Read one input file's bytes into an Arrow table, whatever its format."""
    suffix = path.suffix.lower()
    if not data:
        raise FileRejected("the file is empty (0 bytes)", "Export it again with data.")
    if suffix == ".xlsx":
        table = _excel_table(data)
    elif suffix == ".parquet":
        table = _parquet_table(data)
    elif suffix in (".csv", ".tsv", ".txt"):
        table = read_csv_bytes(data, numeric_columns, encoding)
    else:
        raise FileRejected(f"'{suffix}' files are not read", "Give a .csv, .xlsx or .parquet file.")
    if table.num_rows == 0:
        raise FileRejected("the file has a header but no data rows", "Export it again with data.")
    return table


def take_ragged(table: pa.Table) -> tuple[pa.Table, pd.DataFrame]:
    """The table without the reader's ragged-row mark, and a failure for each marked row."""
    if RAGGED_COLUMN not in table.column_names:
        return table, no_failures()
    marks = table.column(RAGGED_COLUMN)
    rows = np.flatnonzero(pc.is_valid(marks).to_numpy(zero_copy_only=False))
    ragged = failures(
        rows, "row_has_as_many_fields_as_header", None, marks.take(pa.array(rows)).to_pylist()
    )
    return table.drop_columns([RAGGED_COLUMN]), ragged


def read_canonical_table(
    source: str, data: bytes, numbers: frozenset[str]
) -> tuple[pa.Table, pd.DataFrame]:
    """A file in the canonical layout as read (``numbers``: columns read as numbers where every
    value is one), without the reader's ragged-row mark, and the failures of its ragged rows."""
    return take_ragged(read_table(Path(source), data, numbers))


def read_file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FileRejected(
            f"the file cannot be read ({error.strerror})", "Check its permissions."
        ) from error
