"""Disclosure control for published figures: the cell-key method, applied to counts and to the
moments behind means and SDs (docs/security.md, "Published figures").

Who sees what: the trusted roles (admin, evaluator, researcher) see exact figures with small
cells hidden; everything *published* (the sponsor role, and any output that leaves the
organisation: reports, share links, the API for sponsors, ``--published`` on the command
line) goes through this module as well. Cell suppression alone cannot stop differencing once
users choose filters freely (two date windows one cohort apart, two groupings of the same
people); statistical agencies that publish flexible tables add consistent perturbation for
that reason, and so does Attune:

* every record (a participant in a cohort) gets a permanent random **record key**, a keyed
  hash (SHA-256 of the disclosure key and the pseudonymised participant and cohort) of the
  key file ``schemas.settings.disclosure_key_path()``, which lives outside the database like
  the pseudonym key; the summaries store the sum of their members' keys;
* a cell's **cell key** is the sum of its members' record keys modulo 2^32 (Fraser & Wooton
  2005; ABS TableBuilder, Thompson, Broadfoot & Elazar 2013). The same set of people always
  gets the same cell key, so the same answer: repeating a query averages nothing away, and
  two sets that differ by one person get unrelated noise, so a difference carries the noise of
  both;
* the cell key is turned into independent numbers per statistic (``uniform``, ``noise``)
  that pick the **perturbation**: counts move by a value of ``COUNT_PTABLE``; the sums behind
  means move by at most a bound times the group's own SD, and variances are scaled by
  ``1 + factor * v / sqrt(n)``, the bound and factor depending on the group's size
  (``NOISE_BANDS``). The figures shown are computed from these protected moments (so a mean,
  its CI, g and the reliable-change share stay consistent with each other) and rounded
  (``round_published``).

Utility: for groups of 50-199 pairs a published mean change or g moves by at most a tenth of
its 95% CI half-width from the exact value, from 200 by at most a twentieth
(``tests/warehouse/test_published.py`` measures it). Noise on counts is kept out of the
denominators behind the published means.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.settings import disclosure_key_path

KEY_BYTES = 32
KEY_MODULUS = 2**32  # record and cell keys are integers in [0, 2^32)
# How a count moves: (change, probability); chosen by the cell key. Zero stays likely enough
# to keep counts useful, and likely enough not to be a give-away: two perturbed counts differ
# from the true difference with probability 0.74.
COUNT_PTABLE: tuple[tuple[int, float], ...] = ((-2, 0.10), (-1, 0.20), (0, 0.40), (1, 0.20),
                                              (2, 0.10))
# The least SD the noise of a sum is scaled by in groups under UTILITY_FROM: half an answer
# step of the scale, so a small group whose members all gave the same answers still gets
# noise. From UTILITY_FROM on, the utility promise rules: the group's own SD.
NOISE_FLOOR_STEPS = 0.5
UTILITY_FROM = 50
# How far a sum may move, in SDs of its group (the mean then moves by that over n), and the
# relative noise of a variance (scaled by 1 + it * v / sqrt(n)): per band of group size
# (smallest n, mean bound, variance factor). Below 50 privacy rules; from 50 the bounds are
# set so that a mean change or g moves by at most 3/4 of the utility promise (a tenth of the
# 95% CI half-width for 50-199 pairs, a twentieth from 200: 1.96 * SD / sqrt(n) times 0.1 or
# 0.05), leaving room for the variance noise and the rounding (tests/warehouse/
# test_published.py measures it).
NOISE_BANDS: tuple[tuple[int, Callable[[int], float], float], ...] = (
    (0, lambda n: 1.5, 1.0),
    (UTILITY_FROM, lambda n: 0.75 * 0.1 * 1.96 * math.sqrt(n), 0.10),
    (200, lambda n: 0.75 * 0.05 * 1.96 * math.sqrt(n), 0.05),
)
# Rounding keeps at least this many decimals, and more where a CI is narrow enough for
# rounding to matter: the rounding error stays under 1/400 of the CI half-width.
MIN_DECIMALS, ROUNDING_SHARE = 3, 1 / 400
# What is published is rounded (rounding is part of the protection: ABS 2013): statistics on
# the scale's points or in SDs, to ``decimals_for`` their CI; shares to one decimal.
MEAN_LIKE = ("mean_from", "mean_to", "mean_change", "sd_from", "sd_to", "sd_change", "ci_low",
             "ci_high", "mean_completers", "mean_dropouts", "sd_completers", "sd_dropouts",
             "difference")
EFFECT_LIKE = ("d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "g", "g_ci_low",
               "g_ci_high", "hedges_g", "r")
ROUNDING: Mapping[str, int] = {
    "t": 2, "g_vi": 6, "pct_reliable_improved": 1, "pct_reliable_improved_ci_low": 1,
    "pct_reliable_improved_ci_high": 1, "pct_reliable_deteriorated": 1,
    "pct_no_reliable_change": 1, "attrition_pct": 1,
}
# Significant figures of published p values.
P_FIGURES = 3
# The one plain sentence every published page and output carries.
NOISE_SENTENCE = (
    "To protect individuals, these published figures carry a little random noise (always the "
    "same for the same people) and are rounded; for groups of 50 or more, a mean or effect "
    "size moves by well under a tenth of its margin of error."
)

# SQL: a record's key from the disclosure key (the one parameter) and its identity.
RECORD_KEY_SQL = "('0x' || left(sha256(? || {identity}), 8))::UBIGINT"


def load_or_create_key(path: Path | None = None) -> str:
    """The disclosure key (hex), created readable by its owner only if it does not exist."""
    path = path or disclosure_key_path()
    if path.exists():
        key = path.read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{path}: the disclosure key is too short")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(KEY_BYTES)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return load_or_create_key(path)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key


def cell_key(key_sum: int) -> int:
    """The cell key of a cell from the sum of its members' record keys."""
    return int(key_sum) % KEY_MODULUS


def uniform(cell: int, *stream: Any) -> float:
    """A number in [0, 1) fixed by the cell key and the statistic (``stream``): independent
    for different statistics of one cell, and for the same statistic of different cells."""
    text = ":".join([str(cell), *map(str, stream)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:7], "big") / 2**56


def noise(cell: int, *stream: Any) -> float:
    """A number in [-1, 1] fixed by the cell key and the statistic: cos(pi * u), an arcsine
    distribution. For a given largest movement it makes the difference of two cells' noise
    as large as possible among the usual choices (its median 0.72 of the bound, against 0.59
    for uniform noise), which is what differencing has to get past."""
    return math.cos(math.pi * uniform(cell, *stream))


def noise_floor(n: int, step: float) -> float:
    """The least SD the noise of a sum is scaled by (``NOISE_FLOOR_STEPS``)."""
    return NOISE_FLOOR_STEPS * step if n < UTILITY_FROM else 0.0


def noise_band(n: int) -> tuple[float, float]:
    """``(mean bound in SDs, variance factor)`` for a group of n (``NOISE_BANDS``)."""
    bound, factor = 0.0, 0.0
    for smallest, mean_bound, variance_factor in NOISE_BANDS:
        if n >= smallest:
            bound, factor = mean_bound(n), variance_factor
    return bound, factor


def count_change(cell: int, stream: str = "count") -> int:
    """How the count of a cell moves: the ``COUNT_PTABLE`` entry its uniform falls in."""
    u, edge = uniform(cell, stream), 0.0
    for change, probability in COUNT_PTABLE:
        edge += probability
        if u < edge:
            return change
    return COUNT_PTABLE[-1][0]


def perturbed_count(n: int, cell: int, stream: str = "count") -> int:
    """A published count: the count moved by ``count_change`` (never below one)."""
    return max(1, int(n) + count_change(cell, stream))


@dataclass(frozen=True)
class Stream:
    """What a perturbation belongs to, so that each statistic gets its own noise: the scale
    and the waves (a mean at one wave keeps its noise whatever it is compared with)."""

    scale_id: str
    wave_from: str
    wave_to: str


def _sd(n: int, s: float, ss: float) -> float:
    if n < 2:
        return 0.0
    return math.sqrt(max(ss - s * s / n, 0.0) / (n - 1))  # var = (Σx² - (Σx)²/n) / (n-1)


def _sums(n: int, mean: float, var: float) -> tuple[float, float]:
    """The sum and sum of squares of n values with this mean and variance."""
    s = mean * n
    return s, var * (n - 1) + s * s / n


def _protected_mean(n: int, mean: float, sd: float, cell: int, stream: tuple,
                    step: float) -> float:
    """A mean as published: moved by up to ``noise_band``'s bound in group SDs over the exact
    n (so the count's noise stays out of it). The one place this is done, so the same people's
    same score gets the same noise in every table."""
    return mean + noise_band(n)[0] * max(sd, noise_floor(n, step)) * noise(cell, *stream) / n


def _protected_variance(n: int, sd: float, cell: int, stream: tuple) -> float:
    """A variance as published: scaled by 1 + ``noise_band``'s factor * v / sqrt(n)."""
    return sd**2 * (1 + noise_band(n)[1] * noise(cell, *stream) / math.sqrt(n))


def protect_pair_row(row: Mapping[str, Any], stream: Stream, step: float) -> dict[str, Any]:
    """A matched-pair group's sums as published: the same keys (``n, s_f, s_t, ss_f, ss_t,
    s_c, ss_c, n_improved, n_deteriorated``) with perturbed values, from which the usual
    formulas give the published statistics. ``row["k"]`` is the sum of its members' record
    keys; ``step`` the scale's answer step (1 / number of items)."""
    n = int(row["n"])
    cell = cell_key(row["k"])
    s, f, t = stream.scale_id, stream.wave_from, stream.wave_to
    sd_f, sd_t = _sd(n, row["s_f"], row["ss_f"]), _sd(n, row["s_t"], row["ss_t"])
    sd_c = _sd(n, row["s_c"], row["ss_c"])
    # the later wave's mean is the earlier one's plus the change
    mean_f = _protected_mean(n, row["s_f"] / n, sd_f, cell, ("mean", s, f), step)
    mean_c = _protected_mean(n, row["s_c"] / n, sd_c, cell, ("change", s, f, t), step)
    var_f = _protected_variance(n, sd_f, cell, ("var", s, f))
    var_t = _protected_variance(n, sd_t, cell, ("var", s, t))
    var_c = _protected_variance(n, sd_c, cell, ("var_change", s, f, t))
    # Keep the three variances those of some correlation in [-1, 1].
    lo, hi = (math.sqrt(var_f) - math.sqrt(var_t)) ** 2, (math.sqrt(var_f) + math.sqrt(var_t)) ** 2
    var_c = min(max(var_c, lo), hi)
    n_pub = perturbed_count(n, cell)
    s_f, ss_f = _sums(n_pub, mean_f, var_f)
    s_t, ss_t = _sums(n_pub, mean_f + mean_c, var_t)
    s_c, ss_c = _sums(n_pub, mean_c, var_c)
    improved = _share_count(row["n_improved"], n_pub, cell, ("improved", s, f, t))
    deteriorated = _share_count(row["n_deteriorated"], n_pub, cell, ("deteriorated", s, f, t))
    deteriorated = min(deteriorated, n_pub - improved)
    return {**row, "n": n_pub, "s_f": s_f, "s_t": s_t, "ss_f": ss_f, "ss_t": ss_t,
            "s_c": s_c, "ss_c": ss_c, "n_improved": improved, "n_deteriorated": deteriorated}


def _share_count(count: int, n_pub: int, cell: int, stream: tuple) -> int:
    """A count within a group (e.g. the reliably improved), perturbed like any count and kept
    between 0 and the group's published count."""
    count = int(count)
    moved = count + count_change(cell, ":".join(stream))
    return min(max(moved, 0), n_pub)


def protect_moments(n: int, s: float, ss: float, key_sum: int, stream: tuple,
                    step: float) -> tuple[int, float, float]:
    """One group's ``(n, sum, sum of squares)`` of one score as published (the same method
    as ``protect_pair_row``, for baseline scores of completers and dropouts)."""
    cell = cell_key(key_sum)
    sd = _sd(n, s, ss)
    mean = _protected_mean(n, s / n, sd, cell, ("mean", *stream), step)
    var = _protected_variance(n, sd, cell, ("var", *stream))
    n_pub = perturbed_count(n, cell)
    s_pub, ss_pub = _sums(n_pub, mean, var)
    return n_pub, s_pub, ss_pub


def protect_estimate(n: int, estimate: float, se: float, sd: float, key_sum: int,
                     stream: tuple, step: float) -> tuple[float, float]:
    """A model's estimate (a modelled mean or change, ``warehouse.models``) and its standard
    error as published. The estimate moves as a mean of the n people it rests on with this SD
    would (``_protected_mean``); the SE gets the variance noise of n, never narrowing it, plus
    the variance of that movement (arcsine noise: half its squared bound), so the published
    95% CI still covers with the noise added."""
    cell = cell_key(key_sum)
    n = max(int(n), 1)
    bound, factor = noise_band(n)
    scale = max(sd, noise_floor(n, step))
    value = _protected_mean(n, estimate, scale, cell, ("estimate", *stream), step)
    widen = 1 + factor * abs(noise(cell, "estimate_se", *stream)) / math.sqrt(n)
    return value, math.sqrt(se * se * widen + 0.5 * (bound * scale / n) ** 2)


def published_threshold(threshold: float | None) -> float | None:
    """A reliable-change threshold as published: to one decimal. It is set from the baseline
    SD of every cohort in the database, which a sponsor is not shown (ABS 2013: rounding)."""
    return None if threshold is None else round(threshold, 1)


def decimals_for(low: Any, high: Any) -> int:
    """Decimals enough for rounding to move a figure by under ``ROUNDING_SHARE`` of the
    half-width of its CI ``(low, high)`` (at least ``MIN_DECIMALS``)."""
    if not isinstance(low, float) or not isinstance(high, float) or high <= low:
        return MIN_DECIMALS
    half = (high - low) / 2
    return max(MIN_DECIMALS, min(9, math.ceil(-math.log10(2 * ROUNDING_SHARE * half))))


def published_scale(scale: Mapping[str, Any]) -> dict[str, Any]:
    """A scale's catalogue entry as published: its pre-training SD, drawn from every
    sponsor's cohorts, left out; its threshold and reliability rounded (1 and 2 decimals)."""
    reliability = scale.get("reliability_used")
    return {**scale, "sd_pre": None,
            "reliable_threshold": published_threshold(scale.get("reliable_threshold")),
            "reliability_used": None if reliability is None else round(reliability, 2)}


def round_published(values: dict[str, Any]) -> dict[str, Any]:
    """Published statistics rounded: the figures on the scale's points to the decimals their
    CI calls for (``decimals_for``), effect sizes to those of g's CI, shares and t as
    ``ROUNDING`` says, p to ``P_FIGURES`` significant figures; other keys unchanged."""
    out = dict(values)
    points = decimals_for(values.get("ci_low"), values.get("ci_high"))
    effects = decimals_for(values.get("g_ci_low"), values.get("g_ci_high"))
    for name, value in values.items():
        if not isinstance(value, float) or not math.isfinite(value):
            continue
        if name in MEAN_LIKE:
            out[name] = round(value, points)
        elif name in EFFECT_LIKE:
            out[name] = round(value, effects)
        elif name in ROUNDING:
            out[name] = round(value, ROUNDING[name])
        elif name in ("p", "p_adj") and value > 0:
            out[name] = float(f"{value:.{P_FIGURES}g}")
    return out
