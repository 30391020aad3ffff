"""Deliberately invalid rows: ingest quarantines each one, row by row, under the rules the
generator names, and the valid rows around them are untouched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from schemas.settings import DEMO_DATA
from synthetic.dataset import generate_dataset, write_demo
from synthetic.world import WorldError, load_world
from tests.synthetic.helpers import (
    advertised,
    body_lines,
    edited_world,
    ingest_folder,
    quarantined,
    read_csv,
    read_responses,
)

KEY = ["participant_code", "cohort_id", "wave"]


def lines_at(rows) -> list[str]:
    """The text of each (path, source_row) in the files (source_row 1 is the header)."""
    return [row.path.read_text("utf-8").splitlines()[row.source_row - 1] for row in rows]


def as_frame(lines: list[str], header_of: Path) -> pd.DataFrame:
    header = header_of.read_text("utf-8").splitlines()[0].split(",")
    return pd.DataFrame([line.split(",") for line in lines], columns=header)


def test_each_invalid_row_is_quarantined_under_the_rules_the_generator_names(
    with_invalid, invalid_ingested
):
    report, db = invalid_ingested
    assert quarantined(db) == advertised(with_invalid)
    by_file = {file.source: file.rows_quarantined for file in report.files}
    for path in with_invalid.response_paths:
        expected = [row for row in with_invalid.rows_set_aside if row.path == path]
        assert by_file[str(path)] == len(expected)
    assert all(file.rows_quarantined == 0 for file in report.files if file.kind != "responses")


def test_invalid_rows_in_a_single_responses_file_are_quarantined_where_the_generator_says(
    tmp_path,
):
    result = generate_dataset(
        tmp_path / "one", participants=600, seed=21, single_responses_file=True
    )
    ingest_folder(result.out_dir, tmp_path / "attune.duckdb")
    assert quarantined(tmp_path / "attune.duckdb") == advertised(result)


@pytest.mark.parametrize(
    ("participants", "seed", "single_file"),
    [(1, 1, False), (2, 8, True), (37, 123, False), (150, 2**31, True)],
)
def test_small_datasets_quarantine_exactly_the_rows_the_generator_names(
    tmp_path, participants, seed, single_file
):
    # However few valid rows there are to repeat or to splice the invalid rows between.
    result = generate_dataset(
        tmp_path / "out", participants=participants, seed=seed, single_responses_file=single_file
    )
    report = ingest_folder(result.out_dir, tmp_path / "attune.duckdb")
    assert quarantined(tmp_path / "attune.duckdb") == advertised(result)
    assert sum(file.rows_quarantined for file in report.files) == len(result.rows_set_aside)


def test_the_shipped_demo_quarantines_the_rows_write_demo_names_and_the_rows_they_repeat(
    demo_db, tmp_path
):
    result = write_demo(tmp_path / "demo")
    found = {
        (Path(source).relative_to(DEMO_DATA).as_posix(), row): rules
        for (source, row), rules in quarantined(demo_db).items()
    }
    named = {
        (row.path.relative_to(result.out_dir).as_posix(), row.source_row): set(row.rules)
        for row in result.rows_set_aside
    }
    assert found == named
    # Each duplicate sets aside the valid row it repeats as well as itself.
    assert len(found) == result.invalid_rows_written + len(result.repeated_rows)
    assert len(result.repeated_rows) == 2


def test_invalid_rows_are_extra_rows_and_leave_the_valid_rows_untouched(clean, with_invalid):
    result, _ = clean
    assert with_invalid.response_rows == result.response_rows
    assert 10 <= with_invalid.invalid_rows_written <= 15
    # The valid rows are untouched; the invalid ones come on top, at the lines named.
    extra = body_lines(with_invalid.response_paths) - body_lines(result.response_paths)
    assert not body_lines(result.response_paths) - body_lines(with_invalid.response_paths)
    assert sum(extra.values()) == with_invalid.invalid_rows_written
    assert sorted(lines_at(with_invalid.invalid_rows)) == sorted(extra.elements())


def test_rows_set_aside_with_a_duplicate_are_valid_rows_it_repeats(clean, with_invalid):
    result, valid = clean
    header_of = with_invalid.response_paths[0]
    repeated = as_frame(lines_at(with_invalid.repeated_rows), header_of)
    duplicates = as_frame(
        lines_at(
            [
                row
                for row in with_invalid.invalid_rows
                if row.rules == ("one_response_per_participant_cohort_wave",)
            ]
        ),
        header_of,
    )
    assert len(repeated) == len(duplicates) == 2
    assert repeated.merge(valid, how="inner").shape[0] == 2  # whole valid rows
    assert set(map(tuple, repeated[KEY].to_numpy())) == set(map(tuple, duplicates[KEY].to_numpy()))
    # One is an exact copy; the other a re-submission with other answers.
    assert duplicates.merge(repeated, how="inner").shape[0] == 1


def test_invalid_rows_are_otherwise_plausible(with_invalid, clean, world):
    result, _ = clean
    plan = world.invalid_rows
    responses = read_responses(with_invalid.response_paths)
    assert len(responses) == result.response_rows + with_invalid.invalid_rows_written
    assert responses.participant_code.str.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}").all()
    future = responses[responses.completed_at == plan.future_date]
    assert len(future) == 1 and future.cohort_id.isin(read_csv(result.cohorts_path).cohort_id).all()
    mid = responses[responses.wave == plan.wave]
    asked_everywhere = [
        item for spec in world.scales if spec.asked_at is None for item in spec.scale().items
    ]
    assert (mid[asked_everywhere] != "").all().all()


def test_an_item_value_inside_its_scale_cannot_be_an_invalid_row(tmp_path):
    def valid_answer(data):
        data["invalid_rows"]["item_values"][0]["value"] = "3"

    world = load_world(edited_world(tmp_path, valid_answer))
    with pytest.raises(WorldError, match="CONF_02 = '3' is a valid answer"):
        generate_dataset(tmp_path / "out", participants=100, seed=1, world=world)
