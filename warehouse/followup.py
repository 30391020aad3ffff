"""Follow-up and attrition: who answered each wave, and whether those who dropped out
started differently from those who stayed.

From the ``people_cube`` and ``baseline_cube`` summaries. Only cohorts whose wave was due by
the last date in the data count towards retention and attrition; every count below the
minimum cell size is hidden, with the complementary counts that would give it away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stats.attrition import attrition_bias_from_moments
from warehouse.cell_key import (
    ROUNDING,
    cell_key,
    perturbed_count,
    protect_moments,
    round_published,
)
from warehouse.connection import Database, Query, cached_query
from warehouse.disclosure import complementary_suppression
from warehouse.filters import Filters, group_clause, groups_sort_key, where_clause
from warehouse.numbers import clean

SQL_PEOPLE = """
SELECT {group_select} c.mask, d.eligible_mask, sum(c.n)::BIGINT AS n, {key_sum} AS k
FROM memory.people_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE {where}
GROUP BY ALL
"""
SQL_BASELINE = """
SELECT {group_select} ((c.scored_mask & ?) <> 0) AS completer,
       sum(c.n)::BIGINT AS n, sum(c.s) AS s, sum(c.ss) AS ss, {key_sum} AS k
FROM memory.baseline_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND (d.eligible_mask & ?) <> 0 AND {where}
GROUP BY ALL
"""
ATTRITION_KEYS = ("n_completers", "n_dropouts", "mean_completers", "mean_dropouts",
                  "attrition_pct", "difference", "hedges_g", "g_ci_low", "g_ci_high", "p")


def people(
    db: Database | Path | str,
    *,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Participants (counted once per cohort) per group, with respondents at each wave.

    Per group: ``n_people`` (any wave), ``n_<wave>`` respondents at each wave,
    ``n_pre_eligible_<wave>`` (answered pre, and the cohort's <wave> was due by the last date
    in the data) and ``n_retained_<wave>`` (of those, answered <wave>), ``pct_retained_<wave>``.
    Every count below the minimum cell size is None (``suppressed_<field>`` True) and a group
    with fewer people than that is suppressed as a whole.
    """
    by = tuple(by)
    return cached_query(db, "people", (by,), lambda q: _people(q, by), filters=filters,
                        min_cell_size=min_cell_size)


def _people(q: Query, by: tuple[str, ...]) -> list[dict[str, Any]]:
    waves = q.snap.waves
    select, _ = group_clause(by)
    where, params = where_clause(q.filters)
    rows = q.aggregate("people_rows", (by,), lambda: q.fetch_dicts(
        SQL_PEOPLE.format(group_select=select, where=where, key_sum=q.key_sum), params))
    groups: dict[tuple, dict[str, Any]] = {}
    keys: dict[tuple, dict[str, int]] = {}  # the record-key sums of the same sets of people
    for row in rows:
        k = tuple(row[b] for b in by)
        g = groups.setdefault(k, {"n_people": 0, **{f"n_{w}": 0 for w, _, _ in waves},
                                  **{f"n_pre_eligible_{w}": 0 for w, _, _ in waves},
                                  **{f"n_retained_{w}": 0 for w, _, _ in waves}})
        ks = keys.setdefault(k, dict.fromkeys(g, 0))
        n, mask, eligible = row["n"], row["mask"], row["eligible_mask"]
        for name in _fields_of(waves, mask, eligible):
            g[name] += n
            ks[name] += row["k"]
    order = sorted(groups, key=groups_sort_key)
    gs = [groups[k] for k in order]
    floor = q.floor
    gone = complementary_suppression(
        order, [(g["n_people"],) for g in gs], by,
        {i for i, g in enumerate(gs) if g["n_people"] < floor}, floor)
    hidden_fields: dict[str, set[int]] = {}
    for name in gs[0] if gs else ():
        small = set(gone) | {i for i, g in enumerate(gs) if g[name] < floor}
        if name.startswith("n_retained_"):
            # due = retained + dropouts: a small number of dropouts must not be recoverable
            # as due minus retained.
            due = "n_pre_eligible_" + name.removeprefix("n_retained_")
            small |= {i for i, g in enumerate(gs) if 0 < g[due] - g[name] < floor}
        hidden_fields[name] = complementary_suppression(
            order, [(g[name],) for g in gs], by, small, floor)
    out = []
    for i, k in enumerate(order):
        g = groups[k]
        row = {b: v for b, v in zip(by, k, strict=True)}
        if i in gone:
            row.update({name: None for name in g}, suppressed=True)
            out.append(row)
            continue
        row["suppressed"] = False
        for name, value in g.items():
            small = i in hidden_fields[name]
            if not small and q.filters.published:
                value = perturbed_count(value, cell_key(keys[k][name]))
            row[name] = None if small else value
            row[f"suppressed_{name}"] = small
        for wave, _, _ in waves:
            base, kept = row[f"n_pre_eligible_{wave}"], row[f"n_retained_{wave}"]
            pct = 100.0 * min(kept, base) / base if base and kept is not None else None
            row[f"pct_retained_{wave}"] = (
                round(pct, ROUNDING["attrition_pct"]) if pct is not None and q.filters.published
                else pct)
        out.append(row)
    return out


def _fields_of(waves, mask: int, eligible: int) -> list[str]:
    """The counts of ``_people`` a person with this mask of waves answered (in a cohort
    with this mask of waves due) is counted in."""
    names = ["n_people"]
    for wave, pos, _ in waves:
        bit = 1 << pos
        if mask & bit:
            names.append(f"n_{wave}")
        if mask & 1 and eligible & bit:
            names.append(f"n_pre_eligible_{wave}")
            if mask & bit:
                names.append(f"n_retained_{wave}")
    return names


def attrition_bias(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_to: str = "post",
    by: Sequence[str] = ("format",),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Baseline (pre) scores of completers vs dropouts for ``wave_to``, per group.

    Only cohorts whose ``wave_to`` was due by the last date in the data count. Suppressed when
    either group has fewer people than the minimum cell size. An unknown scale or wave raises
    ``CannotShow``.
    """
    by = tuple(by)
    return cached_query(db, "attrition", (scale_id, wave_to, by),
                        lambda q: _attrition(q, scale_id, wave_to, by), filters=filters,
                        min_cell_size=min_cell_size)


def _sd(n: int, s: float, ss: float) -> float:
    """Sample SD from the sum and sum of squares (NaN for one person: no spread known)."""
    if n < 2:
        return float("nan")
    return math.sqrt(max((ss - s * s / n) / (n - 1), 0.0))  # var = (Σx² - (Σx)²/n) / (n-1)


def _attrition(q: Query, scale_id: str, wave_to: str, by: tuple[str, ...]
               ) -> list[dict[str, Any]]:
    q.scale(scale_id)
    bit = 1 << q.wave_position(wave_to)
    select, _ = group_clause(by)
    where, params = where_clause(q.filters)
    rows = q.aggregate("baseline_rows", (scale_id, bit, by), lambda: q.fetch_dicts(
        SQL_BASELINE.format(group_select=select, where=where, key_sum=q.key_sum),
        [bit, scale_id, bit, *params]))
    groups: dict[tuple, dict[bool, dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), {})[bool(row["completer"])] = row
    order = sorted(groups, key=groups_sort_key)
    counts = [tuple((groups[k].get(c) or {"n": 0})["n"] for c in (True, False))
              for k in order]
    hidden = complementary_suppression(
        order, counts, by, {i for i, c in enumerate(counts) if min(c) < q.floor}, q.floor)
    out = []
    for i, k in enumerate(order):
        keys = {b: v for b, v in zip(by, k, strict=True)}
        keys.update(scale_id=scale_id, wave_to=wave_to)
        comp, drop = groups[k].get(True), groups[k].get(False)
        n1, n2 = counts[i]
        if i in hidden:
            out.append({**keys, **{name: None for name in ATTRITION_KEYS}, "suppressed": True})
            continue
        s1, ss1, s2, ss2 = comp["s"], comp["ss"], drop["s"], drop["ss"]
        if q.filters.published:
            # the completers' baseline is the same set and score as the pre mean of their
            # matched pairs: the same stream gives it the same noise there and here
            step = 1.0 / max(q.scale(scale_id).n_items, 1)
            n1, s1, ss1 = protect_moments(n1, s1, ss1, comp["k"], (scale_id, "pre"), step)
            n2, s2, ss2 = protect_moments(n2, s2, ss2, drop["k"], (scale_id, "pre"), step)
        m1, m2 = s1 / n1, s2 / n2
        sd1, sd2 = _sd(n1, s1, ss1), _sd(n2, s2, ss2)
        res = attrition_bias_from_moments(n1, m1, sd1, n2, m2, sd2)
        row = {**keys, "n_completers": n1, "n_dropouts": n2, "mean_completers": m1,
               "mean_dropouts": m2, "sd_completers": sd1, "sd_dropouts": sd2,
               "attrition_pct": 100.0 * n2 / (n1 + n2),
               **{k2: clean(v) for k2, v in res.as_dict().items()}, "suppressed": False}
        out.append(round_published(row) if q.filters.published else row)
    return out
