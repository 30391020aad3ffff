"""Comparison designs: what the intervention arm gained over its comparison or waitlist arm.

A programme whose cohorts include a comparison or waitlist arm (``cohorts.arm``; both count
as the comparison arm) can estimate the effect of the training, not only the change of the
people trained. Per programme with both arms this module gives

* **ANCOVA**: the later-wave score regressed on the baseline score and the arm
  (``stats.comparison.ancova_from_cohort_sums``), the arm's coefficient being the effect;
* **difference in differences**: the intervention arm's mean change minus the comparison
  arm's (``did_from_cohort_sums``);

both with CR1 standard errors clustered by cohort (Cameron & Miller 2015) and t intervals on
G − 1 degrees of freedom, because arm is a property of a cohort and people in one cohort are
alike. Scores are signed so that improvement is positive (negated on scales where lower is
better), so a positive effect always favours the training.

Whether the comparison is credible is judged as the What Works Clearinghouse does (WWC
Procedures and Standards Handbook v5.0):

* **baseline equivalence** on the analytic sample (the matched pairs, as WWC v5.0 assesses
  it): Hedges' g of the baseline difference, |g| ≤ 0.05 satisfied, ≤ 0.25 satisfied only with
  statistical adjustment for the baseline (the ANCOVA makes it), else not equivalent;
* **attrition**: assigned = people scored at the baseline wave, analysed = matched pairs,
  counted in the cohorts whose later wave was due by the last date in the data; overall and
  differential attrition against the WWC boundary, the **cautious** boundary by default (the
  one WWC applies when attrition may depend on the intervention, as a training's can), or the
  optimistic one on request. ``attrition_standard`` is "low" or "high" (None when no cohort
  was due yet), ``attrition_boundary`` names the boundary used.

``comparison_design`` turns one programme's result into the design its local evidence tier
is rated with (``warehouse.evidence``): a comparison that is equivalent at baseline and has
low attrition rates as a (non-randomised) comparison-group design; otherwise the programme
stays single-group, with the reason.

DuckDB sums each cohort once (``sql/compare_cohorts.sql``, from the ``pair_cube`` and
``baseline_cube`` summaries, through the usual filters with the arm restriction lifted) and
numpy finishes, without reading individual people. The baseline is the first wave.

Privacy: a programme with an arm of fewer matched pairs than the minimum cell size is listed
with ``suppressed: true`` and its reason, and none of its figures. Trusted roles only:
published figures (``Filters.published``, a sponsor) are refused with
``CannotShow("not published yet")`` until these figures have their disclosure control.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from schemas.contract import DEFAULT_ARM, SINGLE_GROUP_PRE_POST
from stats.comparison import (
    BOUNDARIES,
    EQUIVALENT,
    REQUIRES_ADJUSTMENT,
    ancova_from_cohort_sums,
    attrition_standard,
    baseline_equivalence_from_moments,
    did_from_cohort_sums,
)
from warehouse.connection import Database, Query, cached_query
from warehouse.errors import NOT_PUBLISHED, CannotShow
from warehouse.filters import Filters, where_clause
from warehouse.numbers import clean
from warehouse.sqltext import statement

COMPARISON_GROUP = "comparison_group"
ANCOVA_KEYS = ("estimate", "se", "ci_low", "ci_high", "p")
DID_KEYS = ("estimate", "ci_low", "ci_high")
FIGURE_KEYS = ("n_intervention", "n_comparison", "ancova", "did", "baseline_g",
               "baseline_equivalence", "attrition_overall", "attrition_differential",
               "attrition_standard")
LOW, HIGH = "low", "high"


def compare_arms(
    db: Database | Path | str,
    scale_id: str,
    wave_to: str = "post",
    *,
    wave_from: str = "pre",
    filters: Filters | None = None,
    min_cell_size: int | None = None,
    boundary: str = "cautious",
) -> dict[str, Any]:
    """Intervention against comparison arm, per programme with both, on one scale.

    Returns ``scale, wave_from, wave_to, boundary``, ``programs`` (one dict per programme with
    both arms, by programme id: ``program_id, program_name, suppressed, reason,
    n_intervention, n_comparison`` (matched pairs), ``n_cohorts_intervention,
    n_cohorts_comparison``, ``comparison_arms`` (waitlist and/or comparison), ``ancova``
    (estimate, se, ci_low, ci_high, p), ``did`` (estimate, se, ci_low, ci_high, p),
    ``baseline_g, baseline_equivalence``, ``assigned_intervention, assigned_comparison,
    attrition_intervention, attrition_comparison, attrition_overall, attrition_differential``
    (proportions), ``attrition_max_differential`` (the boundary at this overall rate),
    ``attrition_standard`` ("low" / "high" / None), ``attrition_boundary``, and
    ``counts_as_comparison`` with ``design_reason``) and ``left_out`` (programmes with one arm
    only: program_id, program_name, reason). Effects in scale points, improvement positive.
    The arm restriction of ``filters`` is lifted (both arms are read); every other filter
    applies. Cached per filters and minimum cell size.
    """
    filters = filters or Filters()
    if filters.published:
        raise CannotShow(NOT_PUBLISHED)
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {sorted(BOUNDARIES)}, got {boundary!r}")
    return cached_query(db, "compare_arms", (scale_id, wave_from, wave_to, boundary),
                        lambda q: _compare(q, scale_id, wave_from, wave_to, boundary),
                        filters=filters, min_cell_size=min_cell_size)


def _compare(q: Query, scale_id: str, wave_from: str, wave_to: str,
             boundary: str) -> dict[str, Any]:
    info = q.scale(scale_id)
    first = min(position for _, position, _ in q.snap.waves)
    position_from, position_to = q.wave_position(wave_from), q.wave_position(wave_to)
    if position_from != first:
        raise CannotShow(f"The baseline of a comparison is the first wave; {wave_from!r} is not.")
    if position_to <= position_from:
        raise CannotShow(f"Choose a later wave than {wave_from!r} to compare with: "
                         f"{wave_to!r} does not come after it.")
    where, params = where_clause(replace(q.filters, arm=None))
    rows = q.fetch_dicts(statement("compare_cohorts").format(where=where),
                         [scale_id, wave_from, wave_to, *params, scale_id, *params,
                          position_to])
    sign = 1.0 if info.higher_is_better else -1.0  # improvement positive
    programs: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        programs.setdefault(row["program_id"], []).append(row)
    out, left_out = [], []
    for program_id, cohorts in sorted(programs.items()):
        name = cohorts[0]["program_name"] or program_id
        trained = [r for r in cohorts if r["arm"] == DEFAULT_ARM]
        others = [r for r in cohorts if r["arm"] != DEFAULT_ARM]
        if not trained or not others:
            missing = "comparison or waitlist" if not others else "intervention"
            left_out.append({"program_id": program_id, "program_name": name,
                             "reason": f"no {missing} cohorts with a {wave_from} score on "
                                       f"{scale_id}: a comparison needs both arms"})
            continue
        entry = _programme(trained, others, sign, q.floor, boundary)
        out.append({"program_id": program_id, "program_name": name, **entry})
    return {"scale": scale_id, "wave_from": wave_from, "wave_to": wave_to,
            "boundary": boundary, "programs": out, "left_out": left_out}


def _not_shown(reason: str, comparison_arms: list[str]) -> dict[str, Any]:
    return {"suppressed": True, "reason": reason, "comparison_arms": comparison_arms,
            **dict.fromkeys(FIGURE_KEYS), "counts_as_comparison": False,
            "design_reason": f"the comparison is not shown ({reason})"}


def _programme(trained: list[dict[str, Any]], others: list[dict[str, Any]], sign: float,
               floor: int, boundary: str) -> dict[str, Any]:
    """The figures of one programme from its cohorts' rows (both arms present)."""
    arms = sorted({r["arm"] for r in others})
    n_i, n_c = (sum(int(r["n"]) for r in rows) for rows in (trained, others))
    for label, n in (("intervention", n_i), ("comparison", n_c)):
        if n < floor:
            return _not_shown(f"fewer than {floor} matched pairs in the {label} arm", arms)
    paired = [r for r in trained + others if r["n"] > 0]
    g_i = sum(1 for r in paired if r["arm"] == DEFAULT_ARM)
    g_c = len(paired) - g_i
    if min(g_i, g_c) < 2:
        return _not_shown("an arm has matched pairs in a single cohort: its cluster-robust "
                          "interval cannot be estimated", arms)
    arm = np.array([1.0 if r["arm"] == DEFAULT_ARM else 0.0 for r in paired])
    n, sx, sxx, sy, syy, sc, scc = (np.array([float(r[k]) for r in paired])
                                    for k in ("n", "sx", "sxx", "sy", "syy", "sc", "scc"))
    sxy = (sxx + syy - scc) / 2  # Σxy from Σ(y − x)² = Σx² − 2Σxy + Σy²
    try:
        ancova = ancova_from_cohort_sums(arm, n, sign * sx, sxx, sign * sy, sxy, syy)
        did = did_from_cohort_sums(arm, n, sign * sc, scc)
    except ValueError:
        return _not_shown("the baseline scores do not vary, so the ANCOVA cannot be fitted",
                          arms)
    equivalence = baseline_equivalence_from_moments(
        n_i, *_moments(sign * sx[arm == 1], sxx[arm == 1], n[arm == 1]),
        n_c, *_moments(sign * sx[arm == 0], sxx[arm == 0], n[arm == 0]))
    entry: dict[str, Any] = {
        "suppressed": False, "reason": None, "comparison_arms": arms,
        "n_intervention": n_i, "n_comparison": n_c,
        "n_cohorts_intervention": g_i, "n_cohorts_comparison": g_c,
        "ancova": {k: clean(getattr(ancova, k)) for k in ANCOVA_KEYS},
        "did": {k: clean(getattr(did, k)) for k in (*DID_KEYS, "se", "p")},
        "baseline_g": clean(equivalence.hedges_g),
        "baseline_equivalence": equivalence.verdict,
        **_attrition(trained, others, boundary),
    }
    entry["counts_as_comparison"], entry["design_reason"] = _verdict(entry)
    return entry


def _moments(s: np.ndarray, ss: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Mean and SD (n − 1) of one arm from its cohorts' sums."""
    total = float(n.sum())
    mean = float(s.sum()) / total
    var = (float(ss.sum()) - total * mean * mean) / (total - 1) if total > 1 else math.nan
    return mean, math.sqrt(var) if var > 0 else (0.0 if var == 0 else math.nan)


def _attrition(trained: list[dict[str, Any]], others: list[dict[str, Any]],
               boundary: str) -> dict[str, Any]:
    """WWC attrition over the cohorts whose later wave was due (assigned: baseline, analysed:
    matched pairs)."""
    counts = [(sum(int(r["assigned"]) for r in rows if r["due"]),
               sum(int(r["n"]) for r in rows if r["due"])) for rows in (trained, others)]
    empty = {"assigned_intervention": counts[0][0], "assigned_comparison": counts[1][0],
             "attrition_intervention": None, "attrition_comparison": None,
             "attrition_overall": None, "attrition_differential": None,
             "attrition_max_differential": None, "attrition_standard": None,
             "attrition_boundary": boundary}
    if counts[0][0] < 1 or counts[1][0] < 1:
        return empty
    result = attrition_standard(counts[0][0], counts[0][1], counts[1][0], counts[1][1])
    low = result.low_cautious if boundary == "cautious" else result.low_optimistic
    limit = (result.cautious_max_differential if boundary == "cautious"
             else result.optimistic_max_differential)
    return {**empty, "attrition_intervention": result.attrition_intervention,
            "attrition_comparison": result.attrition_comparison,
            "attrition_overall": result.overall, "attrition_differential": result.differential,
            "attrition_max_differential": clean(limit),
            "attrition_standard": LOW if low else HIGH}


def _verdict(entry: dict[str, Any], figures: bool = True) -> tuple[bool, str]:
    """Whether the comparison counts as a comparison-group design, and why (or why not)."""
    g = entry["baseline_g"]
    g_text = f" (g = {g_words(g)})" if figures and g is not None else ""
    if entry["baseline_equivalence"] not in (EQUIVALENT, REQUIRES_ADJUSTMENT):
        return False, f"baseline not equivalent{g_text}"
    standard = entry["attrition_standard"]
    boundary = entry["attrition_boundary"]
    if standard is None:
        return False, "attrition unknown (the later wave was not due yet in any cohort)"
    overall, differential = entry["attrition_overall"], entry["attrition_differential"]
    a_text = (f" (overall {100 * overall:.0f}%, differential {100 * differential:.1f} "
              "points)" if figures else "")
    if standard == HIGH:
        return False, f"attrition high{a_text} against the WWC {boundary} boundary"
    adjusted = " with the ANCOVA's baseline adjustment" \
        if entry["baseline_equivalence"] == REQUIRES_ADJUSTMENT else ""
    return True, (f"baseline equivalent{g_text}{adjusted} and attrition low{a_text} against "
                  f"the WWC {boundary} boundary")


def g_words(g: float) -> str:
    """g to two decimals, or more where two would round onto a WWC limit (0.05, 0.25) and
    hide which side of it g is."""
    for decimals in range(2, 7):
        text = f"{g:.{decimals}f}"
        if float(text.lstrip("+-")) not in (0.05, 0.25) or abs(g) in (0.05, 0.25):
            return text
    return text


def comparison_design(entry: dict[str, Any] | None, *, figures: bool = True
                      ) -> tuple[str, str | None]:
    """The design a programme's local evidence is rated with, and the sentence that says why.

    ``entry`` is the programme's dict from ``compare_arms`` (None: it has no comparison arm,
    the design is single-group and there is nothing to say). ``figures=False`` words the
    reason without g and the attrition rates (for published ratings).
    """
    if entry is None:
        return SINGLE_GROUP_PRE_POST, None
    arms = " and ".join(entry["comparison_arms"])
    if entry["suppressed"]:
        return SINGLE_GROUP_PRE_POST, (f"The {arms} arm does not count: {entry['design_reason']}.")
    counts, why = _verdict(entry, figures)
    if counts:
        return COMPARISON_GROUP, f"Rated as a comparison-group design (a {arms} arm): {why}."
    return SINGLE_GROUP_PRE_POST, f"The {arms} arm does not count: {why}."
