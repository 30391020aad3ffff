"""Vocabulary of the input contract: the values a survey export may use.

These lists are the single source for the Pandera checks, the synthetic generator,
the DuckDB lookup tables and the dashboard's filters.
"""

import re

# Scale ids, item names and wave codes become DuckDB column names or SQL text: plain identifiers.
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")

# Survey waves in time order, with months after the end of training (pre: before it).
WAVES: dict[str, int | None] = {
    "pre": None,
    "post": 0,
    "followup_3m": 3,
    "followup_6m": 6,
    "followup_12m": 12,
}
WAVE_ORDER: dict[str, int] = {wave: position for position, wave in enumerate(WAVES)}

AUDIENCES: dict[str, str] = {
    "mental_health": "Therapists and counsellors",
    "educator": "Educators",
    "hr": "HR teams",
    "healthcare": "Healthcare workers",
    "coach": "Coaches",
    "other": "Other",
}

FORMATS: dict[str, str] = {
    "workshop": "Workshop (1–2 days)",
    "short_course": "Short course",
    "certificate": "Certificate",
    "degree": "Degree-level course (6–18 months)",
}

DELIVERIES: dict[str, str] = {
    "in_person": "In person",
    "online": "Online",
    "hybrid": "Hybrid",
}

# Arms of a cohort (cohorts.csv arm): trained, or surveyed on the same waves without the
# training (comparison) or before it (waitlist). Comparison cohorts belong to the programme they
# are compared with; every figure of change of the people trained counts intervention cohorts.
ARMS: dict[str, str] = {
    "intervention": "Trained (intervention)",
    "comparison": "Comparison (not trained)",
    "waitlist": "Waitlist (trained later)",
}
DEFAULT_ARM = "intervention"

# Study designs of the evidence table, with the words the evidence page uses for them.
# Every programme's own outcome data is the first: one group, measured before and after.
SINGLE_GROUP_PRE_POST = "single_group_pre_post"
EVIDENCE_DESIGNS: dict[str, str] = {
    SINGLE_GROUP_PRE_POST: "single-group pre/post",
    "comparison_group": "comparison group",
    "randomised": "randomised",
}

# Columns every responses file must carry (besides the instrument's items).
RESPONSE_REQUIRED_COLUMNS = ("participant_code", "cohort_id", "wave", "completed_at", "audience")
# Optional per-response attributes that are known and typed.
RESPONSE_OPTIONAL_COLUMNS = ("years_experience", "duration_seconds")

PROGRAM_COLUMNS = ("program_id", "name", "format", "delivery", "contact_hours")
COHORT_REQUIRED_COLUMNS = (
    "cohort_id",
    "program_id",
    "sponsor_id",
    "start_date",
    "end_date",
    "supervision",
)
COHORT_OPTIONAL_COLUMNS = ("cost_per_participant", "arm")
EVIDENCE_REQUIRED_COLUMNS = ("study_id", "citation", "year", "design", "outcome_domain", "n")
EVIDENCE_OPTIONAL_COLUMNS = (
    "audience",
    "format",
    "yi",
    "vi",
    "synthetic",
    "g",
    "g_ci_low",
    "g_ci_high",
    "mean_pre",
    "mean_post",
    "sd_pre",
    "sd_post",
    "r",
    "url",
    "attrition",
    "followup_months",
    "risk_of_bias",
    "independent",
)
# Overall risk-of-bias judgements of a study, as RoB 2 (randomised) and ROBINS-I
# (non-randomised; its "serious" and "critical" are entered as high) report them, with words.
RISK_OF_BIAS: dict[str, str] = {
    "low": "low",
    "some_concerns": "some concerns",
    "high": "high",
}

# The pre wave may be completed up to this many days after the cohort starts.
PRE_WAVE_GRACE_DAYS = 14
# Plausible dates: no survey export or cohort is older than EARLIEST_YEAR, and a response is
# completed at most YEARS_BEFORE_COHORT before its cohort starts and YEARS_AFTER_COHORT after
# it ends (the last follow-up wave is at 12 months). A date outside is a misread date format.
EARLIEST_YEAR = 1990
YEARS_BEFORE_COHORT = 1
YEARS_AFTER_COHORT = 3

# File names that are not responses files.
INSTRUMENT_FILE = "instrument.yaml"
PROGRAMS_FILE = "programs.csv"
COHORTS_FILE = "cohorts.csv"
EVIDENCE_FILE = "evidence.csv"
RESPONSE_SUFFIXES = (".csv", ".xlsx", ".parquet")
