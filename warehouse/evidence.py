"""Evidence: the published-studies library with its effect sizes and pooled estimate, the
evidence tier of each programme's own data, and the gap map (where evidence is thin).

A programme's tier is rated with the design its data support: single-group pre/post, unless
it has a comparison or waitlist arm that is equivalent at baseline and has low attrition by
the WWC's standards (``warehouse.comparison``), which rates it as a comparison-group design.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from schemas.contract import DEFAULT_ARM, SINGLE_GROUP_PRE_POST
from stats.meta import meta_analysis, study_effect_size
from stats.tiers import evidence_tier
from warehouse.catalog import filter_options
from warehouse.cell_key import ROUNDING, cell_key, perturbed_count
from warehouse.comparison import compare_arms, comparison_design
from warehouse.connection import Database, Query, cached_query
from warehouse.disclosure import complementary_suppression, small_cells
from warehouse.errors import CannotShow
from warehouse.filters import Filters, where_clause
from warehouse.followup import people
from warehouse.numbers import clean
from warehouse.outcomes import group_change, pair_counts

SQL_EVIDENCE = """
SELECT study_id, citation, year, design, audience, format, outcome_domain, n, yi, vi,
       synthetic, g, g_ci_low, g_ci_high, mean_pre, mean_post, sd_pre, sd_post, r, url
FROM attune.evidence ORDER BY outcome_domain, year, study_id
"""
SQL_COHORT_CELLS = """
SELECT c.audience, c.scale_id, count(DISTINCT c.cidx) AS cohorts, sum(c.n)::BIGINT AS n,
       {key_sum} AS k
FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.wave_from = 'pre' AND c.wave_to = 'post' AND {where}
GROUP BY ALL
ORDER BY c.scale_id, c.audience
"""


def evidence(db: Database | Path | str) -> list[dict[str, Any]]:
    """The evidence library with (yi, vi) and a 95% CI per study (studies without them too)."""

    def compute(q: Query) -> list[dict[str, Any]]:
        out = []
        for row in q.fetch_dicts(SQL_EVIDENCE):
            pair = study_effect_size(row)
            row = {k: clean(v) for k, v in row.items()}
            if pair is not None:
                single = meta_analysis([pair[0]], [pair[1]], method="FE")
                row.update(es=pair[0], es_vi=pair[1], es_ci_low=single.ci_low,
                           es_ci_high=single.ci_high)
            else:
                row.update(es=None, es_vi=None, es_ci_low=None, es_ci_high=None)
            tier = evidence_tier(row["design"], row["n"], None, None)
            row.update(tier=tier.tier, tier_label=tier.label)
            out.append(row)
        return out

    return cached_query(db, "evidence", (), compute)


def pooled_evidence(
    db: Database | Path | str, *, domain: str | None = None, method: str = "REML"
) -> dict[str, Any] | None:
    """Random-effects pooled estimate of the evidence library (optionally one domain).

    None with fewer than two studies: one study is its own estimate, with no heterogeneity.
    ``CannotShow`` when the studies' effect sizes cannot be pooled (the estimate of the
    between-study variance does not converge).
    """
    studies = [
        s for s in evidence(db)
        if s["es"] is not None and (domain is None or s["outcome_domain"] == domain)
    ]
    if len(studies) < 2:
        return None
    try:
        result = meta_analysis([s["es"] for s in studies], [s["es_vi"] for s in studies],
                               method=method)
    except RuntimeError as error:
        raise CannotShow(f"These studies cannot be pooled: {error}.") from None
    return {k: clean(v) for k, v in result.as_dict().items()}


def program_evidence(
    db: Database | Path | str,
    *,
    scale_id: str,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Per programme: pre->post change on the scale, attrition, longest follow-up, tier.

    The design is single-group pre/post, or comparison group for a programme whose
    comparison (or waitlist) arm is equivalent at baseline and has low attrition (WWC v5.0,
    cautious boundary, pre -> post: ``warehouse.comparison``); ``design`` names it and the
    first of ``reasons`` says why the comparison counted or did not. This applies when the
    filters select the intervention arm (the default): the matched pairs and attrition rated
    are the trained people's either way. Attrition is the share of people who
    answered pre and were due a post survey but did not answer it. The follow-up length is the
    longest follow-up wave with at least ``min_cell_size`` matched pre->follow-up pairs.
    Programmes with fewer matched pairs than the cell size are suppressed (tier not shown).

    The tier is decided on the exact figures (matched pairs, attrition, follow-up), even where
    the attrition shown is hidden (None) or published with noise: a hidden figure is not
    shown, never read as "not reported". Only the tier is published.
    """
    return cached_query(db, "program_evidence", (scale_id,),
                        lambda q: _program_evidence(q, scale_id), filters=filters,
                        min_cell_size=min_cell_size)


def _program_evidence(q: Query, scale_id: str) -> list[dict[str, Any]]:
    database, filters, floor = q.database, q.filters, q.floor
    exact = replace(filters, published=False)  # for the tier only: never shown
    changes = group_change(database, scale_id=scale_id, by=("program",), filters=filters,
                           min_cell_size=floor, p_adj=False)
    pairs = {r["program"]: r["n_pairs"] for r in pair_counts(
        database, scale_id=scale_id, by=("program",), filters=exact, min_cell_size=floor,
        complementary=False)}
    followups = [w for w, _, m in q.snap.waves if m]
    long = pair_counts(database, scale_id=scale_id, wave_to=tuple(followups) or ("post",),
                       by=("program", "wave_to"), filters=exact, min_cell_size=floor,
                       complementary=False)
    retention = {r["program"]: r for r in people(database, by=("program",), filters=filters,
                                                  min_cell_size=floor)}
    exact_retention = {r["program"]: r for r in people(database, by=("program",),
                                                        filters=exact, min_cell_size=1)}
    months = {w: m for w, _, m in q.snap.waves}
    names = filter_options(database)["programs"]
    comparisons = _comparisons(q, scale_id, exact)
    out = []
    for row in changes:
        program = row["program"]
        base = {"program": program, "program_name": names.get(program, program)}
        if row["suppressed"]:
            out.append({**base, "suppressed": True, "tier": None, "tier_label": None,
                        "reasons": [], "n_pairs": None})
            continue
        attrition = _attrition_pct(retention.get(program, {}))
        if attrition is not None and filters.published:
            attrition = round(attrition, ROUNDING["attrition_pct"])
        longest = max(
            (months[r["wave_to"]] for r in long
             if r["program"] == program and not r["suppressed"]),
            default=None,
        )
        design, why = comparison_design(comparisons.get(program),
                                        figures=not filters.published)
        tier = evidence_tier(design, pairs[program],
                             _attrition_pct(exact_retention.get(program, {})), longest,
                             figures=not filters.published)  # exact figures stay inside
        out.append({**base, **row, "attrition_pct": attrition, "followup_months": longest,
                    "design": design, "tier": tier.tier, "tier_label": tier.label,
                    "reasons": [why, *tier.reasons] if why else list(tier.reasons),
                    "suppressed": False})
    return out


def _comparisons(q: Query, scale_id: str, exact: Filters) -> dict[str, dict[str, Any]]:
    """Each programme's pre -> post comparison of arms (exact figures: only the design they
    decide is shown), by programme id; none unless the intervention arm is selected."""
    if q.filters.arm != DEFAULT_ARM:
        return {}
    try:
        result = compare_arms(q.database, scale_id, "post", filters=exact,
                              min_cell_size=q.floor)
    except CannotShow:
        return {}
    return {p["program_id"]: p for p in result["programs"]}


def _attrition_pct(kept: dict[str, Any]) -> float | None:
    """The share (%) of people due a post survey who did not answer it; None when either
    count is hidden."""
    due, answered = kept.get("n_pre_eligible_post"), kept.get("n_retained_post")
    if not due or answered is None:
        return None
    return 100.0 * (1 - min(answered, due) / due)


def gap_map(
    db: Database | Path | str,
    *,
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> list[dict[str, Any]]:
    """Audience x outcome domain: cohorts with enough matched pre/post pairs, and studies.

    One row per (audience, domain, source) with ``count`` (cohorts or studies) and ``tier``:
    for local data the tier of all matched pairs in the cell (single-group pre/post), for
    studies the highest study tier. Cells with fewer pairs than the cell size count as gaps.
    """
    return cached_query(db, "gap_map", (), _gap_map, filters=filters,
                        min_cell_size=min_cell_size)


def _gap_map(q: Query) -> list[dict[str, Any]]:
    domains = {s.scale_id: s.domain for s in q.snap.scales.values()}
    where, params = where_clause(q.filters)
    rows = q.fetch_dicts(SQL_COHORT_CELLS.format(where=where, key_sum=q.key_sum), params)
    # Per scale, the audiences add up to the scale's matched pairs shown elsewhere.
    hidden = complementary_suppression(
        [(r["scale_id"], r["audience"]) for r in rows], [(r["n"],) for r in rows],
        ("scale_id", "audience"), small_cells((r["n"] for r in rows), q.floor), q.floor)
    out = []
    for i, row in enumerate(rows):
        if i in hidden:
            continue
        tier = evidence_tier(SINGLE_GROUP_PRE_POST, row["n"], None, None)  # exact n
        n = perturbed_count(row["n"], cell_key(row["k"])) if q.filters.published else row["n"]
        out.append({"audience": row["audience"], "domain": domains.get(row["scale_id"]),
                    "source": "Our cohorts", "count": row["cohorts"], "n": n,
                    "tier": tier.tier, "tier_label": tier.label})
    cells: dict[tuple, list[dict]] = {}
    for study in evidence(q.database):
        cells.setdefault((study["audience"], study["outcome_domain"]), []).append(study)
    for (aud, domain), studies in cells.items():
        best = max(studies, key=lambda s: s["tier"])
        out.append({"audience": aud, "domain": domain, "source": "Published studies",
                    "count": len(studies), "n": sum(s["n"] for s in studies),
                    "tier": best["tier"], "tier_label": best["tier_label"]})
    return out
