"""`attune summarize --by audience,format` against the bare DuckDB aggregate it rests on.

Baseline: on a fresh read-only connection, the means, SDs and counts of matched pre/post
pairs per scale, audience and format (one GROUP BY over `paired_scores`). Attune: on a fresh
query layer (nothing cached), every statistic `summarize` prints for the same groups
(means, CIs, t, p, BH-adjusted p over the family of every scale, d_z with its noncentral-t
CI, g_av, reliable change, suppression), computed as `summarize` does (``change_family``).
Target: at most 3x.
"""

from __future__ import annotations

import json

import duckdb

from bench.common import bench_database, median, timed
from warehouse.connection import Database
from warehouse.outcomes import change_family

BARE_AGGREGATE = """
SELECT scale_id, audience, format, count(*) AS n_pairs,
       avg(score_from) AS mean_from, avg(score_to) AS mean_to,
       stddev_samp(score_from) AS sd_from, stddev_samp(score_to) AS sd_to,
       stddev_samp(change) AS sd_change
FROM paired_scores
WHERE wave_from = 'pre' AND wave_to = 'post'
GROUP BY scale_id, audience, format
"""


def run(rounds: int = 5) -> dict:
    database_path = bench_database()

    def bare() -> None:
        con = duckdb.connect(str(database_path), read_only=True)
        try:
            con.execute(BARE_AGGREGATE).fetchall()
        finally:
            con.close()

    groups = 0

    def attune() -> None:
        nonlocal groups
        database = Database(database_path, changes_only=True)  # as `attune summarize` does
        groups = len(change_family(database, by=("audience", "format")))

    baseline = timed(bare, rounds)
    summarize = timed(attune, rounds)
    return {
        "groups": groups,
        "baseline_seconds": median(baseline),
        "attune_seconds": median(summarize),
        "ratio": median(summarize) / median(baseline),
        "target_ratio": 3.0,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
