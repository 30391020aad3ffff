"""Data quality: ingest runs, quarantined rows, how well participant codes linked waves, the
response quality flags, item missingness and each scale's reliability per wave.

Not filtered: these describe the data as loaded. Counts of people that could identify a small
cohort (linkage candidates, complete responses for alpha) follow the minimum cell size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from schemas.sql_text import quote_identifier
from warehouse.connection import Database, Query, cached_query
from warehouse.numbers import clean
from warehouse.summaries import scale_alpha

# COLUMNS(regex) takes the columns a database has: one from before rows_skipped and encoding
# existed still reads. Files are shown by their name only: no server path reaches a page.
SQL_INGEST_RUNS = """
SELECT * REPLACE (parse_filename(source, false, 'both_slash') AS source)
FROM (
    SELECT COLUMNS('^(run_id|source|kind|status|rows_read|rows_loaded|rows_quarantined|'
                   || 'rows_replaced|rows_skipped|encoding|message|started_at|finished_at)$')
    FROM attune.ingest_runs
)
ORDER BY started_at DESC, source LIMIT 500
"""
SQL_LINKAGE = """
SELECT cohort_id, wave_from, wave_to, sum(candidates)::BIGINT AS candidates,
       sum(exact_matches)::BIGINT AS exact_matches, sum(fuzzy_matches)::BIGINT AS fuzzy_matches,
       sum(unmatched)::BIGINT AS unmatched, max(tolerance) AS tolerance
FROM attune.linkage
GROUP BY ALL ORDER BY cohort_id, wave_from, wave_to
"""
SQL_QUARANTINE_BY_RULE = """
SELECT rule, count(*) AS n_rows, any_value(reasons) AS example_reason
FROM (SELECT unnest(rules) AS rule, reasons FROM attune.quarantine)
GROUP BY rule ORDER BY n_rows DESC, rule
"""
SQL_QUARANTINE_ROWS = """
SELECT run_id, parse_filename(source, false, 'both_slash') AS source, source_row,
       array_to_string(rules, ', ') AS rules, reasons,
       CAST(raw AS VARCHAR) AS raw, quarantined_at
FROM attune.quarantine ORDER BY quarantined_at DESC, source, source_row LIMIT 1000
"""
SQL_FLAGS = """
SELECT r.wave, count(*) AS responses,
       count_if(flag_straightlining) AS straightlining,
       count_if(flag_item_missingness) AS item_missingness,
       count_if(flag_speeding) AS speeding,
       avg(items_missing_share) AS mean_missing_share
FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
GROUP BY r.wave, w.position ORDER BY w.position
"""
# {counts}: count("<item>") AS "<item>" for every item (checked identifiers).
SQL_ITEMS_ANSWERED = """
SELECT r.wave, count(*) AS n, {counts}
FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
GROUP BY r.wave, w.position ORDER BY w.position
"""


def ingest_runs(db: Database | Path | str) -> list[dict[str, Any]]:
    """The latest 500 ingest runs, newest first."""
    return cached_query(db, "ingest_runs", (), lambda q: q.fetch_dicts(SQL_INGEST_RUNS))


def linkage_rates(db: Database | Path | str) -> list[dict[str, Any]]:
    """How well self-generated codes linked waves, per cohort and wave pair.

    Cohorts with fewer candidates than the minimum cell size show no counts or rate.
    """
    return cached_query(db, "linkage_rates", (), _linkage_rates)


def _linkage_rates(q: Query) -> list[dict[str, Any]]:
    try:
        rows = q.fetch_dicts(SQL_LINKAGE)
    except duckdb.CatalogException:  # a database from before linking existed
        return []
    out = []
    for row in rows:
        if row["candidates"] < q.database.min_cell_size:
            keys = {k: row[k] for k in ("cohort_id", "wave_from", "wave_to", "tolerance")}
            out.append({**keys, "candidates": None, "exact_matches": None,
                        "fuzzy_matches": None, "unmatched": None, "match_rate": None,
                        "suppressed": True})
            continue
        linked = row["exact_matches"] + row["fuzzy_matches"]
        out.append({**row, "match_rate": 100.0 * linked / row["candidates"],
                    "suppressed": False})
    return out


def quarantine_by_rule(db: Database | Path | str) -> list[dict[str, Any]]:
    """Quarantined rows per broken rule (a row breaking two rules counts under both)."""
    return cached_query(db, "quarantine_by_rule", (),
                        lambda q: q.fetch_dicts(SQL_QUARANTINE_BY_RULE))


def quarantine_rows(db: Database | Path | str) -> list[dict[str, Any]]:
    """The quarantined rows themselves (latest 1,000): for the evaluator role only."""
    return cached_query(db, "quarantine_rows", (), lambda q: q.fetch_dicts(SQL_QUARANTINE_ROWS))


def response_flags(db: Database | Path | str) -> list[dict[str, Any]]:
    """Responses and quality flags per wave."""
    return cached_query(db, "flags", (), lambda q: q.fetch_dicts(SQL_FLAGS))


def item_missingness(db: Database | Path | str) -> list[dict[str, Any]]:
    """Share of responses leaving each item blank, per wave (waves where the scale was asked).

    A scale counts as asked at a wave when any response at that wave answered any of its items.
    """
    return cached_query(db, "item_missingness", (), _item_missingness)


def _item_missingness(q: Query) -> list[dict[str, Any]]:
    items = [(s.scale_id, i) for s in q.snap.scales.values() for i in s.items]
    if not items:
        return []
    counts = ", ".join(f"count({quote_identifier(i)}) AS {quote_identifier(i)}"
                       for _, i in items)
    out = []
    for row in q.fetch_dicts(SQL_ITEMS_ANSWERED.format(counts=counts)):
        answered_scales = {scale for scale, i in items if row[i]}
        for scale, item in items:
            if scale not in answered_scales:
                continue
            out.append({"wave": row["wave"], "scale_id": scale, "item_id": item,
                        "responses": row["n"],
                        "pct_missing": 100.0 * (row["n"] - row[item]) / row["n"]})
    return out


def reliability_by_wave(
    db: Database | Path | str, min_cell_size: int | None = None
) -> list[dict[str, Any]]:
    """Cronbach's alpha (Feldt 95% CI) per scale and wave, on listwise complete responses."""
    return cached_query(db, "alpha", (), _reliability_by_wave, min_cell_size=min_cell_size)


def _reliability_by_wave(q: Query) -> list[dict[str, Any]]:
    out = []
    for info in q.snap.scales.values():
        for wave, _, _ in q.snap.waves:
            alpha = scale_alpha(q.database.cursor(q.snap), info, wave)
            if alpha is None or alpha.n == 0:
                continue
            row = {"scale_id": info.scale_id, "scale": info.name, "wave": wave, "k": alpha.k}
            if alpha.n < q.floor:
                row.update(n=None, alpha=None, ci_low=None, ci_high=None, suppressed=True)
            else:
                row.update(n=alpha.n, alpha=clean(alpha.alpha), ci_low=clean(alpha.ci_low),
                           ci_high=clean(alpha.ci_high), suppressed=False)
            out.append(row)
    return out
