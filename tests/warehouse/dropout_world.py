"""A database where who answers at 12 months depends on the change they showed pre -> post, so
the completers-only 12-month change is biased upward while the data are missing at random.
Shared by the wave-model tests of the analysis layer and of `attune model`; no tests here.

Each participant i scores ``MEANS[wave] + u_i + e_iw`` (u ~ N(0, 0.4), e ~ N(0, 0.4)) on
CONF; everyone answers pre and post; 12 months is answered with probability 0.8 by those whose
observed post - pre change was above the true 0.5 or whose post score was above 3.4, and 0.15
by the rest. The post score carries the person's level u, so even the mean of everyone who
answered at 12 months (not only the matched pairs' change) is biased upward: only a model
that uses the earlier waves recovers the truth.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np

from etl.load import ensure_schema, store_instrument
from schemas.instrument import parse_instrument
from tests.support import (
    INSERT_COHORT,
    INSERT_PROGRAM,
    TINY_INSTRUMENT,
    finish_world,
)

MEANS = {"pre": 2.5, "post": 3.0, "followup_12m": 2.8}  # true change: +0.5, then +0.3
DAYS = {"pre": 0, "post": 20, "followup_12m": 385}
FORMATS = ("in_person", "online")


def build_dropout_db(path: Path, people_per_format: int = 1000, seed: int = 13) -> Path:
    """Write the database to ``path``: one programme per format, two cohorts each."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    store_instrument(con, parse_instrument(TINY_INSTRUMENT, source="test"))
    rows = []
    for k, fmt in enumerate(FORMATS):
        con.execute(INSERT_PROGRAM, [f"P{k}", f"Programme {fmt}", fmt])
        for c in range(2):
            start = dt.date(2023, 1 + 3 * c, 1)
            con.execute(INSERT_COHORT, [f"C{k}{c}", f"P{k}", "SP1", start,
                                        start + dt.timedelta(days=14), c == 0])
        for i in range(people_per_format):
            cohort = f"C{k}{i % 2}"
            start = dt.date(2023, 1 + 3 * (i % 2), 1)
            u = rng.normal(0, 0.4)
            score = {w: m + u + rng.normal(0, 0.4) for w, m in MEANS.items()}
            shown = score["post"] - score["pre"] > 0.5 or score["post"] > 3.4
            stays = rng.random() < (0.8 if shown else 0.15)
            for wave in ("pre", "post", "followup_12m") if stays else ("pre", "post"):
                rows.append((f"p{k}-{i}", cohort, wave, start + dt.timedelta(days=DAYS[wave]),
                             "mental_health", 0.0, False, False, False, "run1", "world.csv",
                             2 + len(rows), score[wave], score[wave], score[wave], 2))
    return finish_world(con, rows, path)
