"""The synthetic dataset generator writes deterministic, contract-following demo data."""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the tests run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

from etl.generate import (  # noqa: E402
    AS_OF,
    DEMO_INSTRUMENT,
    FUTURE_DATE,
    INVALID_AUDIENCE,
    INVALID_DATE,
    INVALID_ITEM_VALUES,
    INVALID_ROW_RULES,
    INVALID_WAVE,
    generate_dataset,
    write_demo,
)
from schemas.contract import (  # noqa: E402
    AUDIENCES,
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    DELIVERIES,
    EVIDENCE_REQUIRED_COLUMNS,
    FORMATS,
    PRE_WAVE_GRACE_DAYS,
    PROGRAM_COLUMNS,
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
    WAVE_ORDER,
    WAVES,
)
from schemas.instrument import load_instrument  # noqa: E402

ITEMS = list(DEMO_INSTRUMENT.items)
REAC_ITEMS = list(DEMO_INSTRUMENT.scale("REAC").items)
CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------------------- helpers


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_responses(paths) -> pd.DataFrame:
    return pd.concat([read_csv(path) for path in paths], ignore_index=True)


def body_lines(paths) -> Counter:
    return Counter(line for path in paths for line in path.read_text("utf-8").splitlines()[1:])


def all_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def numeric_items(responses: pd.DataFrame) -> pd.DataFrame:
    return responses[ITEMS].replace("", np.nan).astype(float)


def scale_scores(responses: pd.DataFrame) -> pd.DataFrame:
    """Scale scores as the instrument defines them (reverse-keyed, min_answered)."""
    values = numeric_items(responses)
    scores = {}
    for scale in DEMO_INSTRUMENT.scales:
        block = values[list(scale.items)].copy()
        for item in scale.reverse:
            block[item] = scale.min + scale.max - block[item]
        enough = block.notna().sum(axis=1) >= scale.items_needed
        scores[scale.id] = block.mean(axis=1).where(enough)
    return pd.DataFrame(scores)


def with_cohorts(responses: pd.DataFrame, folder: Path) -> pd.DataFrame:
    cohorts = read_csv(folder / "cohorts.csv").merge(
        read_csv(folder / "programs.csv"), on="program_id"
    )
    merged = responses.merge(cohorts, on="cohort_id", how="left", validate="many_to_one")
    for column in ("completed_at", "start_date", "end_date"):
        merged[column] = pd.to_datetime(merged[column], format="%Y-%m-%d")
    return merged


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A mid-sized dataset without the deliberately invalid rows."""
    folder = tmp_path_factory.mktemp("clean")
    result = generate_dataset(folder, participants=3000, seed=7, invalid_rows=False)
    return result, read_responses(result.response_paths)


@pytest.fixture(scope="module")
def with_invalid(tmp_path_factory):
    """The same dataset with the invalid rows spliced in."""
    folder = tmp_path_factory.mktemp("invalid")
    return generate_dataset(folder, participants=3000, seed=7, invalid_rows=True)


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


# ---------------------------------------------------------------------------- instrument


def test_instrument_yaml_reads_back_as_the_demo_instrument(clean):
    result, _ = clean
    loaded = load_instrument(result.instrument_path)
    assert loaded.scales == DEMO_INSTRUMENT.scales


def test_demo_instrument_has_six_plausible_scales():
    scales = {scale.id: scale for scale in DEMO_INSTRUMENT.scales}
    assert list(scales) == ["CONF", "KNOW", "PRAC", "RELQ", "BURN", "REAC"]
    assert 38 <= len(DEMO_INSTRUMENT.items) <= 46
    for scale in scales.values():
        assert scale.min_answered == 0.8
        assert all(re.fullmatch(rf"{scale.id}_\d\d", item) for item in scale.items)
    assert not scales["BURN"].higher_is_better
    assert all(s.higher_is_better for s in scales.values() if s.id != "BURN")
    assert scales["REAC"].level == 1 and len(scales["BURN"].reverse) == 2
    assert scales["CONF"].reliability == 0.86 and len(scales["CONF"].reverse) == 1


# ---------------------------------------------------------------------------- programmes, cohorts


def test_programmes_cover_every_format_and_delivery(clean):
    result, _ = clean
    programs = read_csv(result.programs_path)
    assert tuple(programs.columns) == PROGRAM_COLUMNS
    assert programs.program_id.is_unique and 8 <= len(programs) <= 12
    assert set(programs.format) == set(FORMATS)
    assert set(programs.delivery) == set(DELIVERIES)
    hours = programs.contact_hours.astype(int)
    assert hours[programs.format == "workshop"].between(6, 14).all()
    assert hours[programs.format == "degree"].between(150, 600).all()


def test_cohorts_follow_the_contract(clean):
    result, _ = clean
    cohorts = read_csv(result.cohorts_path)
    programs = read_csv(result.programs_path)
    assert tuple(cohorts.columns) == COHORT_REQUIRED_COLUMNS + COHORT_OPTIONAL_COLUMNS
    assert cohorts.cohort_id.is_unique
    assert set(cohorts.program_id) <= set(programs.program_id)
    assert cohorts.sponsor_id.str.fullmatch(r"SP\d\d").all()
    assert 5 <= cohorts.sponsor_id.nunique() <= 7
    assert set(cohorts.supervision) == {"true", "false"}
    assert cohorts.cost_per_participant.astype(int).gt(0).all()
    for column in ("start_date", "end_date"):
        assert cohorts[column].str.fullmatch(ISO_DATE.pattern).all()
    start = pd.to_datetime(cohorts.start_date, format="%Y-%m-%d")
    end = pd.to_datetime(cohorts.end_date, format="%Y-%m-%d")
    assert start.min() >= pd.Timestamp("2023-01-01")
    assert start.max() <= pd.Timestamp("2025-12-31")
    assert set(start.dt.year) == {2023, 2024, 2025}
    fmt = cohorts.program_id.map(programs.set_index("program_id").format)
    days = (end - start).dt.days
    assert (days[fmt == "workshop"] == 1).all()
    assert days[fmt == "degree"].between(6 * 30, 18 * 31).all()
    assert (days[fmt.isin(["short_course", "certificate"])] > 7).all()


# ---------------------------------------------------------------------------- responses


def test_responses_follow_the_contract(clean):
    result, responses = clean
    header = result.response_paths[0].read_text("utf-8").splitlines()[0].split(",")
    assert header == [*RESPONSE_REQUIRED_COLUMNS, *RESPONSE_OPTIONAL_COLUMNS, *ITEMS]
    cohort_ids = set(read_csv(result.cohorts_path).cohort_id)
    assert set(responses.cohort_id) <= cohort_ids
    assert set(responses.wave) <= set(WAVES)
    assert set(responses.audience) <= set(AUDIENCES)
    assert responses.completed_at.str.fullmatch(ISO_DATE.pattern).all()
    pd.to_datetime(responses.completed_at, format="%Y-%m-%d")  # real dates
    assert responses.participant_code.str.fullmatch(CODE.pattern).all()
    assert responses.years_experience.astype(int).between(0, 40).all()
    assert responses.duration_seconds.astype(int).gt(0).all()
    assert not responses.duplicated(["participant_code", "cohort_id", "wave"]).any()
    per_person = responses.groupby("participant_code")[["cohort_id", "audience"]].nunique()
    assert (per_person == 1).all().all()
    assert len(responses) == result.response_rows == sum(result.rows_by_wave.values())


def test_items_are_blank_or_whole_numbers_within_their_scale(clean):
    _, responses = clean
    values = numeric_items(responses)
    for scale in DEMO_INSTRUMENT.scales:
        block = values[list(scale.items)]
        answered = block.stack().dropna()
        assert answered.between(scale.min, scale.max).all(), scale.id
        assert (answered == answered.round()).all()
    reaction = values[list(REAC_ITEMS)]
    assert reaction[responses.wave != "post"].isna().all().all()
    assert reaction[responses.wave == "post"].notna().mean().mean() > 0.9


def test_wave_dates_fit_their_cohort_and_none_is_after_as_of(clean):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    assert merged.completed_at.max() <= pd.Timestamp(AS_OF)
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


def test_waves_not_yet_due_at_as_of_are_missing(clean):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    late_degree = merged[(merged.format == "degree") & (merged.end_date > pd.Timestamp(AS_OF))]
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


def test_workshops_lose_most_participants_at_follow_up(clean):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    due = merged[merged.end_date + pd.Timedelta(days=130) <= pd.Timestamp(AS_OF)]
    answered = due.groupby(["format", "wave"]).participant_code.nunique().unstack()
    kept = answered["followup_3m"] / answered["pre"]
    assert kept["workshop"] < kept["short_course"] < kept["degree"]
    assert kept["workshop"] < 0.5


def test_training_effect_is_visible_and_sized_realistically(clean):
    result, responses = clean
    merged = with_cohorts(responses, result.out_dir)
    scores = pd.concat([merged, scale_scores(responses)], axis=1)
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


def test_scales_reach_roughly_their_declared_reliability(clean):
    _, responses = clean
    values = numeric_items(responses)
    for scale in DEMO_INSTRUMENT.scales:
        wave = "post" if scale.id == "REAC" else "pre"
        block = values.loc[responses.wave == wave, list(scale.items)].dropna()
        for item in scale.reverse:
            block[item] = scale.min + scale.max - block[item]
        k = scale.n_items
        alpha = k / (k - 1) * (1 - block.var().sum() / block.sum(axis=1).var())
        assert abs(alpha - scale.reliability) < 0.06, (scale.id, alpha)


def test_reverse_keyed_items_are_stored_reversed(clean):
    _, responses = clean
    values = numeric_items(responses)[responses.wave == "pre"]
    for scale in DEMO_INSTRUMENT.scales:
        for item in scale.reverse:
            others = [i for i in scale.items if i not in scale.reverse]
            assert values[item].corr(values[others].mean(axis=1)) < -0.2, item


def test_data_has_blanks_failing_scores_straight_liners_and_speeders(clean):
    _, responses = clean
    asked = [i for s in DEMO_INSTRUMENT.scales if s.id != "REAC" for i in s.items]
    blank_share = (responses[asked] == "").to_numpy().mean()
    assert 0.015 <= blank_share <= 0.05
    scores = scale_scores(responses)
    assert 0.003 < scores["CONF"].isna().mean() < 0.06  # some fail min_answered
    answered = numeric_items(responses)[asked]
    straight = answered.nunique(axis=1) == 1
    assert 0.002 < straight.mean() < 0.03
    seconds = responses.duration_seconds.astype(int)
    assert 0.005 < (seconds < 120).mean() < 0.08
    assert 300 < seconds.median() < 700


# ---------------------------------------------------------------------------- evidence


def test_evidence_studies_are_all_labelled_synthetic(clean):
    result, _ = clean
    evidence = read_csv(result.evidence_path)
    assert set(EVIDENCE_REQUIRED_COLUMNS) <= set(evidence.columns)
    assert 12 <= len(evidence) <= 16 and evidence.study_id.is_unique
    assert evidence.citation.str.startswith("Synthetic demo study").all()
    assert evidence.citation.str.contains("(not a real publication)", regex=False).all()
    assert (evidence.synthetic == "true").all()
    assert set(evidence.design) == {"single_group_pre_post", "comparison_group", "randomised"}
    assert set(evidence.audience) <= set(AUDIENCES) and set(evidence.format) <= set(FORMATS)
    domains = {scale.domain for scale in DEMO_INSTRUMENT.scales}
    assert set(evidence.outcome_domain) <= domains
    n, yi, vi = (evidence[c].astype(float) for c in ("n", "yi", "vi"))
    assert yi.between(0.25, 0.95).all()
    # Variance consistent with n: at least 1/n (pre-post) and at most 4/n + yi^2/(2n) (groups).
    assert (vi >= 1 / n - 1e-4).all() and (vi <= 4 / n + yi**2 / (2 * n) + 1e-4).all()


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


# ---------------------------------------------------------------------------- invalid rows


def rule_of(row: pd.Series, cohorts: pd.DataFrame, valid: pd.DataFrame) -> str:
    """Which documented rule an extra row breaks."""
    for item, value in INVALID_ITEM_VALUES.items():
        if row[item] == value:
            scale = DEMO_INSTRUMENT.scale_of_item()[item]
            if value.isdigit():
                assert not scale.min <= int(value) <= scale.max
                return "item_out_of_range"
            return "item_not_numeric"
    if row.cohort_id not in cohorts.index:
        return "unknown_cohort"
    if row.wave == INVALID_WAVE:
        return "wave_not_allowed"
    if row.audience == INVALID_AUDIENCE:
        return "audience_not_allowed"
    if row.completed_at == INVALID_DATE:
        return "completed_at_not_a_date"
    if row.completed_at == FUTURE_DATE:
        return "completed_at_in_future"
    key = (valid.participant_code == row.participant_code) & (valid.wave == row.wave)
    if key.any():
        assert valid.loc[key, "cohort_id"].iloc[0] == row.cohort_id
        return "duplicate_response"
    done = date.fromisoformat(row.completed_at)
    start = date.fromisoformat(cohorts.loc[row.cohort_id, "start_date"])
    end = date.fromisoformat(cohorts.loc[row.cohort_id, "end_date"])
    if row.wave == "pre" and (done - start).days > PRE_WAVE_GRACE_DAYS:
        return "pre_after_grace_period"
    if row.wave == "post" and done < end:
        return "post_before_cohort_end"
    return "valid"


def test_invalid_rows_are_extra_rows_each_breaking_its_documented_rule(clean, with_invalid):
    result, valid = clean
    assert with_invalid.invalid_rows_written == len(INVALID_ROW_RULES)
    assert 10 <= with_invalid.invalid_rows_written <= 15
    assert with_invalid.invalid_rules == INVALID_ROW_RULES
    assert with_invalid.response_rows == result.response_rows
    # The valid rows are untouched; the invalid ones come on top.
    extra = body_lines(with_invalid.response_paths) - body_lines(result.response_paths)
    assert not body_lines(result.response_paths) - body_lines(with_invalid.response_paths)
    assert sum(extra.values()) == len(INVALID_ROW_RULES)
    header = result.response_paths[0].read_text("utf-8").splitlines()[0].split(",")
    rows = pd.DataFrame([line.split(",") for line in extra.elements()], columns=header)
    cohorts = read_csv(result.cohorts_path).set_index("cohort_id")
    found = Counter(rule_of(row, cohorts, valid) for _, row in rows.iterrows())
    assert found == Counter(INVALID_ROW_RULES)


def test_invalid_rows_are_otherwise_plausible(with_invalid, clean):
    result, _ = clean
    responses = read_responses(with_invalid.response_paths)
    assert len(responses) == result.response_rows + with_invalid.invalid_rows_written
    assert responses.participant_code.str.fullmatch(CODE.pattern).all()
    future = responses[responses.completed_at == FUTURE_DATE]
    assert len(future) == 1 and future.cohort_id.isin(read_csv(result.cohorts_path).cohort_id).all()
    mid = responses[responses.wave == INVALID_WAVE]
    assert (mid[[i for i in ITEMS if not i.startswith("REAC")]] != "").all().all()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(participants=st.integers(min_value=1, max_value=150), seed=st.integers(0, 2**32 - 1))
def test_any_seed_and_size_gives_contract_following_files(tmp_path, participants, seed):
    folder = tmp_path / f"{participants}-{seed}"
    result = generate_dataset(folder, participants=participants, seed=seed, invalid_rows=False)
    responses = read_responses(result.response_paths)
    assert len(responses) == result.response_rows
    assert set(responses.wave) <= set(WAVES) and set(responses.audience) <= set(AUDIENCES)
    assert set(responses.cohort_id) <= set(read_csv(result.cohorts_path).cohort_id)
    assert (responses.completed_at <= AS_OF.isoformat()).all()
    assert responses.participant_code.nunique() <= participants
    values = numeric_items(responses)
    for scale in DEMO_INSTRUMENT.scales:
        assert values[list(scale.items)].stack().dropna().between(scale.min, scale.max).all()
    again = generate_dataset(
        tmp_path / f"{participants}-{seed}-bad", participants=participants, seed=seed
    )
    assert again.invalid_rows_written == len(again.invalid_rules) >= len(INVALID_ROW_RULES) - 2


# ---------------------------------------------------------------------------- shipped demo


def test_shipped_demo_is_what_write_demo_produces(tmp_path):
    shipped = REPO / "data" / "demo"
    result = write_demo(tmp_path)
    assert all_files(shipped) == all_files(result.out_dir)
    assert sum(len(data) for data in all_files(shipped).values()) < 4_000_000
