"""A database whose cost figures are known by hand: cohorts of known cost, people, matched
pairs and reliably improved. Shared by the cost tests of the analysis layer and of
`attune cost`; no tests here.

Person i of a cohort scores ``pre = 1 + i % 3`` on CONF (2 + i % 3 in the deteriorating
cohort E); the first ``pairs`` also answer post, the first ``improved`` of them with +1.5
(beyond the reliable-change threshold, about 1.0 here) and the rest with +0.5 (within it);
in E everyone answers post with -0.5. ``COHORTS`` lists every cohort; ``SCORES`` gives each
cohort's (pre, post) pairs, from which a test can recompute any figure row by row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

import duckdb

from etl.load import ensure_schema, store_instrument
from schemas.instrument import parse_instrument
from tests.support import TINY_INSTRUMENT, finish_world


class Cohort(NamedTuple):
    cohort_id: str
    program_id: str
    cost: float | None
    people: int
    pairs: int
    improved: int


PROGRAMS = {"P1": "workshop", "P2": "degree", "P3": "workshop", "P4": "certificate",
            "P5": "short_course"}
COHORTS = (
    Cohort("A", "P1", 100.0, 20, 20, 10),
    Cohort("B", "P3", 300.0, 30, 25, 5),
    Cohort("C", "P2", 1000.0, 40, 30, 12),
    Cohort("D", "P2", None, 12, 12, 6),  # unknown cost
    Cohort("E", "P4", 500.0, 15, 15, 0),  # everyone a little worse: nothing to pay for
    Cohort("G", "P1", 150.0, 16, 16, 8),
    Cohort("H", "P5", None, 14, 14, 7),  # the only cohort of its format, of unknown cost
)
START = dt.date(2023, 1, 2)
INSERT_PROGRAM = "INSERT INTO programs VALUES (?, ?, ?, 'online', 10)"
INSERT_COHORT = ("INSERT INTO cohorts (cohort_id, program_id, sponsor_id, start_date, end_date, "
                 "supervision, cost_per_participant) VALUES (?, ?, 'SP1', ?, ?, false, ?)")


def scores(cohort: Cohort) -> list[tuple[float, float | None]]:
    """(pre, post) of each person of the cohort; post None for those who answered pre only."""
    out: list[tuple[float, float | None]] = []
    for i in range(cohort.people):
        pre = (2.0 if cohort.cohort_id == "E" else 1.0) + i % 3
        if i >= cohort.pairs:
            out.append((pre, None))
        elif cohort.cohort_id == "E":
            out.append((pre, pre - 0.5))
        else:
            out.append((pre, pre + (1.5 if i < cohort.improved else 0.5)))
    return out


SCORES = {c.cohort_id: scores(c) for c in COHORTS}


def build_cost_db(path: Path, cohorts: tuple[Cohort, ...] = COHORTS) -> Path:
    """Write the database of ``cohorts`` (default ``COHORTS``) to ``path``."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    store_instrument(con, parse_instrument(TINY_INSTRUMENT, source="test"))
    for program, fmt in PROGRAMS.items():
        con.execute(INSERT_PROGRAM, [program, f"Programme {program}", fmt])
    rows = []
    for cohort in cohorts:
        con.execute(INSERT_COHORT, [cohort.cohort_id, cohort.program_id, START,
                                    START + dt.timedelta(days=14), cohort.cost])
        for i, (pre, post) in enumerate(scores(cohort)):
            for wave, score, day in (("pre", pre, 0), ("post", post, 20)):
                if score is None:
                    continue
                rows.append((f"{cohort.cohort_id}-{i}", cohort.cohort_id, wave,
                             START + dt.timedelta(days=day), "mental_health", 0.0, False, False,
                             False, "run1", "world.csv", 2 + len(rows), score, score, score, 2))
    return finish_world(con, rows, path)
