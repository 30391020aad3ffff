"""The answers: responses ingest cleanly, items stay within their scales, and the data holds a
realistic training effect, reliability and the usual response-quality problems."""

from __future__ import annotations

import pandas as pd

from schemas.contract import (
    AUDIENCES,
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
    WAVES,
)
from tests.synthetic.helpers import (
    numeric_items,
    query,
    read_csv,
    scale_scores,
    with_cohorts,
)

CODE = r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
SCORED_SCALES_AND_WAVES = (
    "SELECT DISTINCT scale_id, wave FROM scale_scores WHERE score IS NOT NULL"
)
SCORE_RANGE_BY_SCALE = "SELECT scale_id, min(score), max(score) FROM scale_scores GROUP BY scale_id"


def test_clean_data_ingests_with_every_row_loaded_and_nothing_set_aside(clean, clean_ingested):
    result, _ = clean
    report, _ = clean_ingested
    assert report.exit_code == 0
    responses = [file for file in report.files if file.kind == "responses"]
    assert [file.source for file in responses] == [str(path) for path in result.response_paths]
    assert sum(file.rows_loaded for file in responses) == result.response_rows
    assert all(file.status == "loaded" and file.rows_quarantined == 0 for file in report.files)
    evidence = next(file for file in report.files if file.kind == "evidence")
    assert evidence.rows_loaded == result.evidence_studies


def test_ingest_scores_every_scale_at_the_waves_it_is_asked_within_its_range(
    clean_ingested, world
):
    _, db = clean_ingested
    asked = {
        (spec.id, wave) for spec in world.scales for wave in (spec.asked_at or tuple(WAVES))
    }
    assert set(query(db, SCORED_SCALES_AND_WAVES)) == asked
    for scale_id, low, high in query(db, SCORE_RANGE_BY_SCALE):
        scale = world.instrument.scale(scale_id)
        assert scale.min <= low < high <= scale.max, scale_id


def test_responses_follow_the_contract(clean, world):
    result, responses = clean
    header = result.response_paths[0].read_text("utf-8").splitlines()[0].split(",")
    items = list(world.instrument.items)
    assert header == [*RESPONSE_REQUIRED_COLUMNS, *RESPONSE_OPTIONAL_COLUMNS, *items]
    cohort_ids = set(read_csv(result.cohorts_path).cohort_id)
    assert set(responses.cohort_id) <= cohort_ids
    assert set(responses.wave) <= set(WAVES)
    assert set(responses.audience) <= set(AUDIENCES)
    assert responses.completed_at.str.fullmatch(ISO_DATE).all()
    pd.to_datetime(responses.completed_at, format="%Y-%m-%d")  # real dates
    assert responses.participant_code.str.fullmatch(CODE).all()
    assert responses.years_experience.astype(int).between(0, 40).all()
    assert responses.duration_seconds.astype(int).gt(0).all()
    assert not responses.duplicated(["participant_code", "cohort_id", "wave"]).any()
    per_person = responses.groupby("participant_code")[["cohort_id", "audience"]].nunique()
    assert (per_person == 1).all().all()
    assert len(responses) == result.response_rows == sum(result.rows_by_wave.values())


def test_items_are_blank_or_whole_numbers_within_their_scale(clean, world):
    _, responses = clean
    values = numeric_items(responses, world.instrument)
    for scale in world.instrument.scales:
        block = values[list(scale.items)]
        answered = block.stack().dropna()
        assert answered.between(scale.min, scale.max).all(), scale.id
        assert (answered == answered.round()).all()
    reaction = values[list(world.instrument.scale("REAC").items)]
    assert reaction[responses.wave != "post"].isna().all().all()
    assert reaction[responses.wave == "post"].notna().mean().mean() > 0.9


def test_training_effect_is_visible_and_sized_realistically(clean, world):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    scores = pd.concat([merged, scale_scores(responses, world.instrument)], axis=1)
    means = scores.groupby("wave")[["CONF", "KNOW", "BURN"]].mean()
    assert means.loc["post", "CONF"] > means.loc["pre", "CONF"]
    assert means.loc["post", "KNOW"] > means.loc["pre", "KNOW"]
    assert means.loc["post", "BURN"] < means.loc["pre", "BURN"]  # burnout improves = goes down

    wide = scores.pivot_table(index="participant_code", columns="wave", values="CONF")
    info = scores.drop_duplicates("participant_code").set_index("participant_code")
    change = (wide["post"] - wide["pre"]) / wide["pre"].std()
    by_format = change.groupby(info.format).mean()
    assert 0.3 <= by_format.min() and by_format.max() <= 1.3
    assert by_format["workshop"] < by_format["degree"]
    by_supervision = change.groupby(info.supervision).mean()
    assert by_supervision["true"] > by_supervision["false"]
    # Workshops fade most by the 6-month follow-up.
    faded = ((wide["followup_6m"] - wide["pre"]) / wide["pre"].std()).groupby(info.format).mean()
    assert faded["workshop"] < 0.5 * by_format["workshop"]
    assert faded["degree"] > 0.6 * by_format["degree"]


def test_scales_reach_roughly_their_declared_reliability(clean, world):
    _, responses = clean
    values = numeric_items(responses, world.instrument)
    for scale in world.instrument.scales:
        wave = "post" if scale.id == "REAC" else "pre"
        block = values.loc[responses.wave == wave, list(scale.items)].dropna()
        for item in scale.reverse:
            block[item] = scale.min + scale.max - block[item]
        k = scale.n_items
        alpha = k / (k - 1) * (1 - block.var().sum() / block.sum(axis=1).var())
        assert abs(alpha - scale.reliability) < 0.06, (scale.id, alpha)


def test_reverse_keyed_items_are_stored_reversed(clean, world):
    _, responses = clean
    values = numeric_items(responses, world.instrument)[responses.wave == "pre"]
    for scale in world.instrument.scales:
        for item in scale.reverse:
            others = [i for i in scale.items if i not in scale.reverse]
            assert values[item].corr(values[others].mean(axis=1)) < -0.2, item


def test_data_has_blanks_failing_scores_straight_liners_and_speeders(clean, world):
    _, responses = clean
    asked = [i for s in world.instrument.scales if s.id != "REAC" for i in s.items]
    blank_share = (responses[asked] == "").to_numpy().mean()
    assert 0.015 <= blank_share <= 0.05
    scores = scale_scores(responses, world.instrument)
    assert 0.003 < scores["CONF"].isna().mean() < 0.06  # some fail min_answered
    answered = numeric_items(responses, world.instrument)[asked]
    straight = answered.nunique(axis=1) == 1
    assert 0.002 < straight.mean() < 0.03
    seconds = responses.duration_seconds.astype(int)
    assert 0.005 < (seconds < 120).mean() < 0.08
    assert 300 < seconds.median() < 700
