"""Cost: what training cost per participant, per matched pair, per person reliably improved
and per tenth of an SD of pre -> post change, by format or programme, each ratio with a
percentile bootstrap CI that resamples cohorts.

From ``attune.cohorts.cost_per_participant`` (carried by ``memory.cohort_dim``), the people
with any response per cohort (``people_cube``) and the matched pairs' sums per cohort
(``pair_cube``), read per cohort in one query (``sql/cost_cohorts.sql``) and finished in numpy:

* total cost = Σ over the cohorts with a known cost of cost per participant × people;
  ``cost_per_participant`` = total cost / their people, ``cost_per_matched_participant`` =
  total cost / their matched pairs;
* ``cost_per_reliably_improved`` = cost per participant / the share of matched pairs reliably
  improved, ``cost_per_tenth_sd`` = cost per participant / (g / 0.1), with the share and g
  the group's own, exactly as the Outcomes pages show them (``warehouse.outcomes.group_change``):
  the known cohorts' cost per person applied to the group's outcome. Cohorts with unknown cost
  are left out of the cost side of every figure and counted (``cohorts_without_cost``).
* A ratio whose outcome is not positive (g <= 0, nobody reliably improved) has no cost: None,
  with the reason in ``reasons``, never a negative or infinite cost.

The CIs resample cohorts (``stats.bootstrap``: a resample is a multiset of the group's cohorts;
its totals are the drawn cohorts' sums) and recompute every figure from the resample's pooled
sums, g as ``warehouse.outcomes`` computes it (``pooled_g``). The two cost-per-outcome ratios
are bootstrapped as outcome per unit of cost and inverted (the percentile interval respects
monotone transformations, Efron & Tibshirani 1993, §13.3), so resamples with no improvement
count, and make the upper end unbounded (None, with a reason) when they reach the lower tail.

Privacy: a group with fewer people than the minimum cell size is suppressed (and the groups
``complementary_suppression`` hides to protect it). Published figures (``Filters.published``,
sponsors) are derived from protected inputs only: perturbed counts (``cell_key``), the
published share and g of the Outcomes page, a cost per participant weighted by perturbed
cohort counts; all rounded to whole currency units, the CIs (bootstrapped on exact data)
coarser, to two significant figures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from stats.bootstrap import DEFAULT_RESAMPLES, Resamples, percentile_ci, resample_totals
from warehouse.cell_key import cell_key, perturbed_count
from warehouse.connection import Database, Query, cached_query
from warehouse.disclosure import (
    SUPPRESSION_COMPLEMENTARY,
    SUPPRESSION_PRIMARY,
    complementary_suppression,
)
from warehouse.errors import CannotShow
from warehouse.filters import Filters, group_clause, groups_sort_key, where_clause
from warehouse.outcomes import ROUNDING_BOUND, group_change
from warehouse.sqltext import statement
from warehouse.summaries import ScaleInfo

GROUPINGS = ("format", "program")
SEED = 1
RESAMPLES = DEFAULT_RESAMPLES  # 2000
LEVEL = 0.95
TENTH = 0.1  # cost_per_tenth_sd: the cost of a tenth of an SD of pre -> post change (g)
CI_FIGURES = ("cost_per_matched_participant", "cost_per_reliably_improved", "cost_per_tenth_sd")
FIGURES = ("total_cost", "cost_per_participant", *CI_FIGURES)
GROUP_FIELDS = (
    "suppressed", "suppression", "cohorts", "cohorts_without_cost", "people", "n_pairs",
    "pct_reliable_improved", "g", "total_cost", "cost_per_participant",
    *(f"{name}{end}" for name in CI_FIGURES for end in ("", "_ci_low", "_ci_high")), "reasons",
)
# The per-cohort columns the bootstrap resamples: the cost side (zero for a cohort of unknown
# cost) and the outcome side (every cohort of the group).
COLUMNS = ("cost", "people", "pairs", "n", "s_f", "s_t", "ss_f", "ss_t", "s_c", "ss_c",
           "n_improved")
COST, PEOPLE, PAIRS, N, IMPROVED = 0, 1, 2, 3, 10
PAIR_SUMS = COLUMNS[N:IMPROVED]

NO_COST = "no cohort of this group has a known cost"
NO_IMPROVEMENT = "no improvement to pay for"
NO_THRESHOLD = ("the scale has no reliable-change threshold, so no one is counted as reliably "
                "improved")
NO_G = "no pre -> post g is shown for this group"
PAIRS_HIDDEN = "the matched pairs of this group are not shown"
APART = "the cohorts with a known cost and those without are not shown apart"
FEW_COHORTS = "only one cohort with a known cost: no interval"
UNBOUNDED = ("in some resamples of cohorts there was no improvement to pay for, so the upper end "
             "is unbounded")


def cost(
    db: Database | Path | str,
    *,
    scale_id: str,
    by: str = "format",
    seed: int = SEED,
    resamples: int = RESAMPLES,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """Cost figures of one scale's pre -> post change per ``by`` group (format or program).

    Returns ``{"scale_id", "by", "seed", "resamples", "level", "groups"}``; each group has its
    ``by`` value and ``GROUP_FIELDS``: ``people`` and ``n_pairs`` (of the cohorts with a known
    cost), ``cohorts``, ``cohorts_without_cost``, the group's ``pct_reliable_improved`` and
    ``g`` (as the Outcomes pages show them), ``total_cost``, ``cost_per_participant`` and the
    three ratios with their 95% CI ``_ci_low``/``_ci_high``; every figure that is None has
    its reason in ``reasons`` (``<figure>`` or ``<figure>_ci``). An unknown scale or grouping
    raises ``CannotShow``.
    """
    if by not in GROUPINGS:
        raise CannotShow(f"Cost is shown by {' or '.join(GROUPINGS)}, not by {by!r}.")
    key = (scale_id, by, int(seed), int(resamples))
    return cached_query(db, "cost", key, lambda q: _cost(q, scale_id, by, int(seed),
                                                         int(resamples)),
                        filters=filters, min_cell_size=min_cell_size)


def pooled_g(totals: np.ndarray, info: ScaleInfo) -> np.ndarray:
    """Pre -> post g of each row of pooled matched-pair sums (``totals``: R x ``PAIR_SUMS``),
    computed as ``warehouse.outcomes`` computes the g it shows (metafor's SMCR, signed so that
    improvement is positive), NaN where outcomes shows none: the bootstrap's thousands of
    resamples at once, as array arithmetic."""
    n = np.round(totals[:, 0])
    s_f, s_t, ss_f, ss_t, s_c, ss_c = (totals[:, k] for k in range(1, 7))
    with np.errstate(all="ignore"):
        sd_f, sd_t, sd_c = (_sd_many(n, s, ss) for s, ss in
                            ((s_f, ss_f), (s_t, ss_t), (s_c, ss_c)))
        # var(y - x) = var(x) + var(y) - 2 r sd(x) sd(y), solved for r (as stats.paired)
        r = np.clip((sd_f**2 + sd_t**2 - sd_c**2) / (2 * sd_f * sd_t), -1.0, 1.0)
        r = np.where((sd_f > 0) & (sd_t > 0) & np.isfinite(sd_c), r, np.nan)
        df = n - 1
        # Hedges 1981 (exact J): J = Gamma(df/2) / (sqrt(df/2) * Gamma((df-1)/2))
        j = np.where(df > 1, np.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2))
                     / np.sqrt(df / 2), np.nan)
        # Becker 1988; metafor escalc("SMCR"): yi = J (m_post - m_pre) / sd_pre
        yi = j * (s_t / n - s_f / n) / sd_f
        # metafor escalc("SMCR") large-sample variance: 2 (1 - r) / n + yi^2 / (2 n)
        vi = 2 * (1 - r) / n + yi**2 / (2 * n)
        yi = yi if info.higher_is_better else -yi
        shown = ((n >= 3) & (sd_f > 0) & np.isfinite(r) & np.isfinite(yi) & np.isfinite(vi)
                 & (vi > 0))
    return np.where(shown, yi, np.nan)


def _sd_many(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """``warehouse.outcomes``' SD from sums, per row: NaN below two, 0 when only rounding."""
    spread = ss - s * s / n
    return np.where(n < 2, np.nan, np.where(spread <= ROUNDING_BOUND * n * ss, 0.0,
                                            np.sqrt(spread / (n - 1))))


def _cost(q: Query, scale_id: str, by: str, seed: int, resamples: int) -> dict[str, Any]:
    info = q.scale(scale_id)
    # one row per cohort with every grouping's column: both groupings read the same rows
    select, _ = group_clause(GROUPINGS)
    where, params = where_clause(q.filters)
    sql = statement("cost_cohorts").format(group_select=select, where=where,
                                           key_sum=q.key_sum)
    rows = q.aggregate("cost_cohorts", (scale_id,), lambda: q.fetch_dicts(
        sql, [*params, scale_id, "pre", "post", *params]))
    cohorts: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        cohorts.setdefault((row[by],), []).append(row)
    order = sorted(cohorts, key=groups_sort_key)
    sizes = [sum(int(c["people"]) for c in cohorts[k]) for k in order]
    small = {i for i, n in enumerate(sizes) if n < q.floor}
    hidden = complementary_suppression(order, [(n,) for n in sizes], (by,), small, q.floor)
    change = {(row[by],): row for row in group_change(
        q.database, scale_id=scale_id, by=(by,), filters=q.filters, min_cell_size=q.floor,
        p_adj=False)}
    groups = []
    for i, k in enumerate(order):
        if i in hidden:
            why = None if q.filters.published else (
                SUPPRESSION_PRIMARY if i in small else SUPPRESSION_COMPLEMENTARY)
            groups.append({by: k[0], **dict.fromkeys(GROUP_FIELDS), "suppressed": True,
                           "suppression": why, "reasons": {}})
            continue
        figures = _figures(q, info, cohorts[k], change.get(k), seed, resamples)
        groups.append({by: k[0], **figures})
    return {"scale_id": scale_id, "by": by, "seed": seed, "resamples": resamples,
            "level": LEVEL, "groups": groups}


def _apart(part: int, whole: int, floor: int) -> bool:
    """Whether a part of a group (the cohorts with a known cost) may be shown beside the
    whole: neither it nor the rest may be a small cell (the rest is whole minus part)."""
    return part >= floor and not 0 < whole - part < floor


def _matrix(cohorts: list[dict[str, Any]]) -> np.ndarray:
    """G x ``COLUMNS``: per cohort its total cost, people and pairs (zero for unknown cost)
    and its matched-pair sums and reliably improved."""
    out = np.zeros((len(cohorts), len(COLUMNS)))
    for i, c in enumerate(cohorts):
        if c["cost"] is not None:
            out[i, :PAIRS + 1] = (c["cost"] * c["people"], c["people"], c["n"])
        out[i, N:] = [c[name] for name in (*PAIR_SUMS, "n_improved")]
    return out


def _figures(q: Query, info: ScaleInfo, cohorts: list[dict[str, Any]],
             change: dict[str, Any] | None, seed: int, resamples: int) -> dict[str, Any]:
    """One shown group's figures and the reasons for those that are None."""
    published = q.filters.published
    known = [c for c in cohorts if c["cost"] is not None]
    out: dict[str, Any] = dict.fromkeys(GROUP_FIELDS)
    out.update(suppressed=False, cohorts=len(cohorts),
               cohorts_without_cost=len(cohorts) - len(known))
    reasons: dict[str, str] = {}
    out["reasons"] = reasons
    shown_change = change is not None and not change["suppressed"]
    if shown_change:
        out["g"], out["pct_reliable_improved"] = change["g"], change["pct_reliable_improved"]
    if not known:
        reasons.update(dict.fromkeys(FIGURES, NO_COST))
        return out
    people = sum(int(c["people"]) for c in known)
    pairs = sum(int(c["n"]) for c in known)
    if not _apart(people, sum(int(c["people"]) for c in cohorts), q.floor):
        reasons.update(dict.fromkeys(FIGURES, APART))
        return out
    pairs_shown = shown_change and _apart(pairs, sum(int(c["n"]) for c in cohorts), q.floor)
    total = sum(c["cost"] * int(c["people"]) for c in known)
    if published:
        people = perturbed_count(people, cell_key(sum(int(c["k_people"]) for c in known)))
        pairs = perturbed_count(pairs, cell_key(sum(int(c["k_pairs"]) for c in known)))
        # each cohort weighs what its own published people count says (the same cell, the
        # same noise): a second, independent noise on it would let filters that weigh it
        # narrow down what the count hides
        weights = [perturbed_count(int(c["people"]), cell_key(c["k_people"])) for c in known]
        per_person = round(sum(c["cost"] * w for c, w in zip(known, weights, strict=True))
                           / sum(weights))
        total = round(per_person * people)
    else:
        per_person = total / people
    out.update(people=people, total_cost=total, cost_per_participant=per_person)
    share = out["pct_reliable_improved"]
    share = None if share is None else share / 100
    ratios: dict[str, tuple[float | None, str]] = {
        "cost_per_matched_participant": (
            total / pairs if pairs_shown and pairs > 0 else None, PAIRS_HIDDEN),
        "cost_per_reliably_improved": _per_outcome(per_person, share, (
            PAIRS_HIDDEN if not shown_change else NO_THRESHOLD if info.threshold is None
            else NO_IMPROVEMENT)),
        "cost_per_tenth_sd": _per_outcome(per_person, None if out["g"] is None
                                          else out["g"] / TENTH,
                                          PAIRS_HIDDEN if not shown_change else NO_G),
    }
    if pairs_shown:
        out["n_pairs"] = pairs
    for name, (value, why) in ratios.items():
        if value is None:
            reasons[name] = why
        out[name] = round(value) if published and value is not None else value
    intervals = _intervals(_matrix(cohorts), info, seed, resamples)
    for name in CI_FIGURES:
        if out[name] is None:
            continue
        if len(known) < 2:
            reasons[f"{name}_ci"] = FEW_COHORTS
            continue
        low, high = intervals[name]()
        if high is None:
            reasons[f"{name}_ci"] = UNBOUNDED
        out[f"{name}_ci_low"] = _coarse(low) if published else low
        out[f"{name}_ci_high"] = _coarse(high) if published else high
    return out


def _per_outcome(per_person: float, outcome: float | None,
                 why_none: str) -> tuple[float | None, str]:
    """Cost per unit of an outcome (a share, or g in tenths): None when it is unknown, and
    when it is not positive there is nothing to pay for."""
    if outcome is None:
        return None, why_none
    if outcome <= 0:
        return None, NO_IMPROVEMENT
    return per_person / outcome, ""


def _intervals(sums: np.ndarray, info: ScaleInfo, seed: int, resamples: int
               ) -> dict[str, Callable[[], tuple[float | None, float | None]]]:
    """Per ratio, its percentile bootstrap CI over resamples of the cohorts (``sums``: G x
    ``COLUMNS``), computed when asked; every ratio uses the same resamples (drawn once)."""

    @functools.cache
    def resampled() -> Resamples:
        return resample_totals(sums, resamples, seed)

    def per_pair(t: np.ndarray) -> np.ndarray:
        return t[:, COST] / t[:, PAIRS]

    def improved_per_cost(t: np.ndarray) -> np.ndarray:
        return (t[:, IMPROVED] / t[:, N]) / (t[:, COST] / t[:, PEOPLE])

    def tenths_per_cost(t: np.ndarray) -> np.ndarray:
        return (pooled_g(t[:, N:IMPROVED], info) / TENTH) / (t[:, COST] / t[:, PEOPLE])

    def direct(statistic) -> Callable[[], tuple[float | None, float | None]]:
        def run() -> tuple[float | None, float | None]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ci = percentile_ci(resampled(), statistic, LEVEL)
            return _finite(ci.ci_low), _finite(ci.ci_high)
        return run

    def inverted(statistic) -> Callable[[], tuple[float | None, float | None]]:
        def run() -> tuple[float | None, float | None]:
            low, high = direct(statistic)()
            if low is None or high is None:
                return None, None
            # Efron & Tibshirani 1993, §13.3: the percentile interval of 1/θ is 1/(its ends)
            return (1 / high if high > 0 else None), (1 / low if low > 0 else None)
        return run

    return {"cost_per_matched_participant": direct(per_pair),
            "cost_per_reliably_improved": inverted(improved_per_cost),
            "cost_per_tenth_sd": inverted(tenths_per_cost)}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _coarse(value: float | None) -> float | None:
    """A published CI end: two significant figures, never finer than whole currency units."""
    if value is None or value == 0:
        return value
    return round(value, min(0, 1 - math.floor(math.log10(abs(value)))))
