"""A database where change truly rises by a known amount per log contact hour and with
supervision, adjusted for format and audience. Shared by the dose tests of the analysis layer
and of `attune dose`; no tests here.

Programmes (``PROGRAMMES``): three workshops and three certificates of different lengths,
and one workshop whose contact hours are not recorded (P6). Each has ``cohorts_per_programme``
cohorts, every other one supervised. A participant's change pre -> post (improvement) is

    BASE + HOURS_EFFECT·log(hours) + SUPERVISION_EFFECT·supervised + FORMAT_EFFECT[format]
    + AUDIENCE_EFFECT[audience] + cohort effect (N(0, 0.1)) + N(0, 0.5),

pre ~ N(2.5, 0.5). With ``higher_is_better=False`` the scale runs the other way, so the
stored post score is pre minus the improvement.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np

from etl.load import ensure_schema, store_instrument
from schemas.instrument import parse_instrument
from tests.support import INSERT_COHORT, TINY_INSTRUMENT, finish_world

BASE = 0.1
HOURS_EFFECT = 0.15  # per unit of log(contact hours)
SUPERVISION_EFFECT = 0.3
FORMAT_EFFECT = {"workshop": 0.0, "certificate": 0.2}
AUDIENCE_EFFECT = {"mental_health": 0.0, "educator": -0.1, "hr": 0.1}
PROGRAMMES = (  # id, format, contact hours (None: not recorded)
    ("P0", "workshop", 7.0), ("P1", "workshop", 12.0), ("P2", "workshop", 16.0),
    ("P3", "certificate", 40.0), ("P4", "certificate", 90.0), ("P5", "certificate", 160.0),
    ("P6", "workshop", None),
)
INSERT_PROGRAM = ("INSERT INTO programs (program_id, name, format, delivery, contact_hours) "
                  "VALUES (?, ?, ?, 'in_person', ?)")


def build_dose_db(path: Path, people_per_cohort: int = 40, cohorts_per_programme: int = 4,
                  seed: int = 7, higher_is_better: bool = True) -> Path:
    """Write the database to ``path``."""
    rng = np.random.default_rng(seed)
    instrument = copy.deepcopy(TINY_INSTRUMENT)
    instrument["scales"][0]["higher_is_better"] = higher_is_better
    con = duckdb.connect(str(path))
    ensure_schema(con)
    store_instrument(con, parse_instrument(instrument, source="test"))
    audiences = list(AUDIENCE_EFFECT)
    rows = []
    for program_id, fmt, hours in PROGRAMMES:
        con.execute(INSERT_PROGRAM, [program_id, f"Programme {program_id}", fmt, hours])
        for c in range(cohorts_per_programme):
            cohort_id, supervised = f"{program_id}C{c}", c % 2 == 1
            start = dt.date(2023, 1 + c, 1)
            con.execute(INSERT_COHORT, [cohort_id, program_id, "SP1", start,
                                        start + dt.timedelta(days=14), supervised])
            level = (BASE + HOURS_EFFECT * math.log(hours or 20.0)
                     + SUPERVISION_EFFECT * supervised + FORMAT_EFFECT[fmt]
                     + rng.normal(0, 0.1))
            for i in range(people_per_cohort):
                audience = audiences[i % len(audiences)]
                improvement = level + AUDIENCE_EFFECT[audience] + rng.normal(0, 0.5)
                pre = 2.5 + rng.normal(0, 0.5)
                post = pre + (improvement if higher_is_better else -improvement)
                for wave, score, day in (("pre", pre, 0), ("post", post, 20)):
                    rows.append((f"{cohort_id}-{i}", cohort_id, wave,
                                 start + dt.timedelta(days=day), audience, 0.0, False, False,
                                 False, "run1", "world.csv", 2 + len(rows), score, score,
                                 score, 2))
    return finish_world(con, rows, path)
