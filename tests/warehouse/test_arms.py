"""Waitlist cohorts change no figure of the people trained, and the arm filter shows their own.

Two databases of the same synthetic world and seed: one of intervention cohorts only, one with
the world's waitlist cohorts too (the generator keeps the intervention rows identical) and one
more waitlist cohort surveyed months after the last response of anyone trained (so that a
cut-off taken over every arm would make more follow-ups due). Every figure about the people
trained must be the same in both; with ``Filters(arm="waitlist")`` the figures are the
waitlist cohorts' own."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from synthetic.dataset import generate_dataset
from synthetic.waitlist import without_waitlist
from synthetic.world import load_world
from tests.synthetic.helpers import ingest_folder
from warehouse.catalog import scales
from warehouse.connection import Database
from warehouse.filters import Filters
from warehouse.followup import people
from warehouse.outcomes import group_change

PARTICIPANTS, SEED = 1500, 11
LATE_COHORT = "LATE-WL"
# A waitlist cohort of P01 dated after the world's last response (as_of 2026-06-30).
LATE_COHORTS_CSV = (
    "cohort_id,program_id,sponsor_id,start_date,end_date,supervision,cost_per_participant,arm\n"
    f"{LATE_COHORT},P01,SP02,2026-09-07,2026-09-08,false,,waitlist\n"
)
LATE_PEOPLE = 14


def _late_responses() -> str:
    header = "participant_code,cohort_id,wave,completed_at,audience," + ",".join(
        f"CONF_{i:02d}" for i in range(1, 7))
    rows = []
    for k in range(LATE_PEOPLE):
        answers = ",".join(str(1 + (k + i) % 5) for i in range(6))
        rows.append(f"LATE-{k:04d},{LATE_COHORT},pre,2026-09-03,educator,{answers}")
        rows.append(f"LATE-{k:04d},{LATE_COHORT},post,2026-09-15,educator,{answers}")
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    """(database of intervention cohorts only, the same with waitlist cohorts added)."""
    world = load_world()
    folder = tmp_path_factory.mktemp("trained")
    generate_dataset(folder, PARTICIPANTS, SEED, invalid_rows=False,
                     world=without_waitlist(world))
    trained = folder / "attune.duckdb"
    ingest_folder(folder, trained)

    folder = tmp_path_factory.mktemp("waitlist")
    result = generate_dataset(folder, PARTICIPANTS, SEED, invalid_rows=False, world=world)
    assert result.waitlist_cohorts, "the world's waitlist cohorts are the point of this test"
    both = folder / "attune.duckdb"
    ingest_folder(folder, both)
    late = tmp_path_factory.mktemp("late")
    (late / "cohorts.csv").write_text(LATE_COHORTS_CSV)
    (late / "late_responses.csv").write_text(_late_responses())
    ingest_folder(late, both)
    con = duckdb.connect(str(both), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM responses WHERE cohort_id = ?",
                           [LATE_COHORT]).fetchall() == [(2 * LATE_PEOPLE,)]
    finally:
        con.close()
    return Database(trained), Database(both)


SCALES = ("CONF", "KNOW", "PRAC", "RELQ", "BURN")


def _same(mine: list[dict], theirs: list[dict]) -> None:
    """The same rows, numbers equal to the last few digits (sums of other orders round
    differently)."""
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float) and isinstance(b[key], float):
                assert value == pytest.approx(b[key], rel=1e-9, nan_ok=True), key
            else:
                assert value == b[key], key


@pytest.mark.parametrize("scale_id", SCALES)
def test_adding_waitlist_cohorts_changes_no_change_figure_of_the_people_trained(arms, scale_id):
    trained, both = arms
    for wave_to in ("post", "followup_3m"):
        for by in ((), ("audience", "format")):
            _same(group_change(both, scale_id=scale_id, wave_to=wave_to, by=by),
                  group_change(trained, scale_id=scale_id, wave_to=wave_to, by=by))


def test_adding_waitlist_cohorts_changes_no_follow_up_count_of_the_people_trained(arms):
    trained, both = arms
    for by in ((), ("format",)):
        _same(people(both, by=by), people(trained, by=by))


def test_adding_waitlist_cohorts_leaves_every_scale_sd_pre_and_threshold_alone(arms):
    trained, both = arms
    assert both.snapshot().cutoff == trained.snapshot().cutoff
    for mine, theirs in zip(scales(both), scales(trained), strict=True):
        assert mine["scale_id"] == theirs["scale_id"]
        _same([{"threshold": mine["reliable_threshold"]}],
              [{"threshold": theirs["reliable_threshold"]}])
    for scale_id, info in both.snapshot().scales.items():
        _same([{"sd_pre": info.sd_pre}], [{"sd_pre": trained.snapshot().scales[scale_id].sd_pre}])
    assert any(s["reliable_threshold"] is not None for s in scales(both))


def test_the_waitlist_arm_shows_the_waitlist_cohorts_own_change_of_about_nothing(arms):
    _, both = arms
    con = duckdb.connect(str(both.path), read_only=True)
    try:
        expected = con.execute(
            "SELECT arm, count(*), avg(improvement) FROM paired_scores WHERE scale_id = 'CONF' "
            "AND wave_from = 'pre' AND wave_to = 'post' GROUP BY arm ORDER BY arm").fetchall()
    finally:
        con.close()
    (trained_n, trained_mean), (waitlist_n, waitlist_mean) = [row[1:] for row in expected]
    (waiting,) = group_change(both, scale_id="CONF", by=(), filters=Filters(arm="waitlist"))
    (default,) = group_change(both, scale_id="CONF", by=())
    (everyone,) = group_change(both, scale_id="CONF", by=(), filters=Filters(arm=None))
    assert (waiting["n_pairs"], waiting["mean_change"]) == pytest.approx(
        (waitlist_n, waitlist_mean))
    assert (default["n_pairs"], default["mean_change"]) == pytest.approx(
        (trained_n, trained_mean))
    assert everyone["n_pairs"] == trained_n + waitlist_n
    # No training, no change (a practice effect of 0.05 SD); the trained improve clearly.
    assert abs(waiting["g"]) < 0.3 < default["g"]


def test_filters_describe_the_waitlist_arm_in_words():
    assert "arm: Waitlist" in replace(Filters(), arm="waitlist").describe()
