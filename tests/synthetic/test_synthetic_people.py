"""Who answered when: wave dates fit their cohort, attrition grows with time, and a
participant's audience follows their programme."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from schemas.contract import AUDIENCES, DELIVERIES, FORMATS, PRE_WAVE_GRACE_DAYS, WAVE_ORDER, WAVES
from tests.synthetic.helpers import with_cohorts


def test_wave_dates_fit_their_cohort_and_none_is_after_as_of(clean, world):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    assert merged.completed_at.max() <= pd.Timestamp(world.calendar.as_of)
    pre = merged[merged.wave == "pre"]
    assert (pre.completed_at <= pre.start_date + pd.Timedelta(days=PRE_WAVE_GRACE_DAYS)).all()
    assert (pre.completed_at <= pre.end_date).all()
    assert (pre.completed_at >= pre.start_date - pd.Timedelta(days=14)).all()
    post = merged[merged.wave == "post"]
    assert (post.completed_at >= post.end_date).all()
    assert (post.completed_at <= post.end_date + pd.Timedelta(days=14)).all()
    for wave, months in WAVES.items():
        if wave.startswith("followup"):
            rows = merged[merged.wave == wave]
            lag = (rows.completed_at - rows.end_date).dt.days
            assert lag.between(months * 30 - 10, months * 31 + 25).all(), wave
    # A participant's waves come in time order.
    ordered = merged.assign(position=merged.wave.map(WAVE_ORDER)).sort_values(
        ["participant_code", "completed_at", "position"]
    )
    assert (ordered.groupby("participant_code").position.diff().dropna() > 0).all()


def test_waves_not_yet_due_at_as_of_are_missing(clean, world):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    as_of = pd.Timestamp(world.calendar.as_of)
    late_degree = merged[(merged.format == "degree") & (merged.end_date > as_of)]
    assert len(late_degree) > 0
    assert set(late_degree.wave) == {"pre"}


def test_every_audience_format_and_delivery_appears_in_the_responses(clean):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    assert set(merged.audience) == set(AUDIENCES)
    assert set(merged.format) == set(FORMATS)
    assert set(merged.delivery) == set(DELIVERIES)
    # Programmes attract a plausible mix: the HR workshop is mostly HR, diplomas therapists.
    assert merged[merged.name.str.contains("HR")].audience.value_counts().index[0] == "hr"
    degree_top = merged[merged.format == "degree"].audience.value_counts().index[0]
    assert degree_top == "mental_health"


def test_fewer_rows_at_each_later_wave(clean):
    result, responses = clean
    counts = responses.wave.value_counts()
    ordered = [counts.get(wave, 0) for wave in WAVES]
    assert all(earlier > later > 0 for earlier, later in pairwise(ordered))
    assert result.rows_by_wave == dict(zip(WAVES, ordered, strict=True))


def test_workshops_lose_most_participants_at_follow_up(clean, world):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    due = merged[merged.end_date + pd.Timedelta(days=130) <= pd.Timestamp(world.calendar.as_of)]
    answered = due.groupby(["format", "wave"]).participant_code.nunique().unstack()
    kept = answered["followup_3m"] / answered["pre"]
    assert kept["workshop"] < kept["short_course"] < kept["degree"]
    assert kept["workshop"] < 0.5
