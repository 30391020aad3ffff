"""Every rule a row can break, in the words the quarantine uses, and the failure frame.

A check that finds rows breaking a rule reports them as a failure frame: one row per failing
row, rule and column, with the value the reason quotes (`failures`). The quarantine groups a
row's failures into its rules and reasons, each reason worded by `describe` from `RULES`.
Where each rule is checked: schemas/tables.py says it for every rule of the input tables.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from schemas.contract import (
    ARMS,
    AUDIENCES,
    DELIVERIES,
    EARLIEST_YEAR,
    EVIDENCE_DESIGNS,
    FORMATS,
    PRE_WAVE_GRACE_DAYS,
    RISK_OF_BIAS,
    WAVES,
    YEARS_AFTER_COHORT,
    YEARS_BEFORE_COHORT,
)

# The rule names are the words a user reads in an error. {column} and {value} are filled in.
RULES: dict[str, str] = {
    "value_is_a_number": "{column} must be a number, got {value!r}",
    "value_is_a_date": "{column} must be a date written YYYY-MM-DD, got {value!r}",
    "value_is_true_or_false": "{column} must be true or false, got {value!r}",
    "value_is_present": "{column} must not be blank",
    "program_id_is_unique": "program_id {value!r} appears more than once",
    "format_is_allowed": "format {value!r} is not one of " + ", ".join(FORMATS),
    "delivery_is_allowed": "delivery {value!r} is not one of " + ", ".join(DELIVERIES),
    "contact_hours_is_positive": "contact_hours must be above 0, got {value!r}",
    "cohort_id_is_unique": "cohort_id {value!r} appears more than once",
    "program_id_exists": "program_id {value!r} is not in programs.csv",
    "end_date_not_before_start_date": "end_date is before start_date",
    "cost_is_not_negative": "cost_per_participant must not be negative, got {value!r}",
    "arm_is_allowed": "arm {value!r} is not one of " + ", ".join(ARMS),
    "cohort_id_exists": "cohort_id {value!r} is not in cohorts.csv",
    "wave_is_allowed": "wave {value!r} is not one of " + ", ".join(WAVES),
    "audience_is_allowed": "audience {value!r} is not one of " + ", ".join(AUDIENCES),
    "date_not_in_future": "{column} {value} is in the future",
    "date_not_before_1990": (
        f"{{column}} {{value}} is before {EARLIEST_YEAR}, which no survey export or cohort "
        "holds; check the date format"
    ),
    "date_near_cohort_dates": (
        f"completed_at is more than {YEARS_BEFORE_COHORT} year before its cohort started or "
        f"more than {YEARS_AFTER_COHORT} years after it ended; check the date format and "
        "the cohort_id"
    ),
    "item_within_scale_range": "{column} must be within its scale's range, got {value!r}",
    "years_experience_within_0_to_70": "years_experience must be between 0 and 70, got {value!r}",
    "duration_is_not_negative": "duration_seconds must not be negative, got {value!r}",
    "one_response_per_participant_cohort_wave": (
        "more than one response for this participant, cohort_id and wave in the file"
    ),
    "pre_wave_within_14_days_of_cohort_start": (
        f"the pre wave was completed more than {PRE_WAVE_GRACE_DAYS} days after the cohort started"
    ),
    "later_wave_not_before_cohort_end": (
        "a post or follow-up wave was completed before the cohort ended"
    ),
    "response_not_already_loaded": (
        "a response for this participant, cohort_id and wave is already loaded from {value}; "
        "ingest with --replace to replace it"
    ),
    "study_id_is_unique": "study_id {value!r} appears more than once",
    "design_is_allowed": "design {value!r} is not one of " + ", ".join(EVIDENCE_DESIGNS),
    "year_is_plausible": "year must be between 1900 and this year, got {value!r}",
    "n_is_positive": "n must be a whole number above 0, got {value!r}",
    "vi_is_positive": "vi must be above 0, got {value!r}",
    "attrition_is_a_percentage": (
        "attrition must be a percentage between 0 and 100 (not a proportion), got {value!r}"
    ),
    "followup_months_is_not_negative": "followup_months must not be negative, got {value!r}",
    "risk_of_bias_is_allowed": (
        "risk_of_bias {value!r} is not one of " + ", ".join(RISK_OF_BIAS)
        + " (RoB 2; ROBINS-I serious or critical: high)"
    ),
    "effect_size_is_given": (
        "give yi and vi, or g with its 95% CI, or mean_pre, mean_post, sd_pre and r"
    ),
    # Platform exports read through a mapping file (etl/mapping.py, docs/import.md).
    "value_is_mapped": (
        "{column} value {value!r} has no mapping; add it under values: (waves: for wave) "
        "in the mapping file"
    ),
    "response_is_not_a_preview": (
        "the survey platform marked this response as a preview or test ({value}); set aside"
    ),
    "response_is_not_spam": "the survey platform flagged this response as spam ({value})",
    "unfinished_response_meets_min_answered": (
        "the response is unfinished and cannot be scored: {value}"
    ),
    "code_components_are_present": (
        "the self-generated code cannot be built: component(s) {value} are blank"
    ),
    "row_has_as_many_fields_as_header": (
        "the row has {value}: it cannot be split into the file's columns (a hand-edited row, "
        "or a download cut short); fix the row or export the file again"
    ),
    "survey_is_completed": (
        "the survey platform says this survey was not completed ({value}), so it has no "
        "completion date"
    ),
}

# Rules that set a row aside before any other rule is read: a row the reader could not split
# into the header's fields, and responses the platform marks as not real (previews, tests,
# spam). Such a row is reported under these rules alone and takes part in no other rule (a
# preview never makes the real response with the same code a duplicate).
SET_ASIDE_RULES = (
    "row_has_as_many_fields_as_header",
    "response_is_not_a_preview",
    "response_is_not_spam",
)


def failures(
    rows: np.ndarray, rule: str, column: str | None = None, values: object = None
) -> pd.DataFrame:
    """The failure frame of one rule: each of ``rows`` (positions in the table) broke ``rule``
    in ``column`` (None: the row as a whole) with ``values`` (one per row, or one for all) as
    the value its reason quotes."""
    return pd.DataFrame({"row": rows, "rule": rule, "column": column, "value": values})


def no_failures() -> pd.DataFrame:
    """An empty failure frame."""
    return pd.DataFrame({"row": [], "rule": [], "column": [], "value": []})


def describe(rule: str, column: str | None, value: object) -> str:
    """The rule broken, in words, naming the column and value."""
    template = RULES.get(rule, rule)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, (pd.Timestamp, dt.datetime)):
        value = value.date().isoformat()
    return template.format(column=column or "row", value=value)
