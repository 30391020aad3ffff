"""Find the files of a dataset and read each one into an Arrow table, or refuse it clearly.

Reading is byte-exact and format-blind: a CSV with a UTF-8 BOM or CRLF line endings, a UTF-16
export, an Excel workbook and a Parquet file with the same rows give the same table.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from schemas.contract import (
    COHORTS_FILE,
    EVIDENCE_FILE,
    INSTRUMENT_FILE,
    PROGRAMS_FILE,
    RESPONSE_SUFFIXES,
)

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class FileRejected(Exception):
    """A whole file is refused: nothing of it loads. Says what is wrong and how to fix it."""

    def __init__(self, reason: str, fix: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.reason}. {self.fix}" if self.fix else self.reason


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


def _utf8_bytes(data: bytes, check: bool = True) -> bytes:
    """The file's text as UTF-8 bytes without a BOM, or a refusal naming where it breaks.
    ``check=False`` leaves the check to the caller (the CSV parser checks every text value)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    elif data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as error:
            raise FileRejected(
                "the file starts like UTF-16 but is not valid UTF-16",
                "Export it again as CSV UTF-8.",
            ) from error
    if check:
        _check_utf8(data)
    return data


def _check_utf8(data: bytes) -> None:
    """Refuse text that is not UTF-8, naming the first bad byte and its line."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FileRejected(
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line})",
            "Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8) and ingest it again.",
        ) from error


def _first_line(text: bytes) -> bytes:
    """The header line, without copying the rest of a large file."""
    end = text.find(b"\n")
    return text if end < 0 else text[:end]


def _header(text: bytes, delimiter: str) -> list[str]:
    first_line = _first_line(text).decode("utf-8").rstrip("\r")
    try:
        return next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error as error:  # e.g. a stray carriage return inside the header
        raise FileRejected(
            f"the header row cannot be read as CSV ({error})",
            "Export the file again as CSV UTF-8 with one header row.",
        ) from error


def _check_header(columns: list[str]) -> list[str]:
    cleaned = [str(column).strip() for column in columns]
    if not cleaned or all(not column for column in cleaned):
        raise FileRejected("the file is empty: it has no header row", "Export it again with data.")
    blank = [position + 1 for position, column in enumerate(cleaned) if not column]
    if blank:
        raise FileRejected(
            f"column(s) at position {blank} have no name", "Give every column a header."
        )
    duplicates = sorted({column for column in cleaned if cleaned.count(column) > 1})
    if duplicates:
        raise FileRejected(
            f"column name(s) {duplicates} appear more than once", "Rename or remove the copies."
        )
    return cleaned


def read_csv_bytes(data: bytes, numeric_columns: frozenset[str] = frozenset()) -> pa.Table:
    """Parse CSV (or TSV) bytes; columns named in numeric_columns are read as float64 when
    every value is a number, every other column as text."""
    # Arrow checks that every text value is UTF-8 as it parses (check_utf8), so the whole file
    # is decoded here only to say where it breaks; the header is checked at once.
    text = _utf8_bytes(data, check=False)
    if not text or text.isspace():
        raise FileRejected("the file is empty", "Export it again with a header and data rows.")
    first_line = _first_line(text)
    _check_utf8(first_line)
    delimiter = "\t" if first_line.count(b"\t") > first_line.count(b",") else ","
    header = _check_header(_header(text, delimiter))
    # 4 MiB blocks keep both cores busy parsing (1M rows x 50 columns: 0.9 s, against 1.3 s
    # with 16 MiB blocks on the 2-core benchmark machine).
    read = pa_csv.ReadOptions(column_names=header, skip_rows=1, block_size=4 << 20)

    def convert(numeric: set[str]) -> pa_csv.ConvertOptions:
        return pa_csv.ConvertOptions(
            column_types={
                column: pa.float64() if column in numeric else pa.string() for column in header
            },
            strings_can_be_null=True,
            null_values=[""],
        )

    def attempt(numeric: set[str]) -> pa.Table:
        # Parsing in parallel needs rows that never span lines; a quoted value holding a line
        # break is legal CSV, so such a file is parsed again serially.
        try:
            return pa_csv.read_csv(
                pa.BufferReader(text),
                read,
                pa_csv.ParseOptions(delimiter=delimiter),
                convert(numeric),
            )
        except pa.ArrowInvalid as error:
            if "conversion error" in str(error):
                raise
            parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
            return pa_csv.read_csv(pa.BufferReader(text), read, parse, convert(numeric))

    numeric = {column for column in header if column in numeric_columns}
    try:
        try:
            return attempt(numeric)
        except pa.ArrowInvalid as error:
            if "conversion error" not in str(error):
                raise
            # Some value is not a number: read as text and let validation name each one.
            return attempt(set())
    except pa.ArrowInvalid as error:
        if "UTF8" in str(error):
            _check_utf8(text)  # names the byte and the line
        raise FileRejected(
            f"the file cannot be parsed as CSV ({error})",
            "Check that every row has as many fields as the header and quotes are balanced.",
        ) from error


def _excel_table(data: bytes) -> pa.Table:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise FileRejected(
            f"the file cannot be opened as an Excel workbook ({type(error).__name__})",
            "Open it in Excel and save it again as .xlsx, or export CSV UTF-8.",
        ) from error
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        raise FileRejected(
            "the workbook's first sheet is empty", "Put the data on the first sheet."
        )
    width = len(header_row)
    while width and header_row[width - 1] in (None, ""):
        width -= 1
    header = _check_header([column if column is not None else "" for column in header_row[:width]])
    columns: list[list[object]] = [[] for _ in header]
    for row in rows:
        values = list(row[:width]) + [None] * (width - len(row))
        if all(value in (None, "") for value in values):
            continue
        for position, value in enumerate(values):
            columns[position].append(_cell_text(value))
    workbook.close()
    return pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )


def _cell_text(value: object) -> str | None:
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
    _check_header(table.column_names)
    return table


def read_table(path: Path, data: bytes, numeric_columns: frozenset[str] = frozenset()) -> pa.Table:
    """Read one input file's bytes into an Arrow table, whatever its format."""
    suffix = path.suffix.lower()
    if not data:
        raise FileRejected("the file is empty (0 bytes)", "Export it again with data.")
    if suffix == ".xlsx":
        table = _excel_table(data)
    elif suffix == ".parquet":
        table = _parquet_table(data)
    elif suffix in (".csv", ".tsv", ".txt"):
        table = read_csv_bytes(data, numeric_columns)
    else:
        raise FileRejected(f"'{suffix}' files are not read", "Give a .csv, .xlsx or .parquet file.")
    if table.num_rows == 0:
        raise FileRejected("the file has a header but no data rows", "Export it again with data.")
    return table


def read_file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FileRejected(
            f"the file cannot be read ({error.strerror})", "Check its permissions."
        ) from error
