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

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.dates import spss_datetime_text
from etl.delimited import (
    RAGGED_COLUMN,
    UTF16_BOMS,
    check_header,
    decode,
    encoding_of,
    read_delimited,
    unique_names,
    with_encoding,
)
from etl.parse import text_values
from etl.privacy import EMAIL
from etl.read import cell_text, first_sheet_rows, read_table
from etl.redcap import never_opened_checkboxes
from etl.refusal import FileRejected

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
    "Name",  # legacy exports (V1..V10): the recipient's name and e-mail
    "EmailAddress",
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
    "ResponseID",  # 2016 and legacy exports
    "ResponseSet",
    "ExternalDataReference",
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
    "qualtrics": ("ExternalReference", "ExternalDataReference"),
    "surveymonkey": ("Custom Data", "Custom Data 1", "Custom Data 2"),
    "spss": ("ExternalReference", "ExternalDataReference"),
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
    encoding: str | None = None  # how a text export was decoded (None for .xlsx and .sav)

    def personal_columns(self) -> list[str]:
        """The platform's known personal-data columns present in this export."""
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


def _row(table: pa.Table, position: int) -> list[str | None]:
    columns = [name for name in table.column_names if name != RAGGED_COLUMN]
    return [table.column(name)[position].as_py() for name in columns]


def _named(table: pa.Table, names: list[str], skip: int) -> pa.Table:
    """The data rows (after ``skip`` header rows) under their names, the ragged mark kept."""
    encoding = encoding_of(table)
    table = table.slice(skip)
    columns = {name: table.column(index).combine_chunks() for index, name in enumerate(names)}
    if RAGGED_COLUMN in table.column_names:
        columns[RAGGED_COLUMN] = table.column(RAGGED_COLUMN).combine_chunks()
    return with_encoding(pa.table(columns), encoding)


def _require_rows(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        raise FileRejected("the export has header rows but no responses", "Export it again.")
    return table


IMPORT_ID = re.compile(r"""^\s*\{\s*['"]ImportId['"]\s*:""")
LEGACY_COLUMN = re.compile(r"^V\d+$")
# Metadata columns whose question-text row repeats their name in words ("Start Date").
QUALTRICS_LABELLED = (
    "StartDate",
    "EndDate",
    "RecordedDate",
    "Status",
    "Progress",
    "Finished",
    "ResponseId",
    "ResponseID",
    "Duration (in seconds)",
    "DistributionChannel",
    "UserLanguage",
)


def _squashed(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _is_label_row(header: list[str], row: list[str | None]) -> bool:
    """A question-text row: some metadata column holds its own name in words."""
    return any(
        name in QUALTRICS_LABELLED and _squashed(value) == _squashed(name)
        for name, value in zip(header, row, strict=True)
    )


def _is_legacy(header: list[str], rows: list[list[str | None]]) -> bool:
    """The legacy layout: V1, V2, ... named by the row under them (V1 = ResponseID)."""
    return (
        bool(rows)
        and len(header) >= 3
        and all(LEGACY_COLUMN.match(name) for name in header[:3])
        and _squashed(rows[0][0]) == "responseid"
    )


def read_qualtrics(data: bytes, encoding: str | None = None) -> Export:
    """Qualtrics CSV/TSV in every layout: current (names, question texts, {"ImportId"}), 2016
    ({'ImportId'} in single quotes, ResponseID), legacy (V1..V10 named by the row under them)
    and two-row exports (names and question texts). Header rows are never responses."""
    header, table = read_delimited(data, encoding)
    rows = [_row(table, position) for position in range(min(2, table.num_rows))]
    names = list(header)
    extra = 0
    if _is_legacy(header, rows):
        names = [
            label.strip() if LEGACY_COLUMN.match(name) and label and label.strip() else name
            for name, label in zip(header, rows[0], strict=True)
        ]
        extra = 1
    else:
        for position, row in enumerate(rows):
            if any(IMPORT_ID.match(value or "") for value in row):
                extra = position + 1
                break
        else:
            if rows and _is_label_row(header, rows[0]):
                extra = 1
    names = check_header(unique_names(names))
    questions = {}
    if extra:
        questions = {name: text for name, text in zip(names, rows[0], strict=True) if text}
    return Export(
        "qualtrics",
        _require_rows(_named(table, names, extra)),
        first_row=2 + extra,
        questions=questions,
        encoding=encoding_of(table),
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


def read_redcap(data: bytes, encoding: str | None = None) -> Export:
    header, table = read_delimited(data, encoding)
    names = check_header(unique_names(header))
    return Export(
        "redcap",
        _require_rows(never_opened_checkboxes(_checkbox_numbers(_named(table, names, 0)))),
        encoding=encoding_of(table),
    )


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
    return check_header(unique_names(names))


def _excel_rows(data: bytes) -> list[list[str | None]]:
    """Every row of the first sheet as cell text, padded to the widest row."""
    with first_sheet_rows(data, "Download the export again, or export CSV.") as sheet:
        rows = [[cell_text(value) for value in row] for row in sheet]
    width = max((len(row) for row in rows), default=0)
    return [row + [None] * (width - len(row)) for row in rows]


def read_surveymonkey(path: Path, data: bytes, encoding: str | None = None) -> Export:
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
        header, raw = read_delimited(data, encoding)
        if raw.num_rows == 0:
            raise FileRejected("the export has no answer-option header row", "Export it again.")
        names = surveymonkey_names(header, _row(raw, 0))
        table = _named(raw, names, 1)
        questions = dict(zip(names, header, strict=True))
    current = ""
    for name in names:  # a matrix statement's question is the one its group started with
        current = questions[name] or current
        questions[name] = current
    return Export(
        "surveymonkey",
        _require_rows(table),
        first_row=3,
        questions=questions,
        encoding=encoding_of(raw) if path.suffix.lower() != ".xlsx" else None,
    )


def _as_text(column) -> pa.Array:
    """A pandas column from pyreadstat as text: whole numbers without '.0', dates as ISO."""
    dates = spss_datetime_text(column)  # any year, never through datetime64[ns]
    if dates is not None:
        return dates
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
    check_header(list(frame.columns))
    table = pa.table({column: _as_text(frame[column]) for column in frame.columns})
    labels = {
        column: {_code_text(code): str(label) for code, label in mapping.items()}
        for column, mapping in (meta.variable_value_labels or {}).items()
    }
    questions = {
        column: label for column, label in (meta.column_names_to_labels or {}).items() if label
    }
    return Export("spss", _require_rows(table), questions=questions, value_labels=labels)


def read_canonical(path: Path, data: bytes, encoding: str | None = None) -> Export:
    table = read_table(path, data, encoding=encoding)
    return Export(
        "canonical",
        pa.table({name: text_values(table.column(name)) for name in table.column_names}),
        encoding=encoding_of(table),
    )


# --- Which platform? -----------------------------------------------------------------------


def detect_format(path: Path, data: bytes, encoding: str | None = None) -> str:
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
    sample = data[: 1 << 16] if len(data) > 1 << 16 and not data.startswith(UTF16_BOMS) else data
    try:
        text = decode(sample, encoding).data
    except FileRejected:
        text = decode(data, encoding).data
    lines = text.decode("utf-8", errors="replace").splitlines()
    head = "\n".join(lines[:4])
    first = lines[0] if lines else ""
    second = lines[1] if len(lines) > 1 else ""
    if re.search(r"""[{]\s*['"]ImportId['"]""", head):
        return "qualtrics"
    if re.match(r'^"?V1"?[,\t]"?V2"?[,\t]', first) and "ResponseID" in second:
        return "qualtrics"
    if re.search(r"ResponseI[dD]", first) and "StartDate" in first:
        return "qualtrics"
    if "Respondent ID" in first or "Collector ID" in first:
        return "surveymonkey"
    if re.search(r'(^|[,\t])"?(Response|Open-Ended Response)"?($|[,\t])', second):
        return "surveymonkey"
    if re.search(r"(^|[,\t])\"?(record_id|redcap_event_name)\b", first) or re.search(
        r"_complete\"?($|[,\t])", first
    ):
        return "redcap"
    return "canonical"


def read_export(
    path: Path, data: bytes, format: str = "auto", encoding: str | None = None
) -> Export:
    """Read one export of the given platform ('auto': detect it); ``encoding`` overrides how
    a text export is decoded."""
    if not data:
        raise FileRejected("the file is empty (0 bytes)", "Export it again with data.")
    if format == "auto":
        format = detect_format(path, data, encoding)
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
        return read_qualtrics(data, encoding)
    if format == "redcap":
        return read_redcap(data, encoding)
    if format == "surveymonkey":
        return read_surveymonkey(path, data, encoding)
    if format == "spss":
        return read_spss(data)
    return read_canonical(path, data, encoding)
