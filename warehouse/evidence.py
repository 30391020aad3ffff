"""Evidence: the published-studies library with its effect sizes and pooled estimates, the
evidence tier of each programme's own data, and the gap map (where evidence is thin).

Studies are pooled per outcome domain, never across domains (``domain_evidence``): an effect
on confidence and one on burnout are not estimates of one quantity. Each domain carries its
small-study bias analyses (from 10 studies), its GRADE certainty and, on request, a
meta-regression or subgroup analysis on study columns (``pool_domains``, shared with
`attune pool FILE`).

A programme's tier is rated with the design its data support: single-group pre/post, unless
it has a comparison or waitlist arm that is equivalent at baseline and has low attrition by
the WWC's standards (``warehouse.comparison``), which rates it as a comparison-group design.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from schemas.contract import DEFAULT_ARM, SINGLE_GROUP_PRE_POST
from stats.bias import (
    cooks_distance,
    egger_classical,
    egger_test,
    leave_one_out,
    rank_test,
    small_study_note,
    trim_and_fill,
)
from stats.certainty import domain_certainty
from stats.meta import meta_analysis, study_effect_size
from stats.metareg import moderator_analysis, subgroup_analysis
from stats.tiers import evidence_tier, study_tier
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
       synthetic, g, g_ci_low, g_ci_high, mean_pre, mean_post, sd_pre, sd_post, r, url,
       attrition, followup_months, risk_of_bias, independent
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
    """The evidence library with (yi, vi) and a 95% CI per study (studies without them too),
    and each study's tier from its design, n and ratings (``stats.tiers.study_tier``:
    ``tier_provisional`` when it needs a figure the study does not report, named in
    ``tier_not_checked``; ``tier_reasons`` in words)."""

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
            tier = study_tier(row["design"], row["n"], attrition_pct=row["attrition"],
                              followup_months=row["followup_months"],
                              risk_of_bias=row["risk_of_bias"], independent=row["independent"])
            row.update(tier=tier.tier, tier_label=tier.label, tier_provisional=tier.provisional,
                       tier_not_checked=list(tier.not_checked), tier_reasons=list(tier.reasons))
            out.append(row)
        return out

    return cached_query(db, "evidence", (), compute)


def pooled_evidence(
    db: Database | Path | str,
    *,
    domain: str | None,
    method: str = "REML",
    hksj: bool = False,
    design: str | None = None,
) -> dict[str, Any] | None:
    """Random-effects pooled estimate of one outcome domain's studies (optionally one design).

    Studies of different outcome domains measure different things and are never pooled
    together: ``domain`` is required (``CannotShow`` for None; ``domain_evidence`` gives
    every domain's pool). None with fewer than two studies: one study is its own estimate,
    with no heterogeneity. ``CannotShow`` when the studies' effect sizes cannot be pooled
    (the estimate of the between-study variance does not converge).
    """
    if domain is None:
        raise CannotShow(ACROSS_DOMAINS)
    entry = next((e for e in domain_evidence(db, method=method, hksj=hksj, design=design)
                  if e["domain"] == domain), None)
    if entry is None or entry["pooled"] is None:
        if entry is not None and entry["k"] >= 2:
            raise CannotShow(entry["reason"])
        return None
    return entry["pooled"]


# --- per-domain pooling --------------------------------------------------------------------

ACROSS_DOMAINS = ("Studies of different outcome domains are never pooled together: choose "
                  "an outcome domain.")
# A single-group study's effect is a standardised change within the same people (SMCR); a
# comparison-group or randomised study's is a difference between groups (SMD).
WITHIN_PERSON_DESIGNS = (SINGLE_GROUP_PRE_POST,)
DESIGNS_NOTE = ("A between-group effect (comparison-group or randomised study) and a "
                "within-person change (single-group pre/post study) are not the same quantity: "
                "the change before and after training also holds what would have changed "
                "without it, so pooling the two designs together mixes them.")
# Study columns a moderator analysis or subgroup analysis may use (the evidence contract's
# study characteristics; identifiers, citations and effect-size inputs are not moderators).
MODERATOR_COLUMNS = ("year", "design", "audience", "format", "n", "attrition",
                     "followup_months", "risk_of_bias", "independent", "synthetic")
_FIT_ERRORS = (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)


def domain_evidence(
    db: Database | Path | str,
    *,
    method: str = "REML",
    hksj: bool = False,
    design: str | None = None,
    mods: tuple[str, ...] = (),
    subgroup: str | None = None,
) -> list[dict[str, Any]]:
    """The evidence library pooled per outcome domain, never across domains (``pool_domains``
    of the loaded ``evidence`` table); ``design`` keeps one study design only."""
    key = (method.upper(), hksj, design, tuple(mods), subgroup)
    return cached_query(db, "domain_evidence", key, lambda q: pool_domains(
        evidence(q.database), method=method, hksj=hksj, design=design, mods=mods,
        subgroup=subgroup))


def pool_domains(
    studies: list[dict[str, Any]],
    *,
    method: str = "REML",
    hksj: bool = False,
    design: str | None = None,
    mods: tuple[str, ...] | list[str] = (),
    subgroup: str | None = None,
) -> list[dict[str, Any]]:
    """One entry per outcome domain (in name order) of ``studies`` (rows as ``evidence``
    gives them: ``study_id``, ``outcome_domain``, ``design``, ``n``, ``es``, ``es_vi`` and the
    ``MODERATOR_COLUMNS``), pooled on its own.

    Each entry: ``domain``; ``k`` and ``studies`` (the ids of the studies pooled, those with an
    effect size) and ``skipped`` (those without); ``designs``; ``pooled`` (``meta_analysis``
    as a dict) or None with ``reason``; ``bias`` (``bias_analyses``) when the domain has at
    least ``MIN_STUDIES_FOR_BIAS`` studies, else None with ``bias_reason``; ``certainty``
    (GRADE, ``stats.certainty``) and ``note`` (``DESIGNS_NOTE``). With ``mods``:
    ``meta_regression`` or None with ``meta_regression_reason``; with ``subgroup``:
    ``subgroups``, ``q_between``, ``q_between_p`` or ``subgroup_reason``.
    """
    unknown = [c for c in (*mods, *([subgroup] if subgroup else [])) if c not in
               MODERATOR_COLUMNS]
    if unknown:
        raise ValueError(f"unknown study column(s) {', '.join(unknown)}; the columns are "
                         f"{', '.join(MODERATOR_COLUMNS)}")
    domains: dict[str, list[dict[str, Any]]] = {}
    for study in studies:
        if design is None or study["design"] == design:
            domains.setdefault(study["outcome_domain"], []).append(study)
    return [_pool_domain(name, domains[name], method.upper(), hksj, tuple(mods), subgroup)
            for name in sorted(domains)]


def _pool_domain(domain: str, rows: list[dict[str, Any]], method: str, hksj: bool,
                 mods: tuple[str, ...], subgroup: str | None) -> dict[str, Any]:
    usable = [s for s in rows if s["es"] is not None]
    yi, vi = [s["es"] for s in usable], [s["es_vi"] for s in usable]
    ids = [s["study_id"] for s in usable]
    designs = sorted({s["design"] for s in usable})
    entry: dict[str, Any] = {
        "domain": domain, "k": len(usable), "studies": ids, "skipped": len(rows) - len(usable),
        "designs": designs, "pooled": None, "reason": None, "bias": None,
        "bias_reason": small_study_note(len(usable)), "certainty": None, "note": DESIGNS_NOTE,
        "mixes_designs": len({d in WITHIN_PERSON_DESIGNS for d in designs}) > 1,
    }
    if len(usable) < 2:
        entry["reason"] = (f"Pooling needs at least 2 studies with an effect size; this domain "
                           f"has {len(usable)}: one study is its own estimate.")
    else:
        try:
            fit = meta_analysis(yi, vi, method=method, hksj=hksj)
            entry["pooled"] = {k: clean(v) for k, v in fit.as_dict().items()}
        except RuntimeError as error:
            entry["reason"] = f"These studies cannot be pooled: {error}."
    if entry["pooled"] is not None and entry["bias_reason"] is None:
        try:
            entry["bias"] = bias_analyses(yi, vi, ids, method=method)
        except _FIT_ERRORS as error:
            entry["bias_reason"] = f"Small-study bias could not be assessed: {error}."
    if entry["pooled"] is not None or len(usable) == 1:
        egger = entry["bias"]["egger"]["p"] if entry["bias"] else None
        entry["certainty"] = domain_certainty(usable, entry["pooled"], egger).as_dict()
    if mods:
        entry.update(_moderators(usable, yi, vi, mods, method, hksj))
    if subgroup:
        entry.update(_subgroups(usable, yi, vi, subgroup, method))
    return entry


def bias_analyses(yi: list[float], vi: list[float], ids: list[Any], *,
                  method: str = "REML") -> dict[str, Any]:
    """Small-study bias and influence of one domain's studies (``stats.bias``, metafor's
    ``regtest``, ``regtest(model = "lm")``, ``ranktest``, ``trimfill``, ``leave1out`` and
    ``cooks.distance``), as plain dicts."""
    def plain(result: Any) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else clean(v)
                for k, v in result.as_dict().items()}

    return {
        "egger": plain(egger_test(yi, vi, method=method)),
        "egger_classical": plain(egger_classical(yi, vi)),
        "rank_test": plain(rank_test(yi, vi)),
        "trim_and_fill": plain(trim_and_fill(yi, vi, method=method)),
        "leave_one_out": [plain(r) for r in leave_one_out(yi, vi, method, study_ids=ids)],
        "cooks_distance": [plain(r) for r in cooks_distance(yi, vi, method, study_ids=ids)],
    }


def _moderators(usable: list[dict[str, Any]], yi: list[float], vi: list[float],
                mods: tuple[str, ...], method: str, hksj: bool) -> dict[str, Any]:
    """The mixed-effects meta-regression on ``mods`` (metafor ``rma(mods = ...)``)."""
    try:
        columns = {m: [s.get(m) for s in usable] for m in mods}
        fit = moderator_analysis(yi, vi, columns, list(mods), method=method, knha=hksj)
    except _FIT_ERRORS as error:
        return {"meta_regression": None, "meta_regression_reason": str(error)}
    result = {k: clean(getattr(fit, k)) for k in
              ("k", "qm", "qm_df", "qm_p", "qe", "qe_df", "qe_p", "tau2", "r2", "i2")}
    result["coefficients"] = [{k: clean(v) for k, v in c.as_dict().items()}
                              for c in fit.coefficients]
    result["dropped"] = [usable[i]["study_id"] for i in fit.dropped]
    return {"meta_regression": result, "meta_regression_reason": None}


def _subgroups(usable: list[dict[str, Any]], yi: list[float], vi: list[float], column: str,
               method: str) -> dict[str, Any]:
    """Each level of ``column`` pooled on its own, and the test of subgroup differences."""
    groups = [s.get(column) for s in usable]
    levels = {str(g) for g in groups if g is not None}
    try:
        if len(levels) < 2:
            raise ValueError(f"{column} has {len(levels)} level(s) among these studies: "
                             "nothing to compare")
        fit = subgroup_analysis(yi, vi, groups, method=method)
    except _FIT_ERRORS as error:
        return {"subgroups": None, "q_between": None, "q_between_df": None,
                "q_between_p": None, "subgroup_reason": str(error)}
    return {"subgroups": [{k: clean(v) for k, v in g.as_dict().items()}
                          for g in fit.subgroups],
            "q_between": clean(fit.q_between), "q_between_df": fit.q_between_df,
            "q_between_p": clean(fit.q_between_p), "subgroup_reason": None}


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
    studies the highest study tier (``study_tier``: design, n, attrition, follow-up, risk of
    bias, independence), with ``tier_provisional`` when that study leaves some unreported
    and ``synthetic`` when every study of the cell is a synthetic demo study. Cells with
    fewer pairs than the cell size count as gaps.
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
                    "tier": tier.tier, "tier_label": tier.label, "tier_provisional": False,
                    "synthetic": False})
    cells: dict[tuple, list[dict]] = {}
    for study in evidence(q.database):
        cells.setdefault((study["audience"], study["outcome_domain"]), []).append(study)
    for (aud, domain), studies in cells.items():
        # The best study, a fully checked one before a provisional one of the same tier.
        best = max(studies, key=lambda s: (s["tier"], not s["tier_provisional"]))
        out.append({"audience": aud, "domain": domain, "source": "Published studies",
                    "count": len(studies), "n": sum(s["n"] for s in studies),
                    "tier": best["tier"], "tier_label": best["tier_label"],
                    "tier_provisional": best["tier_provisional"],
                    "synthetic": all(s["synthetic"] for s in studies)})
    return out
