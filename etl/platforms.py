"""Read a survey platform's export, as it was exported, into a plain table of text columns.

One reader per platform; each returns an `Export`: the data rows only (the platform's extra
header rows removed), one text column per source column, named the way the mapping file refers
to it, plus what `attune mapping init` needs (question texts, value labels). Turning the table
into the canonical layout is `etl.mapping`'s job.

- Qualtrics CSV/TSV (UTF-8 with or without BOM, UTF-16): columns named by the first header row;
  the question-text row and the `{"ImportId": ...}` row under it are set aside.
- REDCap CSV (raw or labels): columns named by their header (field names in a raw export);
  checkbox values Checked/Unchecked read as 1/0.
- SurveyMonkey CSV/XLSX: two header rows; a column is named by its answer-option row where that
  row names an option, else by its question row (see `surveymonkey_names`).
- SPSS .sav (pyreadstat): numeric variables as their codes, user-defined missing codes as blank.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from etl.read import FileRejected, _cell_text, _check_header, _header, _utf8_bytes, read_table

PLATFORMS = ("qualtrics", "redcap", "surveymonkey", "spss", "canonical")
PLATFORM_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".sav", ".parquet")

# Metadata columns each platform adds. Personal ones are dropped automatically (the summary
# says which); the others are read for their meaning (status, finished) and otherwise left out
# unless the mapping maps them.
QUALTRICS_PERSONAL = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
)
QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "ExternalReference",
    "DistributionChannel",
    "UserLanguage",
)
QUALTRICS_METADATA_PATTERN = re.compile(r"^Q_[A-Za-z]")  # Q_RecaptchaScore, Q_RelevantID...
REDCAP_PERSONAL = ("redcap_survey_identifier",)
REDCAP_METADATA = (
    "record_id",
    "Record ID",
    "redcap_event_name",
    "Event Name",
    "redcap_repeat_instrument",
    "Repeat Instrument",
    "redcap_repeat_instance",
    "Repeat Instance",
    "redcap_data_access_group",
    "Data Access Group",
    "Survey Identifier",
)
REDCAP_METADATA_PATTERN = re.compile(r"(_complete|_timestamp|^Complete\?|^Survey Timestamp)$")
SURVEYMONKEY_PERSONAL = ("IP Address", "Email Address", "First Name", "Last Name")
SURVEYMONKEY_METADATA = ("Respondent ID", "Collector ID", "Start Date", "End Date")
SURVEYMONKEY_METADATA_PATTERN = re.compile(r"^Custom Data( \d+)?$")
# Columns that are dropped as personal data only when they hold e-mail addresses.
PERSONAL_IF_EMAIL = {
    "qualtrics": ("ExternalReference",),
    "surveymonkey": ("Custom Data", "Custom Data 1", "Custom Data 2"),
    "spss": ("ExternalReference",),
}
SURVEYMONKEY_GENERIC_OPTIONS = ("", "Response", "Open-Ended Response")


@dataclass
class Export:
    """A platform export's data rows as text columns, and what describes them."""

    format: str
    table: pa.Table
    first_row: int = 2  # spreadsheet row of the first data row
    questions: dict[str, str] = field(default_factory=dict)  # column -> question text / label
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> code -> label

    def personal_columns(self) -> list[str]:
        """The platform's known personal-data columns present in this export."""
        from etl.privacy import EMAIL

        known = {
            "qualtrics": QUALTRICS_PERSONAL,
            "redcap": REDCAP_PERSONAL,
            "surveymonkey": SURVEYMONKEY_PERSONAL,
            "spss": QUALTRICS_PERSONAL,
        }.get(self.format, ())
        found = [column for column in self.table.column_names if column in known]
        for column in PERSONAL_IF_EMAIL.get(self.format, ()):
            if column in self.table.column_names:
                values = self.table.column(column).drop_null().to_pylist()[:500]
                if any(EMAIL.search(str(value)) for value in values):
                    found.append(column)
        return found

    def is_metadata(self, column: str) -> bool:
        """A column the platform adds that is read for its meaning, never stored as such."""
        if self.format in ("qualtrics", "spss"):
            return column in QUALTRICS_METADATA or bool(QUALTRICS_METADATA_PATTERN.match(column))
        if self.format == "redcap":
            return column in REDCAP_METADATA or bool(REDCAP_METADATA_PATTERN.search(column))
        if self.format == "surveymonkey":
            return column in SURVEYMONKEY_METADATA or bool(
                SURVEYMONKEY_METADATA_PATTERN.match(column)
            )
        return False


# --- Text files ----------------------------------------------------------------------------


def _delimited(data: bytes, check_names: bool = True) -> tuple[list[str], pa.Table]:
    """Header cells and every following row of a CSV/TSV file, as text columns c0, c1, ..."""
    text = _utf8_bytes(data)
    if not text.strip():
        raise FileRejected("the file is empty", "Export it again with a header and data rows.")
    first_line = text.split(b"\n", 1)[0]
    delimiter = "\t" if first_line.count(b"\t") > first_line.count(b",") else ","
    header = _header(text, delimiter)
    header = _check_header(header) if check_names else [str(cell).strip() for cell in header]
    names = [f"c{position}" for position in range(len(header))]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(text),
            pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=4 << 20),
            pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as error:
        raise FileRejected(
            f"the file cannot be parsed as CSV ({error})",
            "Export it again from the survey platform without editing it in a spreadsheet.",
        ) from error
    return header, table


def _row(table: pa.Table, position: int) -> list[str | None]:
    return [table.column(index)[position].as_py() for index in range(table.num_columns)]


def _named(table: pa.Table, names: list[str], skip: int) -> pa.Table:
    table = table.slice(skip)
    return pa.table(
        {name: table.column(index).combine_chunks() for index, name in enumerate(names)}
    )


def _require_rows(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        raise FileRejected("the export has header rows but no responses", "Export it again.")
    return table


def read_qualtrics(data: bytes) -> Export:
    header, table = _delimited(data)
    extra = 0
    for position in range(min(2, table.num_rows)):
        if any((value or "").lstrip().startswith('{"ImportId"') for value in _row(table, position)):
            extra = position + 1
            break
    else:  # a legacy export with only the question-text row
        if table.num_rows and "ResponseId" in header:
            if _row(table, 0)[header.index("ResponseId")] in ("Response ID", "ResponseID"):
                extra = 1
    questions = {}
    if extra:
        questions = {name: text for name, text in zip(header, _row(table, 0), strict=True) if text}
    return Export(
        "qualtrics",
        _require_rows(_named(table, header, extra)),
        first_row=2 + extra,
        questions=questions,
    )


def _checkbox_numbers(table: pa.Table) -> pa.Table:
    """REDCap labelled exports write checkboxes as Checked/Unchecked: read them as 1/0."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if "___" in name or "(choice=" in name:
            column = pc.replace_substring_regex(column, r"^\s*Checked\s*$", "1")
            column = pc.replace_substring_regex(column, r"^\s*Unchecked\s*$", "0")
        columns[name] = column
    return pa.table(columns)


def read_redcap(data: bytes) -> Export:
    header, table = _delimited(data)
    return Export("redcap", _require_rows(_checkbox_numbers(_named(table, header, 0))))


def surveymonkey_names(questions: list[str | None], options: list[str | None]) -> list[str]:
    """Column names of a SurveyMonkey export from its two header rows.

    A column is named by its answer-option row where that row names an option (a matrix
    statement, a choice of a multiple-choice question), else by its question row (carried over
    from the column where the question starts). When two columns would get the same name (the
    same option under two questions) both are named "question | option".
    """
    names: list[str] = []
    current = ""
    question_of: list[str] = []
    for question, option in zip(questions, options, strict=True):
        question, option = (question or "").strip(), (option or "").strip()
        if question:
            current = question
        question_of.append(current)
        names.append(current if option in SURVEYMONKEY_GENERIC_OPTIONS else option)
    counts = {name: names.count(name) for name in names}
    names = [
        f"{question_of[position]} | {name}"
        if counts[name] > 1 and name != question_of[position]
        else name
        for position, name in enumerate(names)
    ]
    return _check_header(names)


def _excel_rows(data: bytes) -> list[list[str | None]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise FileRejected(
            f"the file cannot be opened as an Excel workbook ({type(error).__name__})",
            "Download the export again, or export CSV.",
        ) from error
    rows = [
        [_cell_text(value) for value in row]
        for row in workbook.worksheets[0].iter_rows(values_only=True)
    ]
    workbook.close()
    width = max((len(row) for row in rows), default=0)
    return [row + [None] * (width - len(row)) for row in rows]


def read_surveymonkey(path: Path, data: bytes) -> Export:
    if path.suffix.lower() == ".xlsx":
        rows = _excel_rows(data)
        if len(rows) < 2:
            raise FileRejected("the export has no answer-option header row", "Export it again.")
        body = [row for row in rows[2:] if any(value not in (None, "") for value in row)]
        names = surveymonkey_names(rows[0], rows[1])
        table = pa.table(
            {
                name: pa.array([row[index] for row in body], pa.string())
                for index, name in enumerate(names)
            }
        )
        questions = dict(zip(names, [value or "" for value in rows[0]], strict=True))
    else:
        header, raw = _delimited(data, check_names=False)
        if raw.num_rows == 0:
            raise FileRejected("the export has no answer-option header row", "Export it again.")
        names = surveymonkey_names(header, _row(raw, 0))
        table = _named(raw, names, 1)
        questions = dict(zip(names, header, strict=True))
    current = ""
    for name in names:  # a matrix statement's question is the one its group started with
        current = questions[name] or current
        questions[name] = current
    return Export("surveymonkey", _require_rows(table), first_row=3, questions=questions)


def _as_text(column) -> pa.Array:
    """A pandas column from pyreadstat as text: whole numbers without '.0', dates as ISO."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        return pa.array(column.dt.strftime("%Y-%m-%d %H:%M:%S"), pa.string(), from_pandas=True)
    if pd.api.types.is_numeric_dtype(column):
        array = pa.array(column.astype("float64"), pa.float64(), from_pandas=True)
        integral = pc.equal(pc.round(array), array)
        as_int = pc.cast(pc.if_else(integral, array, None), pa.int64(), safe=False)
        return pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))
    values = column.map(lambda value: None if value is None or value == "" else str(value))
    return pa.array(values, pa.string(), from_pandas=True)


def _code_text(code: object) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def read_spss(data: bytes) -> Export:
    import pyreadstat

    descriptor, name = tempfile.mkstemp(suffix=".sav")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        # user_missing=False (the default): user-defined missing codes read as blank.
        frame, meta = pyreadstat.read_sav(name, apply_value_formats=False)
    except Exception as error:  # pyreadstat raises its own types for unreadable files
        raise FileRejected(
            f"the file cannot be read as an SPSS .sav file ({type(error).__name__}: {error})",
            "Save it again from SPSS as .sav.",
        ) from error
    finally:
        os.unlink(name)
    _check_header(list(frame.columns))
    table = pa.table({column: _as_text(frame[column]) for column in frame.columns})
    labels = {
        column: {_code_text(code): str(label) for code, label in mapping.items()}
        for column, mapping in (meta.variable_value_labels or {}).items()
    }
    questions = {
        column: label for column, label in (meta.column_names_to_labels or {}).items() if label
    }
    return Export("spss", _require_rows(table), questions=questions, value_labels=labels)


def read_canonical(path: Path, data: bytes) -> Export:
    table = read_table(path, data)
    return Export(
        "canonical",
        pa.table({name: _canonical_text(table.column(name)) for name in table.column_names}),
    )


def _canonical_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    from etl.validate import text_values

    return text_values(column)


# --- Which platform? -----------------------------------------------------------------------


def detect_format(path: Path, data: bytes) -> str:
    """The platform an export comes from, from its suffix and header rows."""
    suffix = path.suffix.lower()
    if suffix == ".sav":
        return "spss"
    if suffix == ".parquet":
        return "canonical"
    if suffix == ".xlsx":
        rows = _excel_rows(data)[:2]
        header = [value or "" for value in rows[0]] if rows else []
        options = [value or "" for value in rows[1]] if len(rows) > 1 else []
        if "Respondent ID" in header or {"Response", "Open-Ended Response"} & set(options):
            return "surveymonkey"
        return "canonical"
    try:
        text = _utf8_bytes(data[: 1 << 16] if len(data) > 1 << 16 else data)
    except FileRejected:
        text = _utf8_bytes(data)
    lines = text.decode("utf-8", errors="replace").splitlines()
    head = "\n".join(lines[:4])
    first = lines[0] if lines else ""
    if '{"ImportId"' in head or ("ResponseId" in first and "StartDate" in first):
        return "qualtrics"
    if "Respondent ID" in first or "Collector ID" in first:
        return "surveymonkey"
    if re.search(r"(^|[,\t])\"?(record_id|redcap_event_name)\b", first) or re.search(
        r"_complete\"?($|[,\t])", first
    ):
        return "redcap"
    return "canonical"


def read_export(path: Path, data: bytes, format: str = "auto") -> Export:
    """Read one export of the given platform ('auto': detect it)."""
    if not data:
        raise FileRejected("the file is empty (0 bytes)", "Export it again with data.")
    if format == "auto":
        format = detect_format(path, data)
    suffix = path.suffix.lower()
    expected = {
        "qualtrics": (".csv", ".tsv", ".txt"),
        "redcap": (".csv", ".txt"),
        "surveymonkey": (".csv", ".xlsx"),
        "spss": (".sav",),
        "canonical": (".csv", ".tsv", ".txt", ".xlsx", ".parquet"),
    }[format]
    if suffix not in expected:
        raise FileRejected(
            f"a {format} export is read from {', '.join(expected)} files, not '{suffix}'",
            "Export it again in one of those formats, or fix `format:` in the mapping file.",
        )
    if format == "qualtrics":
        return read_qualtrics(data)
    if format == "redcap":
        return read_redcap(data)
    if format == "surveymonkey":
        return read_surveymonkey(path, data)
    if format == "spss":
        return read_spss(data)
    return read_canonical(path, data)
