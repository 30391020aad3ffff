"""The attack database: one sponsor's cohorts shaped to have small cells, and its known truth.

``build_attack_db(path)`` writes the database with the helpers ``tests.support.build_tiny_db``
uses (the schema DDL, ``store_instrument``, the ``INSERT_*`` statements) and returns an
``AttackData``: every cohort and person as generated, so a test knows each true figure
without asking the code under test.

What is in it, and why:

* the attacker's own sponsor **SP1**: 24 cohorts with distinct start dates 13 days apart
  (so a date window can take in or leave out exactly one cohort), of 1 to 60 matched pairs,
  four of them a single person, two of two people and two of seven; five programmes in four
  formats and three deliveries, and audiences mixed so that some audience x format cells are
  small (1, 2, 7 pairs) and others must be hidden to protect them;
* another sponsor **SP2** (its own programme P6 and cohorts of the shared P3), whose numbers a
  sponsor of SP1 must never see; its last answer sets the data's cut-off date;
* three scales of k = 4, 6 and 8 items, answers 1..5 and score = the mean of the items, so
  one answer step is 1/k points; the 6-item one is a burnout scale (lower is better) with no
  declared reliability (the reliable-change threshold then uses the baseline Cronbach alpha
  of every sponsor's answers: a pooled figure);
* waves pre, post and a follow-up at three months, with people who answered only before
  training and people who did not answer the follow-up.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from etl.load import ensure_schema, refresh_views, store_instrument
from schemas.instrument import parse_instrument
from tests.support import INSERT_COHORT, INSERT_QUARANTINED_ROW, INSERT_RUN

OWN, OTHER = "SP1", "SP2"  # the attacker's sponsor, and the one they must never see
SEED = 12
FIRST_START = dt.date(2024, 1, 8)
START_STEP_DAYS = 13
CUTOFF = dt.date(2025, 4, 30)  # the last answer in the data (SP2's last post survey)
POST_AFTER_END_DAYS = 2
FOLLOWUP = "followup_3m"
FOLLOWUP_MONTHS = 3
WAVES = ("pre", "post", FOLLOWUP)
DURATION_DAYS = {"workshop": 1, "short_course": 28, "certificate": 90, "degree": 180}
DROPOUT_SHARE = 0.15  # of a cohort of 12 pairs or more: answered before training only
FOLLOWUP_SHARE = 0.7  # of the matched pairs of a cohort whose follow-up was due


@dataclass(frozen=True)
class ScaleSpec:
    """One scale: ``k`` items answered 1..5; ``centre`` and ``gain`` shape the scores."""

    scale_id: str
    name: str
    domain: str
    level: int
    k: int
    higher_is_better: bool
    reliability: float | None
    centre: float
    gain: float

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(f"{self.scale_id}_{i:02d}" for i in range(1, self.k + 1))

    @property
    def step(self) -> float:
        """One answer step in score points."""
        return 1.0 / self.k


SCALES = (
    ScaleSpec("S4", "Confidence with attachment ideas", "Confidence", 2, 4, True, 0.8, 2.8, 0.4),
    ScaleSpec("S6", "Work burnout", "Wellbeing", 4, 6, False, None, 3.2, -0.3),
    ScaleSpec("S8", "Attachment-informed practice", "Practice", 3, 8, True, 0.85, 3.0, 0.35),
)
SCALE = {s.scale_id: s for s in SCALES}
INSTRUMENT = {"scales": [
    {"id": s.scale_id, "name": s.name, "domain": s.domain, "level": s.level,
     "items": list(s.items), "min": 1, "max": 5, "reverse": [],
     "higher_is_better": s.higher_is_better, "min_answered": 0.8,
     **({"reliability": s.reliability} if s.reliability is not None else {})}
    for s in SCALES]}

# programme id -> (name, format, delivery)
PROGRAMS = {
    "P1": ("Secure Base two-day workshop", "workshop", "in_person"),
    "P2": ("Secure Base online workshop", "workshop", "online"),
    "P3": ("Foundations of attachment-informed practice", "short_course", "online"),
    "P4": ("Certificate in attachment-informed practice", "certificate", "hybrid"),
    "P5": ("Postgraduate diploma in attachment-based work", "degree", "in_person"),
    "P6": ("Harbourside leadership through attachment", "short_course", "hybrid"),
}
INSERT_PROGRAM = "INSERT INTO programs VALUES (?, ?, ?, ?, ?)"
INSERT_RESPONSES = "INSERT INTO responses BY NAME SELECT * FROM incoming_responses"

# SP1's cohorts in start order: (programme, {audience: matched pairs}).
OWN_COHORTS: tuple[tuple[str, dict[str, int]], ...] = (
    ("P1", {"hr": 24, "educator": 6}),
    ("P3", {"educator": 16, "hr": 2}),
    ("P2", {"coach": 1}),
    ("P4", {"mental_health": 22, "healthcare": 3}),
    ("P1", {"hr": 9, "educator": 3}),
    ("P5", {"mental_health": 7}),
    ("P3", {"educator": 30, "hr": 10}),
    ("P2", {"healthcare": 2}),
    ("P4", {"mental_health": 28, "healthcare": 7}),
    ("P1", {"hr": 1}),
    ("P3", {"coach": 13, "educator": 2}),
    ("P5", {"mental_health": 9}),
    ("P2", {"healthcare": 20, "educator": 8}),
    ("P1", {"educator": 1}),
    ("P4", {"mental_health": 40, "educator": 5}),
    ("P3", {"hr": 3}),
    ("P1", {"hr": 48, "educator": 12}),
    ("P5", {"mental_health": 12, "healthcare": 2}),
    ("P2", {"coach": 14, "hr": 6}),
    ("P3", {"healthcare": 7}),
    ("P4", {"mental_health": 42, "educator": 8}),
    ("P2", {"coach": 2}),
    ("P1", {"mental_health": 1}),
    ("P4", {"hr": 18, "healthcare": 4}),
)
# SP2's cohorts: (programme, first day, {audience: matched pairs}); the last one's post
# survey is answered on CUTOFF.
OTHER_COHORTS: tuple[tuple[str, dt.date, dict[str, int]], ...] = (
    ("P6", dt.date(2024, 1, 15), {"hr": 25, "healthcare": 6}),
    ("P3", dt.date(2024, 2, 21), {"educator": 30}),
    ("P6", dt.date(2024, 3, 29), {"healthcare": 18, "coach": 4}),
    ("P3", dt.date(2024, 5, 5), {"educator": 26, "hr": 14}),
    ("P6", dt.date(2024, 6, 11), {"hr": 22}),
    ("P3", dt.date(2024, 8, 24), {"mental_health": 35}),
    ("P6", dt.date(2024, 11, 6), {"healthcare": 28}),
    ("P6", CUTOFF - dt.timedelta(days=DURATION_DAYS["short_course"] + POST_AFTER_END_DAYS),
     {"hr": 20}),
)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months (the last day of the month when it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Cohort:
    cohort_id: str
    program_id: str
    sponsor: str
    start: dt.date
    end: dt.date
    supervision: bool

    @property
    def format(self) -> str:
        return PROGRAMS[self.program_id][1]

    @property
    def delivery(self) -> str:
        return PROGRAMS[self.program_id][2]

    @property
    def followup_due(self) -> bool:
        return add_months(self.end, FOLLOWUP_MONTHS) <= CUTOFF


@dataclass
class Person:
    """One participant of one cohort: ``scores[(scale_id, wave)]`` for every wave answered."""

    pid: str
    cohort: Cohort
    audience: str
    scores: dict[tuple[str, str], float] = field(default_factory=dict)
    answers: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    def answered(self, wave: str) -> bool:
        return (SCALES[0].scale_id, wave) in self.scores


@dataclass(frozen=True)
class Truth:
    """Exact figures of one set of matched pairs (change signed so improvement is +)."""

    n: int
    mean_from: float
    mean_to: float
    mean_change: float
    sd_change: float
    changes: tuple[float, ...]


@dataclass
class AttackData:
    path: Path
    cohorts: list[Cohort]
    people: list[Person]

    def own_cohorts(self) -> list[Cohort]:
        """SP1's cohorts in start order."""
        return sorted((c for c in self.cohorts if c.sponsor == OWN), key=lambda c: c.start)

    def cohort(self, cohort_id: str) -> Cohort:
        return next(c for c in self.cohorts if c.cohort_id == cohort_id)

    def pairs(self, scale_id: str, wave_from: str = "pre", wave_to: str = "post",
              where: Callable[[Person], bool] = lambda p: True) -> list[Person]:
        """The people with a score at both waves (matched pairs) for whom ``where`` holds."""
        return [p for p in self.people if (scale_id, wave_from) in p.scores
                and (scale_id, wave_to) in p.scores and where(p)]

    def truth(self, scale_id: str, people: Iterable[Person], wave_from: str = "pre",
              wave_to: str = "post") -> Truth:
        """The exact figures of these people's matched pairs."""
        sign = 1.0 if SCALE[scale_id].higher_is_better else -1.0
        chosen = [p for p in people if (scale_id, wave_from) in p.scores
                  and (scale_id, wave_to) in p.scores]
        before = [p.scores[(scale_id, wave_from)] for p in chosen]
        after = [p.scores[(scale_id, wave_to)] for p in chosen]
        changes = tuple(sign * (b - a) for a, b in zip(before, after, strict=True))
        n = len(chosen)
        mean = sum(changes) / n if n else math.nan
        sd = (math.sqrt(sum((c - mean) ** 2 for c in changes) / (n - 1)) if n > 1
              else math.nan)
        return Truth(n, sum(before) / n if n else math.nan, sum(after) / n if n else math.nan,
                     mean, sd, changes)


def _cohorts() -> list[Cohort]:
    out = []
    for i, (program, _) in enumerate(OWN_COHORTS):
        start = FIRST_START + dt.timedelta(days=START_STEP_DAYS * i)
        end = start + dt.timedelta(days=DURATION_DAYS[PROGRAMS[program][1]])
        out.append(Cohort(f"A{i:02d}", program, OWN, start, end, i % 3 != 1))
    for i, (program, start, _) in enumerate(OTHER_COHORTS):
        end = start + dt.timedelta(days=DURATION_DAYS[PROGRAMS[program][1]])
        out.append(Cohort(f"B{i:02d}", program, OTHER, start, end, i % 2 == 0))
    return out


def _answers(rng: random.Random, level: float, k: int) -> tuple[int, ...]:
    return tuple(min(5, max(1, round(level + rng.gauss(0, 0.8)))) for _ in range(k))


def _person(rng: random.Random, pid: str, cohort: Cohort, audience: str, waves: tuple[str, ...],
            boost: float) -> Person:
    person = Person(pid, cohort, audience)
    for s in SCALES:
        level = rng.gauss(s.centre, 0.65)
        gain = rng.gauss(s.gain * boost, 0.45)
        levels = {"pre": level, "post": level + gain,
                  FOLLOWUP: level + 0.8 * gain + rng.gauss(0, 0.25)}
        for wave in waves:
            answers = _answers(rng, levels[wave], s.k)
            person.answers[(s.scale_id, wave)] = answers
            person.scores[(s.scale_id, wave)] = sum(answers) / s.k
    return person


def _people(rng: random.Random, cohorts: list[Cohort]) -> list[Person]:
    mixes = [mix for _, mix in OWN_COHORTS] + [mix for _, _, mix in OTHER_COHORTS]
    people = []
    for cohort, mix in zip(cohorts, mixes, strict=True):
        boost = 1.0 if cohort.sponsor == OWN else 1.6  # SP2's numbers differ from SP1's
        pairs = sum(mix.values())
        for audience, n in mix.items():
            for i in range(n):
                waves = ("pre", "post")
                if cohort.followup_due and rng.random() < FOLLOWUP_SHARE:
                    waves += (FOLLOWUP,)
                people.append(_person(rng, f"{cohort.cohort_id}-{audience}-{i}", cohort,
                                      audience, waves, boost))
        dropouts = round(pairs * DROPOUT_SHARE) if pairs >= 12 else 0
        first = next(iter(mix))
        for i in range(dropouts):
            people.append(_person(rng, f"{cohort.cohort_id}-{first}-gone{i}", cohort, first,
                                  ("pre",), boost))
    return people


def _completed(cohort: Cohort, wave: str) -> dt.date:
    if wave == "pre":
        return cohort.start - dt.timedelta(days=3)
    if wave == "post":
        return cohort.end + dt.timedelta(days=POST_AFTER_END_DAYS)
    return add_months(cohort.end, FOLLOWUP_MONTHS)


def _response_rows(people: list[Person]) -> pd.DataFrame:
    rows = []
    for person in people:
        for wave in WAVES:
            if not person.answered(wave):
                continue
            row = {"participant_id": person.pid, "cohort_id": person.cohort.cohort_id,
                   "wave": wave, "completed_at": _completed(person.cohort, wave),
                   "audience": person.audience, "items_missing_share": 0.0,
                   "flag_straightlining": False, "flag_item_missingness": False,
                   "flag_speeding": False, "run_id": "run1", "source": "attack.csv",
                   "source_row": 2 + len(rows)}
            for s in SCALES:
                answers = person.answers[(s.scale_id, wave)]
                row.update(zip(s.items, (float(a) for a in answers), strict=True))
                row[f"score_{s.scale_id}"] = person.scores[(s.scale_id, wave)]
                row[f"answered_{s.scale_id}"] = s.k
            rows.append(row)
    return pd.DataFrame(rows)


def build_attack_db(path: Path) -> AttackData:
    """Write the attack database at ``path`` (a few seconds) and return its truth."""
    rng = random.Random(SEED)
    cohorts = _cohorts()
    people = _people(rng, cohorts)
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        store_instrument(con, parse_instrument(INSTRUMENT, source="attack"))
        for program, (name, fmt, delivery) in PROGRAMS.items():
            con.execute(INSERT_PROGRAM, [program, name, fmt, delivery, 12.0])
        for c in cohorts:
            con.execute(INSERT_COHORT, [c.cohort_id, c.program_id, c.sponsor, c.start, c.end,
                                        c.supervision])
        incoming_responses = _response_rows(people)  # noqa: F841 - read by INSERT_RESPONSES
        con.register("incoming_responses", incoming_responses)
        con.execute(INSERT_RESPONSES)
        con.unregister("incoming_responses")
        con.execute(INSERT_RUN, [len(incoming_responses) + 1, len(incoming_responses)])
        con.execute(INSERT_QUARANTINED_ROW)
        refresh_views(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return AttackData(Path(path), cohorts, people)
