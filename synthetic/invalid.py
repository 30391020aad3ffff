"""Deliberately invalid response rows, each named by the input contract's rules it breaks.

Every row is otherwise valid (a fresh participant in a real cohort, items in range, dated
before the world's `as_of`) and breaks the rules listed with it, in the names `attune ingest`
writes to the quarantine (schemas/rules.py). Two rows repeat a valid row's participant,
cohort and wave (an exact copy, and a re-submission with other answers): the rule sets aside
every row of such a pair, so the valid row each repeats is quarantined with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from schemas.contract import PRE_WAVE_GRACE_DAYS, YEARS_AFTER_COHORT
from synthetic.codes import code_numbers, format_codes
from synthetic.cohorts import Cohorts
from synthetic.days import date_of, day_number, iso_date
from synthetic.people import AUDIENCE_IDS, Participants, audience_mix
from synthetic.world import World, WorldError

# The rules of the input contract the invalid rows break, as the quarantine names them.
ITEM_WITHIN_SCALE_RANGE = "item_within_scale_range"
VALUE_IS_A_NUMBER = "value_is_a_number"
COHORT_ID_EXISTS = "cohort_id_exists"
WAVE_IS_ALLOWED = "wave_is_allowed"
AUDIENCE_IS_ALLOWED = "audience_is_allowed"
VALUE_IS_A_DATE = "value_is_a_date"
DATE_NOT_IN_FUTURE = "date_not_in_future"
DATE_NEAR_COHORT_DATES = "date_near_cohort_dates"
ONE_RESPONSE_PER_PARTICIPANT_COHORT_WAVE = "one_response_per_participant_cohort_wave"
PRE_WAVE_WITHIN_GRACE = "pre_wave_within_14_days_of_cohort_start"
LATER_WAVE_NOT_BEFORE_COHORT_END = "later_wave_not_before_cohort_end"
# Rows made besides one per entry of invalid_rows.item_values: unknown cohort, wave,
# audience, unreadable date, future date, two repeats, late pre, early post.
_OTHER_ROWS = 9
# Cohorts the rows are put in: the wave-date rules need a cohort that has ended (with time
# for a post wave) and is long enough for a pre wave well after its start.
_POST_WINDOW_DAYS = 14
_LONG_COHORT_DAYS = 60


@dataclass(frozen=True)
class InvalidRow:
    """An invalid row before it is placed in a responses file."""

    rules: tuple[str, ...]  # every contract rule it breaks
    year: int  # which responses file (year of the cohort's start)
    where: float  # relative position within that file, in [0, 1)
    values: dict[str, str]
    repeats: int | None = None  # position in the valid rows of the row it repeats


def item_rule(world: World, item: str, value: str) -> str:
    """The rule an item answer of `value` breaks: not a number, or outside the scale's range."""
    scale = world.instrument.scale_of_item()[item]
    try:
        number = float(value)
    except ValueError:
        return VALUE_IS_A_NUMBER
    if scale.min <= number <= scale.max:
        raise WorldError(f"invalid_rows.item_values: {item} = {value!r} is a valid answer")
    return ITEM_WITHIN_SCALE_RANGE


def _later_than_near_cohort(day: date, cohort_end: date) -> bool:
    """Whether `day` is further after the cohort's end than any plausible response."""
    try:
        latest = cohort_end.replace(year=cohort_end.year + YEARS_AFTER_COHORT)
    except ValueError:  # 29 February
        latest = cohort_end.replace(year=cohort_end.year + YEARS_AFTER_COHORT, day=28)
    return day > latest


def make_invalid_rows(
    rng: np.random.Generator,
    world: World,
    people: Participants,
    cohorts: Cohorts,
    table: pa.Table,
) -> list[InvalidRow]:
    """The invalid rows, in the order they are made; the two repeats need valid rows."""
    plan = world.invalid_rows
    instrument = world.instrument
    as_of = day_number(world.calendar.as_of)
    n_cohorts = cohorts.ids.size
    duration = cohorts.end - cohorts.start
    planned = len(plan.item_values) + _OTHER_ROWS
    fresh_codes = iter(format_codes(code_numbers(rng, planned, taken=people.code_numbers)))
    post_ok = np.flatnonzero(cohorts.end + _POST_WINDOW_DAYS <= as_of)
    long_ok = np.flatnonzero(
        (duration >= _LONG_COHORT_DAYS) & (cohorts.end + _POST_WINDOW_DAYS <= as_of)
    )
    if long_ok.size == 0:
        long_ok = np.array([int(np.argmax(duration))])
    if post_ok.size == 0:
        post_ok = long_ok
    mix = audience_mix(world)
    years, seconds = plan.years_experience, plan.duration_seconds

    def row(cohort: int, wave: str, day: int, code: str | None = None) -> dict[str, str]:
        values = {
            "participant_code": next(fresh_codes) if code is None else code,
            "cohort_id": str(cohorts.ids[cohort]),
            "wave": wave,
            "completed_at": iso_date(day),
            "audience": AUDIENCE_IDS[rng.choice(len(AUDIENCE_IDS), p=mix[cohorts.program[cohort]])],
            "years_experience": str(int(rng.integers(years.min, years.max + 1))),
            "duration_seconds": str(int(rng.integers(seconds.min, seconds.max + 1))),
        }
        for scale in instrument.scales:
            asked = world.asked_at(scale.id)
            for item in scale.items:
                answer = int(rng.integers(int(scale.min), int(scale.max) + 1))
                values[item] = str(answer) if asked is None or wave in asked else ""
        return values

    def pre_row() -> tuple[int, dict[str, str]]:
        cohort = int(rng.integers(0, n_cohorts))
        return cohort, row(cohort, "pre", int(cohorts.start[cohort]) - plan.pre_days_before_start)

    def post_row() -> tuple[int, dict[str, str]]:
        cohort = int(rng.choice(post_ok))
        return cohort, row(cohort, "post", int(cohorts.end[cohort]) + plan.post_days_after_end)

    def long_cohort() -> int:
        return int(rng.choice(long_ok))

    made: list[tuple[tuple[str, ...], int, dict[str, str], int | None]] = []

    def add(rules: tuple[str, ...], cohort: int, values: dict[str, str], repeats=None) -> None:
        made.append((rules, int(cohorts.year[cohort]), values, repeats))

    for entry in plan.item_values:
        cohort, values = pre_row() if entry.wave == "pre" else post_row()
        values[entry.item] = entry.value
        add((item_rule(world, entry.item, entry.value),), cohort, values)

    cohort, values = pre_row()
    known = set(cohorts.ids.tolist())
    number = plan.unknown_cohort_number
    program_id = world.programmes[cohorts.program[cohort]].program_id
    while (unknown := f"{program_id}-{cohorts.year[cohort]}-{number:03d}") in known:
        number -= 1
    values["cohort_id"] = unknown
    add((COHORT_ID_EXISTS,), cohort, values)

    cohort = long_cohort()
    middle = int(cohorts.start[cohort] + cohorts.end[cohort]) // 2
    add((WAVE_IS_ALLOWED,), cohort, row(cohort, plan.wave, middle))

    cohort, values = pre_row()
    values["audience"] = plan.audience
    add((AUDIENCE_IS_ALLOWED,), cohort, values)

    cohort, values = pre_row()
    values["completed_at"] = plan.unreadable_date
    add((VALUE_IS_A_DATE,), cohort, values)

    cohort, values = post_row()
    values["completed_at"] = plan.future_date
    future, cohort_end = date.fromisoformat(plan.future_date), date_of(int(cohorts.end[cohort]))
    near = (DATE_NEAR_COHORT_DATES,) if _later_than_near_cohort(future, cohort_end) else ()
    add((DATE_NOT_IN_FUTURE, *near), cohort, values)

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
                for item in (*instrument.items, "duration_seconds"):
                    values[item] = answers[item]
            add((ONE_RESPONSE_PER_PARTICIPANT_COHORT_WAVE,), cohort, values, repeats=position)

    cohort = long_cohort()
    late_days = plan.pre_days_after_grace
    late = (
        int(cohorts.start[cohort])
        + PRE_WAVE_GRACE_DAYS
        + int(rng.integers(late_days.min, late_days.max + 1))
    )
    add((PRE_WAVE_WITHIN_GRACE,), cohort, row(cohort, "pre", late))

    cohort = long_cohort()
    early_days = plan.post_days_before_end
    early = max(
        int(cohorts.end[cohort]) - int(rng.integers(early_days.min, early_days.max + 1)),
        int(cohorts.start[cohort]) + 1,
    )
    add((LATER_WAVE_NOT_BEFORE_COHORT_END,), cohort, row(cohort, "post", early))

    return [
        InvalidRow(rules, year, float(rng.random()), values, repeats)
        for rules, year, values, repeats in made
    ]
