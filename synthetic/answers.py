"""The answers in each response row: item values, how the survey was filled in, and time taken.

Per scale every participant has a latent baseline (depending on audience and experience) and
a personal gain. The true gain pre -> post grows with the length of the format and with
supervision and differs by audience and delivery; after training it fades, fastest for
workshops and slower with supervision. A wave's latent score is baseline + gain x retention
+ occasion noise; an item is that latent plus item offset and noise (sized so the scale
reaches its declared reliability), rounded and clipped to the scale's range. Reverse-keyed
items are stored reversed (min + max - value), as a survey tool exports them. Burnout
"improves" by going down.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from schemas.contract import DELIVERIES, RESPONSE_OPTIONAL_COLUMNS, RESPONSE_REQUIRED_COLUMNS, WAVES
from schemas.instrument import Scale
from synthetic.cohorts import Cohorts
from synthetic.people import (
    AUDIENCE_IDS,
    FORMAT_IDS,
    WAVE_IDS,
    Participants,
    Rows,
    by_label,
    index_of,
)
from synthetic.world import LatentTrait, World

DELIVERY_IDS: tuple[str, ...] = tuple(DELIVERIES)
# Variance of the error from rounding a continuous answer to a whole number (uniform on a unit).
_ROUNDING_VARIANCE = 1 / 12
_MIN_ITEM_NOISE_VARIANCE = 0.04


def item_noise_sd(scale: Scale, latent: LatentTrait) -> float:
    """Item noise that gives the scale its declared reliability.

    Spearman-Brown: alpha of k items = k rho / (1 + (k - 1) rho), solved for the
    inter-item correlation rho (Lord & Novick 1968, eq. 5.13.3).
    """
    alpha = scale.reliability or 0.8
    k = scale.n_items
    rho = alpha / (k - (k - 1) * alpha)
    latent_var = latent.sd_person**2 + latent.sd_occasion**2
    return math.sqrt(
        max(latent_var * (1 - rho) / rho - _ROUNDING_VARIANCE, _MIN_ITEM_NOISE_VARIANCE)
    )


def asked_mask(world: World, scale_id: str, waves: np.ndarray) -> np.ndarray | None:
    """Which rows were asked the scale, or None if it is asked at every wave."""
    asked = world.asked_at(scale_id)
    if asked is None:
        return None
    return np.isin(waves, [WAVE_IDS.index(w) for w in asked])


def item_columns(
    rng: np.random.Generator,
    world: World,
    people: Participants,
    cohorts: Cohorts,
    rows: Rows,
    progress: Callable[[float], None],
    practice_effect: float | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Stored item values per item (int8, 0 = blank), each row's straight-line flag and
    each row's flag for answering only part of the survey.

    With `practice_effect` the people were not trained (a waitlist): every later wave differs
    from pre by that many SDs of the scale score alone, and the reaction to the training
    is not asked."""
    effect_plan, quality = world.training_effect, world.response_quality
    instrument = world.instrument
    n_rows = rows.participant.size
    p = rows.participant
    c = people.cohort[p]
    fmt_index = index_of(FORMAT_IDS, cohorts.format[c])
    delivery_index = index_of(DELIVERY_IDS, cohorts.delivery[c])
    supervised = cohorts.supervision[c]

    # True effect per row (in SDs of the scale score) and the share of it left at this wave.
    effect = (
        by_label(effect_plan.audience, AUDIENCE_IDS)[people.audience[p]]
        * by_label(effect_plan.format, FORMAT_IDS)[fmt_index]
        * by_label(effect_plan.delivery, DELIVERY_IDS)[delivery_index]
        * np.where(supervised, effect_plan.supervision, 1.0)
    )
    months = np.array([0.0 if m is None else float(m) for m in WAVES.values()])[rows.wave]
    fade = by_label(effect_plan.fade_months, FORMAT_IDS)[fmt_index]
    fade = fade * np.where(supervised, effect_plan.supervision_fade, 1.0)
    retention = np.where(rows.wave == 0, 0.0, np.exp(-months / fade))

    # How each row was filled in.
    many_blanks = rng.random(n_rows) < quality.many_blanks_rate
    break_off = ~many_blanks & (rng.random(n_rows) < quality.break_off_rate)
    straight = ~many_blanks & (rng.random(n_rows) < quality.straight_line_rate)
    straight_value = rng.choice(np.array(quality.straight_line_values, dtype=np.int8), size=n_rows)
    n_items = len(instrument.items)
    stop_at = np.where(break_off, rng.integers(n_items // 3, n_items, size=n_rows), n_items)
    blank_rate = np.where(
        many_blanks, quality.many_blanks_item_rate, quality.item_blank_rate
    ).astype(np.float32)

    columns: dict[str, np.ndarray] = {}
    position = 0
    n_people = people.codes.size
    for s_index, scale in enumerate(instrument.scales):
        latent_plan = world.latent(scale.id)
        k = scale.n_items
        baseline = (
            latent_plan.mean
            + by_label(latent_plan.audience_shift, AUDIENCE_IDS)[people.audience]
            + latent_plan.experience_slope * (people.years - world.people.reference_years)
            + latent_plan.sd_person * rng.standard_normal(n_people)
        )
        personal = effect_plan.personal_shared * people.responsiveness + (
            effect_plan.personal_own * rng.standard_normal(n_people)
        )
        score_sd = math.hypot(latent_plan.sd_person, latent_plan.sd_occasion) / math.sqrt(
            scale.reliability or 0.8
        )
        direction = 1.0 if scale.higher_is_better else -1.0
        gain = (
            direction
            * latent_plan.gain
            * score_sd
            * effect
            * (1.0 + effect_plan.personal_spread * personal[p])
        )
        if practice_effect is not None:
            gain = direction * practice_effect * score_sd * (rows.wave != 0)
        latent = (
            baseline[p] + gain * retention + latent_plan.sd_occasion * rng.standard_normal(n_rows)
        )
        rating = latent_plan.rating
        if rating is not None:
            online = delivery_index == DELIVERY_IDS.index("online")
            latent = (
                latent
                + rating.per_format_step * fmt_index
                + np.where(supervised, rating.supervised, 0.0)
            )
            latent = latent + np.where(online, rating.online, 0.0)
        offsets = rng.normal(0.0, quality.item_offset_sd, size=k)
        offsets = (offsets - offsets.mean()).astype(np.float32)
        values = rng.standard_normal((n_rows, k), dtype=np.float32)
        values *= np.float32(item_noise_sd(scale, latent_plan))
        values += latent.astype(np.float32)[:, None]
        values += offsets[None, :]
        np.rint(values, out=values)
        np.clip(values, scale.min, scale.max, out=values)
        stored = values.astype(np.int8)
        del values
        reverse = np.array([item in scale.reverse for item in scale.items])
        if reverse.any():
            stored[:, reverse] = np.int8(scale.min + scale.max) - stored[:, reverse]
        stored = np.where(straight[:, None], straight_value[:, None], stored)

        blank = rng.random((n_rows, k), dtype=np.float32) < blank_rate[:, None]
        blank |= (position + np.arange(k))[None, :] >= stop_at[:, None]
        asked = asked_mask(world, scale.id, rows.wave)
        if asked is not None:
            blank |= ~asked[:, None]
        if practice_effect is not None and rating is not None:
            blank[:] = True  # no training to react to
        stored[blank] = 0
        for j, item in enumerate(scale.items):
            columns[item] = np.ascontiguousarray(stored[:, j])
        position += k
        progress((s_index + 1) / len(instrument.scales))
    return columns, straight, many_blanks | break_off


def durations(
    rng: np.random.Generator, world: World, rows: Rows, straight: np.ndarray, partial: np.ndarray
) -> np.ndarray:
    """Seconds spent on the survey: a lognormal time per item asked, partial rows shorter, a
    few surveys left open, speeders and straight-liners quick."""
    plan = world.durations
    n_rows = rows.wave.size
    n_asked = np.full(n_rows, len(world.instrument.items))
    for scale in world.instrument.scales:
        asked = asked_mask(world, scale.id, rows.wave)
        if asked is not None:
            n_asked = n_asked - scale.n_items * ~asked
    seconds = rng.lognormal(np.log(plan.seconds_per_item * n_asked), plan.spread)
    seconds = np.where(partial, seconds * plan.partial_share, seconds)
    left_open = plan.left_open_seconds
    seconds = np.where(
        rng.random(n_rows) < plan.left_open_rate,
        rng.uniform(left_open.min, left_open.max, n_rows),
        seconds,
    )
    speeder = rng.random(n_rows) < plan.speeder_rate
    fast, straight_time = plan.speeder_seconds, plan.straight_line_seconds
    seconds = np.where(speeder, rng.integers(fast.min, fast.max + 1, size=n_rows), seconds)
    seconds = np.where(
        straight, rng.integers(straight_time.min, straight_time.max + 1, size=n_rows), seconds
    )
    return np.clip(np.rint(seconds), plan.bounds.min, plan.bounds.max).astype(np.int32)


def responses_table(
    world: World,
    people: Participants,
    cohorts: Cohorts,
    rows: Rows,
    items: dict[str, np.ndarray],
    seconds: np.ndarray,
) -> pa.Table:
    """The valid response rows, in file order, with the input format's columns."""
    p = pa.array(rows.participant)
    columns = {
        "participant_code": pa.array(people.codes).take(p),
        "cohort_id": pa.array(cohorts.ids).take(pa.array(people.cohort[rows.participant])),
        "wave": pa.array(WAVE_IDS).take(pa.array(rows.wave)),
        "completed_at": pa.array(rows.day.astype("datetime64[D]")),
        "audience": pa.array(AUDIENCE_IDS).take(pa.array(people.audience[rows.participant])),
        "years_experience": pa.array(people.years[rows.participant]),
        "duration_seconds": pa.array(seconds),
    }
    if tuple(columns) != RESPONSE_REQUIRED_COLUMNS + RESPONSE_OPTIONAL_COLUMNS:
        raise RuntimeError("the responses columns no longer follow schemas/contract.py")
    for item in world.instrument.items:
        values = items[item]
        columns[item] = pa.array(values, mask=values == 0)
    return pa.table(columns)
