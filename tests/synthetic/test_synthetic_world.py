"""The world file: a reader changes a number there and the data follows; mistakes are named."""

from __future__ import annotations

import re

import pytest

from synthetic.dataset import generate_dataset
from synthetic.world import WorldError, load_world
from tests.synthetic.helpers import edited_world, read_csv, read_responses, with_cohorts


def followup_share_of_workshop_participants(folder) -> float:
    merged = with_cohorts(read_responses(sorted(folder.rglob("responses_*.csv"))), folder)
    workshops = merged[merged.format == "workshop"]
    answered = workshops.groupby("wave").participant_code.nunique()
    return answered["followup_3m"] / answered["pre"]


def test_lowering_a_response_rate_in_the_world_file_loses_those_responses(tmp_path):
    def fewer_workshop_followups(data):
        data["responding"]["rate"]["workshop"]["followup_3m"] = 0.05

    path = edited_world(tmp_path, fewer_workshop_followups)
    options = dict(participants=3000, seed=3, invalid_rows=False)
    shipped = generate_dataset(tmp_path / "shipped", **options)
    edited = generate_dataset(tmp_path / "edited", **options, world=load_world(path))
    before = followup_share_of_workshop_participants(shipped.out_dir)
    after = followup_share_of_workshop_participants(edited.out_dir)
    assert before > 0.25
    assert after < 0.12
    # Nothing else about the world moved: same cohorts, same programmes.
    assert edited.cohorts_path.read_bytes() == shipped.cohorts_path.read_bytes()
    assert edited.programs_path.read_bytes() == shipped.programs_path.read_bytes()


def test_a_programme_renamed_in_the_world_file_is_renamed_in_programs_csv(tmp_path):
    def rename(data):
        data["programmes"][0]["name"] = "Attachment at School, renamed"

    world = load_world(edited_world(tmp_path, rename))
    result = generate_dataset(tmp_path / "out", participants=100, seed=1, world=world)
    programs = read_csv(result.programs_path).set_index("program_id")
    assert programs.loc["P01", "name"] == "Attachment at School, renamed"


def test_a_misspelt_key_is_refused_with_its_place_in_the_file(tmp_path):
    def misspell(data):
        data["durations"]["speeder_rat"] = data["durations"].pop("speeder_rate")

    with pytest.raises(WorldError, match=re.escape("durations: unknown key(s) ['speeder_rat']")):
        load_world(edited_world(tmp_path, misspell))


def test_a_mapping_that_leaves_out_an_audience_is_refused(tmp_path):
    def drop_coaches(data):
        del data["programmes"][2]["audience_mix"]["coach"]

    with pytest.raises(WorldError, match=r"programme P03\.audience_mix.*coach"):
        load_world(edited_world(tmp_path, drop_coaches))


def test_a_rate_given_as_text_is_refused(tmp_path):
    def text_rate(data):
        data["response_quality"]["item_blank_rate"] = "two percent"

    with pytest.raises(WorldError, match=re.escape("response_quality.item_blank_rate")):
        load_world(edited_world(tmp_path, text_rate))


def test_a_programme_sponsored_by_an_unknown_sponsor_is_refused(tmp_path):
    def unknown_sponsor(data):
        data["programmes"][4]["main_sponsor"] = "SP99"

    with pytest.raises(WorldError, match=r"programme P05\.main_sponsor.*SP99"):
        load_world(edited_world(tmp_path, unknown_sponsor))
