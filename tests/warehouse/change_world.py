"""A small database whose completers and drop-outs at 12 months started alike but had changed
differently by the end of training, with every figure known by hand. Shared by the follow-up
tests of the analysis layer and of the Follow-up page; no tests here.

Per format, ``per_side`` completers (answer pre, post and 12 months) and as many drop-outs
(pre and post only). Person j of a side scores pre = 2 + (j % 4) * 0.25, the same values on
both sides, so the baselines match exactly (difference 0, g 0); post = pre + gain + 0.25 when
j is even and pre + gain - 0.25 when odd, ``gain`` being ``completer_gain`` or
``dropout_gain``: each side's pre -> post change has mean ``gain`` and SD
0.25 * sqrt(n / (n - 1)). ``without_post[format]`` more completers of that format answer pre
and 12 months only (no pre -> post change). ``higher_is_better=False`` makes CONF a scale on
which lower is better, so each change is negated.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from etl.load import ensure_schema, store_instrument
from schemas.instrument import parse_instrument
from tests.support import (
    INSERT_COHORT,
    INSERT_PROGRAM,
    TINY_INSTRUMENT,
    finish_world,
)

FORMATS = ("in_person", "online")
DAYS = {"pre": 0, "post": 20, "followup_12m": 400}  # the cohort ends on day 14


def build_change_db(path: Path, *, per_side: int = 12, completer_gain: float = 0.75,
                    dropout_gain: float = 0.25, without_post: dict[str, int] | None = None,
                    higher_is_better: bool = True) -> Path:
    """Write the database to ``path``: one programme and cohort per format."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    instrument = {"scales": [{**TINY_INSTRUMENT["scales"][0],
                              "higher_is_better": higher_is_better}]}
    store_instrument(con, parse_instrument(instrument, source="test"))
    rows = []
    start = dt.date(2023, 1, 1)
    for k, fmt in enumerate(FORMATS):
        con.execute(INSERT_PROGRAM, [f"P{k}", f"Programme {fmt}", fmt])
        con.execute(INSERT_COHORT, [f"C{k}", f"P{k}", "SP1", start,
                                    start + dt.timedelta(days=14), True])
        people = [("c", j, completer_gain, ("pre", "post", "followup_12m"))
                  for j in range(per_side)]
        people += [("d", j, dropout_gain, ("pre", "post")) for j in range(per_side)]
        people += [("x", j, completer_gain, ("pre", "followup_12m"))
                   for j in range((without_post or {}).get(fmt, 0))]
        for side, j, gain, waves in people:
            pre = 2 + (j % 4) * 0.25
            post = pre + gain + (0.25 if j % 2 == 0 else -0.25)
            score = {"pre": pre, "post": post, "followup_12m": post}
            for wave in waves:
                rows.append((f"{side}{k}-{j}", f"C{k}", wave,
                             start + dt.timedelta(days=DAYS[wave]), "mental_health", 0.0,
                             False, False, False, "run1", "world.csv", 2 + len(rows),
                             score[wave], score[wave], score[wave], 2))
    return finish_world(con, rows, path)
