"""Pandera models of the input tables: the data dictionary, enforced.

Each model lists a file's columns: the annotation is the type a value must parse as, `| None`
marks a column the file may leave out, `nullable=True` a value that may be blank, and each
check is a rule a user reads in the quarantine, named after it (schemas/rules.py words it).
`schemas/specs.py` reads the columns' kinds from these annotations.

For speed, ingest does not call `validate()` (its lazy report formats a line per failing cell:
about a minute when every row of a 1,000,000-row file broke a rule). Instead:
- types (value_is_a_number, value_is_a_date, value_is_true_or_false) and blanks in columns
  that are not nullable (value_is_present) are parsed a whole column at a time in Arrow by
  `etl.parse.parse`;
- a missing required column or a column that is not a field refuses the file
  (`etl.validate.check_columns`), as `Config.strict` would;
- the checks below are run one by one on whole columns by `etl.validate.schema_failures`,
  which keeps only the failing rows' positions.
The rules that no model can hold (they need the database or the raw export) are listed in
`CHECKED_OUTSIDE_THE_MODELS` with the place that checks them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.contract import (
    ARMS,
    AUDIENCES,
    DEFAULT_ARM,
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
from schemas.instrument import Instrument

# Rules of the contract that no model holds, and where each is checked.
CHECKED_OUTSIDE_THE_MODELS: dict[str, str] = {
    "value_is_a_number": "etl/parse.py (parse): a field annotated float",
    "value_is_a_date": "etl/parse.py (parse): a field annotated pa.DateTime",
    "value_is_true_or_false": "etl/parse.py (parse): a field annotated bool",
    "value_is_present": "etl/parse.py (parse): a field that is not nullable",
    "effect_size_is_given": (
        "etl/table_file.py (effect_sizes), where stats.meta.to_yi_vi works out yi and vi"
    ),
    "response_not_already_loaded": "etl/responses.py (already_loaded): reads the database",
    "row_has_as_many_fields_as_header": (
        "etl/delimited.py marks the row; etl/read.py (take_ragged) reports it"
    ),
    "value_is_mapped": "etl/apply_mapping.py (prepare): a platform export's value maps",
    "survey_is_completed": "etl/apply_mapping.py (prepare): REDCap's [not completed]",
    "response_is_not_a_preview": "etl/apply_mapping.py (status_failures)",
    "response_is_not_spam": "etl/apply_mapping.py (status_failures)",
    "unfinished_response_meets_min_answered": "etl/apply_mapping.py (Prepared.row_failures)",
    "code_components_are_present": "etl/linking.py (Linker.build)",
}


def _one_of(values) -> str:
    """The allowed values of a column in words: 'a, b or c'."""
    values = list(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def _today() -> pd.Timestamp:
    return pd.Timestamp(dt.date.today())


def _earliest_date() -> pd.Timestamp:
    """The first plausible date. Dates are compared as parsed (datetime64[s], see
    etl/parse.py), so a date such as 1583-01-01 is compared as itself, never wrapped."""
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
    format: str = pa.Field(description=f"{_one_of(FORMATS)}.")
    delivery: str = pa.Field(description=f"{_one_of(DELIVERIES)}.")
    contact_hours: float | None = pa.Field(nullable=True, description="Taught contact hours.")

    class Config:
        strict = True

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
    """cohorts.csv: one row per cohort, a run of a programme for one sponsor.

    program_id_exists (the programme is in programs.csv or the database) is added by
    `cohorts_schema`, which knows the programmes."""

    cohort_id: str = pa.Field(description="Identifier of the cohort.")
    program_id: str = pa.Field(description="Programme the cohort follows.")
    sponsor_id: str = pa.Field(description="Organisation that sponsored the cohort.")
    start_date: pa.DateTime = pa.Field(description="First day of training.")
    end_date: pa.DateTime = pa.Field(description="Last day of training.")
    supervision: bool = pa.Field(description="Whether ongoing supervision was part of it.")
    cost_per_participant: float | None = pa.Field(
        nullable=True, description="Cost per participant, if known."
    )
    arm: str | None = pa.Field(
        nullable=True,
        description=(
            f"{_one_of(ARMS)}: trained, or surveyed on the same waves without the training "
            f"(comparison) or before it (waitlist); blank or no column: {DEFAULT_ARM}. A "
            "comparison cohort names the programme it is compared with."
        ),
    )

    class Config:
        strict = True

    @pa.check("cohort_id", name="cohort_id_is_unique")
    def cohort_id_is_unique(cls, series: pd.Series) -> pd.Series:
        return ~series.duplicated(keep=False)

    @pa.check("arm", name="arm_is_allowed")
    def arm_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(ARMS))

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
    """A responses file: one row per participant per wave, plus one column per item.

    The items are checked by `items_schema` (each within its scale's range), cohort_id_exists
    by `responses_schema`, which knows the cohorts. Not strict: the item columns are the
    instrument's; a column that is neither a field nor an item refuses the file."""

    participant_code: str = pa.Field(description="Participant's anonymous code (stored hashed).")
    cohort_id: str = pa.Field(description="Cohort the participant attended.")
    wave: str = pa.Field(description=f"{_one_of(WAVES)}.")
    completed_at: pa.DateTime = pa.Field(description="Date the survey was completed.")
    audience: str = pa.Field(description="Participant's professional audience.")
    years_experience: float | None = pa.Field(
        nullable=True, description="Years of professional experience (optional)."
    )
    duration_seconds: float | None = pa.Field(
        nullable=True, description="Seconds taken to complete the survey (optional)."
    )
    # Joined from cohorts before validation; never in the file, never stored.
    cohort_start: pa.DateTime | None = pa.Field(
        nullable=True, description="Start of the cohort.", metadata={"joined_from": "cohorts"}
    )
    cohort_end: pa.DateTime | None = pa.Field(
        nullable=True, description="End of the cohort.", metadata={"joined_from": "cohorts"}
    )

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
    """evidence.csv: studies for the evidence page, each with an effect size or what gives one.

    effect_size_is_given (yi and vi, or what they are worked out from) is checked where they
    are worked out: see CHECKED_OUTSIDE_THE_MODELS."""

    study_id: str = pa.Field(description="Identifier of the study.")
    citation: str = pa.Field(description="Full citation; synthetic studies say so.")
    year: float = pa.Field(description="Year of publication.")
    design: str = pa.Field(description=f"{_one_of(EVIDENCE_DESIGNS)}.")
    outcome_domain: str = pa.Field(description="Outcome domain, as in the instrument.")
    n: float = pa.Field(description="Participants analysed.")
    audience: str | None = pa.Field(
        nullable=True, description="Audience trained (as in responses), if specific."
    )
    format: str | None = pa.Field(
        nullable=True, description="Programme format (as in programs), if specific."
    )
    yi: float | None = pa.Field(
        nullable=True, description="Standardised mean difference (positive = improvement)."
    )
    vi: float | None = pa.Field(nullable=True, description="Sampling variance of yi.")
    synthetic: bool | None = pa.Field(
        nullable=True, description="true for a synthetic demo study (blank: false)."
    )
    g: float | None = pa.Field(nullable=True, description="Hedges g as reported.")
    g_ci_low: float | None = pa.Field(nullable=True, description="Lower bound of g's 95% CI.")
    g_ci_high: float | None = pa.Field(nullable=True, description="Upper bound of g's 95% CI.")
    mean_pre: float | None = pa.Field(nullable=True, description="Reported pre-training mean.")
    mean_post: float | None = pa.Field(nullable=True, description="Reported post-training mean.")
    sd_pre: float | None = pa.Field(nullable=True, description="Reported pre-training SD.")
    sd_post: float | None = pa.Field(nullable=True, description="Reported post-training SD.")
    r: float | None = pa.Field(nullable=True, description="Reported pre-post correlation.")
    url: str | None = pa.Field(nullable=True, description="Link to the study (DOI URL).")
    attrition: float | None = pa.Field(
        nullable=True,
        description="Attrition as a percentage (0-100) of those randomised or enrolled who are "
        "missing from the analysis (as the local tiers' attrition_pct); blank: not reported.",
    )
    followup_months: float | None = pa.Field(
        nullable=True,
        description="Months from the end of training to the last outcome measured (0: none "
        "after the end); blank: not reported.",
    )
    risk_of_bias: str | None = pa.Field(
        nullable=True,
        description=f"Overall risk of bias as RoB 2 / ROBINS-I report it: "
        f"{_one_of(RISK_OF_BIAS)} (ROBINS-I serious or critical: high); blank: not assessed.",
    )
    independent: bool | None = pa.Field(
        nullable=True,
        description="true when evaluated by someone other than the programme's developer; "
        "blank: not reported.",
    )

    class Config:
        strict = True

    @pa.check("attrition", name="attrition_is_a_percentage")
    def attrition_is_a_percentage(cls, series: pd.Series) -> pd.Series:
        return series.between(0, 100)

    @pa.check("followup_months", name="followup_months_is_not_negative")
    def followup_months_is_not_negative(cls, series: pd.Series) -> pd.Series:
        return series >= 0

    @pa.check("risk_of_bias", name="risk_of_bias_is_allowed")
    def risk_of_bias_is_allowed(cls, series: pd.Series) -> pd.Series:
        return series.isin(list(RISK_OF_BIAS))

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


def responses_schema(known_cohorts: list[str]) -> pa.DataFrameSchema:
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
