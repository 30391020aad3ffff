"""Score the scales and flag data quality, for whole files at once.

Scale score = mean of the answered items after reverse-keying (value -> min + max - value),
given only when at least `min_answered` of the scale's items were answered. A scale with no
item answered at a wave was not asked then and gets no score row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.columns import each_column
from schemas.instrument import Instrument, Scale

MISSINGNESS_FLAG_SHARE = 0.2
SPEEDING_SECONDS_PER_ITEM = 2.0
STRAIGHTLINE_MIN_ITEMS = 3


@dataclass
class Scored:
    scores: dict[str, tuple[np.ndarray, np.ndarray]]  # scale_id -> (score, items_answered)
    items_missing_share: np.ndarray
    flag_straightlining: np.ndarray
    flag_item_missingness: np.ndarray
    flag_speeding: np.ndarray


def _item_block(frame: pd.DataFrame, scale: Scale) -> np.ndarray:
    """The scale's answers, rows x items (a view when the items are side by side)."""
    return frame[list(scale.items)].to_numpy(dtype=np.float64)


def _as_block(raw: np.ndarray | list[np.ndarray]) -> np.ndarray:
    return raw if isinstance(raw, np.ndarray) else np.column_stack(raw)


def score_scale(raw: np.ndarray | list[np.ndarray], scale: Scale) -> tuple[np.ndarray, np.ndarray]:
    """Scores and items answered for one scale, from its raw items (rows x items, or columns)."""
    block = _as_block(raw)
    present = ~np.isnan(block)
    answered = present.sum(axis=1)
    keyed = np.where(present, block, 0.0)
    for position, item in enumerate(scale.items):
        if item in scale.reverse:  # reverse-keyed: value -> min + max - value
            keyed[:, position] = np.where(
                present[:, position], scale.min + scale.max - block[:, position], 0.0
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = keyed.sum(axis=1) / answered
    scores[answered < scale.items_needed] = np.nan
    return scores, answered


def straightlined(raw: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """All answered items given the same raw answer (at least three answered)."""
    block = _as_block(raw)
    answered = (~np.isnan(block)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        highest = np.fmax.reduce(block, axis=1)  # fmax/fmin skip NaN (unanswered items)
        lowest = np.fmin.reduce(block, axis=1)
    return (answered >= STRAIGHTLINE_MIN_ITEMS) & (highest == lowest)


def score_responses(frame: pd.DataFrame, instrument: Instrument) -> Scored:
    """Every scale's score, and the quality flags of every response."""
    n_rows = len(frame)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    asked_items = np.zeros(n_rows, dtype=np.int64)
    answered_items = np.zeros(n_rows, dtype=np.int64)
    straightlining = np.zeros(n_rows, dtype=bool)

    def one_scale(scale: Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        raw = _item_block(frame, scale)
        scale_scores, answered = score_scale(raw, scale)
        return scale_scores, answered, straightlined(raw) if scale.reverse else None

    for scale, (scale_scores, answered, same_answers) in zip(
        instrument.scales, each_column(one_scale, instrument.scales), strict=True
    ):
        scores[scale.id] = (scale_scores, answered)
        asked = answered > 0
        asked_items += np.where(asked, scale.n_items, 0)
        answered_items += answered
        if same_answers is not None:
            straightlining |= asked & same_answers
    with np.errstate(invalid="ignore", divide="ignore"):
        missing_share = np.where(
            asked_items > 0, 1 - answered_items / np.maximum(asked_items, 1), 1.0
        )
    duration = (
        frame["duration_seconds"].to_numpy(dtype=np.float64)
        if "duration_seconds" in frame
        else np.full(n_rows, np.nan)
    )
    with np.errstate(invalid="ignore"):
        speeding = duration < SPEEDING_SECONDS_PER_ITEM * asked_items
    return Scored(
        scores=scores,
        items_missing_share=missing_share,
        flag_straightlining=straightlining,
        flag_item_missingness=missing_share > MISSINGNESS_FLAG_SHARE,
        flag_speeding=speeding & ~np.isnan(duration),
    )
