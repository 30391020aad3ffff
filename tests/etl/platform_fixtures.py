"""Realistic synthetic exports of the tiny dataset (tests/etl/helpers.py) from each platform.

Each builder writes the same responses as GOOD_ROWS the way the platform would export them,
with the platform's traps: extra header rows, BOM or UTF-16, previews and spam, answer labels,
missing codes, personal-data metadata columns. Never real people's data.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.etl.helpers import GOOD_ROWS, HEADER

ITEMS = ["CONF_01", "CONF_02", "CONF_03", "CONF_04", "CONF_05", "BURN_01", "BURN_02", "BURN_03"]
AGREE = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
OFTEN = ["Never", "Rarely", "Sometimes", "Often", "Always"]
AUDIENCE_TEXT = {"mental_health": "Therapist / counsellor", "educator": "Teacher"}
AUDIENCE_CODE = {"mental_health": "1", "educator": "2"}


def good_rows() -> list[dict]:
    names = HEADER.split(",")
    return [dict(zip(names, row.split(","), strict=True)) for row in GOOD_ROWS]


def label(item: str, value: str) -> str:
    if not value:
        return ""
    return (AGREE if item.startswith("CONF") else OFTEN)[int(value) - 1]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# --- Qualtrics -------------------------------------------------------------------------------

QUALTRICS_META = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]
QUALTRICS_QUESTIONS = (
    ["Q1", "Q2", "Q3"]
    + [f"Q5_{i}" for i in range(1, 6)]
    + [f"Q6_{i}" for i in range(1, 4)]
    + ["Q10_TEXT", "cohort"]
)
QUESTION_TEXT = {
    "Q1": "Please type your participant code\n(the one on your course card)",
    "Q2": "What is your profession?",
    "Q3": "How many years of experience do you have, in total?",
    **{
        f"Q5_{i}": f"Confidence in attachment-informed practice - Statement {i}"
        for i in range(1, 6)
    },
    **{f"Q6_{i}": f"In the last month, how often... - Burnout statement {i}" for i in range(1, 4)},
    "Q10_TEXT": "Anything else you would like to tell us? - Text",
    "cohort": "cohort",
}


def qualtrics_export(
    rows: list[dict],
    *,
    text: bool = False,
    extra: tuple[str, ...] = ("preview", "spam", "short_unfinished"),
    unfinished: tuple[str, ...] = (),
    utf16: bool = False,
) -> bytes:
    """A Qualtrics export of `rows`: numeric values, or choice text when `text`."""
    header = QUALTRICS_META + QUALTRICS_QUESTIONS
    question_row = [
        {"Duration (in seconds)": "Duration (in seconds)", "ResponseId": "Response ID"}.get(
            name, name.replace("Date", " Date")
        )
        for name in QUALTRICS_META
    ] + [QUESTION_TEXT[name] for name in QUALTRICS_QUESTIONS]
    import_row = [json.dumps({"ImportId": name}) for name in QUALTRICS_META] + [
        json.dumps({"ImportId": "QID" + name[1:]}) for name in QUALTRICS_QUESTIONS
    ]
    out = [header, question_row, import_row]
    all_rows = list(rows)
    for kind in extra:
        base = dict(rows[0], participant_code=f"X-{kind}")
        if kind == "short_unfinished":
            base.update({item: "" for item in ITEMS[1:]})
        all_rows.append(dict(base, _kind=kind))
    for number, row in enumerate(all_rows):
        kind = row.get("_kind", "")
        status = {"preview": "Survey Preview", "spam": "Spam"}.get(kind, "IP Address")
        if not text:
            status = {"Survey Preview": "1", "Spam": "8", "IP Address": "0"}[status]
        finished = kind != "short_unfinished" and row["participant_code"] not in unfinished
        when = f"{row['completed_at']} 10:{number:02d}:00"
        meta = {
            "StartDate": f"{row['completed_at']} 09:{number:02d}:00",
            "EndDate": when,
            "Status": status,
            "IPAddress": f"192.0.2.{number + 10}",
            "Progress": "100" if finished else "60",
            "Duration (in seconds)": "600",
            "Finished": ("True" if finished else "False") if text else ("1" if finished else "0"),
            "RecordedDate": when,
            "ResponseId": f"R_{number:04d}abcdEFGH",
            "RecipientLastName": "",
            "RecipientFirstName": "",
            "RecipientEmail": "",
            "ExternalReference": f"person{number}@example.org",
            "LocationLatitude": "51.5",
            "LocationLongitude": "-0.12",
            "DistributionChannel": "preview" if kind == "preview" else "anonymous",
            "UserLanguage": "EN",
        }
        audience = (AUDIENCE_TEXT if text else AUDIENCE_CODE)[row["audience"]]
        answers = [label(item, row[item]) if text else row[item] for item in ITEMS]
        out.append(
            [meta[name] for name in QUALTRICS_META]
            + [row["participant_code"], audience, row["years_experience"]]
            + answers
            + ["", row["cohort_id"]]
        )
    if utf16:
        return _csv(out, "\t").encode("utf-16")
    return _csv(out).encode("utf-8-sig")


QUALTRICS_MAPPING_NUMERIC = """\
format: qualtrics
defaults:
  wave: pre
columns:
  Q1: participant_code
  Q2: audience
  Q3: years_experience
  RecordedDate: completed_at
  "Duration (in seconds)": duration_seconds
  cohort: cohort_id
  Q5_1: CONF_01
  Q5_2: CONF_02
  Q5_3: CONF_03
  Q5_4: CONF_04
  Q5_5: CONF_05
  Q6_1: BURN_01
  Q6_2: BURN_02
  Q6_3: BURN_03
values:
  audience: {1: mental_health, 2: educator}
drop: [Q10_TEXT]
"""

QUALTRICS_MAPPING_TEXT = QUALTRICS_MAPPING_NUMERIC.replace(
    "  audience: {1: mental_health, 2: educator}\n",
    '  audience: {"Therapist / counsellor": mental_health, "Teacher": educator}\n'
    '  "CONF_*": {"Strongly disagree": 1, "Disagree": 2, "Neither agree nor disagree": 3,'
    ' "Agree": 4, "Strongly agree": 5}\n'
    '  "BURN_*": {Never: 1, Rarely: 2, Sometimes: 3, Often: 4, Always: 5}\n',
)


# --- REDCap ----------------------------------------------------------------------------------

REDCAP_FIELDS = (
    [
        "record_id",
        "redcap_event_name",
        "redcap_survey_identifier",
        "attune_survey_timestamp",
        "code",
        "cohort",
        "profession",
        "years",
        "role___1",
        "role___2",
    ]
    + [item.lower() for item in ITEMS]
    + ["attune_survey_complete"]
)
REDCAP_EVENTS = {"pre": "pre_arm_1", "post": "post_arm_1"}
REDCAP_EVENT_LABELS = {"pre": "Pre-training (Arm 1: Main)", "post": "Post-training (Arm 1: Main)"}


def redcap_export(rows: list[dict], *, labels: bool = False, empty_event: bool = True) -> bytes:
    """A longitudinal REDCap export: one row per record and event; raw codes or labels."""
    out = [REDCAP_FIELDS]
    records = {row["participant_code"]: str(number + 1) for number, row in enumerate(rows)}
    for row in rows:
        event = (REDCAP_EVENT_LABELS if labels else REDCAP_EVENTS)[row["wave"]]
        answers = [label(item, row[item]) if labels else row[item] for item in ITEMS]
        checked = ("Checked", "Unchecked") if labels else ("1", "0")
        out.append(
            [records[row["participant_code"]], event, "", f"{row['completed_at']} 11:30:00"]
            + [row["participant_code"], row["cohort_id"]]
            + [(AUDIENCE_TEXT if labels else AUDIENCE_CODE)[row["audience"]]]
            + [row["years_experience"], checked[0], checked[1]]
            + answers
            + ["Complete" if labels else "2"]
        )
    if empty_event:  # B1's post event exists in the project but was never filled in
        event = (REDCAP_EVENT_LABELS if labels else REDCAP_EVENTS)["post"]
        out.append(
            [records["B1"], event, "", "", "", "", "", "", "", ""]
            + [""] * len(ITEMS)
            + ["Incomplete" if labels else "0"]
        )
    return _csv(out).encode("utf-8")


REDCAP_MAPPING = """\
format: redcap
columns:
  code: participant_code
  redcap_event_name: wave
  attune_survey_timestamp: completed_at
  cohort: cohort_id
  profession: audience
  years: years_experience
  conf_01: CONF_01
  conf_02: CONF_02
  conf_03: CONF_03
  conf_04: CONF_04
  conf_05: CONF_05
  burn_01: BURN_01
  burn_02: BURN_02
  burn_03: BURN_03
values:
  audience: {1: mental_health, 2: educator, "Therapist / counsellor": mental_health, Teacher: educator}
  "CONF_*": {"Strongly disagree": 1, "Disagree": 2, "Neither agree nor disagree": 3, "Agree": 4, "Strongly agree": 5}
  "BURN_*": {Never: 1, Rarely: 2, Sometimes: 3, Often: 4, Always: 5}
waves:
  pre_arm_1: pre
  post_arm_1: post
  "Pre-training (Arm 1: Main)": pre
  "Post-training (Arm 1: Main)": post
drop: [record_id, role___1, role___2]
"""


# --- SurveyMonkey ----------------------------------------------------------------------------

SM_META = [
    "Respondent ID",
    "Collector ID",
    "Start Date",
    "End Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
]
SM_CONF_STATEMENTS = [f"I can explain attachment idea {i}" for i in range(1, 6)]
SM_BURN_STATEMENTS = [f"I feel worn out at the end of day {i}" for i in range(1, 4)]


def _us_date(iso: str, number: int) -> str:
    year, month, day = iso.split("-")
    return f"{month}/{day}/{year} {(number % 12) + 1:02d}:15:00 PM"


def surveymonkey_rows(rows: list[dict]) -> list[list[str]]:
    first = (
        SM_META
        + [
            "What is your participant code?",
            "Which cohort are you in?",
            "Which survey is this?",
            "What is your profession?",
            "Years of experience",
            "Confidence in attachment-informed practice",
        ]
        + [""] * 4
        + ["How often in the last month...?"]
        + [""] * 2
    )
    second = [""] * len(SM_META) + [
        "Open-Ended Response",
        "Response",
        "Response",
        "Response",
        "Open-Ended Response",
        *SM_CONF_STATEMENTS,
        *SM_BURN_STATEMENTS,
    ]
    out = [first, second]
    for number, row in enumerate(rows):
        out.append(
            [
                str(11400000000 + number),
                "405000000",
                _us_date(row["completed_at"], number),
                _us_date(row["completed_at"], number),
                f"198.51.100.{number}",
                "",
                "",
                "",
                f"someone{number}@example.com",
                row["participant_code"],
                row["cohort_id"],
                {"pre": "Before the training", "post": "After the training"}[row["wave"]],
                AUDIENCE_TEXT[row["audience"]],
                row["years_experience"],
            ]
            + [label(item, row[item]) for item in ITEMS]
        )
    return out


def surveymonkey_export(rows: list[dict], path: Path) -> Path:
    table = surveymonkey_rows(rows)
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        for line in table:
            sheet.append([value if value != "" else None for value in line])
        book.save(path)
    else:
        path.write_bytes(_csv(table).encode("utf-8-sig"))
    return path


SURVEYMONKEY_MAPPING = (
    """\
format: surveymonkey
columns:
  "What is your participant code?": participant_code
  "Which cohort are you in?": cohort_id
  "Which survey is this?": wave
  "What is your profession?": audience
  "Years of experience": years_experience
  "End Date": completed_at
"""
    + "".join(f'  "{statement}": CONF_0{i}\n' for i, statement in enumerate(SM_CONF_STATEMENTS, 1))
    + "".join(f'  "{statement}": BURN_0{i}\n' for i, statement in enumerate(SM_BURN_STATEMENTS, 1))
    + """\
values:
  wave: {"Before the training": pre, "After the training": post}
  audience: {"Therapist / counsellor": mental_health, "Teacher": educator}
  "CONF_*": {"Strongly disagree": 1, "Disagree": 2, "Neither agree nor disagree": 3, "Agree": 4, "Strongly agree": 5}
  "BURN_*": {Never: 1, Rarely: 2, Sometimes: 3, Often: 4, Always: 5}
"""
)


# --- SPSS ------------------------------------------------------------------------------------


def spss_export(rows: list[dict], path: Path, missing_code: float = 99) -> Path:
    """A .sav file: numeric codes with value labels; blanks written as a user-missing code."""
    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame(
        {
            "pcode": [row["participant_code"] for row in rows],
            "cohort": [row["cohort_id"] for row in rows],
            "wave": [{"pre": 1.0, "post": 2.0}[row["wave"]] for row in rows],
            "enddate": pd.to_datetime([row["completed_at"] + " 14:00:00" for row in rows]),
            "prof": [float(AUDIENCE_CODE[row["audience"]]) for row in rows],
            "years": [float(row["years_experience"]) for row in rows],
            **{
                item.lower(): [float(row[item]) if row[item] else missing_code for row in rows]
                for item in ITEMS
            },
        }
    )
    agree = {float(i + 1): text for i, text in enumerate(AGREE)} | {missing_code: "No answer"}
    often = {float(i + 1): text for i, text in enumerate(OFTEN)} | {missing_code: "No answer"}
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels={
            "pcode": "Participant code",
            "prof": "What is your profession?",
            **{item.lower(): f"{item} statement" for item in ITEMS},
        },
        variable_value_labels={
            "wave": {1.0: "Pre", 2.0: "Post"},
            "prof": {1.0: "Therapist / counsellor", 2.0: "Teacher"},
            **{item.lower(): agree if item.startswith("CONF") else often for item in ITEMS},
        },
        missing_ranges={item.lower(): [missing_code] for item in ITEMS},
    )
    return path


SPSS_MAPPING = """\
format: spss
columns:
  pcode: participant_code
  cohort: cohort_id
  wave: wave
  enddate: completed_at
  prof: audience
  years: years_experience
  conf_01: CONF_01
  conf_02: CONF_02
  conf_03: CONF_03
  conf_04: CONF_04
  conf_05: CONF_05
  burn_01: BURN_01
  burn_02: BURN_02
  burn_03: BURN_03
values:
  audience: {1: mental_health, 2: educator}
waves: {1: pre, 2: post}
"""


# --- SPSS files as platforms save them (value labels, Qualtrics metadata) ----------------------


def write_sav(
    path: Path,
    columns: dict[str, list],
    *,
    labels: dict[str, str] | None = None,
    value_labels: dict[str, dict[float, str]] | None = None,
    missing: dict[str, list[float]] | None = None,
) -> Path:
    """A .sav file of plain columns (numbers, texts or datetimes), with variable labels (the
    question texts), value labels and user-missing codes as SPSS stores them."""
    import pandas as pd
    import pyreadstat

    pyreadstat.write_sav(
        pd.DataFrame(columns),
        str(path),
        column_labels=labels or {},
        variable_value_labels=value_labels or {},
        missing_ranges=missing or {},
    )
    return path


def spss_qualtrics_export(
    rows: list[dict],
    path: Path,
    *,
    reverse_agree: bool = False,
    agree_labels: dict[int, str] | None = None,
    missing_declared: bool = True,
    matrix: int = 40,
) -> Path:
    """A Qualtrics survey exported as SPSS: the metadata under SPSS's names
    (`Duration__in_seconds_`), questions Q1.. with their texts as variable labels and the
    survey's recode values as value labels, a ZIP-code question, two text entries and a
    `matrix`-statement question Q30 that the instrument does not use.

    `reverse_agree`: the agreement matrix Q5 is coded 1 = "Strongly agree" ... 5 = "Strongly
    disagree" (each answer written as 6 - answer, so the responses stay those of `rows`).
    `agree_labels`: Q5's value labels by answer (1 = the lowest answer) instead of AGREE.
    `missing_declared`: 99 ("No answer", a blank item) is a user-missing code, or only
    labelled."""
    import pandas as pd

    def code(item: str, row: dict) -> float:
        if not row[item]:
            return 99.0
        answer = int(row[item])
        return float(6 - answer if reverse_agree and item.startswith("CONF") else answer)

    when = pd.to_datetime([row["completed_at"] + " 10:15:00" for row in rows])
    conf = [item for item in ITEMS if item.startswith("CONF")]
    burn = [item for item in ITEMS if item.startswith("BURN")]
    columns = {
        "StartDate": when,
        "EndDate": when,
        "Status": [0.0] * len(rows),
        "Progress": [100.0] * len(rows),
        "Duration__in_seconds_": [600.0 + number for number in range(len(rows))],
        "Finished": [1.0] * len(rows),
        "RecordedDate": when,
        "ResponseId": [f"R_{number:04d}abcdEFGH" for number in range(len(rows))],
        "wave": [{"pre": 1.0, "post": 2.0}[row["wave"]] for row in rows],
        "Q7": [f"9021{number}" for number in range(len(rows))],
        "Q1": [row["participant_code"] for row in rows],
        "Q2": [float(AUDIENCE_CODE[row["audience"]]) for row in rows],
        "Q3": [float(row["years_experience"]) for row in rows],
        "Q4": [row["cohort_id"] for row in rows],
        **{f"Q5_{i}": [code(item, row) for row in rows] for i, item in enumerate(conf, 1)},
        **{f"Q6_{i}": [code(item, row) for row in rows] for i, item in enumerate(burn, 1)},
        **{
            f"Q30_{i}": [float(1 + (i + n) % 5) for n in range(len(rows))]
            for i in range(1, matrix + 1)
        },
        "Q10_TEXT": [""] * len(rows),
        "Q11_TEXT": ["" if number else "More role play please" for number in range(len(rows))],
    }
    by_answer = agree_labels or dict(enumerate(AGREE, 1))
    agree = {
        float(6 - answer if reverse_agree else answer): text for answer, text in by_answer.items()
    }
    often = {float(i + 1): text for i, text in enumerate(OFTEN)}
    labels = {
        "Duration__in_seconds_": "Duration (in seconds)",
        "RecordedDate": "Recorded Date",
        "ResponseId": "Response ID",
        "wave": "Which survey is this?",
        "Q7": "What is your ZIP code?",
        "Q1": "Please type your participant code",
        "Q2": "What is your profession?",
        "Q3": "How many years of experience do you have, in total?",
        "Q4": "Which cohort are you in?",
        **{
            f"Q5_{i}": f"Confidence in attachment-informed practice - Statement {i}"
            for i in range(1, 6)
        },
        **{
            f"Q6_{i}": f"In the last month, how often... - Burnout statement {i}"
            for i in range(1, 4)
        },
        **{f"Q30_{i}": f"How useful was session part {i}?" for i in range(1, matrix + 1)},
        "Q10_TEXT": "What did you like most? - Text",
        "Q11_TEXT": "What would you change? - Text",
    }
    return write_sav(
        path,
        columns,
        labels=labels,
        value_labels={
            "wave": {1.0: "Pre", 2.0: "Post"},
            "Q2": {1.0: "Therapist / counsellor", 2.0: "Teacher"},
            **{f"Q5_{i}": agree | {99.0: "No answer"} for i in range(1, 6)},
            **{f"Q6_{i}": often | {99.0: "No answer"} for i in range(1, 4)},
        },
        missing={
            column: [99.0]
            for column in [*(f"Q5_{i}" for i in range(1, 6)), *(f"Q6_{i}" for i in range(1, 4))]
        }
        if missing_declared
        else {},
    )
