"""Synthetic demo data in exactly Attune's input format.

`generate_dataset` writes an instrument, programmes, cohorts, survey responses and a table of
synthetic evidence studies into one folder, ready to be ingested like a real provider export:

    out_dir/instrument.yaml
    out_dir/programs.csv
    out_dir/cohorts.csv
    out_dir/evidence.csv
    out_dir/responses/responses_2023.csv ...   (one file per year of cohort start)
    out_dir/responses.csv                      (instead, with single_responses_file=True)

Data model. Every participant belongs to one cohort and has one audience. Per scale they have a
latent baseline (depending on audience and experience) and a personal gain. The true gain
pre -> post grows with the length of the format, with supervision and differs by audience and
delivery; at follow-up it fades, fastest for workshops and slower with supervision. A wave's
latent score is baseline + gain x retention + occasion noise; an item is that latent plus item
offset and noise (sized so the scale reaches its declared reliability), rounded and clipped to
the scale's range. Reverse-keyed items are stored reversed (min + max - value), as a survey tool
exports them. Burnout "improves" by going down. Attrition removes responses at every wave,
most at follow-up and most for workshops, and slightly more often among people who gained less.
Waves dated after `AS_OF` are not generated, so the output never depends on today's date.

Everything is drawn from `numpy.random.default_rng` streams spawned from `seed`, so the same
arguments give byte-identical files; the valid rows do not depend on `invalid_rows`. The
response rows are built with vectorised numpy and written with pyarrow's CSV writer, so
300,000 participants (about 800,000 response rows) take a few seconds.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from schemas.contract import (
    AUDIENCES,
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    COHORTS_FILE,
    DELIVERIES,
    EVIDENCE_FILE,
    FORMATS,
    INSTRUMENT_FILE,
    PRE_WAVE_GRACE_DAYS,
    PROGRAM_COLUMNS,
    PROGRAMS_FILE,
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
    WAVES,
)
from schemas.instrument import Instrument, Scale, instrument_to_yaml

# Fixed "today" of the synthetic world: no wave dated after it is generated.
AS_OF = date(2026, 6, 30)
FIRST_COHORT_START = date(2023, 1, 1)
LAST_COHORT_START = date(2025, 12, 31)

DEMO_PARTICIPANTS = 2400
DEMO_SEED = 2026
DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"

RESPONSES_DIR = "responses"
SINGLE_RESPONSES_FILE = "responses.csv"

ProgressCallback = Callable[[str, float], None]


# --------------------------------------------------------------------------------------------
# The instrument
# --------------------------------------------------------------------------------------------


def _scale(
    scale_id: str,
    name: str,
    domain: str,
    level: int,
    n_items: int,
    low: int,
    high: int,
    reverse: Sequence[int],
    reliability: float,
    higher_is_better: bool = True,
) -> Scale:
    items = tuple(f"{scale_id}_{number:02d}" for number in range(1, n_items + 1))
    return Scale(
        id=scale_id,
        name=name,
        domain=domain,
        level=level,
        items=items,
        min=float(low),
        max=float(high),
        reverse=tuple(items[number - 1] for number in reverse),
        higher_is_better=higher_is_better,
        min_answered=0.8,
        reliability=reliability,
    )


DEMO_INSTRUMENT = Instrument(
    scales=(
        _scale(
            "CONF",
            "Confidence in attachment-informed practice",
            "Confidence",
            2,
            6,
            1,
            5,
            reverse=(4,),
            reliability=0.86,
        ),
        _scale(
            "KNOW", "Attachment knowledge", "Knowledge", 2, 8, 1, 5, reverse=(6,), reliability=0.81
        ),
        _scale(
            "PRAC",
            "Attachment-informed practice",
            "Practice",
            3,
            8,
            1,
            7,
            reverse=(3, 7),
            reliability=0.88,
        ),
        _scale(
            "RELQ",
            "Working-relationship quality",
            "Relationships",
            4,
            8,
            1,
            7,
            reverse=(5,),
            reliability=0.85,
        ),
        _scale(
            "BURN",
            "Work-related burnout",
            "Wellbeing",
            4,
            8,
            1,
            5,
            reverse=(4, 8),
            reliability=0.89,
            higher_is_better=False,
        ),
        _scale(
            "REAC", "Reaction to the training", "Reaction", 1, 4, 1, 5, reverse=(), reliability=0.82
        ),
    ),
    source=INSTRUMENT_FILE,
)

# Scales asked only at some waves (items blank at the others).
SCALE_WAVES: dict[str, tuple[str, ...]] = {"REAC": ("post",)}

AUDIENCE_IDS: tuple[str, ...] = tuple(AUDIENCES)
FORMAT_IDS: tuple[str, ...] = tuple(FORMATS)
DELIVERY_IDS: tuple[str, ...] = tuple(DELIVERIES)
WAVE_IDS: tuple[str, ...] = tuple(WAVES)


@dataclass(frozen=True)
class _ScaleModel:
    """How the latent trait behind a scale is drawn (in item units)."""

    mean: float  # population mean at pre
    sd_person: float  # between-person SD of the baseline
    sd_occasion: float  # wave-to-wave noise
    gain: float  # multiplier of the pre -> post effect (in SDs of the scale score)
    audience_shift: tuple[float, ...]  # baseline shift per audience, in AUDIENCE_IDS order
    experience_slope: float = 0.0  # baseline change per year of experience above 8


# Audience order: mental_health, educator, hr, healthcare, coach, other.
_SCALE_MODELS: dict[str, _ScaleModel] = {
    "CONF": _ScaleModel(2.85, 0.55, 0.22, 1.00, (0.25, 0.0, -0.15, 0.0, 0.10, -0.20), 0.012),
    "KNOW": _ScaleModel(2.70, 0.50, 0.18, 1.05, (0.35, 0.0, -0.25, 0.10, 0.0, -0.20), 0.008),
    "PRAC": _ScaleModel(3.80, 0.80, 0.30, 0.80, (0.40, 0.0, -0.30, 0.10, 0.10, -0.25), 0.015),
    "RELQ": _ScaleModel(4.70, 0.75, 0.35, 0.60, (0.20, 0.10, -0.10, 0.0, 0.15, -0.10), 0.005),
    "BURN": _ScaleModel(2.90, 0.60, 0.25, 0.50, (0.15, 0.20, 0.0, 0.30, -0.20, 0.0), -0.004),
    "REAC": _ScaleModel(4.00, 0.50, 0.0, 0.0, (0.0, 0.10, -0.10, 0.0, 0.05, 0.0)),
}

# Multipliers of the true pre -> post effect (an effect of 1.0 = one SD of the scale score).
_AUDIENCE_GAIN = {
    "mental_health": 0.85,
    "educator": 1.0,
    "hr": 0.7,
    "healthcare": 0.85,
    "coach": 0.8,
    "other": 0.65,
}
_FORMAT_GAIN = {"workshop": 0.55, "short_course": 0.8, "certificate": 1.0, "degree": 1.2}
_DELIVERY_GAIN = {"in_person": 1.0, "hybrid": 0.97, "online": 0.9}
_SUPERVISION_GAIN = 1.25
# Months for the effect to fade to 1/e after the end of training (doubled with supervision).
_FADE_MONTHS = {"workshop": 4.0, "short_course": 8.0, "certificate": 16.0, "degree": 30.0}
_SUPERVISION_FADE = 2.0

# Probability of answering each wave (before engagement and previous-wave adjustments).
_RESPONSE_RATE = {
    "workshop": (0.96, 0.80, 0.42, 0.30, 0.20),
    "short_course": (0.96, 0.84, 0.55, 0.43, 0.32),
    "certificate": (0.97, 0.88, 0.66, 0.56, 0.46),
    "degree": (0.98, 0.92, 0.74, 0.65, 0.56),
}
_ENGAGEMENT_WEIGHT = (0.0, 0.4, 0.7, 0.7, 0.7)
_MISSED_PREVIOUS_PENALTY = 0.8  # on the logit scale, follow-ups only

# Response-quality shares.
_ITEM_BLANK_RATE = 0.022
_MANY_BLANKS_RATE = 0.012  # rows that skip about half the items (scores fail min_answered)
_BREAK_OFF_RATE = 0.010  # rows that stop part-way through
_STRAIGHT_LINE_RATE = 0.010
_SPEEDER_RATE = 0.025


# --------------------------------------------------------------------------------------------
# Programmes and sponsors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Programme:
    program_id: str
    name: str
    format: str
    delivery: str
    contact_hours: int
    duration_days: tuple[int, int]  # end_date - start_date, inclusive range
    audience_mix: tuple[float, ...]  # in AUDIENCE_IDS order
    cohort_weight: float  # how often it runs
    supervision_share: float
    cost: tuple[int, int]
    main_sponsor: str


PROGRAMMES: tuple[_Programme, ...] = (
    _Programme(
        "P01",
        "Attachment in the Classroom – 2-day workshop",
        "workshop",
        "in_person",
        12,
        (1, 1),
        (0.04, 0.76, 0.02, 0.05, 0.03, 0.10),
        1.6,
        0.10,
        (220, 320),
        "SP02",
    ),
    _Programme(
        "P02",
        "Secure Base Essentials – online workshop",
        "workshop",
        "online",
        7,
        (1, 1),
        (0.25, 0.20, 0.10, 0.25, 0.10, 0.10),
        1.4,
        0.05,
        (90, 160),
        "SP01",
    ),
    _Programme(
        "P03",
        "Attachment-Aware Workplaces – workshop for HR teams",
        "workshop",
        "hybrid",
        10,
        (1, 1),
        (0.03, 0.05, 0.72, 0.05, 0.10, 0.05),
        1.0,
        0.10,
        (180, 280),
        "SP04",
    ),
    _Programme(
        "P04",
        "Foundations of Attachment-Informed Practice – short course",
        "short_course",
        "online",
        24,
        (42, 63),
        (0.30, 0.20, 0.08, 0.22, 0.12, 0.08),
        1.2,
        0.25,
        (450, 650),
        "SP01",
    ),
    _Programme(
        "P05",
        "Attachment and Trauma in Health Settings – short course",
        "short_course",
        "hybrid",
        30,
        (56, 84),
        (0.15, 0.03, 0.02, 0.70, 0.03, 0.07),
        0.9,
        0.35,
        (600, 900),
        "SP03",
    ),
    _Programme(
        "P06",
        "Coaching Through an Attachment Lens – short course",
        "short_course",
        "online",
        20,
        (35, 56),
        (0.10, 0.05, 0.15, 0.03, 0.60, 0.07),
        0.8,
        0.20,
        (400, 600),
        "SP05",
    ),
    _Programme(
        "P07",
        "Certificate in Attachment-Informed Practice",
        "certificate",
        "hybrid",
        90,
        (150, 240),
        (0.35, 0.25, 0.05, 0.20, 0.08, 0.07),
        0.7,
        0.60,
        (1800, 2600),
        "SP06",
    ),
    _Programme(
        "P08",
        "Certificate in Attachment-Focused Work with Families",
        "certificate",
        "in_person",
        120,
        (180, 270),
        (0.45, 0.20, 0.02, 0.20, 0.05, 0.08),
        0.5,
        0.70,
        (2400, 3200),
        "SP03",
    ),
    _Programme(
        "P09",
        "Postgraduate Diploma in Attachment-Informed Therapeutic Practice",
        "degree",
        "in_person",
        320,
        (300, 400),
        (0.80, 0.03, 0.01, 0.12, 0.02, 0.02),
        0.35,
        0.90,
        (6500, 8500),
        "SP06",
    ),
    _Programme(
        "P10",
        "Master's Programme in Attachment-Based Practice (part-time)",
        "degree",
        "hybrid",
        560,
        (450, 540),
        (0.60, 0.12, 0.03, 0.15, 0.05, 0.05),
        0.30,
        0.85,
        (9500, 12500),
        "SP05",
    ),
)

SPONSORS: tuple[str, ...] = ("SP01", "SP02", "SP03", "SP04", "SP05", "SP06")
_MAIN_SPONSOR_SHARE = 0.55
_COHORT_CAPACITY = {"workshop": 1.4, "short_course": 1.0, "certificate": 0.8, "degree": 0.6}
_PARTICIPANTS_PER_COHORT = 22
_MIN_COHORTS, _MAX_COHORTS = 40, 1500

# Participant codes: 4 + 4 characters without look-alikes (no 0/O, 1/I).
_CODE_ALPHABET = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Deliberately invalid rows (for the quarantine)
# --------------------------------------------------------------------------------------------

# The rule each invalid row breaks, in the order they are made. Rows for other rules are
# otherwise valid (fresh participants, real cohorts, in-range items, dates before AS_OF).
INVALID_ROW_RULES: tuple[str, ...] = (
    "item_out_of_range",  # CONF_02 = 9 on a 1-5 scale
    "item_out_of_range",  # PRAC_05 = 0 on a 1-7 scale
    "item_not_numeric",  # KNOW_03 = "agree"
    "item_not_numeric",  # RELQ_06 = "sometimes"
    "unknown_cohort",  # cohort_id not in cohorts.csv
    "wave_not_allowed",  # wave = "mid"
    "audience_not_allowed",  # audience = "teacher"
    "completed_at_not_a_date",  # "31/02/2024"
    "completed_at_in_future",  # 2099-01-01
    "duplicate_response",  # exact copy of a valid row
    "duplicate_response",  # re-submission: same participant, cohort and wave, other answers
    "pre_after_grace_period",  # pre completed more than PRE_WAVE_GRACE_DAYS after the start
    "post_before_cohort_end",  # post completed before the cohort's end_date
)
INVALID_ITEM_VALUES = {"CONF_02": "9", "PRAC_05": "0", "KNOW_03": "agree", "RELQ_06": "sometimes"}
INVALID_WAVE = "mid"
INVALID_AUDIENCE = "teacher"
INVALID_DATE = "31/02/2024"
FUTURE_DATE = "2099-01-01"


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedDataset:
    """What `generate_dataset` wrote."""

    out_dir: Path
    instrument_path: Path
    programs_path: Path
    cohorts_path: Path
    evidence_path: Path
    response_paths: tuple[Path, ...]
    participants: int
    programs: int
    cohorts: int
    evidence_studies: int
    response_rows: int  # valid response rows (without the invalid ones)
    rows_by_wave: dict[str, int]  # valid response rows per wave, in wave order
    invalid_rows_written: int
    invalid_rules: tuple[str, ...]  # the rule each invalid row breaks, in the order made

    @property
    def total_response_rows(self) -> int:
        return self.response_rows + self.invalid_rows_written

    @property
    def paths(self) -> tuple[Path, ...]:
        return (
            self.instrument_path,
            self.programs_path,
            self.cohorts_path,
            self.evidence_path,
            *self.response_paths,
        )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)


def _day(value: date) -> int:
    """Days since 1970-01-01."""
    return (value - _EPOCH).days


def _iso(day: int) -> str:
    return (_EPOCH + timedelta(days=int(day))).isoformat()


def _year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _index_of(labels: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (every value must be one of them)."""
    labels_array = np.asarray(labels)
    order = np.argsort(labels_array, kind="stable")
    return order[np.searchsorted(labels_array, values, sorter=order)]


def _pick_rows(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One category per row from row-wise cumulative probabilities (rows x categories)."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _code_numbers(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """`n` distinct random numbers below 32**8 (one per participant code), none in `taken`."""
    numbers = np.empty(0, dtype=np.int64)
    while numbers.size < n:
        merged = np.concatenate([numbers, rng.integers(0, 32**8, size=n - numbers.size + 8)])
        _, first = np.unique(merged, return_index=True)
        keep = np.zeros(merged.size, dtype=bool)
        keep[first] = True
        if taken is not None and taken.size:
            keep &= ~np.isin(merged, taken)
        numbers = merged[keep]
    return numbers[:n]


def _format_codes(numbers: np.ndarray) -> np.ndarray:
    """Anonymous survey codes like K7QF-2M9X from numbers below 32**8."""
    chars = np.full((numbers.size, 9), ord("-"), dtype=np.uint8)
    rest = numbers.copy()
    for position in (8, 7, 6, 5, 3, 2, 1, 0):
        chars[:, position] = _CODE_ALPHABET[rest % 32]
        rest //= 32
    return chars.view("S9").ravel().astype("<U9")


def _write_small_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Cohorts and participants
# --------------------------------------------------------------------------------------------

_PROGRAM_FORMAT = np.array([p.format for p in PROGRAMMES])
_PROGRAM_DELIVERY = np.array([p.delivery for p in PROGRAMMES])


@dataclass
class _Cohorts:
    ids: np.ndarray  # str
    program: np.ndarray  # index into PROGRAMMES
    sponsor: np.ndarray  # index into SPONSORS
    start: np.ndarray  # days since epoch
    end: np.ndarray
    supervision: np.ndarray  # bool
    cost: np.ndarray

    @property
    def year(self) -> np.ndarray:
        return _year_of(self.start)


def _make_cohorts(rng: np.random.Generator, participants: int) -> _Cohorts:
    n = int(np.clip(round(participants / _PARTICIPANTS_PER_COHORT), _MIN_COHORTS, _MAX_COHORTS))
    n_prog = len(PROGRAMMES)
    weights = np.array([p.cohort_weight for p in PROGRAMMES])
    # Every programme runs at least once; further cohorts follow the programme weights.
    program = np.concatenate(
        [np.arange(n_prog), rng.choice(n_prog, size=n - n_prog, p=weights / weights.sum())]
    )
    first, last = _day(FIRST_COHORT_START), _day(LAST_COHORT_START)
    start = rng.integers(first, last + 1, size=n)
    # Certificates and degrees start at the usual intakes (Jan-Mar, Sep-Nov).
    long_course = np.isin(_PROGRAM_FORMAT[program], ("certificate", "degree"))
    year = rng.integers(FIRST_COHORT_START.year, LAST_COHORT_START.year + 1, size=n)
    month = rng.choice(np.array([1, 2, 3, 9, 10, 11]), size=n, p=[0.3, 0.1, 0.05, 0.35, 0.15, 0.05])
    month_start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    intake = month_start.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 28, size=n)
    start = np.where(long_course, intake, start)
    # Training starts on a weekday (1970-01-01 was a Thursday, so weekday = (day + 3) % 7).
    weekday = (start + 3) % 7
    start = start + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    low = np.array([p.duration_days[0] for p in PROGRAMMES])[program]
    high = np.array([p.duration_days[1] for p in PROGRAMMES])[program]
    end = start + rng.integers(low, high + 1)
    supervision = rng.random(n) < np.array([p.supervision_share for p in PROGRAMMES])[program]
    cost_low = np.array([p.cost[0] for p in PROGRAMMES])[program]
    cost_high = np.array([p.cost[1] for p in PROGRAMMES])[program]
    cost = np.round(rng.uniform(cost_low, cost_high) / 10).astype(np.int64) * 10
    main = np.array([SPONSORS.index(p.main_sponsor) for p in PROGRAMMES])[program]
    sponsor = np.where(
        rng.random(n) < _MAIN_SPONSOR_SHARE, main, rng.integers(0, len(SPONSORS), size=n)
    )

    order = np.lexsort((program, start))
    program, sponsor, start, end = program[order], sponsor[order], start[order], end[order]
    supervision, cost = supervision[order], cost[order]
    # Ids: <programme>-<start year>-<running number within programme and year>.
    cohort_year = _year_of(start)
    counters: dict[tuple[int, int], int] = {}
    ids = []
    for p, y in zip(program.tolist(), cohort_year.tolist(), strict=True):
        counters[(p, y)] = counters.get((p, y), 0) + 1
        ids.append(f"{PROGRAMMES[p].program_id}-{y}-{counters[(p, y)]:03d}")
    return _Cohorts(np.array(ids), program, sponsor, start, end, supervision, cost)


@dataclass
class _Participants:
    code_numbers: np.ndarray
    codes: np.ndarray  # str
    cohort: np.ndarray  # index into the cohorts
    audience: np.ndarray  # index into AUDIENCE_IDS
    years: np.ndarray
    responsiveness: np.ndarray  # shared part of the personal gain, N(0, 1)
    engagement: np.ndarray  # propensity to keep answering, correlated with responsiveness


def _make_participants(rng: np.random.Generator, n: int, cohorts: _Cohorts) -> _Participants:
    formats = _PROGRAM_FORMAT[cohorts.program]
    capacity = np.array([_COHORT_CAPACITY[f] for f in formats])
    capacity = capacity * rng.lognormal(0.0, 0.3, size=capacity.size)
    cohort = rng.choice(capacity.size, size=n, p=capacity / capacity.sum())
    mix = np.array([p.audience_mix for p in PROGRAMMES])
    mix = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    audience = _pick_rows(rng, mix[cohorts.program[cohort]])
    # Years of experience: more for therapists and degree students, fewer for "other".
    scale = np.array([6.0, 5.5, 5.0, 5.5, 5.0, 3.5])[audience]
    years = rng.gamma(2.0, scale) + np.where(formats[cohort] == "degree", 3.0, 0.0)
    years = np.clip(np.rint(years), 0, 40).astype(np.int16)
    responsiveness = rng.standard_normal(n)
    engagement = 0.4 * responsiveness + math.sqrt(1 - 0.4**2) * rng.standard_normal(n)
    numbers = _code_numbers(rng, n)
    return _Participants(
        numbers, _format_codes(numbers), cohort, audience, years, responsiveness, engagement
    )


# --------------------------------------------------------------------------------------------
# Waves: who answered when
# --------------------------------------------------------------------------------------------


@dataclass
class _Rows:
    participant: np.ndarray  # index into the participants
    wave: np.ndarray  # index into WAVE_IDS
    day: np.ndarray  # completed_at, days since epoch
    year: np.ndarray  # year of the cohort's start (the responses file)


def _make_waves(rng: np.random.Generator, people: _Participants, cohorts: _Cohorts) -> _Rows:
    n = people.codes.size
    c = people.cohort
    start, end = cohorts.start[c], cohorts.end[c]
    fmt_index = _index_of(FORMAT_IDS, _PROGRAM_FORMAT[cohorts.program[c]])
    supervised = cohorts.supervision[c]
    as_of = _day(AS_OF)

    # Dates of every wave for everybody: pre mostly in the days before the start (some on the
    # first days, never after the training ended), post within two weeks of the end,
    # follow-ups about 3/6/12 months after the end.
    late_max = np.clip(end - start - 1, 0, 5)
    late = rng.random(n) < 0.15
    pre = np.where(
        late,
        start + np.floor(rng.random(n) * (late_max + 1)).astype(np.int64),
        start - rng.integers(0, 11, size=n),
    )
    post = end + np.minimum(np.floor(rng.exponential(3.5, size=n)), 14).astype(np.int64)
    days = [pre, post]
    for months in list(WAVES.values())[2:]:
        days.append(end + round(30.44 * months) + rng.integers(-7, 22, size=n))

    rates = np.array([_RESPONSE_RATE[f] for f in FORMAT_IDS])
    answered_previous = np.ones(n, dtype=bool)
    parts_p, parts_w, parts_d = [], [], []
    for w, wave_days in enumerate(days):
        logit = np.log(rates[fmt_index, w] / (1 - rates[fmt_index, w]))
        logit = logit + _ENGAGEMENT_WEIGHT[w] * people.engagement
        if w >= 2:
            logit = logit + np.where(supervised, 0.3, 0.0)
            logit = logit - np.where(answered_previous, 0.0, _MISSED_PREVIOUS_PENALTY)
        answered = rng.random(n) < 1 / (1 + np.exp(-logit))
        if w >= 1:
            answered_previous = answered
        index = np.flatnonzero(answered & (wave_days <= as_of))
        parts_p.append(index)
        parts_w.append(np.full(index.size, w, dtype=np.int8))
        parts_d.append(wave_days[index])
    participant = np.concatenate(parts_p)
    wave = np.concatenate(parts_w)
    day = np.concatenate(parts_d)
    cohort = people.cohort[participant]
    year = cohorts.year[cohort]
    # File order: year of cohort start, then date, cohort, participant.
    order = np.lexsort((participant, cohort, day, year))
    return _Rows(participant[order], wave[order], day[order], year[order])


# --------------------------------------------------------------------------------------------
# Item values and response behaviour
# --------------------------------------------------------------------------------------------


def _item_noise_sd(scale: Scale, model: _ScaleModel) -> float:
    """Item noise that gives the scale its declared reliability (Spearman-Brown)."""
    alpha = scale.reliability or 0.8
    k = scale.n_items
    rho = alpha / (k - (k - 1) * alpha)
    latent_var = model.sd_person**2 + model.sd_occasion**2
    return math.sqrt(max(latent_var * (1 - rho) / rho - 1 / 12, 0.04))


def _item_columns(
    rng: np.random.Generator,
    people: _Participants,
    cohorts: _Cohorts,
    rows: _Rows,
    progress: Callable[[float], None],
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Stored item values per item (int8, 0 = blank), each row's straight-line flag and
    each row's flag for answering only part of the survey."""
    n_rows = rows.participant.size
    p = rows.participant
    c = people.cohort[p]
    program = cohorts.program[c]
    fmt_index = _index_of(FORMAT_IDS, _PROGRAM_FORMAT[program])
    delivery_index = _index_of(DELIVERY_IDS, _PROGRAM_DELIVERY[program])
    supervised = cohorts.supervision[c]

    # True effect per row (in SDs of the scale score) and the share of it left at this wave.
    effect = (
        np.array([_AUDIENCE_GAIN[a] for a in AUDIENCE_IDS])[people.audience[p]]
        * np.array([_FORMAT_GAIN[f] for f in FORMAT_IDS])[fmt_index]
        * np.array([_DELIVERY_GAIN[d] for d in DELIVERY_IDS])[delivery_index]
        * np.where(supervised, _SUPERVISION_GAIN, 1.0)
    )
    months = np.array([0.0 if m is None else float(m) for m in WAVES.values()])[rows.wave]
    fade = np.array([_FADE_MONTHS[f] for f in FORMAT_IDS])[fmt_index]
    fade = fade * np.where(supervised, _SUPERVISION_FADE, 1.0)
    retention = np.where(rows.wave == 0, 0.0, np.exp(-months / fade))

    # How each row was filled in.
    many_blanks = rng.random(n_rows) < _MANY_BLANKS_RATE
    break_off = ~many_blanks & (rng.random(n_rows) < _BREAK_OFF_RATE)
    straight = ~many_blanks & (rng.random(n_rows) < _STRAIGHT_LINE_RATE)
    straight_value = rng.choice(np.array([3, 4, 5], dtype=np.int8), size=n_rows)
    n_items = len(DEMO_INSTRUMENT.items)
    stop_at = np.where(break_off, rng.integers(n_items // 3, n_items, size=n_rows), n_items)
    blank_rate = np.where(many_blanks, 0.55, _ITEM_BLANK_RATE).astype(np.float32)

    columns: dict[str, np.ndarray] = {}
    position = 0
    n_people = people.codes.size
    for s_index, scale in enumerate(DEMO_INSTRUMENT.scales):
        model = _SCALE_MODELS[scale.id]
        k = scale.n_items
        baseline = (
            model.mean
            + np.asarray(model.audience_shift)[people.audience]
            + model.experience_slope * (people.years - 8.0)
            + model.sd_person * rng.standard_normal(n_people)
        )
        personal = 0.6 * people.responsiveness + 0.8 * rng.standard_normal(n_people)
        score_sd = math.hypot(model.sd_person, model.sd_occasion) / math.sqrt(
            scale.reliability or 0.8
        )
        direction = 1.0 if scale.higher_is_better else -1.0
        gain = direction * model.gain * score_sd * effect * (1.0 + 0.45 * personal[p])
        latent = baseline[p] + gain * retention + model.sd_occasion * rng.standard_normal(n_rows)
        if scale.id == "REAC":
            # Longer, supervised and face-to-face training is rated a little higher.
            latent = latent + 0.08 * fmt_index + np.where(supervised, 0.1, 0.0)
            latent = latent - np.where(DELIVERY_IDS.index("online") == delivery_index, 0.12, 0.0)
        offsets = rng.normal(0.0, 0.22, size=k)
        offsets = (offsets - offsets.mean()).astype(np.float32)
        values = rng.standard_normal((n_rows, k), dtype=np.float32)
        values *= np.float32(_item_noise_sd(scale, model))
        values += latent.astype(np.float32)[:, None]
        values += offsets[None, :]
        np.rint(values, out=values)
        np.clip(values, scale.min, scale.max, out=values)
        stored = values.astype(np.int8)
        del values
        reverse = np.array([item in scale.reverse for item in scale.items])
        if reverse.any():
            stored[:, reverse] = np.int8(scale.min + scale.max) - stored[:, reverse]
        stored = np.where(straight[:, None], straight_value[:, None], stored)

        blank = rng.random((n_rows, k), dtype=np.float32) < blank_rate[:, None]
        blank |= (position + np.arange(k))[None, :] >= stop_at[:, None]
        asked = SCALE_WAVES.get(scale.id)
        if asked is not None:
            blank |= ~np.isin(rows.wave, [WAVE_IDS.index(w) for w in asked])[:, None]
        stored[blank] = 0
        for j, item in enumerate(scale.items):
            columns[item] = np.ascontiguousarray(stored[:, j])
        position += k
        progress((s_index + 1) / len(DEMO_INSTRUMENT.scales))
    return columns, straight, many_blanks | break_off


def _durations(
    rng: np.random.Generator, rows: _Rows, straight: np.ndarray, partial: np.ndarray
) -> np.ndarray:
    """Seconds spent on the survey: ~11 s an item, speeders under 2 minutes, a few left open."""
    n_rows = rows.wave.size
    n_asked = np.full(n_rows, len(DEMO_INSTRUMENT.items))
    for scale in DEMO_INSTRUMENT.scales:
        asked = SCALE_WAVES.get(scale.id)
        if asked is not None:
            not_asked = ~np.isin(rows.wave, [WAVE_IDS.index(w) for w in asked])
            n_asked = n_asked - scale.n_items * not_asked
    seconds = rng.lognormal(np.log(11.0 * n_asked), 0.45)
    seconds = np.where(partial, seconds * 0.6, seconds)
    seconds = np.where(rng.random(n_rows) < 0.01, rng.uniform(3600, 20000, n_rows), seconds)
    speeder = rng.random(n_rows) < _SPEEDER_RATE
    seconds = np.where(speeder, rng.integers(35, 120, size=n_rows), seconds)
    seconds = np.where(straight, rng.integers(45, 180, size=n_rows), seconds)
    return np.clip(np.rint(seconds), 20, 86_400).astype(np.int32)


def _responses_table(
    people: _Participants,
    cohorts: _Cohorts,
    rows: _Rows,
    items: dict[str, np.ndarray],
    seconds: np.ndarray,
) -> pa.Table:
    p = pa.array(rows.participant)
    columns = {
        "participant_code": pa.array(people.codes).take(p),
        "cohort_id": pa.array(cohorts.ids).take(pa.array(people.cohort[rows.participant])),
        "wave": pa.array(WAVE_IDS).take(pa.array(rows.wave)),
        "completed_at": pa.array(rows.day.astype("datetime64[D]")),
        "audience": pa.array(AUDIENCE_IDS).take(pa.array(people.audience[rows.participant])),
        "years_experience": pa.array(people.years[rows.participant]),
        "duration_seconds": pa.array(seconds),
    }
    assert tuple(columns) == RESPONSE_REQUIRED_COLUMNS + RESPONSE_OPTIONAL_COLUMNS
    for item in DEMO_INSTRUMENT.items:
        values = items[item]
        columns[item] = pa.array(values, mask=values == 0)
    return pa.table(columns)


# --------------------------------------------------------------------------------------------
# Invalid rows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _InvalidRow:
    rule: str
    year: int  # which responses file
    where: float  # relative position within that file, in [0, 1)
    values: dict[str, str]


def _invalid_rows(
    rng: np.random.Generator, people: _Participants, cohorts: _Cohorts, table: pa.Table
) -> list[_InvalidRow]:
    """One or two rows per rule in INVALID_ROW_RULES, each breaking only its own rule."""
    as_of = _day(AS_OF)
    n_cohorts = cohorts.ids.size
    duration = cohorts.end - cohorts.start
    fresh_codes = iter(
        _format_codes(_code_numbers(rng, len(INVALID_ROW_RULES), taken=people.code_numbers))
    )
    post_ok = np.flatnonzero(cohorts.end + 14 <= as_of)
    long_ok = np.flatnonzero((duration >= 60) & (cohorts.end + 14 <= as_of))
    if long_ok.size == 0:
        long_ok = np.array([int(np.argmax(duration))])
    if post_ok.size == 0:
        post_ok = long_ok
    mix = np.array([p.audience_mix for p in PROGRAMMES])
    mix = mix / mix.sum(axis=1, keepdims=True)

    def row(cohort: int, wave: str, day: int, code: str | None = None) -> dict[str, str]:
        values = {
            "participant_code": next(fresh_codes) if code is None else code,
            "cohort_id": str(cohorts.ids[cohort]),
            "wave": wave,
            "completed_at": _iso(day),
            "audience": AUDIENCE_IDS[rng.choice(len(AUDIENCE_IDS), p=mix[cohorts.program[cohort]])],
            "years_experience": str(int(rng.integers(0, 26))),
            "duration_seconds": str(int(rng.integers(280, 900))),
        }
        for scale in DEMO_INSTRUMENT.scales:
            asked = wave in SCALE_WAVES[scale.id] if scale.id in SCALE_WAVES else True
            for item in scale.items:
                answer = int(rng.integers(int(scale.min), int(scale.max) + 1))
                values[item] = str(answer) if asked else ""
        return values

    def pre_row() -> tuple[int, dict[str, str]]:
        cohort = int(rng.integers(0, n_cohorts))
        return cohort, row(cohort, "pre", int(cohorts.start[cohort]) - 3)

    def post_row() -> tuple[int, dict[str, str]]:
        cohort = int(rng.choice(post_ok))
        return cohort, row(cohort, "post", int(cohorts.end[cohort]) + 2)

    def long_cohort() -> int:
        return int(rng.choice(long_ok))

    made: list[tuple[str, int, dict[str, str]]] = []  # rule, year, values

    def add(rule: str, cohort: int, values: dict[str, str]) -> None:
        made.append((rule, int(cohorts.year[cohort]), values))

    for rule, item, maker in (
        ("item_out_of_range", "CONF_02", pre_row),
        ("item_out_of_range", "PRAC_05", post_row),
        ("item_not_numeric", "KNOW_03", pre_row),
        ("item_not_numeric", "RELQ_06", post_row),
    ):
        cohort, values = maker()
        values[item] = INVALID_ITEM_VALUES[item]
        add(rule, cohort, values)

    cohort, values = pre_row()
    known = set(cohorts.ids.tolist())
    number = 999
    while (
        unknown := f"{PROGRAMMES[cohorts.program[cohort]].program_id}-"
        f"{cohorts.year[cohort]}-{number:03d}"
    ) in known:
        number -= 1
    values["cohort_id"] = unknown
    add("unknown_cohort", cohort, values)

    cohort = long_cohort()
    add(
        "wave_not_allowed",
        cohort,
        row(cohort, INVALID_WAVE, int(cohorts.start[cohort] + cohorts.end[cohort]) // 2),
    )

    cohort, values = pre_row()
    values["audience"] = INVALID_AUDIENCE
    add("audience_not_allowed", cohort, values)

    cohort, values = pre_row()
    values["completed_at"] = INVALID_DATE
    add("completed_at_not_a_date", cohort, values)

    cohort, values = post_row()
    values["completed_at"] = FUTURE_DATE
    add("completed_at_in_future", cohort, values)

    if table.num_rows:
        first, second = (
            int(i) for i in rng.choice(table.num_rows, size=2, replace=table.num_rows < 2)
        )
        cohort_index = {cohort_id: i for i, cohort_id in enumerate(cohorts.ids.tolist())}
        for position, resubmitted in ((first, False), (second, True)):
            original = {
                name: ""
                if value is None
                else value.isoformat()
                if isinstance(value, date)
                else str(value)
                for name, value in table.slice(position, 1).to_pylist()[0].items()
            }
            cohort = cohort_index[original["cohort_id"]]
            values = dict(original)
            if resubmitted:
                answers = row(cohort, original["wave"], 0, code=original["participant_code"])
                for item in (*DEMO_INSTRUMENT.items, "duration_seconds"):
                    values[item] = answers[item]
            add("duplicate_response", cohort, values)

    cohort = long_cohort()
    late = int(cohorts.start[cohort]) + PRE_WAVE_GRACE_DAYS + int(rng.integers(5, 20))
    add("pre_after_grace_period", cohort, row(cohort, "pre", late))

    cohort = long_cohort()
    early = max(
        int(cohorts.end[cohort]) - int(rng.integers(10, 30)), int(cohorts.start[cohort]) + 1
    )
    add("post_before_cohort_end", cohort, row(cohort, "post", early))

    return [_InvalidRow(rule, year, float(rng.random()), values) for rule, year, values in made]


# --------------------------------------------------------------------------------------------
# Evidence
# --------------------------------------------------------------------------------------------

# yi is a standardised mean difference coded so that a positive value is an improvement
# (for Wellbeing/burnout: a reduction).
_EVIDENCE_DOMAIN_EFFECT = {
    "Confidence": 0.65,
    "Knowledge": 0.75,
    "Practice": 0.5,
    "Relationships": 0.4,
    "Wellbeing": 0.35,
}
_EVIDENCE_DESIGNS = {
    "single_group_pre_post": (7, 0.1, (20, 150)),
    "comparison_group": (4, 0.0, (40, 220)),
    "randomised": (3, -0.1, (60, 320)),
}


def _make_evidence(rng: np.random.Generator) -> pd.DataFrame:
    designs = np.array([d for d, (count, _, _) in _EVIDENCE_DESIGNS.items() for _ in range(count)])
    designs = designs[rng.permutation(designs.size)]
    domains = list(_EVIDENCE_DOMAIN_EFFECT)
    records = []
    for index, design in enumerate(designs.tolist(), start=1):
        _, shift, (n_low, n_high) = _EVIDENCE_DESIGNS[design]
        domain = domains[(index - 1) % len(domains)]
        n = int(rng.integers(n_low, n_high + 1))
        true = rng.normal(_EVIDENCE_DOMAIN_EFFECT[domain] + shift, 0.1)
        # Sampling variance of a pre-post SMD (r = 0.5) or of a two-group SMD (equal groups).
        base = 1 / n if design == "single_group_pre_post" else 4 / n
        yi = true + rng.normal(0.0, math.sqrt(base))
        while not 0.25 <= yi <= 0.95:  # keep the demo's effects in a plausible band
            yi = true + rng.normal(0.0, math.sqrt(base))
        vi = base + yi**2 / (2 * n)
        records.append(
            {
                "study_id": f"SYN{index:02d}",
                "citation": f"Synthetic demo study {index:02d} (not a real publication)",
                "year": int(rng.integers(2008, 2026)),
                "design": design,
                "audience": AUDIENCE_IDS[int(rng.integers(0, len(AUDIENCE_IDS)))],
                "format": FORMAT_IDS[int(rng.integers(0, len(FORMAT_IDS)))],
                "outcome_domain": domain,
                "n": n,
                "yi": f"{yi:.3f}",
                "vi": f"{vi:.4f}",
                "synthetic": "true",
            }
        )
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", eol="\n")


def _write_responses(path: Path, table: pa.Table, invalid: list[tuple[int, _InvalidRow]]) -> None:
    """Header, then the valid rows with each invalid row spliced in before valid row `position`
    (invalid rows at the same position keep their order)."""
    header = ",".join(table.column_names) + "\n"
    sink = pa.OSFile(str(path), "wb")
    try:
        sink.write(header.encode("utf-8"))
        done = 0
        for position, row in invalid:
            if position > done:
                pacsv.write_csv(table.slice(done, position - done), sink, _CSV_OPTIONS)
                done = position
            line = ",".join(row.values[name] for name in table.column_names)
            if any(ch in line for ch in '"\n\r'):
                raise ValueError(f"invalid row for {row.rule} would need quoting: {line!r}")
            sink.write((line + "\n").encode("utf-8"))
        if table.num_rows > done:
            pacsv.write_csv(table.slice(done), sink, _CSV_OPTIONS)
    finally:
        sink.close()


def _clear_old_responses(out_dir: Path) -> None:
    """Remove responses files an earlier run of the generator left in `out_dir`."""
    old = sorted((out_dir / RESPONSES_DIR).glob("responses_*.csv"))
    old.append(out_dir / SINGLE_RESPONSES_FILE)
    for path in old:
        if path.is_file():
            path.unlink()
    folder = out_dir / RESPONSES_DIR
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def generate_dataset(
    out_dir: Path,
    participants: int = DEMO_PARTICIPANTS,
    seed: int = DEMO_SEED,
    single_responses_file: bool = False,
    invalid_rows: bool = True,
    progress: ProgressCallback | None = None,
) -> GeneratedDataset:
    """Write a synthetic dataset in Attune's input format to `out_dir` and say what was written.

    Responses go to `responses/responses_<year of cohort start>.csv` (one file per year), or
    with `single_responses_file` to one `responses.csv`; responses files of an earlier run in
    `out_dir` are removed first. With `invalid_rows`, the rows listed in INVALID_ROW_RULES are
    spliced in; the valid rows are the same either way. `progress(step, fraction)` is called
    as the work advances.
    """
    if participants < 1:
        raise ValueError("participants must be at least 1")

    def report(step: str, fraction: float) -> None:
        if progress is not None:
            progress(step, min(max(fraction, 0.0), 1.0))

    out_dir = Path(out_dir)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    cohort_rng, people_rng, wave_rng, item_rng, invalid_rng, evidence_rng = streams

    report("cohorts", 0.0)
    cohorts = _make_cohorts(cohort_rng, participants)
    report("participants", 0.05)
    people = _make_participants(people_rng, participants, cohorts)
    report("waves", 0.12)
    rows = _make_waves(wave_rng, people, cohorts)
    items, straight, partial = _item_columns(
        item_rng, people, cohorts, rows, lambda f: report("responses", 0.2 + 0.4 * f)
    )
    seconds = _durations(item_rng, rows, straight, partial)
    table = _responses_table(people, cohorts, rows, items, seconds)
    del items
    invalid = _invalid_rows(invalid_rng, people, cohorts, table) if invalid_rows else []

    report("writing", 0.65)
    out_dir.mkdir(parents=True, exist_ok=True)
    instrument_path = out_dir / INSTRUMENT_FILE
    instrument_path.write_text(instrument_to_yaml(DEMO_INSTRUMENT), encoding="utf-8", newline="\n")
    programs_path = out_dir / PROGRAMS_FILE
    _write_small_csv(
        pd.DataFrame(
            [(p.program_id, p.name, p.format, p.delivery, p.contact_hours) for p in PROGRAMMES],
            columns=list(PROGRAM_COLUMNS),
        ),
        programs_path,
    )
    cohorts_path = out_dir / COHORTS_FILE
    _write_small_csv(
        pd.DataFrame(
            {
                "cohort_id": cohorts.ids,
                "program_id": [PROGRAMMES[p].program_id for p in cohorts.program],
                "sponsor_id": np.array(SPONSORS)[cohorts.sponsor],
                "start_date": cohorts.start.astype("datetime64[D]").astype(str),
                "end_date": cohorts.end.astype("datetime64[D]").astype(str),
                "supervision": np.where(cohorts.supervision, "true", "false"),
                "cost_per_participant": cohorts.cost,
            }
        )[list(COHORT_REQUIRED_COLUMNS + COHORT_OPTIONAL_COLUMNS)],
        cohorts_path,
    )
    evidence = _make_evidence(evidence_rng)
    evidence_path = out_dir / EVIDENCE_FILE
    _write_small_csv(evidence, evidence_path)

    _clear_old_responses(out_dir)
    years = list(range(FIRST_COHORT_START.year, LAST_COHORT_START.year + 1))
    bounds = np.searchsorted(rows.year, years + [years[-1] + 1])
    # Each invalid row goes before the valid row at its relative place in its year's file; the
    # single file is the year files one after another, with the invalid rows at the same places.
    placed: list[tuple[int, int, _InvalidRow]] = []  # year index, position in that year, row
    for row in invalid:
        y = years.index(row.year)
        placed.append((y, int(row.where * (bounds[y + 1] - bounds[y])), row))
    placed.sort(key=lambda entry: (entry[0], entry[1]))  # stable: keeps the order of making
    if single_responses_file:
        response_paths = [out_dir / SINGLE_RESPONSES_FILE]
        _write_responses(
            response_paths[0],
            table,
            [(int(bounds[y]) + position, row) for y, position, row in placed],
        )
        report("writing", 1.0)
    else:
        (out_dir / RESPONSES_DIR).mkdir(exist_ok=True)
        response_paths = []
        for y, year in enumerate(years):
            path = out_dir / RESPONSES_DIR / f"responses_{year}.csv"
            _write_responses(
                path,
                table.slice(bounds[y], bounds[y + 1] - bounds[y]),
                [(position, row) for yy, position, row in placed if yy == y],
            )
            response_paths.append(path)
            report("writing", 0.65 + 0.35 * (y + 1) / len(years))

    rows_by_wave = {wave: int((rows.wave == w).sum()) for w, wave in enumerate(WAVE_IDS)}
    report("done", 1.0)
    return GeneratedDataset(
        out_dir=out_dir,
        instrument_path=instrument_path,
        programs_path=programs_path,
        cohorts_path=cohorts_path,
        evidence_path=evidence_path,
        response_paths=tuple(response_paths),
        participants=participants,
        programs=len(PROGRAMMES),
        cohorts=int(cohorts.ids.size),
        evidence_studies=len(evidence),
        response_rows=int(table.num_rows),
        rows_by_wave=rows_by_wave,
        invalid_rows_written=len(invalid),
        invalid_rules=tuple(r.rule for r in invalid),
    )


def write_demo(
    out_dir: Path = DEMO_DIR, progress: ProgressCallback | None = None
) -> GeneratedDataset:
    """Write the shipped demo dataset (the defaults of `generate_dataset`)."""
    return generate_dataset(
        out_dir, participants=DEMO_PARTICIPANTS, seed=DEMO_SEED, progress=progress
    )


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m etl.generate OUT_DIR [--participants N] [--seed S] ...`"""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", default=DEMO_DIR)
    parser.add_argument("--participants", type=int, default=DEMO_PARTICIPANTS)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--single-responses-file", action="store_true")
    parser.add_argument("--no-invalid-rows", action="store_true")
    args = parser.parse_args(argv)
    result = generate_dataset(
        args.out_dir,
        participants=args.participants,
        seed=args.seed,
        single_responses_file=args.single_responses_file,
        invalid_rows=not args.no_invalid_rows,
    )
    print(
        f"{result.out_dir}: {result.cohorts} cohorts, {result.response_rows} response rows "
        f"{result.rows_by_wave}, {result.invalid_rows_written} invalid rows"
    )


if __name__ == "__main__":
    main()
