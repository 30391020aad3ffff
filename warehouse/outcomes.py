"""Outcomes: paired change between two waves per group, its multiplicity family, matched-pair
counts and the distribution of individual change.

Every figure is computed on matched pairs (the same person at both waves), from the
``pair_cube`` and ``hist_cube`` summaries; the statistics come from ``stats.paired`` and
``stats.meta``; this module computes only counts, means and sums. Groups below the minimum
cell size, and the groups ``complementary_suppression`` hides to protect them, come back with
``suppressed: True`` and every number (n too) None.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stats.meta import meta_analysis, smcr_from_prepost
from stats.multiplicity import benjamini_hochberg
from stats.paired import paired_change_from_moments, paired_t
from stats.proportions import wilson_interval
from warehouse.cell_key import (
    Stream,
    cell_key,
    perturbed_count,
    protect_pair_row,
    published_threshold,
    round_published,
)
from warehouse.connection import Database, Query, cached_query
from warehouse.disclosure import (
    SUPPRESSION_COMPLEMENTARY,
    SUPPRESSION_PRIMARY,
    complementary_suppression,
    small_cells,
)
from warehouse.errors import CannotShow
from warehouse.filters import Filters, group_clause, groups_sort_key, where_clause
from warehouse.numbers import clean
from warehouse.summaries import HIST_BIN_WIDTH, ScaleInfo

# {group_select}/{group_by}/{where} come from the whitelists of warehouse.filters, {key_sum}
# from Query.key_sum (a constant of the code).
SQL_PAIR_GROUPS = """
SELECT {group_select}
       sum(c.n)::BIGINT AS n, {key_sum} AS k, sum(c.s_f) AS s_f, sum(c.s_t) AS s_t,
       sum(c.ss_f) AS ss_f, sum(c.ss_t) AS ss_t, sum(c.s_c) AS s_c, sum(c.ss_c) AS ss_c,
       sum(c.n_improved)::BIGINT AS n_improved, sum(c.n_deteriorated)::BIGINT AS n_deteriorated
FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE {scales} AND c.wave_from = ? AND list_contains(?, c.wave_to) AND {where}
GROUP BY {group_by}
"""
SCALE_ONE, SCALE_EVERY = "c.scale_id = ?", "TRUE"  # {scales}: one scale, or every scale
SQL_HIST = """
SELECT c.bin, sum(c.n)::BIGINT AS n, {key_sum} AS k
FROM memory.hist_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND c.wave_from = ? AND c.wave_to = ? AND {where}
GROUP BY c.bin ORDER BY c.bin
"""

STAT_KEYS = (
    "n_pairs", "mean_from", "mean_to", "sd_from", "sd_to", "r", "mean_change", "sd_change",
    "ci_low", "ci_high", "t", "df", "p", "p_adj", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av",
    "g_av", "g", "g_ci_low", "g_ci_high", "g_vi", "n_improved", "n_deteriorated",
    "pct_reliable_improved", "pct_reliable_improved_ci_low", "pct_reliable_improved_ci_high",
    "pct_reliable_deteriorated", "pct_no_reliable_change", "reliable_threshold", "no_interval",
)
# Why a shown group has no confidence interval, t or p (``no_interval``; None when it has).
NO_INTERVAL_ONE_PAIR = "one matched pair: no spread to estimate an interval from"
NO_INTERVAL_NO_SPREAD = (
    "every matched pair changed by the same amount, so there is no spread to estimate a "
    "confidence interval, t or p from"
)
# The textbook formula (sum x^2 - (sum x)^2 / n) loses up to about n * eps * sum x^2 to rounding
# (Higham 2002, section 1.9): a remainder that small is no spread at all.
ROUNDING_BOUND = 4 * sys.float_info.epsilon


def _sd(n: int, s: float, ss: float) -> float:
    """SD (n - 1 denominator) from the sum and sum of squares; 0 when only rounding is left."""
    if n < 2:
        return float("nan")
    spread = ss - s * s / n  # var = (sum x^2 - (sum x)^2 / n) / (n - 1)
    if spread <= ROUNDING_BOUND * n * ss:
        return 0.0
    return math.sqrt(spread / (n - 1))


def _moments(row: dict[str, Any]) -> tuple[int, float, float, float, float, float]:
    n = int(row["n"])
    return (n, row["s_f"] / n, row["s_t"] / n, _sd(n, row["s_f"], row["ss_f"]),
            _sd(n, row["s_t"], row["ss_t"]), _sd(n, row["s_c"], row["ss_c"]))


def _change_stats(row: dict[str, Any], info: ScaleInfo) -> dict[str, Any]:
    n, mean_f, mean_t, sd_f, sd_t, sd_c = _moments(row)
    pc = paired_change_from_moments(
        n, mean_f, mean_t, sd_f, sd_t, sd_c, higher_is_better=info.higher_is_better
    )
    out = {k: clean(v) for k, v in pc.as_dict().items() if k != "wilcoxon_p"}
    out["no_interval"] = (
        None if out["ci_low"] is not None
        else NO_INTERVAL_ONE_PAIR if n < 2 else NO_INTERVAL_NO_SPREAD
    )
    g = g_lo = g_hi = g_vi = None
    if n >= 3 and sd_f > 0 and math.isfinite(pc.r):
        yi, vi = smcr_from_prepost(mean_f, mean_t, sd_f, pc.r, n)
        if not info.higher_is_better:
            yi = -yi
        if math.isfinite(yi) and math.isfinite(vi) and vi > 0:
            single = meta_analysis([yi], [vi], method="FE")  # a 95% CI for one (yi, vi)
            g, g_lo, g_hi, g_vi = yi, single.ci_low, single.ci_high, vi
    out.update(g=g, g_ci_low=g_lo, g_ci_high=g_hi, g_vi=g_vi)
    n_imp, n_det = int(row["n_improved"]), int(row["n_deteriorated"])
    if info.threshold is None:
        out.update(n_improved=None, n_deteriorated=None, pct_reliable_improved=None,
                   pct_reliable_improved_ci_low=None, pct_reliable_improved_ci_high=None,
                   pct_reliable_deteriorated=None, pct_no_reliable_change=None)
    else:
        # Wilson 95% interval of the share (stats.proportions), from the counts of this row:
        # for published figures those are already the protected counts.
        imp_low, imp_high = wilson_interval(n_imp, n)
        out.update(
            n_improved=n_imp, n_deteriorated=n_det,
            pct_reliable_improved=100.0 * n_imp / n,
            pct_reliable_improved_ci_low=100.0 * imp_low,
            pct_reliable_improved_ci_high=100.0 * imp_high,
            pct_reliable_deteriorated=100.0 * n_det / n,
            pct_no_reliable_change=100.0 * (n - n_imp - n_det) / n,
        )
    out["reliable_threshold"] = info.threshold
    return out


def _suppressed(keys: dict[str, Any], small: bool | None = True) -> dict[str, Any]:
    """A hidden group: every statistic None. ``suppression`` says why for the trusted
    roles (``small`` or ``complementary``); published figures never say why (None)."""
    row = dict(keys)
    row.update({k: None for k in STAT_KEYS})
    row["suppressed"] = True
    row["suppression"] = (None if small is None
                          else SUPPRESSION_PRIMARY if small else SUPPRESSION_COMPLEMENTARY)
    return row


def _waves_to(wave_to: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(wave_to) if isinstance(wave_to, (tuple, list)) else (wave_to,)


def _check_waves(q: Query, wave_from: str, waves_to: tuple[str, ...]) -> None:
    start = q.wave_position(wave_from)
    for w in waves_to:
        if q.wave_position(w) <= start:
            raise CannotShow(f"Choose a later wave than {wave_from!r} to compare with: "
                             f"{w!r} does not come after it.")


def _pair_rows(q: Query, scale_id: str | None, wave_from: str, waves_to: tuple[str, ...],
               by: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """The matched-pair sums per group of one scale (or of every scale: ``scale_id`` None),
    by scale."""
    select, group = group_clause(("scale_id", *by))
    where, params = where_clause(q.filters)
    one = [scale_id] if scale_id is not None else []
    sql = SQL_PAIR_GROUPS.format(group_select=select, group_by=group, where=where,
                                 key_sum=q.key_sum,
                                 scales=SCALE_ONE if one else SCALE_EVERY)
    rows = q.aggregate("pair_rows", (scale_id, wave_from, waves_to, by), lambda: q.fetch_dicts(
        sql, [*one, wave_from, list(waves_to), *params]))
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in (one or q.snap.scales)}
    for row in rows:
        out[row["scale_id"]].append(row)
    return out


def _disclosed(q: Query, scale_id: str, rows: list[dict[str, Any]], by: tuple[str, ...],
               complementary: bool, wave_from: str, waves_to: tuple[str, ...]
               ) -> tuple[list[dict[str, Any]], set[int], set[int]]:
    """One scale's groups in a fixed order (so suppression hides the same groups on every
    request), with the positions of the small groups and of every hidden one (the small
    ones, plus those ``complementary_suppression`` hides to protect them). Which groups to
    hide is decided on the exact counts; published figures then have the shown groups' sums
    replaced by their protected ones (``warehouse.cell_key``), so every statistic computed
    from them (the family's p values too) is a published one."""
    rows = sorted(rows, key=lambda r: groups_sort_key(r.get(b) for b in by))
    small = small_cells((r["n"] for r in rows), q.floor)
    hidden = small
    if complementary:
        hidden = complementary_suppression(
            [tuple(r[b] for b in by) for r in rows], [(int(r["n"]),) for r in rows],
            by, small, q.floor,
        )
    if q.filters.published:
        step = 1.0 / max(q.scale(scale_id).n_items, 1)
        rows = [row if i in hidden else protect_pair_row(row, _stream(
                    scale_id, wave_from, row["wave_to"] if "wave_to" in by else waves_to), step)
                for i, row in enumerate(rows)]
    return rows, small, hidden


def _stream(scale_id: str, wave_from: str, wave_to: str | tuple[str, ...]) -> Stream:
    return Stream(scale_id, wave_from, wave_to if isinstance(wave_to, str) else "+".join(wave_to))


def _with_stats(q: Query, scale_id: str, disclosed: tuple[list[dict[str, Any]], set[int], set[int]],
                wave_from: str, waves_to: tuple[str, ...], by: tuple[str, ...]
                ) -> list[dict[str, Any]]:
    """One scale's disclosed groups as result rows: statistics for the shown ones, every
    number None for the hidden ones; ``p_adj`` is left to the family."""
    info = q.scale(scale_id)
    rows, small, hidden = disclosed
    out = []
    for i, row in enumerate(rows):
        keys = {b: row[b] for b in by}
        keys.update(scale_id=scale_id, wave_from=wave_from)
        if "wave_to" not in by:
            keys["wave_to"] = waves_to[0]
        if i in hidden:
            out.append(_suppressed(keys, None if q.filters.published else i in small))
            continue
        stats = _change_stats(row, info)
        if q.filters.published:
            stats = round_published(stats)
            stats["reliable_threshold"] = published_threshold(info.threshold)
        out.append({**keys, **stats, "p_adj": None, "suppressed": False, "suppression": None})
    return out


def _unadjusted(db: Database | Path | str, scale_id: str, wave_from: str,
                waves_to: tuple[str, ...], by: tuple[str, ...], filters: Filters | None,
                min_cell_size: int | None, complementary: bool) -> list[dict[str, Any]]:
    """One scale's groups with their statistics and ``p_adj`` None, read for that scale
    alone (charts without adjusted p never need the other scales), or taken from the
    family's sums when another chart has read them already."""

    def compute(q: Query) -> list[dict[str, Any]]:
        q.scale(scale_id)
        _check_waves(q, wave_from, waves_to)
        family = q.shared_if_cached("family_sums", (wave_from, waves_to, by, bool(complementary)))
        if family is not None:
            disclosed = family[scale_id]
        else:
            rows = _pair_rows(q, scale_id, wave_from, waves_to, by)[scale_id]
            disclosed = _disclosed(q, scale_id, rows, by, complementary, wave_from, waves_to)
        return _with_stats(q, scale_id, disclosed, wave_from, waves_to, by)

    key = (scale_id, wave_from, waves_to, by, bool(complementary))
    return cached_query(db, "scale_change", key, compute, filters=filters,
                        min_cell_size=min_cell_size)


def _family_sums(q: Query, wave_from: str, waves_to: tuple[str, ...], by: tuple[str, ...],
                 complementary: bool) -> dict[str, tuple[list[dict], set[int], set[int]]]:
    """Every scale's disclosed groups, read in one query: what the family and the rows
    that carry its p_adj are built from."""

    def compute() -> dict[str, tuple[list[dict], set[int], set[int]]]:
        _check_waves(q, wave_from, waves_to)
        return {scale_id: _disclosed(q, scale_id, rows, by, complementary, wave_from, waves_to)
                for scale_id, rows in _pair_rows(q, None, wave_from, waves_to, by).items()}

    return q.shared("family_sums", (wave_from, waves_to, by, bool(complementary)), compute)


# --- the multiplicity family ---------------------------------------------------------------


def _paired_p(row: dict[str, Any]) -> float | None:
    """The paired t test's two-sided p of one group's sums (``stats.paired.paired_t``,
    without the intervals the family does not need); None without spread."""
    n, mean_f, mean_t, _, _, sd_c = _moments(row)
    _, p = paired_t(n, mean_t - mean_f, sd_c)
    return None if math.isnan(p) else p


def _group_key(scale_id: str, row: dict[str, Any], by: tuple[str, ...],
               waves_to: tuple[str, ...]) -> tuple:
    wave = row["wave_to"] if "wave_to" in by else waves_to[0]
    return (scale_id, wave, *(row[b] for b in by))


def family_p_adj(
    db: Database | Path | str,
    *,
    wave_from: str = "pre",
    wave_to: str | Sequence[str] = "post",
    by: Sequence[str] = ("audience", "format"),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
) -> dict[tuple, float]:
    """The multiplicity family and its adjusted p, defined here once.

    The family: for one wave pair, every shown group of every scale, as one table (the
    overview's scales, the explorer's cells, `attune summarize`'s rows). Benjamini-Hochberg
    over their paired-t p values; suppressed groups and groups without a p value are not
    tests and do not count. With several ``wave_to`` (``"wave_to"`` in ``by``) each wave
    pair is a family of its own. Showing fewer scales or groups (`summarize --scale`) filters
    what is shown, never the family. Returns ``{(scale_id, wave_to, *group values): p_adj}``.
    """
    waves_to = _waves_to(wave_to)
    by = tuple(by)

    def compute(q: Query) -> dict[tuple, float]:
        return _family_adjusted(_family_sums(q, wave_from, waves_to, by, complementary), by,
                                waves_to)

    return cached_query(db, "family_p_adj", (wave_from, waves_to, by, bool(complementary)),
                        compute, filters=filters, min_cell_size=min_cell_size)


def _family_adjusted(family: dict[str, tuple[list[dict], set[int], set[int]]],
                     by: tuple[str, ...], waves_to: tuple[str, ...]) -> dict[tuple, float]:
    """Benjamini-Hochberg over the family's shown groups (see ``family_p_adj``)."""
    tests: list[tuple[tuple, float]] = []
    for scale_id, (rows, _, hidden) in family.items():
        for i, row in enumerate(rows):
            p = None if i in hidden else _paired_p(row)
            if p is not None:
                tests.append((_group_key(scale_id, row, by, waves_to), p))
    adjusted: dict[tuple, float] = {}
    for wave in waves_to:
        members = [(key, p) for key, p in tests if key[1] == wave]
        for (key, _), p_adj in zip(members, benjamini_hochberg([p for _, p in members]),
                                   strict=True):
            adjusted[key] = clean(p_adj)
    return adjusted


def _adjusted(rows: list[dict[str, Any]], adjusted: dict[tuple, float], by: tuple[str, ...],
              waves_to: tuple[str, ...], published: bool) -> list[dict[str, Any]]:
    """``rows`` with the family's ``p_adj`` filled in."""
    for row in rows:
        if not row["suppressed"]:
            row["p_adj"] = adjusted.get(_group_key(row["scale_id"], row, by, waves_to))
            if published:
                row.update(round_published({"p_adj": row["p_adj"]}))
    return rows


def change_family(
    db: Database | Path | str,
    *,
    wave_from: str = "pre",
    wave_to: str | Sequence[str] = "post",
    by: Sequence[str] = ("audience", "format"),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
) -> list[dict[str, Any]]:
    """Paired change of every scale per group, with ``p_adj`` over the multiplicity family
    (``family_p_adj``): the whole table the family is taken over. Rows come scale by scale
    in the instrument's order, each scale's groups as ``group_change`` gives them."""
    waves_to = _waves_to(wave_to)
    by = tuple(by)

    def compute(q: Query) -> list[dict[str, Any]]:
        adjusted = family_p_adj(q.database, wave_from=wave_from, wave_to=waves_to, by=by,
                                filters=q.filters, min_cell_size=q.floor,
                                complementary=complementary)
        family = _family_sums(q, wave_from, waves_to, by, complementary)
        rows = [row for scale_id, disclosed in family.items()
                for row in _with_stats(q, scale_id, disclosed, wave_from, waves_to, by)]
        return _adjusted(rows, adjusted, by, waves_to, q.filters.published)

    key = (wave_from, waves_to, by, bool(complementary))
    return cached_query(db, "change_family", key, compute, filters=filters,
                        min_cell_size=min_cell_size)


@dataclass(frozen=True)
class SumsScope:
    """What the statistics step reads of a ``Query`` (``_disclosed``, ``_with_stats``), for
    sums computed outside the database's summaries: by an engine reading the Parquet lake
    (``warehouse.lake``)."""

    scales: dict[str, ScaleInfo]
    filters: Filters
    floor: int

    def scale(self, scale_id: str) -> ScaleInfo:
        return self.scales[scale_id]


def change_family_from_sums(
    sums: dict[str, list[dict[str, Any]]],
    scope: SumsScope,
    *,
    wave_from: str,
    wave_to: str,
    by: Sequence[str],
    complementary: bool = True,
) -> list[dict[str, Any]]:
    """``change_family``'s rows from per-group sums computed elsewhere: ``sums`` maps each
    scale (in the instrument's order) to its groups' rows with the columns of
    ``SQL_PAIR_GROUPS`` (the ``by`` values, ``n, k, s_f, s_t, ss_f, ss_t, s_c, ss_c,
    n_improved, n_deteriorated``). The same disclosure, statistics and multiplicity family
    as the database's, so the answers are the same for the same sums."""
    waves_to, by = (wave_to,), tuple(by)
    family = {scale_id: _disclosed(scope, scale_id, rows, by, complementary, wave_from,
                                   waves_to)
              for scale_id, rows in sums.items()}
    adjusted = _family_adjusted(family, by, waves_to)
    rows = [row for scale_id, disclosed in family.items()
            for row in _with_stats(scope, scale_id, disclosed, wave_from, waves_to, by)]
    return _adjusted(rows, adjusted, by, waves_to, scope.filters.published)


def group_change(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str | Sequence[str] = "post",
    by: Sequence[str] = ("audience", "format"),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
    p_adj: bool = True,
) -> list[dict[str, Any]]:
    """Paired change per group of one scale: one dict per group, suppressed below the minimum
    cell size.

    Keys: the ``by`` columns, ``scale_id, wave_from, wave_to, n_pairs, mean_from, mean_to,
    sd_from, sd_to, r, mean_change, sd_change, ci_low, ci_high, t, df, p, p_adj`` (Benjamini-
    Hochberg over the multiplicity family, ``family_p_adj``), ``d_z, d_z_ci_low,
    d_z_ci_high, d_av, g_av`` (from ``stats.paired``), ``g, g_ci_low, g_ci_high, g_vi``
    (standardised mean change, metafor SMCR, the metric of the evidence table),
    ``n_improved, n_deteriorated, pct_reliable_improved`` (with its Wilson 95% CI
    ``pct_reliable_improved_ci_low/high``), ``pct_reliable_deteriorated,
    pct_no_reliable_change, reliable_threshold``, ``no_interval`` and ``suppressed``. Change
    and effect sizes are signed so that improvement is positive. ``wave_to`` may also be a
    tuple of waves when ``"wave_to"`` is in ``by``.

    A shown group whose pairs all changed by the same amount (or with one pair) has its
    means and mean change but no CI, t, p or d_z: ``no_interval`` says why (None otherwise).
    Groups with fewer than ``min_cell_size`` pairs (default: the database's, normally 11)
    have ``suppressed: True`` and every statistic, n_pairs too, None. With ``complementary``
    (the default) further groups are hidden so that no hidden group can be recovered from the
    groups shown and their total (``complementary_suppression``); ``suppression`` says why a
    row is hidden: ``"small"`` or ``"complementary"``. An unknown scale or wave, or a
    ``wave_to`` not after ``wave_from``, raises ``CannotShow``.

    ``p_adj=False`` leaves ``p_adj`` None, for charts that show no adjusted p: they then
    need not read every other scale's groups for the family.
    """
    waves_to = _waves_to(wave_to)
    by = tuple(by)
    if not p_adj:
        return _unadjusted(db, scale_id, wave_from, waves_to, by, filters, min_cell_size,
                           complementary)

    def compute(q: Query) -> list[dict[str, Any]]:
        q.scale(scale_id)
        family = _family_sums(q, wave_from, waves_to, by, complementary)
        rows = _with_stats(q, scale_id, family[scale_id], wave_from, waves_to, by)
        adjusted = family_p_adj(q.database, wave_from=wave_from, wave_to=waves_to, by=by,
                                filters=q.filters, min_cell_size=q.floor,
                                complementary=complementary)
        return _adjusted(rows, adjusted, by, waves_to, q.filters.published)

    key = (scale_id, wave_from, waves_to, by, bool(complementary))
    return cached_query(db, "group_change", key, compute, filters=filters,
                        min_cell_size=min_cell_size)


def pair_counts(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str | tuple[str, ...] = "post",
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    complementary: bool = True,
) -> list[dict[str, Any]]:
    """Matched pairs per group only (no statistics): cheap, for tiers and follow-up lengths.

    Groups below the minimum cell size come back with ``n_pairs: None, suppressed: True``;
    with ``complementary`` further groups too (see ``complementary_suppression``).
    """
    waves_to = _waves_to(wave_to)
    by = tuple(by)

    def compute(q: Query) -> list[dict[str, Any]]:
        q.scale(scale_id)
        rows, _, hidden = _disclosed(q, scale_id,
                                     _pair_rows(q, scale_id, wave_from, waves_to, by)[scale_id],
                                     by, complementary, wave_from, waves_to)
        return [{**{b: row[b] for b in by}, "n_pairs": None if i in hidden else row["n"],
                 "suppressed": i in hidden} for i, row in enumerate(rows)]

    key = (scale_id, wave_from, waves_to, by, bool(complementary))
    return cached_query(db, "pair_counts", key, compute, filters=filters,
                        min_cell_size=min_cell_size)


def change_distribution(
    db: Database | Path | str,
    *,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str = "post",
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """Histogram of individual improvement (0.5-point bins); bins below the cell size hidden.

    Returns ``{"n_pairs", "suppressed", "bin_width", "threshold", "bins": [{"bin", "n",
    "suppressed"}]}``; ``bin`` is the centre of the bin in scale points (improvement positive).
    """

    def compute(q: Query) -> dict[str, Any]:
        info = q.scale(scale_id)
        where, params = where_clause(q.filters)
        rows = q.fetch(SQL_HIST.format(where=where, key_sum=q.key_sum),
                       [scale_id, wave_from, wave_to, *params])
        total = sum(n for _, n, _ in rows)
        published = q.filters.published
        threshold = published_threshold(info.threshold) if published else info.threshold
        if total < q.floor:
            return {"n_pairs": None, "suppressed": True, "bin_width": HIST_BIN_WIDTH,
                    "threshold": threshold, "bins": []}
        # The bins add up to n_pairs, which is shown: hide complementary bins as well.
        hidden = complementary_suppression(
            [(b,) for b, _, _ in rows], [(n,) for _, n, _ in rows], ("bin",),
            small_cells((n for _, n, _ in rows), q.floor), q.floor)

        def shown(n: int, k: int) -> int:
            return perturbed_count(n, cell_key(k)) if published else n

        bins = [
            {"bin": round(b, 6), "n": None if i in hidden else shown(n, k),
             "suppressed": i in hidden}
            for i, (b, n, k) in enumerate(rows)
        ]
        return {"n_pairs": shown(total, sum(k for _, _, k in rows)), "suppressed": False,
                "bin_width": HIST_BIN_WIDTH, "threshold": threshold, "bins": bins}

    return cached_query(db, "hist", (scale_id, wave_from, wave_to), compute, filters=filters,
                        min_cell_size=min_cell_size)
