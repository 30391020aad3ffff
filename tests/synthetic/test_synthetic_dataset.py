"""A generated dataset: deterministic bytes, the files of the input format, the options."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.contract import AUDIENCES, WAVES
from schemas.instrument import load_instrument
from schemas.settings import DEMO_DATA
from synthetic.dataset import generate_dataset, write_demo
from tests.synthetic.helpers import (
    all_files,
    body_lines,
    numeric_items,
    read_csv,
    read_responses,
)

# ---------------------------------------------------------------------------- determinism


def test_same_seed_writes_byte_identical_files(tmp_path):
    first = generate_dataset(tmp_path / "a", participants=400, seed=11)
    second = generate_dataset(tmp_path / "b", participants=400, seed=11)
    files = all_files(first.out_dir)
    assert files == all_files(second.out_dir)
    assert set(files) == {
        "instrument.yaml",
        "programs.csv",
        "cohorts.csv",
        "evidence.csv",
        "responses/responses_2023.csv",
        "responses/responses_2024.csv",
        "responses/responses_2025.csv",
    }


def test_different_seed_writes_different_responses_and_cohorts(tmp_path):
    first = generate_dataset(tmp_path / "a", participants=400, seed=11)
    second = generate_dataset(tmp_path / "b", participants=400, seed=12)
    assert first.response_paths[0].read_bytes() != second.response_paths[0].read_bytes()
    assert first.cohorts_path.read_bytes() != second.cohorts_path.read_bytes()
    # The instrument and programmes are fixed parts of the demo world.
    assert first.instrument_path.read_bytes() == second.instrument_path.read_bytes()
    assert first.programs_path.read_bytes() == second.programs_path.read_bytes()


def test_files_use_plain_newlines_and_utf8(clean):
    result, _ = clean
    for path in result.paths:
        raw = path.read_bytes()
        assert b"\r" not in raw, path
        raw.decode("utf-8")
        assert raw.endswith(b"\n"), path


def test_shipped_demo_is_what_write_demo_produces(tmp_path):
    result = write_demo(tmp_path)
    assert all_files(DEMO_DATA) == all_files(result.out_dir)
    assert sum(len(data) for data in all_files(DEMO_DATA).values()) < 4_000_000


# ---------------------------------------------------------------------------- instrument


def test_instrument_yaml_reads_back_as_the_world_instrument(clean, world):
    result, _ = clean
    loaded = load_instrument(result.instrument_path)
    assert loaded.scales == world.instrument.scales


# ---------------------------------------------------------------------------- files and options


def test_single_responses_file_holds_the_same_rows_as_the_split_files(tmp_path):
    split = generate_dataset(tmp_path / "split", participants=500, seed=5)
    single = generate_dataset(
        tmp_path / "single", participants=500, seed=5, single_responses_file=True
    )
    assert [p.name for p in single.response_paths] == ["responses.csv"]
    assert len(split.response_paths) == 3
    assert body_lines(single.response_paths) == body_lines(split.response_paths)
    headers = {
        p.read_text("utf-8").splitlines()[0]
        for p in (*split.response_paths, *single.response_paths)
    }
    assert len(headers) == 1
    assert single.invalid_rows_written == split.invalid_rows_written


def test_rerun_in_the_same_folder_leaves_no_stale_responses_files(tmp_path):
    generate_dataset(tmp_path, participants=200, seed=1)
    result = generate_dataset(tmp_path, participants=200, seed=1, single_responses_file=True)
    csvs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert csvs == ["cohorts.csv", "evidence.csv", "programs.csv", "responses.csv"]
    assert result.response_paths == (tmp_path / "responses.csv",)


def test_progress_is_reported_up_to_completion(tmp_path):
    calls = []
    generate_dataset(tmp_path, participants=200, progress=lambda s, f: calls.append((s, f)))
    fractions = [fraction for _, fraction in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(step, str) for step, _ in calls)


def test_too_few_participants_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        generate_dataset(tmp_path, participants=0)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(participants=st.integers(min_value=1, max_value=150), seed=st.integers(0, 2**32 - 1))
def test_any_seed_and_size_gives_contract_following_files(tmp_path, world, participants, seed):
    folder = tmp_path / f"{participants}-{seed}"
    result = generate_dataset(folder, participants=participants, seed=seed, invalid_rows=False)
    responses = read_responses(result.response_paths)
    assert len(responses) == result.response_rows
    assert set(responses.wave) <= set(WAVES) and set(responses.audience) <= set(AUDIENCES)
    assert set(responses.cohort_id) <= set(read_csv(result.cohorts_path).cohort_id)
    assert (responses.completed_at <= world.calendar.as_of.isoformat()).all()
    trained = ~responses.cohort_id.isin(result.waitlist_cohorts)
    assert responses.participant_code[trained].nunique() <= participants
    values = numeric_items(responses, world.instrument)
    for scale in world.instrument.scales:
        assert values[list(scale.items)].stack().dropna().between(scale.min, scale.max).all()
    again = generate_dataset(
        tmp_path / f"{participants}-{seed}-bad", participants=participants, seed=seed
    )
    assert again.invalid_rows_written >= len(world.invalid_rows.item_values) + 7
    assert len(again.rows_set_aside) == again.invalid_rows_written + len(again.repeated_rows)
