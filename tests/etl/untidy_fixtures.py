"""Exports as they come off real machines, built from the platforms' documented layouts: legacy
and 2016 Qualtrics headers, two-row exports, duplicate and trailing columns, Windows-1252
text, rows cut short, REDCap repeating instruments. The answers are the tiny dataset's."""

from __future__ import annotations

import csv
import io

from tests.etl.platform_fixtures import AUDIENCE_CODE, ITEMS, good_rows

QUESTIONS = ["Q1", "Q2", "Q3", "Q4", *[f"Q5_{i}" for i in range(1, 6)]]
QUESTIONS += [f"Q6_{i}" for i in range(1, 4)]
TEXTS = ["Participant code", "Profession", "Years of experience", "Cohort"]
TEXTS += [f"Confidence - Statement {i}" for i in range(1, 6)]
TEXTS += [f"Burnout - Statement {i}" for i in range(1, 4)]
LEGACY_META = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress"]
LEGACY_META += ["IPAddress", "Status", "StartDate", "EndDate", "Finished"]


def csv_text(rows: list[list[str]], trailing_comma: bool = False) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [row + [""] if trailing_comma else row for row in rows]
    )
    return buffer.getvalue()


def _answers(row: dict) -> list[str]:
    return [row["participant_code"], AUDIENCE_CODE[row["audience"]], row["years_experience"]] + [
        row["cohort_id"],
        *[row[item] for item in ITEMS],
    ]


def qualtrics_legacy(rows: list[dict]) -> bytes:
    """The legacy layout: V1..V10 then question ids, a label row, BOM, a trailing comma."""
    header = [f"V{i}" for i in range(1, 11)] + QUESTIONS
    out = [header, LEGACY_META + TEXTS]
    for number, row in enumerate(rows):
        meta = [f"R_legacy{number:04d}", "Default Response Set", "Anonymous", "", ""]
        meta += [f"192.0.2.{number}", "0", f"{row['completed_at']} 09:00:00"]
        meta += [f"{row['completed_at']} 09:20:00", "1"]
        out.append(meta + _answers(row))
    return csv_text(out, trailing_comma=True).encode("utf-8-sig")


def qualtrics_2016(rows: list[dict], import_row: bool = True) -> bytes:
    """The 2016 layout ({'ImportId': ...} in single quotes, ResponseID), or with only the
    question-text row under the names (a two-row export) when ``import_row`` is false."""
    meta = ["ResponseID", "StartDate", "EndDate", "Status", "Finished"]
    header = meta + QUESTIONS
    out = [header, ["Response ID", "Start Date", "End Date", "Response Type", "Finished"] + TEXTS]
    if import_row:
        out.append([f"{{'ImportId': '{name}'}}" for name in meta] + [
            f"{{'ImportId': 'QID{position}'}}" for position in range(len(QUESTIONS))
        ])
    for number, row in enumerate(rows):
        when = f"{row['completed_at']} 10:00:00"
        out.append([f"R_{number:04d}", when, when, "0", "1", *_answers(row)])
    return csv_text(out).encode("utf-8")


QUALTRICS_MAPPING = """\
format: qualtrics
columns:
  Q1: participant_code
  Q2: audience
  Q3: years_experience
  Q4: cohort_id
  EndDate: completed_at
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
"""


# --- REDCap with a repeating instrument ----------------------------------------------------

REDCAP_HEADER = [
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "code",
    "cohort",
    "profession",
    "enrolment_complete",
    "survey_timestamp",
    *[item.lower() for item in ITEMS],
    "survey_complete",
]


def redcap_repeating(rows: list[dict], not_completed: str | None = None) -> bytes:
    """A classic project: the enrolment form once per record (code, cohort, profession), the
    survey as a repeating instrument (instance 1 = pre, 2 = post), and a second repeating
    instrument (a contact log) that holds no survey."""
    by_code: dict[str, list[dict]] = {}
    for row in rows:
        by_code.setdefault(row["participant_code"], []).append(row)
    blank_items = [""] * len(ITEMS)
    out = [REDCAP_HEADER]
    for number, (code, waves) in enumerate(by_code.items(), start=1):
        first = waves[0]
        out.append(
            [str(number), "", "", "", code, first["cohort_id"]]
            + [AUDIENCE_CODE[first["audience"]], "2", ""]
            + blank_items
            + [""]
        )
        for row in waves:
            instance = {"pre": "1", "post": "2"}[row["wave"]]
            stamp = f"{row['completed_at']} 11:30"
            if not_completed == code and row["wave"] == "pre":
                stamp = "[not completed]"
            out.append(
                [str(number), "", "survey", instance, "", "", "", "", stamp]
                + [row[item] for item in ITEMS]
                + ["2"]
            )
        out.append([str(number), "", "contact_log", "1", "", "", "", "", ""] + blank_items + [""])
    return csv_text(out).encode("utf-8")


REDCAP_MAPPING = """\
format: redcap
columns:
  code: participant_code
  cohort: cohort_id
  profession: audience
  survey_timestamp: completed_at
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
drop: [record_id]
"""

REDCAP_REPEAT = """\
repeat:
  instrument: survey
  waves: {1: pre, 2: post}
"""


def rows_of(wave: str | None = None) -> list[dict]:
    return [row for row in good_rows() if wave is None or row["wave"] == wave]
