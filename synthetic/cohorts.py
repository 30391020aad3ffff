"""Cohorts: runs of the world's programmes, each for one sponsor, with dates and costs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.days import day_number, weekday_of, year_of
from synthetic.world import World


@dataclass
class Cohorts:
    """Every cohort, one array entry each, in cohorts.csv order (start date, programme)."""

    ids: np.ndarray  # str
    program: np.ndarray  # index into world.programmes
    sponsor: np.ndarray  # index into world.sponsors
    start: np.ndarray  # days since epoch
    end: np.ndarray
    supervision: np.ndarray  # bool
    cost: np.ndarray
    format: np.ndarray  # str, the programme's format
    delivery: np.ndarray  # str, the programme's delivery

    @property
    def year(self) -> np.ndarray:
        return year_of(self.start)


def make_cohorts(rng: np.random.Generator, world: World, participants: int) -> Cohorts:
    """About one cohort per `participants_per_cohort` participants; every programme runs at
    least once and further cohorts follow the programme weights."""
    programmes, plan, calendar = world.programmes, world.cohorts, world.calendar
    n = int(
        np.clip(
            round(participants / plan.participants_per_cohort), plan.min_cohorts, plan.max_cohorts
        )
    )
    n_prog = len(programmes)
    weights = np.array([p.cohort_weight for p in programmes])
    program = np.concatenate(
        [np.arange(n_prog), rng.choice(n_prog, size=n - n_prog, p=weights / weights.sum())]
    )
    program_format = np.array([p.format for p in programmes])
    first, last = day_number(calendar.first_cohort_start), day_number(calendar.last_cohort_start)
    start = rng.integers(first, last + 1, size=n)
    # Some formats start at the usual intakes (e.g. Jan-Mar, Sep-Nov).
    intake_course = np.isin(program_format[program], plan.intake_formats)
    year = rng.integers(
        calendar.first_cohort_start.year, calendar.last_cohort_start.year + 1, size=n
    )
    month = rng.choice(
        np.array(list(plan.intake_months)), size=n, p=list(plan.intake_months.values())
    )
    month_start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    intake = month_start.astype("datetime64[D]").astype(np.int64) + rng.integers(
        0, plan.intake_days, size=n
    )
    start = np.where(intake_course, intake, start)
    # Training starts on a weekday: Saturday and Sunday move to the Monday after.
    weekday = weekday_of(start)
    start = start + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    low = np.array([p.duration_days.min for p in programmes])[program]
    high = np.array([p.duration_days.max for p in programmes])[program]
    end = start + rng.integers(low, high + 1)
    supervision = rng.random(n) < np.array([p.supervision_share for p in programmes])[program]
    cost_low = np.array([p.cost.min for p in programmes])[program]
    cost_high = np.array([p.cost.max for p in programmes])[program]
    step = plan.cost_step
    cost = np.round(rng.uniform(cost_low, cost_high) / step).astype(np.int64) * step
    main = np.array([world.sponsors.index(p.main_sponsor) for p in programmes])[program]
    sponsor = np.where(
        rng.random(n) < plan.main_sponsor_share, main, rng.integers(0, len(world.sponsors), size=n)
    )

    order = np.lexsort((program, start))
    program, sponsor, start, end = program[order], sponsor[order], start[order], end[order]
    supervision, cost = supervision[order], cost[order]
    # Ids: <programme>-<start year>-<running number within programme and year>.
    cohort_year = year_of(start)
    counters: dict[tuple[int, int], int] = {}
    ids = []
    for p, y in zip(program.tolist(), cohort_year.tolist(), strict=True):
        counters[(p, y)] = counters.get((p, y), 0) + 1
        ids.append(f"{programmes[p].program_id}-{y}-{counters[(p, y)]:03d}")
    program_delivery = np.array([p.delivery for p in programmes])
    return Cohorts(
        ids=np.array(ids),
        program=program,
        sponsor=sponsor,
        start=start,
        end=end,
        supervision=supervision,
        cost=cost,
        format=program_format[program],
        delivery=program_delivery[program],
    )
