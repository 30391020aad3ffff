"""Follow-up and attrition: who answered each wave, and whether those who dropped out
started differently from those who stayed, or had changed differently by the end of training.

From the ``people_cube`` and ``baseline_cube`` summaries. Only cohorts whose wave was due by
the last date in the data count towards retention and attrition; every count below the
minimum cell size is hidden, with the complementary counts that would give it away.

Alike baselines do not make a later wave's completers representative: when who answers at
12 months depends on how much people had improved by the end of training, completers and
drop-outs started alike but their pre->post change differs, and the completers' 12-month
change overstates everyone's. So for a follow-up wave the check also compares the pre->post
change of those who answered it with that of those who did not.
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
# Per group and completer flag: the baseline sums of everyone, and the pre->post change sums
# of those scored at post. The cube's rows are all or none scored at post (their mask holds
# the post bit), so the record keys of those scored at post are the keys of rows with n_c > 0.
SQL_BASELINE = """
SELECT {group_select} ((c.scored_mask & ?) <> 0) AS completer,
       sum(c.n)::BIGINT AS n, sum(c.s) AS s, sum(c.ss) AS ss, {key_sum} AS k,
       sum(c.n_c)::BIGINT AS n_c, sum(c.s_c) AS s_c, sum(c.ss_c) AS ss_c, {key_sum_c} AS k_c
FROM memory.baseline_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND (d.eligible_mask & ?) <> 0 AND {where}
GROUP BY ALL
"""
KEY_SUM_CHANGE = "coalesce(sum(c.k) FILTER (WHERE c.n_c > 0), 0)::BIGINT"
# The statistics of one comparison (completers vs dropouts), without prefix for the baseline
# and with ``change_`` for the pre->post change.
COMPARISON_KEYS = ("n_completers", "n_dropouts", "mean_completers", "mean_dropouts",
                   "sd_completers", "sd_dropouts", "difference", "difference_ci_low",
                   "difference_ci_high", "hedges_g", "g_ci_low", "g_ci_high", "welch_t",
                   "welch_df", "p")
CHANGE_KEYS = tuple(f"change_{k}" for k in COMPARISON_KEYS)
ATTRITION_KEYS = (*COMPARISON_KEYS, "attrition_pct", *CHANGE_KEYS)
POST = "post"  # the wave the pre->post change of completers and dropouts is measured to


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
    """Completers vs dropouts for ``wave_to``, per group: their baseline (pre) scores and,
    for a wave after post, their pre->post change.

    Completers answered ``wave_to``, dropouts did not; only cohorts whose ``wave_to`` was due
    by the last date in the data count. Per group (``ATTRITION_KEYS``): n, mean and SD of the
    baseline of each, their difference (completers minus dropouts) with its Welch 95% CI,
    Hedges' g with its CI, Welch's t, df and p (``stats.attrition``), ``attrition_pct``; and
    the same of the pre->post change of those who also answered post, prefixed ``change_``
    (signed so that improvement is positive: a positive ``change_difference`` says completers
    had improved more by the end of training). For ``wave_to`` post (or pre) that comparison
    does not exist: every ``change_`` figure is None and ``change_applies`` False.

    A group is suppressed (``suppressed``) when either group has fewer people than the
    minimum cell size, with the complementary groups. In a group shown, the change figures
    are hidden (``change_suppressed``) when either change group is that small, or the people
    of a group without a post score are (n minus the change n), again with the complements.
    Published figures carry disclosure control: the baseline on the stream of the pre mean,
    the change on its own ``(scale_id, "pre-post")``. An unknown scale or wave raises
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
    position = q.wave_position(wave_to)
    bit = 1 << position
    applies = any(w == POST for w, _, _ in q.snap.waves) and position > q.wave_position(POST)
    select, _ = group_clause(by)
    where, params = where_clause(q.filters)
    key_sum_c = KEY_SUM_CHANGE if q.filters.published else "0::BIGINT"
    rows = q.aggregate("baseline_rows", (scale_id, bit, by), lambda: q.fetch_dicts(
        SQL_BASELINE.format(group_select=select, where=where, key_sum=q.key_sum,
                            key_sum_c=key_sum_c),
        [bit, scale_id, bit, *params]))
    empty = {"n": 0, "n_c": 0}
    groups: dict[tuple, dict[bool, dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), {})[bool(row["completer"])] = row
    order = sorted(groups, key=groups_sort_key)
    sides = [tuple(groups[k].get(c) or empty for c in (True, False)) for k in order]
    counts = [(comp["n"], drop["n"]) for comp, drop in sides]
    floor = q.floor
    hidden = complementary_suppression(
        order, counts, by, {i for i, c in enumerate(counts) if min(c) < floor}, floor)
    change_counts = [(comp["n_c"], drop["n_c"]) for comp, drop in sides]
    small = set(hidden) | {
        i for i, (comp, drop) in enumerate(sides)
        if min(comp["n_c"], drop["n_c"]) < floor
        or any(0 < side["n"] - side["n_c"] < floor for side in (comp, drop))}
    change_hidden = complementary_suppression(order, change_counts, by, small, floor) \
        if applies else set()
    out = []
    for i, k in enumerate(order):
        keys = {b: v for b, v in zip(by, k, strict=True)}
        keys.update(scale_id=scale_id, wave_to=wave_to, change_applies=applies)
        if i in hidden:
            out.append({**keys, **dict.fromkeys(ATTRITION_KEYS), "suppressed": True,
                        "change_suppressed": applies})
            continue
        comp, drop = sides[i]
        row = {**keys, **_comparison(q, scale_id, comp, drop, ("n", "s", "ss", "k"), "pre")}
        row["attrition_pct"] = 100.0 * row["n_dropouts"] / (row["n_completers"]
                                                            + row["n_dropouts"])
        if q.filters.published:
            row["attrition_pct"] = round(row["attrition_pct"], ROUNDING["attrition_pct"])
        if applies and i not in change_hidden:
            change = _comparison(q, scale_id, comp, drop, ("n_c", "s_c", "ss_c", "k_c"),
                                 "pre-post")
            row.update({f"change_{name}": value for name, value in change.items()})
        else:
            row.update(dict.fromkeys(CHANGE_KEYS))
        row.update(suppressed=False, change_suppressed=applies and i in change_hidden)
        out.append(row)
    return out


def _comparison(q: Query, scale_id: str, comp: dict[str, Any], drop: dict[str, Any],
                names: tuple[str, str, str, str], stream: str) -> dict[str, Any]:
    """Completers vs dropouts (``COMPARISON_KEYS``) from the sums ``names`` (n, sum, sum of
    squares, key sum) of each; published, from their protected moments on ``(scale_id,
    stream)``, and rounded."""
    n, s, ss, k = names
    moments = [(side[n], side[s], side[ss]) for side in (comp, drop)]
    if q.filters.published:
        # the completers' baseline is the same set and score as the pre mean of their
        # matched pairs: the stream "pre" gives it the same noise there and here
        step = 1.0 / max(q.scale(scale_id).n_items, 1)
        moments = [protect_moments(*m, side[k], (scale_id, stream), step)
                   for m, side in zip(moments, (comp, drop), strict=True)]
    (n1, s1, ss1), (n2, s2, ss2) = moments
    m1, m2 = s1 / n1, s2 / n2
    sd1, sd2 = _sd(n1, s1, ss1), _sd(n2, s2, ss2)
    res = attrition_bias_from_moments(n1, m1, sd1, n2, m2, sd2)
    row = {"n_completers": n1, "n_dropouts": n2, "mean_completers": m1, "mean_dropouts": m2,
           "sd_completers": sd1, "sd_dropouts": sd2, **res.as_dict()}
    row = {name: clean(row[name]) for name in COMPARISON_KEYS}
    if not q.filters.published:
        return row
    # round_published knows a CI on the scale's points by the names ci_low and ci_high
    as_ci = {"difference_ci_low": "ci_low", "difference_ci_high": "ci_high"}
    rounded = round_published({as_ci.get(name, name): v for name, v in row.items()})
    return {name: rounded[as_ci.get(name, name)] for name in COMPARISON_KEYS}
