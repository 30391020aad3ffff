"""Waitlist cohorts: people of a programme who are surveyed before they are trained.

For each programme that `world.yaml` names under `waitlist`, one or two of its intervention
cohorts (those whose post wave is due by the world's `as_of`) each get a waitlist cohort with
the same programme, sponsor, dates and supervision and as many people. They answer the pre and
post waves on the same schedule; nothing happens in between, so their change is the practice
effect alone (a comparison for the pre -> post change of the people trained). The baseline is
drawn as for everybody, so the arms start alike. All of it comes from its own random stream,
after everything else: the intervention cohorts and their rows are the same with or without.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from synthetic.answers import durations, item_columns, responses_table
from synthetic.cohorts import Cohorts
from synthetic.days import day_number
from synthetic.people import Participants, Rows, make_waves, people_of_cohorts
from synthetic.world import World

WAITLIST_WAVES = 2  # pre and post: they are trained after post, so no follow-ups of theirs
_POST_WINDOW_DAYS = 14  # the post wave of the cohort compared with is due by as_of


@dataclass
class Waitlist:
    """The waitlist cohorts and their valid response rows (in file order)."""

    cohorts: Cohorts
    compared_with: np.ndarray  # index of each one's intervention cohort
    table: pa.Table
    year: np.ndarray  # year of cohort start of each row (its responses file)
    wave: np.ndarray  # index into WAVE_IDS of each row
    codes: np.ndarray  # participant codes (str)


def _pick(rng: np.random.Generator, world: World, cohorts: Cohorts) -> np.ndarray:
    """Indexes of the intervention cohorts that get a waitlist cohort, in cohorts order."""
    plan = world.waitlist
    ids = [p.program_id for p in world.programmes]
    due = cohorts.end + _POST_WINDOW_DAYS <= day_number(world.calendar.as_of)
    chosen = []
    for program_id in plan.programmes:
        candidates = np.flatnonzero((cohorts.program == ids.index(program_id)) & due)
        wanted = int(rng.integers(plan.cohorts_per_programme.min,
                                  plan.cohorts_per_programme.max + 1))
        if candidates.size:
            chosen.extend(rng.choice(candidates, size=min(wanted, candidates.size),
                                     replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


def _waitlist_cohorts(cohorts: Cohorts, compared: np.ndarray) -> Cohorts:
    """Copies of the compared cohorts, each named after its cohort: <cohort_id>-WL."""
    return Cohorts(
        ids=np.array([f"{cid}-WL" for cid in cohorts.ids[compared]]),
        program=cohorts.program[compared],
        sponsor=cohorts.sponsor[compared],
        start=cohorts.start[compared],
        end=cohorts.end[compared],
        supervision=cohorts.supervision[compared],
        cost=np.zeros(compared.size, dtype=np.int64),  # nobody trained: no cost is written
        format=cohorts.format[compared],
        delivery=cohorts.delivery[compared],
    )


def _pre_and_post(rows: Rows) -> Rows:
    keep = rows.wave < WAITLIST_WAVES
    return Rows(rows.participant[keep], rows.wave[keep], rows.day[keep], rows.year[keep])


def make_waitlist(
    rng: np.random.Generator,
    world: World,
    cohorts: Cohorts,
    people: Participants,
    taken: np.ndarray,
) -> Waitlist | None:
    """The waitlist cohorts of `world.waitlist` beside `cohorts` (None if the world has
    none); every participant code is new (none of `taken`, the codes already used)."""
    if world.waitlist is None:
        return None
    compared = _pick(rng, world, cohorts)
    waiting = _waitlist_cohorts(cohorts, compared)
    sizes = np.bincount(people.cohort, minlength=cohorts.ids.size)[compared]
    cohort = np.repeat(np.arange(compared.size), sizes)
    members = people_of_cohorts(rng, world, waiting, cohort, taken)
    rows = _pre_and_post(make_waves(rng, world, members, waiting))
    items, straight, partial = item_columns(
        rng, world, members, waiting, rows, lambda _: None,
        practice_effect=world.waitlist.practice_effect,
    )
    seconds = durations(rng, world, rows, straight, partial)
    table = responses_table(world, members, waiting, rows, items, seconds)
    return Waitlist(waiting, compared, table, rows.year, rows.wave, members.codes)


def without_waitlist(world: World) -> World:
    """The same world with intervention cohorts only."""
    return replace(world, waitlist=None)
