"""A database where two programmes each train several intervention cohorts beside cohorts of
an untrained arm (waitlist for P0, comparison for P1), with a known effect of training.
Shared by the comparison tests of the analysis layer and of `attune compare`; no tests here.

Each participant i of cohort c scores ``2.5 + v_c + u_i + e_iw`` on CONF at pre, and at post
the same plus ``EFFECT + w_c`` in an intervention cohort or ``w_c`` in the other arm
(v_c ~ N(0, 0.1) a cohort's level, w_c ~ N(0, 0.05) its own change, u_i ~ N(0, 0.5),
e_iw ~ N(0, 0.4)): the generating effect of training is EFFECT on both the ANCOVA and the
difference in differences. Intervention participants also answer 12 months after the end of
training. Everyone answers pre; post is missed with probability ``MISS`` (P0 both arms, P1's
intervention arm) or ``MISS_P1_COMPARISON`` (P1's comparison arm: high differential
attrition). P2 has intervention cohorts only. ``comparison_shift`` moves the baseline (every
wave) of P0's waitlist arm, to make it non-equivalent; ``with_comparison=False`` leaves the
untrained arms out and keeps every intervention row the same; ``lower_is_better=True``
declares CONF a scale where lower is better and stores 6 − every score (the same people,
their improvement now a fall).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np

from etl.load import ensure_schema, store_instrument
from schemas.instrument import parse_instrument
from tests.support import INSERT_PROGRAM, TINY_INSTRUMENT, finish_world

EFFECT = 0.5
BASE = 2.5
MISS = 0.10
MISS_P1_COMPARISON = 0.40
PEOPLE = 60  # per cohort
# programme -> (its untrained arm, intervention cohorts, untrained cohorts)
PROGRAMMES = {"P0": ("waitlist", 4, 4), "P1": ("comparison", 3, 3), "P2": (None, 3, 0)}
DAYS = {"pre": 0, "post": 20, "followup_12m": 385}
INSERT_ARM_COHORT = ("INSERT INTO cohorts (cohort_id, program_id, sponsor_id, start_date, "
                     "end_date, supervision, arm) VALUES (?, ?, ?, ?, ?, ?, ?)")


def cohorts() -> list[tuple[str, str, str, int]]:
    """(cohort_id, program_id, arm, month index) of every cohort, in generation order."""
    out = []
    for program, (other, n_trained, n_other) in PROGRAMMES.items():
        arms = ["intervention"] * n_trained + [other] * n_other
        out.extend((f"{program}-{arm[0]}{k}", program, arm, k) for k, arm in enumerate(arms))
    return out


def build_waitlist_db(path: Path, seed: int = 1, *, comparison_shift: float = 0.0,
                      with_comparison: bool = True, lower_is_better: bool = False) -> Path:
    """Write the database to ``path`` (see the module docstring) and return it."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    instrument = copy.deepcopy(TINY_INSTRUMENT)
    instrument["scales"][0]["higher_is_better"] = not lower_is_better
    store_instrument(con, parse_instrument(instrument, source="test"))
    for program in PROGRAMMES:
        con.execute(INSERT_PROGRAM, [program, f"Programme {program}", "in_person"])
    rows = []
    for cohort_id, program, arm, k in cohorts():
        trained = arm == "intervention"
        start = dt.date(2023, 1 + k, 1)
        level, own = rng.normal(0, 0.1), rng.normal(0, 0.05)
        miss = MISS_P1_COMPARISON if program == "P1" and not trained else MISS
        shift = comparison_shift if program == "P0" and not trained else 0.0
        people = []
        for i in range(PEOPLE):
            u = rng.normal(0, 0.5)
            scores = {"pre": BASE + shift + level + u + rng.normal(0, 0.4)}
            scores["post"] = (BASE + shift + level + u + own + (EFFECT if trained else 0.0)
                              + rng.normal(0, 0.4))
            scores["followup_12m"] = scores["post"] + rng.normal(0, 0.3)
            waves = ["pre"] + (["post"] if rng.random() >= miss else [])
            if trained and "post" in waves:
                waves.append("followup_12m")
            people.append((f"{cohort_id}-{i}", scores, waves))
        if not (trained or with_comparison):
            continue
        con.execute(INSERT_ARM_COHORT, [cohort_id, program, "SP1" if program != "P1" else "SP2",
                                        start, start + dt.timedelta(days=14), True, arm])
        for pid, scores, waves in people:
            for wave in waves:
                score = 6 - scores[wave] if lower_is_better else scores[wave]
                rows.append((pid, cohort_id, wave, start + dt.timedelta(days=DAYS[wave]),
                             "mental_health", 0.0, False, False, False, "run1", "world.csv",
                             2 + len(rows), score, score, score, 2))
    return finish_world(con, rows, path)
