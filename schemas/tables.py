"""Pandera models of the input tables: the data dictionary, enforced.

Types are parsed before these models run (see `etl/validate.py`), so a value that is not a
number or not a date has already been named by its own rule; the checks here are the rules a
user reads in the quarantine, each named after the rule it states.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.contract import AUDIENCES, DELIVERIES, FORMATS, PRE_WAVE_GRACE_DAYS, WAVES
from schemas.instrument import Instrument

EVIDENCE_DESIGNS = ("single_group_pre_post", "comparison_group", "randomised")
# Plausible dates: no survey export or cohort is older than EARLIEST_YEAR, and a response is
# completed at most YEARS_BEFORE_COHORT before its cohort starts and YEARS_AFTER_COHORT after
# it ends (the last follow-up wave is at 12 months). A date outside is a misread date format.
EARLIEST_YEAR = 1990
YEARS_BEFORE_COHORT = 1
YEARS_AFTER_COHORT = 3

# Every rule a row can break, in the words the quarantine uses. {column} and {value} are filled in.
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


def describe(rule: str, column: str | None, value: object) -> str:
    """The rule broken, in words, naming the column and value."""
    template = RULES.get(rule, rule)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, (pd.Timestamp, dt.datetime)):
        value = value.date().isoformat()
    return template.format(column=column or "row", value=value)


def _today() -> pd.Timestamp:
    return pd.Timestamp(dt.date.today())


def _earliest_date() -> pd.Timestamp:
    """The first plausible date. Dates are compared as parsed (datetime64[s], see
    etl/validate.py), so a date such as 1583-01-01 is compared as itself, never wrapped."""
    return pd.Timestamp(EARLIEST_YEAR, 1, 1)


def _years_later(dates: pd.Series, years: int) -> pd.Series:
    """Each date moved by whole calendar years (29 February to 28 February), worked out once
    per distinct date: a cohort's dates repeat on every one of its rows."""
    codes, distinct = pd.factorize(dates)
    moved = (pd.DatetimeIndex(distinct) + pd.DateOffset(years=years)).to_numpy()
    nat = np.array(["NaT"], dtype=moved.dtype)
    return pd.Series(np.concatenate([moved, nat])[codes], index=dates.index)


class ProgramsModel(pa.DataFrameModel):
    """programs.csv: one row per training programme."""

    program_id: str = pa.Field(description="Identifier of the programme.")
    name: str = pa.Field(description="Name of the programme.")
    format: str = pa.Field(description="workshop, short_course, certificate or degree.")
    delivery: str = pa.Field(description="in_person, online or hybrid.")
    contact_hours: float = pa.Field(nullable=True, description="Taught contact hours.")

    class Config:
        strict = False

    @pa.check("program_id", name="program_id_is_unique")
    def program_id_is_unique(cls, series: pd.Series) -> pd.Series:
        return ~series.duplicated(keep=False)

    @pa.check("format", name="format_is_allowed")
    def format_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(FORMATS))

    @pa.check("delivery", name="delivery_is_allowed")
    def delivery_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(DELIVERIES))

    @pa.check("contact_hours", name="contact_hours_is_positive")
    def contact_hours_is_positive(cls, series: pd.Series) -> pd.Series:
        return series > 0


class CohortsModel(pa.DataFrameModel):
    """cohorts.csv: one row per cohort, a run of a programme for one sponsor."""

    cohort_id: str = pa.Field(description="Identifier of the cohort.")
    program_id: str = pa.Field(description="Programme the cohort follows.")
    sponsor_id: str = pa.Field(description="Organisation that sponsored the cohort.")
    start_date: pa.DateTime = pa.Field(description="First day of training.")
    end_date: pa.DateTime = pa.Field(description="Last day of training.")
    supervision: bool = pa.Field(description="Whether ongoing supervision was part of it.")
    cost_per_participant: float = pa.Field(
        nullable=True, description="Cost per participant, if known."
    )

    class Config:
        strict = False

    @pa.check("cohort_id", name="cohort_id_is_unique")
    def cohort_id_is_unique(cls, series: pd.Series) -> pd.Series:
        return ~series.duplicated(keep=False)

    @pa.check("cost_per_participant", name="cost_is_not_negative")
    def cost_is_not_negative(cls, series: pd.Series) -> pd.Series:
        return series >= 0

    @pa.check("start_date", "end_date", name="date_not_before_1990")
    def date_not_before_1990(cls, series: pd.Series) -> pd.Series:
        return series >= _earliest_date()

    @pa.dataframe_check(name="end_date_not_before_start_date")
    def end_date_not_before_start_date(cls, frame: pd.DataFrame) -> pd.Series:
        return ~(frame["end_date"] < frame["start_date"])


class ResponsesModel(pa.DataFrameModel):
    """A responses file: one row per participant per wave, plus one column per item."""

    participant_code: str = pa.Field(description="Participant's anonymous code (stored hashed).")
    cohort_id: str = pa.Field(description="Cohort the participant attended.")
    wave: str = pa.Field(description="pre, post, followup_3m, followup_6m or followup_12m.")
    completed_at: pa.DateTime = pa.Field(description="Date the survey was completed.")
    audience: str = pa.Field(description="Participant's professional audience.")
    years_experience: float = pa.Field(
        nullable=True, description="Years of professional experience (optional)."
    )
    duration_seconds: float = pa.Field(
        nullable=True, description="Seconds taken to complete the survey (optional)."
    )
    # Helper columns joined from cohorts before validation; not stored.
    cohort_start: pa.DateTime = pa.Field(nullable=True, description="Start of the cohort.")
    cohort_end: pa.DateTime = pa.Field(nullable=True, description="End of the cohort.")

    class Config:
        strict = False

    @pa.check("wave", name="wave_is_allowed")
    def wave_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(WAVES))

    @pa.check("audience", name="audience_is_allowed")
    def audience_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(AUDIENCES))

    @pa.check("completed_at", name="date_not_in_future")
    def date_not_in_future(cls, series: pd.Series) -> pd.Series:
        return series <= _today()

    @pa.check("completed_at", name="date_not_before_1990")
    def date_not_before_1990(cls, series: pd.Series) -> pd.Series:
        return series >= _earliest_date()

    @pa.check("years_experience", name="years_experience_within_0_to_70")
    def years_experience_within_0_to_70(cls, series: pd.Series) -> pd.Series:
        return series.between(0, 70)

    @pa.check("duration_seconds", name="duration_is_not_negative")
    def duration_is_not_negative(cls, series: pd.Series) -> pd.Series:
        return series >= 0

    @pa.dataframe_check(name="one_response_per_participant_cohort_wave")
    def one_response_per_participant_cohort_wave(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(["participant_code", "cohort_id", "wave"], keep=False)

    @pa.dataframe_check(name="pre_wave_within_14_days_of_cohort_start")
    def pre_wave_within_14_days_of_cohort_start(cls, frame: pd.DataFrame) -> pd.Series:
        latest = frame["cohort_start"] + pd.Timedelta(days=PRE_WAVE_GRACE_DAYS)
        return ~((frame["wave"] == "pre") & (frame["completed_at"] > latest))

    @pa.dataframe_check(name="later_wave_not_before_cohort_end")
    def later_wave_not_before_cohort_end(cls, frame: pd.DataFrame) -> pd.Series:
        later = frame["wave"].isin([wave for wave in WAVES if wave != "pre"])
        return ~(later & (frame["completed_at"] < frame["cohort_end"]))

    @pa.dataframe_check(name="date_near_cohort_dates")
    def date_near_cohort_dates(cls, frame: pd.DataFrame) -> pd.Series:
        # An unknown cohort (NaT) compares false: cohort_id_exists names that row instead.
        earliest = _years_later(frame["cohort_start"], -YEARS_BEFORE_COHORT)
        latest = _years_later(frame["cohort_end"], YEARS_AFTER_COHORT)
        return ~((frame["completed_at"] < earliest) | (frame["completed_at"] > latest))


class EvidenceModel(pa.DataFrameModel):
    """evidence.csv: studies for the evidence page, each with an effect size or what gives one."""

    study_id: str = pa.Field(description="Identifier of the study.")
    citation: str = pa.Field(description="Full citation; synthetic studies say so.")
    year: float = pa.Field(description="Year of publication.")
    design: str = pa.Field(description="single_group_pre_post, comparison_group or randomised.")
    outcome_domain: str = pa.Field(description="Outcome domain, as in the instrument.")
    n: float = pa.Field(description="Participants analysed.")
    vi: float = pa.Field(nullable=True, description="Sampling variance of yi.")

    class Config:
        strict = False

    @pa.check("study_id", name="study_id_is_unique")
    def study_id_is_unique(cls, series: pd.Series) -> pd.Series:
        return ~series.duplicated(keep=False)

    @pa.check("design", name="design_is_allowed")
    def design_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(EVIDENCE_DESIGNS))

    @pa.check("year", name="year_is_plausible")
    def year_is_plausible(cls, series: pd.Series) -> pd.Series:
        return series.between(1900, _today().year)

    @pa.check("n", name="n_is_positive")
    def n_is_positive(cls, series: pd.Series) -> pd.Series:
        return (series > 0) & (series == series.round())

    @pa.check("vi", name="vi_is_positive")
    def vi_is_positive(cls, series: pd.Series) -> pd.Series:
        return series > 0


def responses_schema(instrument: Instrument, known_cohorts: list[str]) -> pa.DataFrameSchema:
    """The responses model with the cohorts a row may refer to (items are checked apart)."""
    known = set(known_cohorts)
    return ResponsesModel.to_schema().update_column(
        "cohort_id", checks=[pa.Check(lambda series: series.isin(known), name="cohort_id_exists")]
    )


def items_schema(instrument: Instrument) -> pa.DataFrameSchema:
    """Every item column of the instrument, each within its scale's range; blank allowed.

    Kept apart from the row model so that a row-level rule broken by many rows reports the
    few columns it reads, not every item.
    """
    columns = {}
    for scale in instrument.scales:
        low, high = scale.min, scale.max
        for item in scale.items:
            columns[item] = pa.Column(
                float,
                nullable=True,
                description=f"Item of {scale.name} ({low:g}-{high:g}); blank = not answered.",
                checks=[
                    pa.Check(
                        lambda series, low=low, high=high: series.between(low, high),
                        name="item_within_scale_range",
                    )
                ],
            )
    return pa.DataFrameSchema(columns, name="items")


def cohorts_schema(known_programs: list[str]) -> pa.DataFrameSchema:
    """The cohorts model plus the programmes its rows may refer to."""
    known = set(known_programs)
    return CohortsModel.to_schema().update_column(
        "program_id",
        checks=[pa.Check(lambda series: series.isin(known), name="program_id_exists")],
    )
