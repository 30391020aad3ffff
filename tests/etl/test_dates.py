"""Dates are read strictly and checked for plausibility: no wrong date ever loads silently."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.dates import read_dates
from etl.mapping import MappingError, parse_mapping
from etl.parse import iso_dates
from etl.read import FileRejected
from tests.etl import platform_fixtures as pf
from tests.etl.helpers import (
    COHORTS,
    GOOD_ROWS,
    INSTRUMENT,
    PROGRAMS,
    query,
    responses_csv,
    responses_report,
    run,
)
from tests.etl.platform_helpers import write_mapping

# Cohorts besides the tiny dataset's C1 (2024-03-04..05) and C2 (2024-01-15..06-30).
C2021 = "C21,P1,SP1,2021-11-29,2021-11-30,false,"
C2015 = "C15,P1,SP1,2015-01-05,2015-01-06,false,"
STORED = "SELECT completed_at FROM responses ORDER BY completed_at"
GOOD_DATES = sorted(dt.date.fromisoformat(row.split(",")[3]) for row in GOOD_ROWS)


def _database(tmp_path, cohorts: tuple[str, ...] = ()):
    """A database with the instrument, programmes and cohorts (plus `cohorts`), no responses."""
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "instrument.yaml").write_text(INSTRUMENT)
    (folder / "programs.csv").write_text(PROGRAMS)
    (folder / "cohorts.csv").write_text(COHORTS + "".join(row + "\n" for row in cohorts))
    db = tmp_path / "dates.duckdb"
    report = run([folder / "instrument.yaml", folder / "programs.csv", folder / "cohorts.csv"], db)
    assert report.exit_code == 0, report
    return db


def _with_dates(rows, write) -> list[str]:
    """The rows with each completed_at (YYYY-MM-DD) written by `write(date, row number)`."""
    out = []
    for number, row in enumerate(rows):
        fields = row.split(",")
        fields[3] = write(dt.date.fromisoformat(fields[3]), number)
        out.append(",".join(fields))
    return out


def _ingest(tmp_path, db, rows, date_format=None, name="export.csv"):
    """Ingest rows in the canonical layout through a mapping file (as `attune ingest
    --mapping` does), so that completed_at is read as a survey export's dates are."""
    mapping = "format: canonical\n"
    if date_format is not None:
        mapping += f"date_format: {json.dumps(date_format)}\n"
    export = tmp_path / name
    export.write_text(responses_csv(*rows))
    (report,) = responses_report(run([export], db, mapping=write_mapping(tmp_path, mapping)))
    return report


def _reasons(db) -> str:
    return " | ".join(reasons for (reasons,) in query(db, "SELECT reasons FROM quarantine"))


def _two(value: int) -> str:
    return f"{value:02d}"


# Every shape read without date_format:, each writing the tiny dataset's dates. Its 20 March
# settles the day/month order (20 can only be a day).
AUTO_FORMATS = {
    "iso-date": lambda d, n: d.isoformat(),
    "iso-space-seconds": lambda d, n: f"{d.isoformat()} 10:{_two(n)}:22",
    "iso-T-seconds": lambda d, n: f"{d.isoformat()}T10:{_two(n)}:22",
    "iso-T-minutes-utc": lambda d, n: f"{d.isoformat()}T10:{_two(n)}Z",
    "iso-space-fraction-offset": lambda d, n: f"{d.isoformat()} 10:15:22.125+01:00",
    "us": lambda d, n: f"{_two(d.month)}/{_two(d.day)}/{d.year}",
    "us-12h-seconds": lambda d, n: f"{_two(d.month)}/{_two(d.day)}/{d.year} 0{n + 1}:15:00 PM",
    "us-12h-minutes-unpadded": lambda d, n: f"{d.month}/{d.day}/{d.year} {n + 8}:46 am",
    "us-24h-minutes": lambda d, n: f"{_two(d.month)}/{_two(d.day)}/{d.year} 1{n}:05",
    "us-24h-seconds": lambda d, n: f"{_two(d.month)}/{_two(d.day)}/{d.year} 23:59:59",
    "us-two-digit-year": lambda d, n: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "us-two-digit-year-time": lambda d, n: f"{d.month}/{d.day}/{d.year % 100:02d} {n + 8}:46",
    "day-first": lambda d, n: f"{_two(d.day)}/{_two(d.month)}/{d.year}",
    "day-first-24h": lambda d, n: f"{_two(d.day)}/{_two(d.month)}/{d.year} 14:{_two(n)}",
    "day-first-12h": lambda d, n: f"{_two(d.day)}/{_two(d.month)}/{d.year} 2:{_two(n)}:00 PM",
    "day-first-two-digit-year": lambda d, n: f"{d.day}/{d.month}/{d.year % 100:02d} 8:46",
    "day-first-dots": lambda d, n: f"{_two(d.day)}.{_two(d.month)}.{d.year} 14:05:00",
    "day-first-dots-two-digit-year": lambda d, n: f"{d.day}.{d.month}.{d.year % 100:02d}",
    "day-first-dashes": lambda d, n: f"{_two(d.day)}-{_two(d.month)}-{d.year}",
}


@pytest.mark.parametrize("write", AUTO_FORMATS.values(), ids=AUTO_FORMATS.keys())
def test_every_supported_date_shape_loads_the_dates_it_writes(tmp_path, write):
    db = _database(tmp_path)
    rows = _with_dates(GOOD_ROWS, write)
    report = _ingest(tmp_path, db, rows)
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0), (report.message, rows)
    assert [date for (date,) in query(db, STORED)] == GOOD_DATES


EXPLICIT_FORMATS = {
    "%d/%m/%Y": lambda d: d.strftime("%d/%m/%Y"),
    "%m/%d/%y %H:%M": lambda d: d.strftime("%m/%d/%y 08:46"),
    "%d %b %Y": lambda d: d.strftime("%d %b %Y"),
    "%A %d %B %Y": lambda d: d.strftime("%A %d %B %Y"),
    "%Y%m%d": lambda d: d.strftime("%Y%m%d"),
    "%d.%m.%Y %H:%M:%S": lambda d: d.strftime("%d.%m.%Y 14:05:00"),
    "%Y/%m/%d %I:%M %p": lambda d: d.strftime("%Y/%m/%d 11:30 PM"),
}


@pytest.mark.parametrize("form", EXPLICIT_FORMATS, ids=EXPLICIT_FORMATS)
def test_every_date_format_given_in_the_mapping_loads_the_dates_it_writes(tmp_path, form):
    db = _database(tmp_path)
    rows = _with_dates(GOOD_ROWS, lambda d, n: EXPLICIT_FORMATS[form](d))
    report = _ingest(tmp_path, db, rows, date_format=form)
    assert (report.rows_loaded, report.rows_quarantined) == (5, 0), (report.message, rows)
    assert [date for (date,) in query(db, STORED)] == GOOD_DATES


def test_two_digit_year_loads_as_20yy_never_as_year_21(tmp_path):
    db = _database(tmp_path, cohorts=(C2021,))
    rows = [
        "A1,C21,pre,12/2/21 8:46,educator,5,2,2,3,2,4,4,4,3",
        "A2,C21,pre,11/29/21 9:10,educator,12,3,3,3,3,3,3,3,3",  # 29: the month comes first
    ]
    report = _ingest(tmp_path, db, rows)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0), report.message
    assert query(db, STORED) == [(dt.date(2021, 11, 29),), (dt.date(2021, 12, 2),)]


def test_two_digit_year_under_a_four_digit_year_format_is_quarantined_not_year_21(tmp_path):
    # The reported case: %m/%d/%Y once read "12/2/21 8:46" as the year 21, stored as 1775.
    db = _database(tmp_path, cohorts=(C2021,))
    rows = [
        "A1,C21,pre,12/2/21 8:46,educator,5,2,2,3,2,4,4,4,3",
        "A2,C21,pre,12/1/2021 9:10,educator,12,3,3,3,3,3,3,3,3",
    ]
    report = _ingest(tmp_path, db, rows, date_format=["%m/%d/%Y %H:%M", "%m/%d/%Y"])
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1), report.message
    assert query(db, STORED) == [(dt.date(2021, 12, 1),)]
    assert query(db, "SELECT rules FROM quarantine") == [(["value_is_a_date"],)]
    assert "got '12/2/21 8:46'" in _reasons(db)


def test_a_first_field_above_12_settles_day_first_for_the_whole_file(tmp_path):
    db = _database(tmp_path)
    # Only B1's 10/01 and A1's 01/03 are ambiguous alone; A1's post, 20/03, settles day first.
    rows = _with_dates(GOOD_ROWS, lambda d, n: d.strftime("%d/%m/%Y"))
    assert rows[0].split(",")[3] == "01/03/2024"
    report = _ingest(tmp_path, db, rows)
    assert report.rows_loaded == 5, report.message
    stored = query(db, "SELECT completed_at FROM responses WHERE cohort_id = 'C2'")
    assert stored == [(dt.date(2024, 1, 10),)]  # 10 January, not 1 October


@pytest.mark.parametrize(
    ("dates", "words"),
    [
        (["03/04/2024", "05/03/2024"], "such as '03/04/2024' could be day/month or month/day"),
        (["12/2/21 8:46"], "such as '12/2/21 8:46' could be day/month or month/day"),
        (["20/03/2024", "03/22/2024"], "'20/03/2024' (day first) and '03/22/2024' (month first)"),
    ],
    ids=["no-value-settles", "excel-two-digit-year", "values-contradict"],
)
def test_a_file_whose_day_month_order_is_not_settled_is_refused_naming_date_format(
    tmp_path, dates, words
):
    db = _database(tmp_path)
    rows = [
        f"Z{number},C1,pre,{date},educator,5,2,2,3,2,4,4,4,3" for number, date in enumerate(dates)
    ]
    report = _ingest(tmp_path, db, rows)
    assert report.status == "rejected"
    assert words in report.message
    assert "date_format:" in report.message and '"%d/%m/%' in report.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_date_format_in_the_mapping_is_honoured_strictly(tmp_path):
    db = _database(tmp_path)
    # Every value is ambiguous alone; the mapping says the day comes first.
    rows = [
        "A1,C1,pre,01/03/2024,educator,5,2,2,3,2,4,4,4,3",
        "A2,C1,pre,02/03/2024,educator,12,3,3,3,3,3,3,3,3",
        "B1,C1,pre,03/20/2024,educator,20,1,2,2,2,5,5,4,5",  # month first: not a date here
        "B2,C1,pre,02/03/2024 10:15,educator,20,1,2,2,2,5,5,4,5",  # a time the format lacks
        "B3,C1,pre,2/3/24,educator,20,1,2,2,2,5,5,4,5",  # a two-digit year under %Y
    ]
    report = _ingest(tmp_path, db, rows, date_format="%d/%m/%Y")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 3), report.message
    assert query(db, STORED) == [(dt.date(2024, 3, 1),), (dt.date(2024, 3, 2),)]
    rules = query(db, "SELECT rules FROM quarantine")
    assert rules == [(["value_is_a_date"],)] * 3
    for value in ("03/20/2024", "02/03/2024 10:15", "2/3/24"):
        assert f"got {value!r}" in _reasons(db)


@pytest.mark.parametrize(
    ("date", "words"),
    [
        ("1583-01-01", "completed_at 1583-01-01 is before 1990"),
        ("1775-12-02", "completed_at 1775-12-02 is before 1990"),
        ("0021-12-02", "completed_at 0021-12-02 is before 1990"),
        ("1989-12-31", "completed_at 1989-12-31 is before 1990"),
        ("2300-01-01", "completed_at 2300-01-01 is in the future"),
    ],
)
def test_a_date_outside_the_plausible_years_is_quarantined_as_written(tmp_path, date, words):
    # A canonical file, no mapping: 1583 once wrapped round to "2167-07-21 is in the future".
    db = _database(tmp_path)
    export = tmp_path / "responses.csv"
    export.write_text(responses_csv(f"Z1,C1,post,{date},educator,5,2,2,3,2,4,4,4,3"))
    (report,) = responses_report(run([export], db))
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1)
    assert words in _reasons(db)
    if date < "1990":
        assert "check the date format" in _reasons(db)


def test_a_cohort_date_before_1990_is_quarantined_as_written(tmp_path):
    db = _database(tmp_path)
    cohorts = tmp_path / "cohorts.csv"
    cohorts.write_text(COHORTS.splitlines()[0] + "\nC9,P1,SP1,1583-01-01,2024-03-05,false,\n")
    (report,) = [file for file in run([cohorts], db).files if file.kind == "cohorts"]
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1)
    assert query(db, "SELECT rules FROM quarantine") == [(["date_not_before_1990"],)]
    assert "start_date 1583-01-01 is before 1990" in _reasons(db)
    assert query(db, "SELECT count(*) FROM cohorts WHERE cohort_id = 'C9'") == [(0,)]


@pytest.mark.parametrize(
    ("row", "loads"),
    [
        ("Z1,C15,post,2020-06-01,educator,5,2,2,3,2,4,4,4,3", False),  # 5 years after the end
        ("Z1,C15,pre,2013-06-01,educator,5,2,2,3,2,4,4,4,3", False),  # 19 months before start
        ("Z1,C15,post,2017-06-01,educator,5,2,2,3,2,4,4,4,3", True),  # 2 years after the end
        ("Z1,C15,pre,2014-06-01,educator,5,2,2,3,2,4,4,4,3", True),  # 7 months before start
    ],
    ids=["5y-after-end", "19m-before-start", "2y-after-end", "7m-before-start"],
)
def test_a_date_far_from_its_cohorts_dates_is_quarantined(tmp_path, row, loads):
    db = _database(tmp_path, cohorts=(C2015,))
    export = tmp_path / "responses.csv"
    export.write_text(responses_csv(row))
    (report,) = responses_report(run([export], db))
    assert report.rows_loaded == (1 if loads else 0), report.message
    if not loads:
        assert query(db, "SELECT rules FROM quarantine") == [(["date_near_cohort_dates"],)]
        assert "more than 3 years after it ended; check the date format" in _reasons(db)


def _spss(tmp_path, enddate, name="survey.sav"):
    """A .sav file of one pre response of cohort C1 whose enddate variable is `enddate`."""
    import pandas as pd
    import pyreadstat

    path = tmp_path / name
    frame = pd.DataFrame(
        {
            "pcode": ["A1"],
            "cohort": ["C1"],
            "wave": [1.0],
            "enddate": [enddate],
            "prof": [2.0],
            "years": [5.0],
            **{item.lower(): [3.0] for item in pf.ITEMS},
        }
    )
    pyreadstat.write_sav(frame, str(path))
    return path


@pytest.mark.parametrize(
    "enddate",
    [dt.datetime(1583, 1, 1, 14, 0), dt.date(1583, 1, 1)],
    ids=["spss-datetime", "spss-date"],
)
def test_an_spss_date_of_1583_is_quarantined_as_1583_not_wrapped(tmp_path, enddate):
    db = _database(tmp_path)
    export = _spss(tmp_path, enddate)
    mapping = write_mapping(tmp_path, pf.SPSS_MAPPING)
    (report,) = responses_report(run([export], db, mapping=mapping))
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1), report.message
    assert "completed_at 1583-01-01 is before 1990" in _reasons(db)
    assert "future" not in _reasons(db)


def test_an_spss_numeric_completed_at_is_read_as_seconds_since_1582(tmp_path):
    # A date variable whose date format was lost: SPSS seconds since 1582-10-14.
    db = _database(tmp_path)
    seconds = (dt.date(2024, 3, 1) - dt.date(1582, 10, 14)).days * 86400 + 14 * 3600
    export = _spss(tmp_path, float(seconds))
    mapping = write_mapping(tmp_path, pf.SPSS_MAPPING)
    (report,) = responses_report(run([export], db, mapping=mapping))
    assert report.rows_loaded == 1, report.message
    assert query(db, STORED) == [(dt.date(2024, 3, 1),)]


def test_a_date_format_the_parser_cannot_read_strictly_is_a_mapping_error():
    for form, words in (("%d/%m/%Q", "uses %Q, which is not supported"), ("%m/%Y", "one day")):
        with pytest.raises(MappingError, match="date_format:") as error:
            parse_mapping({"date_format": form})
        assert words in str(error.value)


# --- Properties -----------------------------------------------------------------------------

# Every strptime format the auto-detection reads, as the platforms write them.
SUPPORTED_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y %H:%M",
    "%d-%m-%Y",
)
DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date.today())
# A two-digit year is read as 20YY: such a format writes only dates from 2000 on.
DATES_20YY = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date.today())
TIMES = st.times().map(lambda time: time.replace(microsecond=0))
SETTLES = dt.datetime(2024, 3, 20, 9, 30)  # 20 can only be a day: settles either order
PROPERTY = settings(max_examples=60, deadline=None)


def _loaded(texts: list[str], formats: tuple[str, ...] = ()) -> list[dt.date | None]:
    """What would load for each value: read as an export's dates are, then validated."""
    column = read_dates(pa.array(texts, pa.string()), formats)
    values, not_dates = iso_dates(pa.chunked_array([column]))
    return [
        None if bad else dt.date.fromisoformat(str(value)[:10])
        for value, bad in zip(values, not_dates, strict=True)
    ]


@PROPERTY
@given(form=st.sampled_from(SUPPORTED_FORMATS), explicit=st.booleans(), data=st.data())
def test_dates_in_every_supported_format_round_trip_exactly(form, explicit, data):
    dates = DATES_20YY if "%y" in form else DATES
    moments = data.draw(st.lists(st.tuples(dates, TIMES), min_size=1, max_size=8))
    stamps = [dt.datetime.combine(date, time) for date, time in moments]
    if not explicit and form.startswith(("%m", "%d")):
        stamps.append(SETTLES)  # without date_format: the file's values settle the order
    texts = [stamp.strftime(form) for stamp in stamps]
    formats = (form,) if explicit else ()
    assert _loaded(texts, formats) == [stamp.date() for stamp in stamps], texts


def _misshapen(date: dt.date, kind: str) -> str:
    """A date written almost like %m/%d/%Y or an ISO date, but not quite."""
    month, day, year = f"{date.month:02d}", f"{date.day:02d}", f"{date.year}"
    return {
        "iso-two-digit-year": f"{year[2:]}-{month}-{day}",
        "iso-two-digit-year-time": f"{year[2:]}-{month}-{day} 10:15:22",
        "iso-month-13": f"{year}-13-{day}",
        "iso-time-61m": f"{year}-{month}-{day}T10:61",
        "two-digit-year": f"{month}/{day}/{year[2:]}",
        "three-digit-year": f"{month}/{day}/{year[1:]}",
        "five-digit-year": f"{month}/{day}/0{year}",
        "month-13": f"13/{day}/{year}",
        "day-32": f"{month}/32/{year}",
        "day-past-month-end": f"02/{max(date.day, 30)}/{year}",
        "time-25h": f"{month}/{day}/{year} 25:10",
        "mixed-separators": f"{month}/{day}.{year}",
        "dashes-two-digit-year": f"{month}-{day}-{year[2:]}",
        "trailing-text": f"{month}/{day}/{year} or so",
    }[kind]


@PROPERTY
@given(
    date=DATES,
    kind=st.sampled_from(
        [
            "iso-two-digit-year",
            "iso-two-digit-year-time",
            "iso-month-13",
            "iso-time-61m",
            "two-digit-year",
            "three-digit-year",
            "five-digit-year",
            "month-13",
            "day-32",
            "day-past-month-end",
            "time-25h",
            "mixed-separators",
            "dashes-two-digit-year",
            "trailing-text",
        ]
    ),
)
def test_a_value_that_does_not_fit_the_format_is_never_loaded_as_a_date(date, kind):
    text = _misshapen(date, kind)
    assert _loaded([text], ("%m/%d/%Y", "%m/%d/%Y %H:%M")) == [None]
    if kind != "two-digit-year":  # without date_format:, 12/31/99 is a date: 2099-12-31
        try:
            assert _loaded([text, "12/31/2024"]) == [None, dt.date(2024, 12, 31)]
        except FileRejected:  # "13/..": the file settles both orders, refused
            assert kind == "month-13"
