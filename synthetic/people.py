"""Participants and their waves: who attended which cohort, and who answered when.

Every participant belongs to one cohort and has one audience, years of experience, a
responsiveness (the shared part of their personal gain) and an engagement (the wish to keep
answering, correlated with responsiveness). Attrition removes responses at every wave, most
at follow-up and most for short formats, and slightly more often among people who gain less.
Waves dated after the world's `as_of` are not generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schemas.contract import AUDIENCES, FORMATS, WAVES
from synthetic.codes import code_numbers, format_codes
from synthetic.cohorts import Cohorts
from synthetic.days import day_number
from synthetic.world import World

AUDIENCE_IDS: tuple[str, ...] = tuple(AUDIENCES)
FORMAT_IDS: tuple[str, ...] = tuple(FORMATS)
WAVE_IDS: tuple[str, ...] = tuple(WAVES)


@dataclass
class Participants:
    code_numbers: np.ndarray
    codes: np.ndarray  # str
    cohort: np.ndarray  # index into the cohorts
    audience: np.ndarray  # index into AUDIENCE_IDS
    years: np.ndarray
    responsiveness: np.ndarray  # shared part of the personal gain, N(0, 1)
    engagement: np.ndarray  # propensity to keep answering, correlated with responsiveness


@dataclass
class Rows:
    """One entry per response row, in file order."""

    participant: np.ndarray  # index into the participants
    wave: np.ndarray  # index into WAVE_IDS
    day: np.ndarray  # completed_at, days since epoch
    year: np.ndarray  # year of the cohort's start (the responses file)


def index_of(labels: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (every value must be one of them)."""
    labels_array = np.asarray(labels)
    order = np.argsort(labels_array, kind="stable")
    return order[np.searchsorted(labels_array, values, sorter=order)]


def by_label(mapping: dict[str, float], labels: tuple[str, ...]) -> np.ndarray:
    """The mapping's values in the order of `labels`, to index with label positions."""
    return np.array([mapping[label] for label in labels])


def audience_mix(world: World) -> np.ndarray:
    """Each programme's audience shares (programmes x audiences), each row adding up to 1."""
    mix = np.array([by_label(p.audience_mix, AUDIENCE_IDS) for p in world.programmes])
    return mix / mix.sum(axis=1, keepdims=True)


def _pick_rows(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One category per row from row-wise cumulative probabilities (rows x categories)."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def make_participants(
    rng: np.random.Generator, world: World, n: int, cohorts: Cohorts
) -> Participants:
    """`n` participants spread over the cohorts by cohort size, with their audiences."""
    plan = world.cohorts
    capacity = np.array([plan.size_by_format[f] for f in cohorts.format])
    capacity = capacity * rng.lognormal(0.0, plan.size_spread, size=capacity.size)
    cohort = rng.choice(capacity.size, size=n, p=capacity / capacity.sum())
    return people_of_cohorts(rng, world, cohorts, cohort)


def people_of_cohorts(
    rng: np.random.Generator,
    world: World,
    cohorts: Cohorts,
    cohort: np.ndarray,
    taken: np.ndarray | None = None,
) -> Participants:
    """One participant per entry of `cohort` (an index into the cohorts), with an audience
    from the programme's mix, experience, responsiveness, engagement and a code not in
    `taken`."""
    people = world.people
    n = cohort.size
    formats = cohorts.format
    mix = np.cumsum(audience_mix(world), axis=1)
    audience = _pick_rows(rng, mix[cohorts.program[cohort]])
    scale = by_label(people.experience_scale, AUDIENCE_IDS)[audience]
    years = rng.gamma(people.experience_shape, scale) + np.where(
        formats[cohort] == "degree", people.degree_extra_years, 0.0
    )
    years = np.clip(np.rint(years), 0, people.max_years).astype(np.int16)
    responsiveness = rng.standard_normal(n)
    r = people.engagement_gain_correlation
    engagement = r * responsiveness + math.sqrt(1 - r**2) * rng.standard_normal(n)
    numbers = code_numbers(rng, n, taken)
    return Participants(
        numbers, format_codes(numbers), cohort, audience, years, responsiveness, engagement
    )


def make_waves(
    rng: np.random.Generator, world: World, people: Participants, cohorts: Cohorts
) -> Rows:
    """Which waves each participant answered, and when, in file order."""
    dates, responding = world.wave_dates, world.responding
    n = people.codes.size
    c = people.cohort
    start, end = cohorts.start[c], cohorts.end[c]
    fmt_index = index_of(FORMAT_IDS, cohorts.format[c])
    supervised = cohorts.supervision[c]
    as_of = day_number(world.calendar.as_of)

    # Dates of every wave for everybody: pre mostly in the days before the start (some on the
    # first days, never after the training ended), post shortly after the end, follow-ups
    # about 3/6/12 months after the end.
    late_max = np.clip(end - start - 1, 0, dates.late_pre_max_days)
    late = rng.random(n) < dates.late_pre_share
    pre = np.where(
        late,
        start + np.floor(rng.random(n) * (late_max + 1)).astype(np.int64),
        start - rng.integers(0, dates.pre_days_before_start + 1, size=n),
    )
    delay = np.floor(rng.exponential(dates.post_delay_mean_days, size=n))
    post = end + np.minimum(delay, dates.post_delay_max_days).astype(np.int64)
    days = [pre, post]
    shift = dates.followup_shift_days
    for months in list(WAVES.values())[2:]:
        days.append(
            end
            + round(dates.days_per_month * months)
            + rng.integers(shift.min, shift.max + 1, size=n)
        )

    rates = np.array([by_label(responding.rate[f], WAVE_IDS) for f in FORMAT_IDS])
    weights = by_label(responding.engagement_weight, WAVE_IDS)
    answered_previous = np.ones(n, dtype=bool)
    parts_p, parts_w, parts_d = [], [], []
    for w, wave_days in enumerate(days):
        logit = np.log(rates[fmt_index, w] / (1 - rates[fmt_index, w]))
        logit = logit + weights[w] * people.engagement
        if w >= 2:
            logit = logit + np.where(supervised, responding.followup_supervision_bonus, 0.0)
            logit = logit - np.where(answered_previous, 0.0, responding.missed_previous_penalty)
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
    return Rows(participant[order], wave[order], day[order], year[order])
