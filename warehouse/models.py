"""The model that uses every wave: a linear mixed model of one scale's score on the wave
(categorical, pre the reference) [x one grouping], with a random intercept per participant
within a cohort, fitted by REML (``stats.mixed``).

Unlike the completers-only change (matched pairs, ``warehouse.outcomes``), it uses every
score of everyone, so its estimate at a later wave stays unbiased when who drops out depends
on what was observed before (missing at random). The fit runs on sufficient statistics per
pattern computed in DuckDB (``sql/model_patterns.sql``, from the ``model_cube`` summary built
with the others): participants grouped by the waves they answered and their group, with the
sum of their scores and of their products; there are few patterns, however many
participants. Groups with fewer participants than the minimum cell
size are left out of the fit and shown as suppressed.

Published figures (``Filters.published``, a sponsor) go through disclosure control
(``warehouse.cell_key``): the patterns also carry the sum of their members' record keys, so a
group's cell key is that of everyone it models; each wave's mean and change move as a
protected mean of the people who answered that wave (``protect_estimate``), their CIs widen by
that noise and are rounded (``round_published``), counts are perturbed and the tipping point
is worked out from these figures. Fixed effects, SDs and the likelihood are not published.

Words live here once: ``difference_sentence`` (completers against the model at the last wave)
and the tipping-point sentence, which the CLI and the dashboard's pages show as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from stats.mixed import Pattern, fit_reml
from warehouse.cell_key import (
    cell_key,
    decimals_for,
    perturbed_count,
    protect_estimate,
    round_published,
)
from warehouse.connection import Database, Query, cached_query
from warehouse.errors import CannotShow
from warehouse.filters import Filters, group_clause, groups_sort_key, where_clause
from warehouse.numbers import clean
from warehouse.outcomes import group_change
from warehouse.sqltext import statement

# Every group too small (or none to fit): said without the size, as every hidden cell is.
NOT_SHOWN = "The model is not shown for these filters."
Z95 = float(scipy_stats.norm.ppf(0.975))  # Wald 95% intervals, as lme4's confint(method="Wald")
WAVE_KEYS = ("wave", "mean", "ci_low", "ci_high", "change_from_pre", "change_ci_low",
             "change_ci_high")
# What a sponsor is given (the page's figures); the fit's internals stay with trusted roles.
PUBLISHED_KEYS = ("scale", "by", "n_participants", "groups", "when", "published")
# Completers and model "agree" when their changes round to the same two decimals.
AGREE_DECIMALS = 2


def wave_model(
    db: Database | Path | str,
    scale_id: str,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """The model's estimated mean at every wave and change from pre, with 95% CIs, per group.

    Returns ``scale, by, n_participants, n_observations, fixed_effects`` (term, estimate,
    se), ``participant_sd, residual_sd, minus_two_reml_ll``, ``when`` (each wave in words,
    e.g. "12 months") and ``groups``: one dict per group with its ``by`` values,
    ``n_participants``, ``suppressed``, ``waves`` (wave, mean, ci_low, ci_high,
    change_from_pre, change_ci_low, change_ci_high), ``completers`` (wave, n_pairs,
    mean_change, ci_low, ci_high: the matched pairs' change from pre, as
    ``warehouse.outcomes`` gives), ``tipping_point`` and ``difference``. Without ``by`` the
    one group's ``waves``, ``completers``, ``tipping_point`` and ``difference`` are also at
    the top level. Change is signed so that improvement is positive, as everywhere else;
    means are on the scale.

    ``tipping_point`` (at the last wave): ``delta``, how many scale points worse than modelled
    the participants who did not answer that wave would have to be for the change from pre
    to vanish (a delta adjustment: the wave's mean moves by delta times the share missing),
    with that ``share_missing`` and one plain ``sentence``. ``difference`` (at the last wave):
    ``model_change``, ``completers_change`` and ``difference_sentence``'s ``sentence``.

    Published filters give ``PUBLISHED_KEYS`` only (and, without ``by``, the one group's
    figures at the top level), every figure protected (module docstring).
    When the model finds no improvement at that wave, ``delta`` is None and the sentence says so.
    """
    by = tuple(by)
    filters = filters or Filters()
    result = cached_query(db, "wave_model", (scale_id, by), lambda q: _wave_model(q, scale_id, by),
                          filters=filters, min_cell_size=min_cell_size)
    shown = [g for g in result["groups"] if not g["suppressed"]]
    completers = _completers(db, scale_id, by, filters, min_cell_size,
                             [w["wave"] for w in shown[0]["waves"]][1:] if shown else [])
    for group in result["groups"]:
        group["completers"] = completers.get(tuple(group[b] for b in by), [])
        group["difference"] = _difference(group, result["when"])
    if not by and result["groups"]:
        only = result["groups"][0]
        result.update(waves=only["waves"], completers=only["completers"],
                      tipping_point=only["tipping_point"], difference=only["difference"])
    return result


def when(months: int | None) -> str:
    """A wave in words, as the sentences use it: "before training", "the end of training",
    "12 months" (after the end of training)."""
    if months is None:
        return "before training"
    if months == 0:
        return "the end of training"
    return f"{months} month{'' if months == 1 else 's'}"


def difference_sentence(at: str, model_change: float | None,
                        completers_change: float | None) -> str:
    """One plain sentence comparing the completers' change from pre with the model's
    estimate for everyone at one wave (``at``, from ``when``)."""
    if model_change is None:
        return f"At {at} the model's estimate is not shown."
    model = f"the model's estimate for everyone ({model_change:+.2f})"
    if completers_change is None:
        return f"At {at} the completers' change is not shown; {model} uses every wave."
    done = f"the completers' change ({completers_change:+.2f})"
    gap = round(completers_change, AGREE_DECIMALS) - round(model_change, AGREE_DECIMALS)
    if gap > 0:
        return f"At {at} {done} is larger than {model}: those who answered had improved more."
    if gap < 0:
        return f"At {at} {done} is smaller than {model}: those who answered had improved less."
    return f"At {at} {done} and {model} agree."


def _difference(group: dict[str, Any], words: dict[str, str]) -> dict[str, Any] | None:
    if group["suppressed"] or not group["waves"]:
        return None
    last = group["waves"][-1]
    done = next((c for c in group["completers"] if c["wave"] == last["wave"]), {})
    completers_change = done.get("mean_change")
    return {"wave": last["wave"], "model_change": last["change_from_pre"],
            "completers_change": completers_change,
            "sentence": difference_sentence(words[last["wave"]], last["change_from_pre"],
                                            completers_change)}


def _pattern_rows(q: Query, scale_id: str, by: tuple[str, ...], positions: list[int]):
    """The patterns' sums (``sql/model_patterns.sql`` over the ``model_cube`` summary), with
    the record-key sums ``k`` only for published figures; read once per filters
    (``Query.aggregate``)."""
    select, _ = group_clause(by)
    where, params = where_clause(q.filters)
    sql = statement("model_patterns").format(
        group_select=select, where=where, key_sum=q.key_sum,
        sums=", ".join(f"sum(c.s{p}) AS s{p}" for p in positions),
        products=", ".join(f"sum(c.ss{a}_{b}) AS ss{a}_{b}"
                           for i, a in enumerate(positions) for b in positions[i:]),
    )

    def read() -> list[dict[str, Any]]:
        rows = q.fetch_dicts(sql, [scale_id, *params])
        # a fixed order, so the fit (and the figures published from it) never depends on
        # the order DuckDB returns the patterns in
        return sorted(rows, key=lambda r: (groups_sort_key(r[b] for b in by), r["mask"]))

    return q.aggregate("model_patterns", (scale_id, by), read)


def _wave_model(q: Query, scale_id: str, by: tuple[str, ...]) -> dict[str, Any]:
    info = q.scale(scale_id)
    code = {position: wave for wave, position, _ in q.snap.waves}
    words = {wave: when(months) for wave, _, months in q.snap.waves}
    rows = _pattern_rows(q, scale_id, by, sorted(code))
    observed = sorted({p for r in rows for p in code if r["mask"] >> p & 1})
    if not observed or observed[0] != min(code):
        raise CannotShow(f"No one has a {code[min(code)]} score on {scale_id} for these filters.")
    if len(observed) < 2:
        raise CannotShow(f"Only one wave of {scale_id} has scores for these filters: the model "
                         "needs at least two.")
    keys = sorted({tuple(r[b] for b in by) for r in rows}, key=groups_sort_key)
    members = {k: [r for r in rows if tuple(r[b] for b in by) == k] for k in keys}
    sizes = {k: sum(int(r["n"]) for r in members[k]) for k in keys}
    shown = [k for k in keys if sizes[k] >= q.floor]
    if not shown:
        raise CannotShow(NOT_SHOWN)
    design = _Design(by, shown, observed, [code[p] for p in observed])
    patterns = [design.pattern(r) for k in shown for r in members[k]]
    try:
        fit = fit_reml(patterns, design.terms)
    except ValueError as error:
        raise CannotShow(f"The model cannot be fitted for these filters: {error}.") from None
    sign = 1.0 if info.higher_is_better else -1.0
    published = q.filters.published
    step = 1.0 / max(info.n_items, 1)
    last = observed[-1]
    groups = []
    for k in keys:
        group: dict[str, Any] = {b: v for b, v in zip(by, k, strict=True)}
        group["suppressed"] = k not in shown
        if k not in shown:
            group.update(n_participants=None, waves=[], tipping_point=None)
            groups.append(group)
            continue
        estimates = [_estimate(design, fit, k, p, sign) for p in observed]
        answered = [r for r in members[k] if r["mask"] >> last & 1]
        n, n_last = sizes[k], sum(int(r["n"]) for r in answered)
        if published:
            key = sum(int(r["k"]) for r in members[k])
            waves = _published_waves(members[k], observed, code, estimates, sign, key,
                                     scale_id, step)
            n = perturbed_count(n, cell_key(key))
            n_last = min(perturbed_count(n_last, cell_key(sum(int(r["k"]) for r in answered))),
                         n) if answered else 0
        else:
            waves = [_wave_row(code[p], *e) for p, e in zip(observed, estimates, strict=True)]
        group.update(n_participants=n, waves=waves, tipping_point=_tipping_point(
            waves[-1], 1 - n_last / n, info.higher_is_better, words[code[last]], published))
        groups.append(group)
    if published:
        every = [r for k in shown for r in members[k]]
        total = perturbed_count(sum(int(r["n"]) for r in every),
                                cell_key(sum(int(r["k"]) for r in every)))
        return {"scale": scale_id, "by": list(by), "n_participants": total, "groups": groups,
                "when": words, "published": True}
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
        "when": words,
        "published": False,
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


def _estimate(design: _Design, fit, group: tuple, position: int,
              sign: float) -> tuple[float, float, float | None, float | None]:
    """The modelled mean at one wave and its SE, and the change from pre (improvement
    positive) and its SE (None at pre)."""
    x = design.row(group, position)
    mean, se = float(x @ fit.fixed_effects), math.sqrt(float(x @ fit.cov @ x))
    if position == design.positions[0]:
        return mean, se, None, None
    d = sign * (x - design.row(group, design.positions[0]))
    return (mean, se, float(d @ fit.fixed_effects),
            math.sqrt(max(float(d @ fit.cov @ d), 0.0)))


def _wave_row(wave: str, mean: float, se: float, change: float | None,
              change_se: float | None) -> dict[str, Any]:
    first = change is None
    return {
        "wave": wave, "mean": clean(mean), "ci_low": clean(mean - Z95 * se),
        "ci_high": clean(mean + Z95 * se), "change_from_pre": 0.0 if first else clean(change),
        "change_ci_low": None if first else clean(change - Z95 * change_se),
        "change_ci_high": None if first else clean(change + Z95 * change_se),
    }


def _moments(rows: list[dict[str, Any]], a: int, b: int | None = None) -> tuple[int, float]:
    """``(n, SD)`` of the score at position a (or of the change from a to b) over the
    patterns ``rows`` that have it, from their sums."""
    have = [r for r in rows if r["mask"] >> a & 1 and (b is None or r["mask"] >> b & 1)]
    n = sum(int(r["n"]) for r in have)
    if b is None:
        s = sum(float(r[f"s{a}"]) for r in have)
        ss = sum(float(r[f"ss{a}_{a}"]) for r in have)
    else:  # Σ(y_b - y_a) and Σ(y_b - y_a)² = Σy_b² - 2Σy_a·y_b + Σy_a²
        s = sum(float(r[f"s{b}"]) - float(r[f"s{a}"]) for r in have)
        ss = sum(float(r[f"ss{b}_{b}"]) - 2 * float(r[f"ss{a}_{b}"]) + float(r[f"ss{a}_{a}"])
                 for r in have)
    if n < 2:
        return n, 0.0
    return n, math.sqrt(max(ss - s * s / n, 0.0) / (n - 1))  # var = (Σx² - (Σx)²/n) / (n-1)


def _published_waves(rows: list[dict[str, Any]], observed: list[int], code: dict[int, str],
                     estimates: list[tuple], sign: float, key: int, scale_id: str,
                     step: float) -> list[dict[str, Any]]:
    """One group's waves as published: the mean before training and each wave's change
    protected as estimates resting on the people who answered (pre; pre and that wave), each
    with its own noise of the group's cell key; a later wave's mean is the protected mean
    before training plus its protected change, as ``protect_pair_row`` does."""
    pre = observed[0]
    n_pre, sd_pre = _moments(rows, pre)
    mean_exact, se_pre = estimates[0][:2]
    mean_pre, se_pre = protect_estimate(n_pre, mean_exact, se_pre, sd_pre, key,
                                        ("model_mean", scale_id, code[pre]), step)
    out = [_rounded(_wave_row(code[pre], mean_pre, se_pre, None, None))]
    for p, (mean_exact, se, change, change_se) in zip(observed[1:], estimates[1:], strict=True):
        n_pairs, sd_change = _moments(rows, pre, p)
        if n_pairs < 2:  # no one answered both: the wave's own spread scales the noise
            n_pairs, sd_change = _moments(rows, p)
        change, change_se = protect_estimate(n_pairs, change, change_se, sd_change, key,
                                             ("model_change", scale_id, code[p]), step)
        n_wave, sd_wave = _moments(rows, p)
        _, se = protect_estimate(n_wave, mean_exact, se, sd_wave, key,
                                 ("model_mean", scale_id, code[p]), step)
        out.append(_rounded(_wave_row(code[p], mean_pre + sign * change, se, change,
                                      change_se)))
    return out


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """A wave's published figures rounded as ``round_published`` rounds a mean and a mean
    change with their CIs."""
    mean = round_published({"mean_to": row["mean"], "ci_low": row["ci_low"],
                            "ci_high": row["ci_high"]})
    out = {**row, "mean": mean["mean_to"], "ci_low": mean["ci_low"], "ci_high": mean["ci_high"]}
    if row["change_ci_low"] is not None:
        change = round_published({"mean_change": row["change_from_pre"],
                                  "ci_low": row["change_ci_low"],
                                  "ci_high": row["change_ci_high"]})
        out.update(change_from_pre=change["mean_change"], change_ci_low=change["ci_low"],
                   change_ci_high=change["ci_high"])
    return out


def _tipping_point(last: dict[str, Any], share_missing: float, higher_is_better: bool,
                   at: str, published: bool = False) -> dict[str, Any] | None:
    if share_missing <= 0 or last["change_from_pre"] is None:
        return None
    delta = last["change_from_pre"] / share_missing
    if published:  # from the published change and counts, rounded as the change is
        delta = round(delta, decimals_for(last["change_ci_low"], last["change_ci_high"]))
        share_missing = round(share_missing, 3)
    worse = "lower" if higher_is_better else "higher"
    change, low, high = last["change_from_pre"], last["change_ci_low"], last["change_ci_high"]
    interval = "" if low is None else f", 95% CI {low:+.2f} to {high:+.2f}"
    if change <= 0:  # no improvement: nothing for those who did not answer to explain away
        return {"wave": last["wave"], "delta": None, "share_missing": clean(share_missing),
                "sentence": f"The model finds no improvement from before training to {at} "
                            f"({change:+.2f}{interval}), so there is no tipping point to give."}
    vanish = (f"would vanish if the {share_missing:.0%} who did not answer at {at} scored "
              f"{abs(delta):.2f} scale points {worse} than the model expects of them.")
    if low is not None and low <= 0:
        sentence = (f"The modelled change from before training to {at} ({change:+.2f}"
                    f"{interval}) cannot be told apart from no change; its estimate {vanish}")
    else:
        sentence = f"The change from before training to {at} {vanish}"
    return {"wave": last["wave"], "delta": clean(delta), "share_missing": clean(share_missing),
            "sentence": sentence}


def _completers(db, scale_id: str, by: tuple[str, ...], filters: Filters,
                min_cell_size: int | None, later: list[str]) -> dict[tuple, list[dict]]:
    """The matched pairs' mean change from pre at each later wave with its 95% CI, per group
    (published figures for published filters, as ``group_change`` gives them)."""
    if not later:
        return {}
    rows = group_change(db, scale_id=scale_id, wave_from="pre", wave_to=tuple(later),
                        by=(*by, "wave_to"), filters=filters, min_cell_size=min_cell_size,
                        complementary=False, p_adj=False)
    out: dict[tuple, list[dict]] = {}
    order = {w: i for i, w in enumerate(later)}
    for row in sorted(rows, key=lambda r: order[r["wave_to"]]):
        out.setdefault(tuple(row[b] for b in by), []).append(
            {"wave": row["wave_to"], "n_pairs": row["n_pairs"], "mean_change": row["mean_change"],
             "ci_low": None if row.get("no_interval") else row.get("ci_low"),
             "ci_high": None if row.get("no_interval") else row.get("ci_high")})
    return out
