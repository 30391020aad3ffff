"""Reading the dates of survey exports strictly, so that no wrong date ever loads silently.

Survey platforms write `completed_at` in several shapes: ISO date-times (Qualtrics, REDCap:
`2024-03-01 10:15:22`, also with `T`), US month-first date-times (SurveyMonkey:
`03/01/2024 10:15:22 AM`), Excel's short form with a two-digit year (`12/2/21 8:46`) and
day-first dates from other locales (`01/03/2024`, `01.03.2024`). Only the date is kept; a time,
when present, must be a real time of day and is dropped.

A value is read as a date only when its text has exactly the shape of a pattern: four digits
where the pattern has a four-digit year (%Y), two where it has a two-digit year (%y), a month
1-12 and a day that exists in that month. (Arrow's `strptime` with %Y takes `21` as the year
21, which is how `12/2/21 8:46` once loaded as a date in the year 21.) The shape is checked
with a regular expression built from the pattern, on the whole column at once.

Two-digit years are read as 20YY: `21` is 2021. Every date a survey export holds is after
1990 (a rule of the contract), and 19YY exports with two-digit years do not exist.

Without `date_format:` in the mapping, ISO dates are read first, then day/month dates in the
order the file's own values settle: a value that is a date only day-first (`13/02/2024`) settles
day-first, one that is a date only month-first (`02/13/2024`) settles month-first. A file whose
values settle both orders, or neither while some value reads as two different dates
(`03/04/2024`), is refused: guessing would load some dates wrong. With `date_format:` only ISO
and the given formats are used. Values that fit no pattern are kept as they are, so that
validation names them (rule `value_is_a_date`).
"""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.refusal import FileRejected

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_NAME = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
WEEKDAY_NAME = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
# What each strptime directive may match. Only %Y, %y, %m, %d, %b and %B are kept.
DIRECTIVES = {
    "Y": r"(?P<year>\d{4})",
    "y": r"(?P<year2>\d{2})",
    "m": r"(?P<month>0?[1-9]|1[0-2])",
    "d": r"(?P<day>0?[1-9]|[12]\d|3[01])",
    "b": rf"(?P<month_name>{MONTH_NAME})",
    "B": rf"(?P<month_name>{MONTH_NAME})",
    "H": r"(?:[01]?\d|2[0-3])",
    "I": r"(?:0?[1-9]|1[0-2])",
    "M": r"[0-5]\d",
    "S": r"(?:[0-5]\d|60)",
    "f": r"\d{1,9}",
    "p": r"[ap]\.?m\.?",
    "z": r"(?:z|[+-]\d{2}(?::?\d{2})?)",
    "a": WEEKDAY_NAME,
    "A": WEEKDAY_NAME,
    "%": "%",
}
# A time of day after the date, as exports write it: 8:46, 10:15:22, 10:15:22.5, 8:46 PM.
TIME = (
    r"(?:(?:0?[1-9]|1[0-2]):[0-5]\d(?::(?:[0-5]\d|60))?\s*[ap]\.?m\.?"
    r"|(?:[01]?\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d{1,9})?)?(?:z|[+-]\d{2}(?::?\d{2})?)?)"
)
ISO = rf"(?i)^(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})(?:(?:T|\s+){TIME})?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# Day and month in either order, then the year, separated by / or . (or - before a four-digit
# year: 24-03-01 is no day/month date). RE2 has no back-references: `_day_month` checks that
# both separators are the same.
DAY_MONTH = (
    r"(?i)^(?P<first>\d{1,2})(?P<sep>[/.-])(?P<second>\d{1,2})(?P<sep2>[/.-])"
    rf"(?P<year>\d{{4}}|\d{{2}}),?(?:\s+{TIME})?$"
)
# SPSS keeps a date as seconds since the start of the Gregorian calendar, 1582-10-14.
SPSS_EPOCH_DAYS = -141428  # 1582-10-14 in days since 1970-01-01
SPSS_SECONDS = r"^\d{1,11}(\.\d+)?$"  # up to 11 digits: at most the year 4751, never a wrap


def format_pattern(form: str) -> str:
    """The regular expression (RE2, whole value, case-insensitive) of a strptime format.

    Each directive matches only what it may be (%Y exactly four digits, %y exactly two, %m
    1-12, %d 1-31, %H 0-23...), a blank matches one or more blanks, and anything else matches
    itself. Raises ValueError, in words for the mapping file, for a directive that is not
    supported or a format without a year, month and day."""
    parts, used, position = [], [], 0
    while position < len(form):
        char = form[position]
        if char == "%":
            directive = form[position + 1 : position + 2]
            if directive not in DIRECTIVES:
                shown = f"%{directive}" if directive else "a lone %"
                raise ValueError(
                    f"{form!r} uses {shown}, which is not supported; the directives are "
                    + " ".join(f"%{key}" for key in DIRECTIVES)
                )
            parts.append(DIRECTIVES[directive])
            used.append(directive)
            position += 2
            continue
        if char.isspace():
            parts.append(r"\s+")
            while position < len(form) and form[position].isspace():
                position += 1
            continue
        parts.append("\\" + char if char in string.punctuation else char)
        position += 1
    years = used.count("Y") + used.count("y")
    months = used.count("m") + used.count("b") + used.count("B")
    if years != 1 or months != 1 or used.count("d") != 1:
        raise ValueError(
            f"{form!r} must hold one year (%Y or %y), one month (%m, %b or %B) and one day (%d)"
        )
    return "(?i)^" + "".join(parts) + "$"


def real_dates(text: pa.Array) -> pa.Array:
    """`YYYY-MM-DD` texts that are dates that exist; null for the others (2024-02-30, month
    13). strptime rolls 2024-02-30 over to March: only a date that prints back as given is one.
    (Printed by a cast to date32 and text, some 25 times faster than strftime.)"""
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    printed = pc.cast(pc.cast(parsed, pa.date32()), pa.string())
    return pc.if_else(pc.fill_null(pc.equal(printed, text), False), text, None)


def _join_date(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    """Year (four digits, or two read as 20YY), month and day texts as real YYYY-MM-DD dates."""
    two_digit = pc.equal(pc.utf8_length(year), 2)
    year = pc.if_else(two_digit, pc.binary_join_element_wise("20", year, ""), year)
    month = pc.utf8_lpad(month, width=2, padding="0")
    day = pc.utf8_lpad(day, width=2, padding="0")
    return real_dates(pc.binary_join_element_wise(year, month, day, "-"))


def _fields(column: pa.Array, pattern: str) -> dict[str, pa.Array]:
    """The named groups of a pattern in each value (null where the value does not match)."""
    extracted = pc.extract_regex(column, pattern)
    names = [extracted.type.field(index).name for index in range(extracted.type.num_fields)]
    return {name: pc.struct_field(extracted, name) for name in names}


def _with_format(column: pa.Array, form: str) -> pa.Array:
    """The values that fit a strptime format exactly, as YYYY-MM-DD; null for the others."""
    fields = _fields(column, format_pattern(form))
    year = fields["year"] if "year" in fields else fields["year2"]
    if "month" in fields:
        month = fields["month"]
    else:
        month_name = pc.utf8_slice_codeunits(pc.utf8_lower(fields["month_name"]), 0, 3)
        number = pc.add(pc.index_in(month_name, value_set=pa.array(MONTHS)), 1)
        month = pc.cast(number, pa.string())
    return _join_date(year, month, fields["day"])


def _example(column: pa.Array, mask: pa.Array) -> str:
    """The first value where the mask holds."""
    position = int(np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))[0])
    return column[position].as_py()


def _suggested_formats(value: str) -> str:
    """`date_format:` values that would read a day/month value such as this one, both orders."""
    separator = next(char for char in value if char in "/.-")
    date_part, _, time_part = value.partition(" ")
    comma = "," if date_part.endswith(",") else ""
    year = "%Y" if len(date_part.rstrip(",").rsplit(separator, 1)[-1]) == 4 else "%y"
    year += comma
    time = ""
    if time_part:
        time = " %I:%M" if time_part[-1:].lower() in ("m", ".") else " %H:%M"
        time += ":%S" if time_part.count(":") > 1 else ""
        time += " %p" if time.startswith(" %I") else ""
    day_first = f"%d{separator}%m{separator}{year}{time}"
    month_first = f"%m{separator}%d{separator}{year}{time}"
    return f'"{day_first}" if the day comes first, "{month_first}" if the month does'


def _day_month(column: pa.Array, name: str) -> pa.Array:
    """Day/month dates in the order the file's values settle, as YYYY-MM-DD; null for values
    of another shape. Refuses the file (FileRejected) when its values settle both orders, or
    settle none while some value reads as two different dates (03/04/2024)."""
    fields = _fields(column, DAY_MONTH)
    separator = fields["sep"]
    dashed_short = pc.and_(pc.equal(separator, "-"), pc.equal(pc.utf8_length(fields["year"]), 2))
    shaped = pc.and_(pc.equal(separator, fields["sep2"]), pc.invert(dashed_short))
    first, second, year = (
        pc.if_else(shaped, fields[key], None) for key in ("first", "second", "year")
    )
    day_first = _join_date(year, second, first)
    month_first = _join_date(year, first, second)
    only_day_first = pc.and_(pc.is_valid(day_first), pc.is_null(month_first))
    only_month_first = pc.and_(pc.is_valid(month_first), pc.is_null(day_first))
    settles_day_first = pc.any(only_day_first).as_py()
    settles_month_first = pc.any(only_month_first).as_py()
    fix = "Set date_format: in the mapping file (e.g. {})"
    if settles_day_first and settles_month_first:
        one, other = _example(column, only_day_first), _example(column, only_month_first)
        raise FileRejected(
            f"{name} dates such as {one!r} (day first) and {other!r} (month first) mix the "
            "day/month and month/day orders",
            fix.format(_suggested_formats(one)) + "; rows in the other order are then quarantined",
        )
    if settles_day_first:
        return day_first
    if settles_month_first:
        return month_first
    two_readings = pc.and_(
        pc.is_valid(day_first), pc.fill_null(pc.not_equal(day_first, month_first), False)
    )
    if pc.any(two_readings).as_py():
        example = _example(column, two_readings)
        raise FileRejected(
            f"{name} dates such as {example!r} could be day/month or month/day, and no value "
            "in the file settles which",
            fix.format(_suggested_formats(example)),
        )
    return month_first  # every day/month value reads as the same date either way


def spss_seconds_as_dates(column: pa.Array) -> pa.Array:
    """Plain numbers as the dates SPSS means by them (seconds since 1582-10-14), YYYY-MM-DD;
    null for other values. A date variable whose date format was lost reads as such numbers;
    a number that is no date becomes a date that fails the contract's plausibility rules."""
    is_number = pc.fill_null(pc.match_substring_regex(column, SPSS_SECONDS), False)
    seconds = pc.cast(pc.if_else(is_number, column, None), pa.float64())
    days = pc.add(pc.floor(pc.divide(seconds, 86400.0)), float(SPSS_EPOCH_DAYS))
    dates = pc.cast(pc.cast(days, pa.int32()), pa.date32())
    return pc.cast(dates, pa.string())


def read_dates(
    column: pa.Array,
    formats: tuple[str, ...] = (),
    name: str = "completed_at",
    spss_seconds: bool = False,
) -> pa.Array:
    """Each date of a text column as YYYY-MM-DD; values that are no date are kept as they are.

    ISO dates first; then the given strptime formats, or, with none, day/month dates in the
    order the values settle (see the module's docstring; may raise FileRejected). With
    `spss_seconds` (an SPSS file), plain numbers left over are read as SPSS dates."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pc.all(pc.fill_null(pc.match_substring_regex(column, ISO_DATE), True)).as_py():
        return column  # already as the contract writes dates; validation checks each one
    fields = _fields(column, ISO)
    result = _join_date(fields["year"], fields["month"], fields["day"])
    if formats:
        for form in formats:
            result = pc.coalesce(result, _with_format(column, form))
    else:
        rest = pc.if_else(pc.is_null(result), column, None)
        result = pc.coalesce(result, _day_month(rest, name))
    if spss_seconds:
        result = pc.coalesce(result, spss_seconds_as_dates(column))
    return pc.coalesce(result, column)


def spss_datetime_text(column) -> pa.Array | None:
    """An SPSS date or datetime column from pyreadstat as ISO text (`1583-01-01 14:00:00`);
    None when the column holds no dates.

    pyreadstat gives datetime64[us] for DATETIME variables and datetime.date objects for DATE
    ones; both hold any year. They become text without passing through datetime64[ns], which
    wraps years before 1678 (1583 became 2167)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        # To whole seconds first: Arrow prints the fraction of a timestamp[us] with %S.
        array = pa.array(column, from_pandas=True).cast(pa.timestamp("s"), safe=False)
        return pc.strftime(array, format="%Y-%m-%d %H:%M:%S")
    if column.dtype != object:
        return None
    present = column[column.notna()]
    if not len(present) or not all(isinstance(value, dt.date) for value in present):
        return None

    def text(value) -> str | None:
        if pd.isna(value):
            return None
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=" ", timespec="seconds")
        return value.isoformat()

    return pa.array([text(value) for value in column], pa.string())
