"""The model that uses every wave: a linear mixed model of one scale's score on the wave
(categorical, pre the reference) [x one grouping], with a random intercept per participant
within a cohort, fitted by REML (``stats.mixed``).

Unlike the completers-only change (matched pairs, ``warehouse.outcomes``), it uses every
score of everyone, so its estimate at a later wave stays unbiased when who drops out depends
on what was observed before (missing at random). The fit runs on sufficient statistics per
pattern computed in DuckDB (``sql/model_patterns.sql``): participants grouped by the waves they
answered and their group, with the sum of their scores and of their products; there are few
patterns, however many participants.

Trusted roles only for now: published figures (``Filters.published``, a sponsor) are refused
with ``CannotShow`` until the model's figures have their disclosure control. Groups with fewer
participants than the minimum cell size are left out of the fit and shown as suppressed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from stats.mixed import Pattern, fit_reml
from warehouse.connection import Database, Query, cached_query
from warehouse.errors import CannotShow
from warehouse.filters import Filters, group_clause, groups_sort_key, where_clause
from warehouse.numbers import clean
from warehouse.outcomes import group_change
from warehouse.sqltext import quote_identifier, statement

NOT_PUBLISHED = "not published yet"  # the reason a sponsor is given
Z95 = float(scipy_stats.norm.ppf(0.975))  # Wald 95% intervals, as lme4's confint(method="Wald")
WAVE_KEYS = ("wave", "mean", "ci_low", "ci_high", "change_from_pre", "change_ci_low",
             "change_ci_high")


def wave_model(
    db: Database | Path | str,
    scale_id: str,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """The model's estimated mean at every wave and change from pre, with 95% CIs, per group.

    Returns ``scale, by, n_participants, n_observations, fixed_effects`` (term, estimate,
    se), ``participant_sd, residual_sd, minus_two_reml_ll`` and ``groups``: one dict per
    group with its ``by`` values, ``n_participants``, ``suppressed``, ``waves`` (wave, mean,
    ci_low, ci_high, change_from_pre, change_ci_low, change_ci_high), ``completers`` (wave,
    n_pairs, mean_change: the matched pairs' change from pre, as ``warehouse.outcomes``
    gives) and ``tipping_point``. Without ``by`` the one group's ``waves``, ``completers``
    and ``tipping_point`` are also at the top level. Change is signed so that improvement is
    positive, as everywhere else; means are on the scale.

    ``tipping_point`` (at the last wave): ``delta``, how many scale points worse than modelled
    the participants who did not answer that wave would have to be for the change from pre
    to vanish (a delta adjustment: the wave's mean moves by delta times the share missing),
    with that ``share_missing`` and one plain ``sentence``.
    """
    by = tuple(by)
    filters = filters or Filters()
    if filters.published:
        raise CannotShow(NOT_PUBLISHED)
    result = cached_query(db, "wave_model", (scale_id, by), lambda q: _wave_model(q, scale_id, by),
                          filters=filters, min_cell_size=min_cell_size)
    completers = _completers(db, scale_id, by, filters, min_cell_size,
                             [w["wave"] for w in result["groups"][0]["waves"]][1:]
                             if result["groups"] else [])
    for group in result["groups"]:
        group["completers"] = completers.get(tuple(group[b] for b in by), [])
    if not by and result["groups"]:
        only = result["groups"][0]
        result.update(waves=only["waves"], completers=only["completers"],
                      tipping_point=only["tipping_point"])
    return result


def _pattern_rows(q: Query, scale_id: str, by: tuple[str, ...], positions: list[int]):
    select, _ = group_clause(by)
    where, params = where_clause(q.filters)
    score = quote_identifier("score_" + scale_id)
    sql = statement("model_patterns").format(
        group_select=select, where=where, score=score,
        wave_cols=", ".join(f"max(r.{score}) FILTER (WHERE w.position = {p}) AS s{p}"
                            for p in positions),
        mask=" + ".join(f"(CASE WHEN count(r.{score}) FILTER (WHERE w.position = {p}) > 0 "
                        f"THEN {1 << p} ELSE 0 END)" for p in positions),
        sums=", ".join(f"sum(c.s{p}) AS s{p}" for p in positions),
        products=", ".join(f"sum(c.s{a} * c.s{b}) AS ss{a}_{b}"
                           for i, a in enumerate(positions) for b in positions[i:]),
    )
    return q.fetch_dicts(sql, params)


def _wave_model(q: Query, scale_id: str, by: tuple[str, ...]) -> dict[str, Any]:
    info = q.scale(scale_id)
    code = {position: wave for wave, position, _ in q.snap.waves}
    rows = _pattern_rows(q, scale_id, by, sorted(code))
    observed = sorted({p for r in rows for p in code if r["mask"] >> p & 1})
    if not observed or observed[0] != min(code):
        raise CannotShow(f"No one has a {code[min(code)]} score on {scale_id} for these filters.")
    if len(observed) < 2:
        raise CannotShow(f"Only one wave of {scale_id} has scores for these filters: the model "
                         "needs at least two.")
    keys = sorted({tuple(r[b] for b in by) for r in rows}, key=groups_sort_key)
    sizes = {k: sum(int(r["n"]) for r in rows if tuple(r[b] for b in by) == k) for k in keys}
    shown = [k for k in keys if sizes[k] >= q.floor]
    if not shown:
        raise CannotShow(f"Fewer than {q.floor} participants: the model is not shown.")
    design = _Design(by, shown, observed, [code[p] for p in observed])
    patterns = [design.pattern(r) for r in rows if tuple(r[b] for b in by) in shown]
    try:
        fit = fit_reml(patterns, design.terms)
    except ValueError as error:
        raise CannotShow(f"The model cannot be fitted for these filters: {error}.") from None
    sign = 1.0 if info.higher_is_better else -1.0
    last = observed[-1]
    groups = []
    for k in keys:
        group: dict[str, Any] = {b: v for b, v in zip(by, k, strict=True)}
        group["n_participants"] = sizes[k] if k in shown else None
        group["suppressed"] = k not in shown
        if k not in shown:
            group.update(waves=[], tipping_point=None)
            groups.append(group)
            continue
        waves = [_wave_row(design, fit, k, p, code[p], sign) for p in observed]
        missing = sum(int(r["n"]) for r in rows
                      if tuple(r[b] for b in by) == k and not r["mask"] >> last & 1)
        group.update(waves=waves, tipping_point=_tipping_point(
            waves[-1], missing / sizes[k], info.higher_is_better))
        groups.append(group)
    return {
        "scale": scale_id,
        "by": list(by),
        "n_participants": fit.n_participants,
        "n_observations": fit.n_observations,
        "fixed_effects": fit.as_dict()["fixed_effects"],
        "participant_sd": float(fit.random_sd[0]),
        "residual_sd": fit.residual_sd,
        "minus_two_reml_ll": fit.minus_two_reml_ll,
        "groups": groups,
    }


class _Design:
    """Treatment coding of wave x group: the reference is pre in the first group shown."""

    def __init__(self, by: tuple[str, ...], groups: list[tuple], positions: list[int],
                 waves: list[str]):
        self.by, self.groups, self.positions = by, groups, positions
        label = [":".join(f"{b}[{v}]" for b, v in zip(by, k, strict=True)) for k in groups]
        self.terms = ["Intercept", *label[1:], *(f"wave[{w}]" for w in waves[1:]),
                      *(f"wave[{w}]:{g}" for g in label[1:] for w in waves[1:])]

    def row(self, group: tuple, position: int) -> np.ndarray:
        gi, wi = self.groups.index(group), self.positions.index(position)
        ng, nw = len(self.groups) - 1, len(self.positions) - 1
        x = np.zeros(1 + ng + nw + ng * nw)
        x[0] = 1.0
        if gi:
            x[gi] = 1.0
        if wi:
            x[ng + wi] = 1.0
        if gi and wi:
            x[1 + ng + nw + (gi - 1) * nw + (wi - 1)] = 1.0
        return x

    def pattern(self, row: dict[str, Any]) -> Pattern:
        group = tuple(row[b] for b in self.by)
        seen = [p for p in self.positions if row["mask"] >> p & 1]
        return Pattern(
            n=int(row["n"]),
            x=np.array([self.row(group, p) for p in seen]),
            z=np.ones((len(seen), 1)),
            sum_y=np.array([float(row[f"s{p}"]) for p in seen]),
            sum_yy=np.array([[float(row[f"ss{min(a, b)}_{max(a, b)}"]) for b in seen]
                             for a in seen]),
        )


def _wave_row(design: _Design, fit, group: tuple, position: int, wave: str,
              sign: float) -> dict[str, Any]:
    x = design.row(group, position)
    d = sign * (x - design.row(group, design.positions[0]))
    mean, se = float(x @ fit.fixed_effects), math.sqrt(float(x @ fit.cov @ x))
    change, change_se = float(d @ fit.fixed_effects), math.sqrt(max(float(d @ fit.cov @ d), 0))
    first = position == design.positions[0]
    return {
        "wave": wave, "mean": clean(mean), "ci_low": clean(mean - Z95 * se),
        "ci_high": clean(mean + Z95 * se), "change_from_pre": 0.0 if first else clean(change),
        "change_ci_low": None if first else clean(change - Z95 * change_se),
        "change_ci_high": None if first else clean(change + Z95 * change_se),
    }


def _tipping_point(last: dict[str, Any], share_missing: float,
                   higher_is_better: bool) -> dict[str, Any] | None:
    if share_missing <= 0 or last["change_from_pre"] is None:
        return None
    delta = last["change_from_pre"] / share_missing
    worse = "lower" if higher_is_better else "higher"
    sentence = (f"The change from pre to {last['wave']} would vanish if the "
                f"{share_missing:.0%} who did not answer {last['wave']} scored "
                f"{abs(delta):.2f} points {worse if delta > 0 else 'better'} than the model "
                "expects of them.")
    return {"wave": last["wave"], "delta": clean(delta), "share_missing": clean(share_missing),
            "sentence": sentence}


def _completers(db, scale_id: str, by: tuple[str, ...], filters: Filters,
                min_cell_size: int | None, later: list[str]) -> dict[tuple, list[dict]]:
    """The matched pairs' mean change from pre at each later wave, per group."""
    if not later:
        return {}
    rows = group_change(db, scale_id=scale_id, wave_from="pre", wave_to=tuple(later),
                        by=(*by, "wave_to"), filters=filters, min_cell_size=min_cell_size,
                        complementary=False, p_adj=False)
    out: dict[tuple, list[dict]] = {}
    order = {w: i for i, w in enumerate(later)}
    for row in sorted(rows, key=lambda r: order[r["wave_to"]]):
        out.setdefault(tuple(row[b] for b in by), []).append(
            {"wave": row["wave_to"], "n_pairs": row["n_pairs"], "mean_change": row["mean_change"]})
    return out
