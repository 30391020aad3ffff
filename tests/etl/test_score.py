"""Scale scores follow the instrument: reverse-keying, min_answered, and quality flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl.score import score_responses, score_scale
from schemas.instrument import Instrument, Scale

CONF = Scale(
    id="CONF",
    name="Confidence",
    domain="Confidence",
    level=2,
    items=("C1", "C2", "C3", "C4", "C5"),
    min=1,
    max=5,
    reverse=("C5",),
    min_answered=0.8,
)
BURN = Scale(
    id="BURN",
    name="Burnout",
    domain="Wellbeing",
    level=4,
    items=("B1", "B2", "B3"),
    min=1,
    max=7,
    higher_is_better=False,
)


def test_reverse_keyed_item_scores_as_min_plus_max_minus_value():
    scores, answered = score_scale(np.array([[1.0, 1, 1, 1, 5]]), CONF)
    assert scores[0] == 1.0  # 5 on the reverse-keyed item counts as 1
    assert answered[0] == 5


def test_score_is_the_mean_of_the_answered_items():
    scores, answered = score_scale(np.array([[2.0, 3, np.nan, 5, 2]]), CONF)
    assert scores[0] == pytest.approx((2 + 3 + 5 + 4) / 4)
    assert answered[0] == 4


def test_too_few_answered_items_give_no_score():
    # min_answered 0.8 of 5 items: 4 needed
    scores, answered = score_scale(np.array([[2.0, 3, np.nan, np.nan, 2]]), CONF)
    assert np.isnan(scores[0])
    assert answered[0] == 3


def test_straight_lining_is_flagged_only_on_scales_with_reverse_keyed_items():
    frame = pd.DataFrame(
        {
            "C1": [3.0, 3.0],
            "C2": [3.0, 2.0],
            "C3": [3.0, 3.0],
            "C4": [3.0, 3.0],
            "C5": [3.0, 3.0],
            "B1": [4.0, 4.0],
            "B2": [4.0, 4.0],
            "B3": [4.0, 4.0],
        }
    )
    scored = score_responses(frame, Instrument(scales=(CONF, BURN)))
    assert scored.flag_straightlining.tolist() == [True, False]


def test_item_missingness_and_speeding_flags():
    frame = pd.DataFrame(
        {
            "C1": [3.0, 3.0],
            "C2": [np.nan, 2.0],
            "C3": [np.nan, 3.0],
            "C4": [3.0, 3.0],
            "C5": [3.0, 3.0],
            "B1": [4.0, 4.0],
            "B2": [4.0, 4.0],
            "B3": [4.0, 4.0],
            "duration_seconds": [600.0, 9.0],
        }
    )
    scored = score_responses(frame, Instrument(scales=(CONF, BURN)))
    assert scored.items_missing_share.tolist() == pytest.approx([2 / 8, 0.0])
    assert scored.flag_item_missingness.tolist() == [True, False]
    assert scored.flag_speeding.tolist() == [False, True]  # 9 s for 8 items is under 2 s each


def test_scale_not_asked_at_a_wave_gets_no_score_row(tmp_path):
    from tests.etl.helpers import query, run, write_dataset

    rows = ["A1,C1,pre,2024-03-01,educator,5,2,2,3,2,4,,,"]
    folder = write_dataset(tmp_path / "export", rows=rows)
    db = tmp_path / "a.duckdb"
    run([folder], db)
    assert query(db, "SELECT scale_id FROM scale_scores") == [("CONF",)]
    assert query(db, "SELECT items_missing_share FROM responses") == [(0.0,)]


def test_item_written_as_nan_is_stored_and_scored_as_unanswered(tmp_path):
    from tests.etl.helpers import query, run, write_dataset

    # Some exports write NaN for a blank; it must be a NULL answer, never a NaN score.
    rows = ["A1,C1,pre,2024-03-01,educator,5,2,2,3,2,NaN,4,4,3"]
    folder = write_dataset(tmp_path / "export", rows=rows)
    db = tmp_path / "a.duckdb"
    run([folder], db)
    assert query(db, "SELECT CONF_05 IS NULL, answered_CONF, score_CONF FROM responses") == [
        (True, 4, 2.25)
    ]


def test_loaded_item_answers_are_exactly_the_answers_in_the_file(tmp_path):
    from tests.etl.helpers import GOOD_ROWS, query, run, write_dataset

    folder = write_dataset(tmp_path / "export")
    db = tmp_path / "a.duckdb"
    run([folder], db)
    stored = query(db, "SELECT source_row, CONF_01, CONF_02, BURN_03 FROM responses ORDER BY 1")
    expected = []
    for number, line in enumerate(GOOD_ROWS, start=2):
        cells = line.split(",")
        expected.append((number, *[float(cells[i]) if cells[i] else None for i in (6, 7, 13)]))
    assert stored == expected
