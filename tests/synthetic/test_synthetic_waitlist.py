"""Waitlist cohorts in the generated data: copies of some programmes' cohorts surveyed at pre
and post without the training, drawn after everything else so the intervention data stay as
they were."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from synthetic.dataset import generate_dataset
from synthetic.waitlist import without_waitlist
from synthetic.world import IntRange
from tests.synthetic.helpers import body_lines, read_csv, read_responses, scale_scores

PARTICIPANTS, SEED = 3000, 7


@pytest.fixture(scope="module")
def both(tmp_path_factory, world):
    """The same world and seed generated with its waitlist cohorts and without them."""
    with_ = generate_dataset(tmp_path_factory.mktemp("with"), PARTICIPANTS, SEED, world=world)
    without = generate_dataset(tmp_path_factory.mktemp("without"), PARTICIPANTS, SEED,
                               world=without_waitlist(world))
    return with_, without


def test_some_programmes_get_waitlist_cohorts_on_the_dates_of_one_of_their_cohorts(both, world):
    result, _ = both
    cohorts = read_csv(result.cohorts_path).set_index("cohort_id")
    waiting = cohorts[cohorts.arm == "waitlist"]
    assert list(waiting.index) == list(result.waitlist_cohorts)
    assert set(cohorts.arm) == {"intervention", "waitlist"}
    plan = world.waitlist
    per_programme = waiting.program_id.value_counts()
    assert set(per_programme.index) == set(plan.programmes)
    assert per_programme.between(plan.cohorts_per_programme.min,
                                 plan.cohorts_per_programme.max).all()
    for cohort_id, row in waiting.iterrows():
        compared = cohorts.loc[cohort_id.removesuffix("-WL")]
        assert compared.arm == "intervention"
        same = ["program_id", "sponsor_id", "start_date", "end_date", "supervision"]
        assert list(row[same]) == list(compared[same])
        assert row.cost_per_participant == ""  # nobody was trained: no cost


def test_waitlist_people_answer_pre_and_post_only_and_no_reaction_to_training(both):
    result, _ = both
    responses = read_responses(result.response_paths)
    waiting = responses[responses.cohort_id.isin(result.waitlist_cohorts)]
    assert set(waiting.wave) == {"pre", "post"}
    assert (waiting[[c for c in responses if c.startswith("REAC_")]] == "").all().all()
    others = responses[~responses.cohort_id.isin(result.waitlist_cohorts)]
    assert not set(waiting.participant_code) & set(others.participant_code)


def test_intervention_cohorts_and_rows_are_the_same_with_or_without_waitlist_cohorts(both):
    with_, without = both
    cohorts_with = with_.cohorts_path.read_text().splitlines()
    cohorts_without = without.cohorts_path.read_text().splitlines()
    assert cohorts_with[: len(cohorts_without)] == cohorts_without
    assert all(line.endswith(",waitlist") for line in cohorts_with[len(cohorts_without):])
    for mine, theirs in zip(with_.response_paths, without.response_paths, strict=True):
        lines, fewer = mine.read_text().splitlines(), theirs.read_text().splitlines()
        assert lines[: len(fewer)] == fewer  # every extra row comes after the file's own rows
        assert all(any(f",{c}," in line for c in with_.waitlist_cohorts)
                   for line in lines[len(fewer):])
    extra = body_lines(with_.response_paths) - body_lines(without.response_paths)
    assert sum(extra.values()) == with_.response_rows - without.response_rows > 0
    assert [row.source_row for row in with_.invalid_rows] == [
        row.source_row for row in without.invalid_rows]


def _change_in_sd(responses: pd.DataFrame, world) -> dict[str, float]:
    """Mean pre -> post change of each scale (improvement positive) in SDs at pre."""
    scores = scale_scores(responses, world.instrument)
    scores[["participant_code", "wave"]] = responses[["participant_code", "wave"]]
    out = {}
    for scale in world.instrument.scales:
        wide = scores.pivot_table(index="participant_code", columns="wave", values=scale.id)
        if "pre" not in wide or "post" not in wide:
            continue
        change = (wide["post"] - wide["pre"]).dropna() * (1 if scale.higher_is_better else -1)
        out[scale.id] = change.mean() / wide["pre"].std()
    return out


def test_waitlist_cohorts_change_by_about_the_practice_effect_alone(tmp_path, world):
    # Many waitlist cohorts, so that their mean change is known to within a few hundredths.
    many = replace(world, waitlist=replace(
        world.waitlist, programmes=tuple(p.program_id for p in world.programmes),
        cohorts_per_programme=IntRange(6, 6)))
    result = generate_dataset(tmp_path, 6000, 3, invalid_rows=False, world=many)
    responses = read_responses(result.response_paths)
    waiting = responses.cohort_id.isin(result.waitlist_cohorts)
    assert waiting.sum() > 2000
    untrained = _change_in_sd(responses[waiting], many)
    trained = _change_in_sd(responses[~waiting], many)
    assert set(untrained) == {"CONF", "KNOW", "PRAC", "RELQ", "BURN"}
    for scale_id, change in untrained.items():
        assert abs(change - many.waitlist.practice_effect) < 0.08, scale_id
        assert trained[scale_id] > change + 0.2, scale_id
    # The arms start alike: baseline equivalence within 0.1 SD on every scale.
    scores = scale_scores(responses, many.instrument)
    pre = (responses.wave == "pre").to_numpy()
    for scale_id in untrained:
        gap = scores[scale_id][pre & waiting].mean() - scores[scale_id][pre & ~waiting].mean()
        assert abs(gap) / scores[scale_id][pre].std() < 0.1, scale_id


def test_a_world_without_waitlist_writes_intervention_cohorts_only(both):
    _, without = both
    assert without.waitlist_cohorts == ()
    assert set(read_csv(without.cohorts_path).arm) == {"intervention"}
    assert np.all(read_csv(without.cohorts_path).cost_per_participant != "")
