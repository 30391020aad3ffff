"""What a reader can choose from: the scales (with the reliability and threshold in use), the
waves, the values the filter controls offer, and how many cohorts match the filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.contract import ARMS, AUDIENCES, DELIVERIES, FORMATS
from warehouse.connection import Database, Query, as_database, cached_query
from warehouse.filters import FILTER_COLUMNS, Filters, where_clause
from warehouse.numbers import clean

SQL_FILTER_OPTIONS = """
SELECT DISTINCT program_id, program_name, format, delivery, sponsor_id, arm, provider
FROM memory.cohort_dim ORDER BY program_id
"""
SQL_DATE_RANGE = "SELECT min(cohort_start), max(cohort_start) FROM memory.cohort_dim"
SQL_COHORT_DATES = """
SELECT min(d.cohort_start), max(d.cohort_start) FROM memory.cohort_dim AS d WHERE {where}
"""
SQL_COHORT_COUNT = """
SELECT count(DISTINCT c.cidx) FROM memory.people_cube AS c JOIN memory.cohort_dim AS d
USING (cidx) WHERE {where}
"""


def scales(db: Database | Path | str) -> list[dict[str, Any]]:
    """The instrument's scales with the reliability and reliable-change threshold in use."""
    snap = as_database(db).snapshot()
    return [
        {
            "scale_id": s.scale_id, "name": s.name, "domain": s.domain, "level": s.level,
            "level_name": s.level_name, "n_items": s.n_items, "min_value": s.min_value,
            "max_value": s.max_value, "higher_is_better": s.higher_is_better,
            "reliability": s.reliability, "reliability_used": clean(s.reliability_used),
            "reliability_source": s.reliability_source, "sd_pre": clean(s.sd_pre),
            "reliable_threshold": clean(s.threshold),
            "measured_before": s.sd_pre is not None,  # answered before training at all
        }
        for s in snap.scales.values()
    ]


def waves(db: Database | Path | str) -> list[dict[str, Any]]:
    """The survey waves in time order, with the months after training each is taken."""
    snap = as_database(db).snapshot()
    return [{"wave": w, "position": p, "months_after_end": m} for w, p, m in snap.waves]


def filter_options(db: Database | Path | str) -> dict[str, Any]:
    """Values the filter controls offer (programmes, sponsors, providers, date range, scales,
    waves)."""

    def compute(q: Query) -> dict[str, Any]:
        rows = q.fetch(SQL_FILTER_OPTIONS)
        programs = {r[0]: r[1] for r in rows}
        sponsors = sorted({r[4] for r in rows})
        start, end = q.fetch(SQL_DATE_RANGE)[0]
        return {
            "programs": programs,
            "sponsors": sponsors,
            # programme -> sponsors with cohorts in it (for scoping a sponsor's dropdowns)
            "program_sponsors": {p: sorted({r[4] for r in rows if r[0] == p}) for p in programs},
            "formats": [f for f in FORMATS if f in {r[2] for r in rows}],
            "deliveries": [d for d in DELIVERIES if d in {r[3] for r in rows}],
            "audiences": list(AUDIENCES),
            "arms": [a for a in ARMS if a in {r[5] for r in rows}],
            # the providers pooled in a lake's copy (none in a provider's own database)
            "providers": (providers := sorted({r[6] for r in rows if r[6] is not None})),
            "provider_sponsors": {pv: sorted({r[4] for r in rows if r[6] == pv})
                                  for pv in providers},
            "start_min": start,
            "start_max": end,
            "scales": scales(q.database),
            "waves": [w for w, _, _ in q.snap.waves],
            "cutoff": q.snap.cutoff,
        }

    return cached_query(db, "filter_options", (), compute)


def cohort_count(db: Database | Path | str, filters: Filters | None = None) -> int:
    """Number of cohorts with any response that match the filters (not a statistic on people)."""

    def compute(q: Query) -> int:
        where, params = where_clause(q.filters)
        return int(q.fetch(SQL_COHORT_COUNT.format(where=where), params)[0][0])

    return cached_query(db, "cohort_count", (), compute, filters=filters)


# Filters that do not narrow the cohorts themselves (they name the summary row, c), and the
# date range itself: left out of the date range a scope offers.
NOT_COHORT_DATES = tuple(name for name, predicate in FILTER_COLUMNS.items()
                         if "d." not in predicate or "cohort_start" in predicate)


def cohort_dates(db: Database | Path | str, filters: Filters) -> tuple[Any, Any]:
    """The first and last cohort start among the cohorts of ``filters``' scope (a sponsor's
    own cohorts): where a date picker opens, rather than on every sponsor's range."""

    def compute(q: Query) -> tuple[Any, Any]:
        where, params = where_clause(q.filters, skip=NOT_COHORT_DATES)
        first, last = q.fetch(SQL_COHORT_DATES.format(where=where), params)[0]
        return first, last

    return cached_query(db, "cohort_dates", (), compute, filters=filters)
