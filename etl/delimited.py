"""Text files as they really come: their encoding, their header, and rows that do not fit it.

- Encodings: UTF-8 with or without a BOM, UTF-16 with a BOM, and, for a file that is not
  UTF-8, Windows-1252 (what Excel and older survey tools save on Windows) as a recorded guess;
  an explicit encoding (the mapping's `encoding:`) overrides the guess.
- Headers: blank names of entirely empty trailing columns (a trailing comma on every line) are
  ignored; a blank name over values, or a header that cannot be read, refuses the file.
- Ragged rows: a row with more or fewer fields than the header (a hand-edited file, a
  download cut short) is kept in its place as an all-blank row, marked in `RAGGED_COLUMN`
  with what is wrong, so that it is quarantined under `row_has_as_many_fields_as_header`
  and the rest of the file loads. Rows keep their numbers either way.

Nothing here quotes a row's values in an error: a refused file's message may be stored, and a
row holds participant codes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from etl.refusal import FileRejected

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
LEGACY_ENCODING = "windows-1252"
GUESSED = " (guessed)"
# Where a reader records how a table's text was decoded (the Arrow schema's metadata).
ENCODING_KEY = b"attune.encoding"
# The reader's mark on a row whose field count differs from the header's.
RAGGED_COLUMN = "_attune_ragged_row"
FIELD_COUNT = re.compile(r"Expected \d+ columns, got \d+")
# Control characters never found in a survey export's text: a file holding them is not text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Text:
    """A file's text as UTF-8 bytes without a BOM, and the encoding it was read as."""

    data: bytes
    encoding: str


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _not_utf8(data: bytes, error: UnicodeDecodeError) -> FileRejected:
    return FileRejected(
        f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} on line "
        f"{_line_of(data, error.start)}), nor Windows-1252",
        "Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8), or name its encoding "
        "with encoding: in the mapping file, and ingest it again.",
    )


def decode(data: bytes, encoding: str | None = None) -> Text:
    """The file's text, read as ``encoding`` when given, else as its BOM or UTF-8 says.

    UTF-8 without a BOM is not checked here (the CSV parser checks every value as it reads,
    which is faster); ``checked_text`` and ``legacy_text`` do the rest."""
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError as error:
            raise FileRejected(
                f"encoding: {encoding!r} is not an encoding Python knows",
                "Use a name such as utf-8, utf-16, windows-1252 or latin-1.",
            ) from error
        try:
            decoded = data.decode(name)
        except UnicodeDecodeError as error:
            raise FileRejected(
                f"the file is not {encoding} text (byte 0x{data[error.start]:02x} on line "
                f"{_line_of(data, error.start)})",
                "Fix encoding: in the mapping file, or export the file again as CSV UTF-8.",
            ) from error
        return Text(decoded.removeprefix("\ufeff").encode("utf-8"), name)
    if data.startswith(UTF8_BOM):
        body = data[len(UTF8_BOM) :]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FileRejected(
                f"the file starts like UTF-8 but is not UTF-8 (byte 0x{body[error.start]:02x} "
                f"on line {_line_of(body, error.start)})",
                "Save it again as 'CSV UTF-8'.",
            ) from error
        return Text(body, "utf-8-sig")
    if data.startswith(UTF16_BOMS):
        try:
            return Text(data.decode("utf-16").encode("utf-8"), "utf-16")
        except UnicodeDecodeError as error:
            raise FileRejected(
                "the file starts like UTF-16 but is not valid UTF-16",
                "Export it again as CSV UTF-8.",
            ) from error
    return Text(data, "utf-8")


def legacy_text(data: bytes) -> Text:
    """A file that is not UTF-8, read as Windows-1252, or refused naming the first bad byte.

    Windows-1252 leaves five byte values undefined and real text holds no control characters,
    so binary data and other multi-byte encodings are refused rather than read as gibberish."""
    try:
        data.decode("utf-8")
        return Text(data, "utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            decoded = data.decode(LEGACY_ENCODING)
        except UnicodeDecodeError:
            raise _not_utf8(data, utf8_error) from utf8_error
        if CONTROL.search(decoded):
            raise _not_utf8(data, utf8_error) from utf8_error
        return Text(decoded.encode("utf-8"), LEGACY_ENCODING + GUESSED)


def with_encoding(table: pa.Table, encoding: str | None) -> pa.Table:
    """The table, remembering how its text was decoded."""
    if encoding is None:
        return table
    metadata = dict(table.schema.metadata or {})
    metadata[ENCODING_KEY] = encoding.encode("utf-8")
    return table.replace_schema_metadata(metadata)


def encoding_of(table: pa.Table) -> str | None:
    """How the reader decoded the table's text (None for binary formats)."""
    value = (table.schema.metadata or {}).get(ENCODING_KEY)
    return value.decode("utf-8") if value is not None else None


# --- The header ----------------------------------------------------------------------------


def first_line(text: bytes) -> bytes:
    """The header line, without copying the rest of a large file."""
    end = text.find(b"\n")
    return text if end < 0 else text[:end]


def sniff_delimiter(text: bytes) -> str:
    line = first_line(text)
    return "\t" if line.count(b"\t") > line.count(b",") else ","


def header_cells(text: bytes, delimiter: str) -> list[str]:
    """The first row's cells, trimmed."""
    try:
        line = first_line(text).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        raise _not_utf8(text, error) from error
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error as error:  # e.g. a stray carriage return inside the header
        raise FileRejected(
            f"the header row cannot be read as CSV ({error})",
            "Export the file again as CSV UTF-8 with one header row.",
        ) from error
    return [cell.strip() for cell in cells]


def check_header(columns: list[str]) -> list[str]:
    """Column names, refusing an empty header, blank names and names used twice."""
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


def unique_names(columns: list[str]) -> list[str]:
    """Names made unique in file order: a second `Q5` becomes `Q5.2`, a third `Q5.3`.

    Survey platforms repeat names (Qualtrics side-by-side questions); the mapping file then
    refers to each copy by its position's name."""
    seen: dict[str, int] = {}
    taken = set(columns)
    result = []
    for column in columns:
        if column not in seen:
            seen[column] = 1
            result.append(column)
            continue
        count = seen[column]
        while True:
            count += 1
            name = f"{column}.{count}"
            if name not in taken:
                break
        seen[column] = count
        taken.add(name)
        result.append(name)
    return result


def drop_blank_trailing_columns(table: pa.Table, names: list[str]) -> tuple[pa.Table, list[str]]:
    """Leave out trailing columns with no name and no value (a trailing comma on every line).
    A nameless column that holds a value stays, for the caller's header check to refuse (or,
    in a SurveyMonkey export, to name from its second header row)."""

    def empty(position: int) -> bool:
        column = table.column(position)
        if column.null_count == len(column):
            return True
        return not pc.any(pc.not_equal(pc.utf8_trim_whitespace(column), "")).as_py()

    width = len(names)
    while width and not names[width - 1] and empty(width - 1):
        width -= 1
    if width < len(names):
        ragged = [RAGGED_COLUMN] if RAGGED_COLUMN in table.column_names else []
        table = table.select([*table.column_names[:width], *ragged])
    return table, names[:width]


# --- The rows ------------------------------------------------------------------------------


def _options(text: bytes, width: int, delimiter: str, newlines: bool, handler=None):
    names = [f"c{position}" for position in range(width)]
    return (
        pa.BufferReader(text),
        pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=4 << 20),
        pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=newlines, invalid_row_handler=handler
        ),
    )


def _convert(width: int, numeric: set[int]) -> pa_csv.ConvertOptions:
    return pa_csv.ConvertOptions(
        column_types={
            f"c{position}": pa.float64() if position in numeric else pa.string()
            for position in range(width)
        },
        strings_can_be_null=True,
        null_values=[""],
    )


def _parse_problem(error: Exception) -> FileRejected:
    """A parser error in words, without the row's text (it may hold a participant code)."""
    message = str(error)
    kept = FIELD_COUNT.search(message)
    what = kept.group(0) if kept else message.split(":", 2)[1].strip() if ":" in message else ""
    return FileRejected(
        f"the file cannot be parsed as CSV ({what or 'malformed row'})",
        "Check that quotes are balanced, or export the file again from the survey platform.",
    )


def _field_counts(text: bytes, delimiter: str) -> np.ndarray:
    """How many fields each record under the header has (blank lines skipped, as the Arrow
    parser skips them)."""
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), delimiter=delimiter)
    next(reader, None)
    return np.array([len(record) for record in reader if record], dtype=np.int64)


def _with_ragged_rows(text: bytes, width: int, delimiter: str, numeric: set[int]) -> pa.Table:
    """Every record in file order; records whose field count is not the header's are blank
    rows marked in RAGGED_COLUMN."""
    counts = _field_counts(text, delimiter)
    good = counts == width
    try:
        table = pa_csv.read_csv(
            *_options(text, width, delimiter, True, lambda row: "skip"), _convert(width, numeric)
        )
    except pa.ArrowInvalid as error:
        raise _parse_problem(error) from error
    if table.num_rows != int(good.sum()):
        raise FileRejected(
            "the file's rows cannot be told apart (quotes or line breaks inside values do not "
            "balance)",
            "Export the file again from the survey platform without editing it.",
        )
    index = np.full(len(counts), 0, dtype=np.int64)
    index[good] = np.arange(table.num_rows)
    placed = table.take(pa.array(index, mask=~good))
    marks = [
        None if ok else f"{count} field(s) where the header has {width}"
        for ok, count in zip(good.tolist(), counts.tolist(), strict=True)
    ]
    return placed.append_column(RAGGED_COLUMN, pa.array(marks, pa.string()))


def parse_rows(
    text: bytes, width: int, delimiter: str, numeric: set[int] = frozenset()
) -> pa.Table:
    """The records under the header as columns c0, c1, ... (float64 where ``numeric`` holds
    the position and every value is a number, else text), ragged rows marked in place.

    Raises ``pa.ArrowInvalid`` for a value that is not a number in a numeric column or text
    that is not UTF-8, for the caller to handle."""

    def attempt(newlines: bool) -> pa.Table:
        return pa_csv.read_csv(
            *_options(text, width, delimiter, newlines), _convert(width, numeric)
        )

    # Parsing in parallel needs rows that never span lines; a quoted value holding a line
    # break is legal CSV, so such a file is parsed again serially.
    try:
        return attempt(False)
    except pa.ArrowInvalid as error:
        if "conversion error" in str(error) or "UTF8" in str(error):
            raise
    try:
        return attempt(True)
    except pa.ArrowInvalid as error:
        if "conversion error" in str(error) or "UTF8" in str(error):
            raise
        if not FIELD_COUNT.search(str(error)):
            raise _parse_problem(error) from error
    return _with_ragged_rows(text, width, delimiter, numeric)


class _NotUtf8(Exception):
    """The text is not UTF-8 after all (found while parsing)."""


def read_delimited(
    data: bytes, encoding: str | None = None, numeric_names: frozenset[str] = frozenset()
) -> tuple[list[str], pa.Table]:
    """A CSV/TSV file's header cells and the rows under them as columns c0, c1, ... (float64
    where the header names a column of ``numeric_names`` and every value is a number, else
    text), ragged rows marked in place, entirely empty nameless trailing columns left out, and
    the encoding read in the table's metadata (``encoding_of``).

    UTF-8 without a BOM is checked by the parser as it reads every value (faster than decoding
    the file first); a file that turns out not to be UTF-8 is read again as Windows-1252."""
    text = decode(data, encoding)
    try:
        return _read_delimited(text, numeric_names)
    except _NotUtf8:
        return _read_delimited(legacy_text(text.data), numeric_names)


def _read_delimited(text: Text, numeric_names: frozenset[str]) -> tuple[list[str], pa.Table]:
    data = text.data
    unchecked = text.encoding == "utf-8"
    if not data or data.isspace():
        raise FileRejected("the file is empty", "Export it again with a header and data rows.")
    if unchecked:
        try:
            first_line(data).decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8() from None
    delimiter = sniff_delimiter(data)
    cells = header_cells(data, delimiter)
    numeric = {position for position, column in enumerate(cells) if column in numeric_names}

    def parsed(numeric: set[int]) -> pa.Table:
        try:
            return parse_rows(data, len(cells), delimiter, numeric)
        except UnicodeDecodeError:
            raise _NotUtf8() from None
        except pa.ArrowInvalid as error:
            if unchecked and "UTF8" in str(error):
                raise _NotUtf8() from None
            raise

    try:
        try:
            table = parsed(numeric)
        except pa.ArrowInvalid as error:
            if "conversion error" not in str(error):
                raise
            # Some value is not a number: read as text and let validation name each one.
            table = parsed(set())
    except pa.ArrowInvalid as error:
        raise FileRejected(
            "the file cannot be parsed as CSV",
            "Check that every row has as many fields as the header and quotes are balanced, "
            "or export the file again from the survey platform.",
        ) from error
    table, cells = drop_blank_trailing_columns(table, cells)
    return cells, with_encoding(table, text.encoding)
