"""The attrition check's second half: for a follow-up wave, the pre -> post change of those who
answered it (completers) beside that of those who did not (drop-outs), from the baseline cube
in DuckDB; hand-computed on a small world, and on a world where who answers at 12 months
depends on the change they showed (``dropout_world``), where completers must have improved
more. Hidden groups, the end-of-training case and the published figures are checked too."""

from __future__ import annotations

import math

import duckdb
import pytest

from stats.attrition import attrition_bias as attrition_from_scores
from tests.warehouse.change_world import build_change_db
from tests.warehouse.dropout_world import build_dropout_db
from warehouse.connection import Database
from warehouse.filters import Filters
from warehouse.followup import ATTRITION_KEYS, CHANGE_KEYS, attrition_bias

YEAR = "followup_12m"
# Hand-computed for change_world's 12 people a side: change 0.75 +- 0.25 and 0.25 +- 0.25,
# SD 0.25 * sqrt(12/11); Welch SE sqrt(2 * SD^2 / 12), df 22, t(0.975, 22) = 2.0738731.
SD_12 = 0.25 * math.sqrt(12 / 11)
HALF_12 = 2.0738730679040254 * math.sqrt(2 * SD_12**2 / 12)  # = 0.2210756
# Both formats together, 24 a side: df 46, t(0.975, 46) = 2.0128956.
HALF_24 = 2.012895598919429 * math.sqrt(2 * (0.25**2 * 24 / 23) / 24)  # = 0.1483926


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_dropout_db(tmp_path_factory.mktemp("change") / "dropout.duckdb")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return build_change_db(tmp_path_factory.mktemp("change") / "small.duckdb")


def _by_format(db, **kwargs) -> dict[str, dict]:
    return {r["format"]: r for r in attrition_bias(db, scale_id="CONF", wave_to=YEAR,
                                                    by=("format",), **kwargs)}


def test_hand_computed_change_of_completers_and_dropouts_who_started_alike(small):
    db = Database(small, min_cell_size=11)
    for row in _by_format(db).values():
        assert (row["n_completers"], row["n_dropouts"]) == (12, 12)
        assert row["difference"] == pytest.approx(0.0, abs=1e-12)  # baselines match exactly
        assert row["hedges_g"] == pytest.approx(0.0, abs=1e-12)
        assert (row["change_n_completers"], row["change_n_dropouts"]) == (12, 12)
        assert row["change_mean_completers"] == pytest.approx(0.75)
        assert row["change_mean_dropouts"] == pytest.approx(0.25)
        assert row["change_sd_completers"] == pytest.approx(SD_12)
        assert row["change_sd_dropouts"] == pytest.approx(SD_12)
        assert row["change_difference"] == pytest.approx(0.5)
        assert row["change_difference_ci_low"] == pytest.approx(0.5 - HALF_12)
        assert row["change_difference_ci_high"] == pytest.approx(0.5 + HALF_12)
        assert row["change_welch_df"] == pytest.approx(22.0)
        reference = attrition_from_scores([0.5, 1.0] * 6, [0.0, 0.5] * 6)
        assert row["change_hedges_g"] == pytest.approx(reference.hedges_g)
        assert row["change_g_ci_low"] == pytest.approx(reference.g_ci_low)
        assert row["change_p"] == pytest.approx(reference.p)
        assert row["change_suppressed"] is False and row["change_applies"] is True
    [overall] = attrition_bias(db, scale_id="CONF", wave_to=YEAR, by=())
    assert overall["change_difference_ci_low"] == pytest.approx(0.5 - HALF_24)
    assert overall["change_difference_ci_high"] == pytest.approx(0.5 + HALF_24)


def test_change_is_signed_so_that_improvement_is_positive_where_lower_is_better(
        tmp_path):
    path = build_change_db(tmp_path / "lower.duckdb", higher_is_better=False)
    [row] = attrition_bias(Database(path), scale_id="CONF", wave_to=YEAR, by=())
    assert row["change_mean_completers"] == pytest.approx(-0.75)
    assert row["change_mean_dropouts"] == pytest.approx(-0.25)
    assert row["change_difference"] == pytest.approx(-0.5)
    assert row["change_difference_ci_high"] == pytest.approx(-0.5 + HALF_24)


def test_completers_at_12_months_had_improved_more_when_dropout_followed_their_change(world):
    """In this world the 12-month wave is answered mostly by those whose pre -> post change
    was large: their change must be larger than the drop-outs', with a CI that leaves out 0,
    and equal to the mean of post - pre over their own responses."""
    db = Database(world)
    rows = [*attrition_bias(db, scale_id="CONF", wave_to=YEAR, by=()),
            *_by_format(db).values()]
    for row in rows:
        assert row["change_difference"] > 0.3
        assert row["change_difference_ci_low"] > 0
        assert row["change_g_ci_low"] > 0
    con = duckdb.connect(str(world), read_only=True)
    expected = dict(con.execute("""
        SELECT y.participant_id IS NOT NULL, avg(b.score_CONF - a.score_CONF)
        FROM responses AS a JOIN responses AS b USING (participant_id, cohort_id)
        LEFT JOIN responses AS y ON y.participant_id = a.participant_id
             AND y.cohort_id = a.cohort_id AND y.wave = 'followup_12m'
        WHERE a.wave = 'pre' AND b.wave = 'post' GROUP BY 1""").fetchall())
    con.close()
    assert rows[0]["change_mean_completers"] == pytest.approx(expected[True])
    assert rows[0]["change_mean_dropouts"] == pytest.approx(expected[False])


def test_at_the_end_of_training_there_is_no_change_to_compare(tmp_path):
    path = build_change_db(tmp_path / "post.duckdb",
                           without_post={"in_person": 12, "online": 12})
    [row] = attrition_bias(Database(path), scale_id="CONF", wave_to="post", by=())
    assert row["suppressed"] is False and row["hedges_g"] is not None
    assert row["change_applies"] is False and row["change_suppressed"] is False
    assert all(row[k] is None for k in CHANGE_KEYS)


def test_change_is_hidden_when_few_completers_lack_a_post_score_and_so_is_its_complement(
        tmp_path):
    """In person: 15 completers, 3 of them without a post score; shown, the 3 would be 15
    minus the 12 changes. Online's change is hidden with it, since the overall change
    shown beside it would give in person's away; both baselines stay shown."""
    path = build_change_db(tmp_path / "few.duckdb", without_post={"in_person": 3})
    rows = _by_format(Database(path, min_cell_size=11))
    assert rows["in_person"]["n_completers"] == 15
    for row in rows.values():
        assert row["suppressed"] is False and row["hedges_g"] is not None
        assert row["change_suppressed"] is True
        assert all(row[k] is None for k in CHANGE_KEYS)
    full = _by_format(Database(path, min_cell_size=3))
    assert not any(r["change_suppressed"] for r in full.values())


def test_groups_hidden_for_the_baseline_hide_their_change_and_rows_keep_one_key_set(small):
    hidden = _by_format(Database(small, min_cell_size=13))
    shown = _by_format(Database(small, min_cell_size=11))
    for row in hidden.values():
        assert row["suppressed"] is True and row["change_suppressed"] is True
        assert all(row[k] is None for k in ATTRITION_KEYS)
    assert set(hidden["online"]) == set(shown["online"])
    assert set(ATTRITION_KEYS) <= set(shown["online"])


def test_published_change_hides_the_same_groups_and_moves_by_little(world):
    """Sponsors' figures: the same groups and changes hidden; counts within two; each mean
    change within a twentieth of its 95% CI half-width (the promise from 200 people) and the
    difference within a tenth of its own, plus rounding; the same answer twice; and the
    completers' change n equals their baseline n (the same people get the same count)."""
    db = Database(world)
    for by in ((), ("format",)):
        exact = attrition_bias(db, scale_id="CONF", wave_to=YEAR, by=by)
        published = attrition_bias(db, scale_id="CONF", wave_to=YEAR, by=by,
                                   filters=Filters(published=True))
        assert published == attrition_bias(db, scale_id="CONF", wave_to=YEAR, by=by,
                                           filters=Filters(published=True))
        for e, p in zip(exact, published, strict=True):
            assert set(e) == set(p)
            assert (e["suppressed"], e["change_suppressed"]) == (
                p["suppressed"], p["change_suppressed"])
            assert p["change_n_completers"] == p["n_completers"]
            for side in ("completers", "dropouts"):
                n, sd = e[f"change_n_{side}"], e[f"change_sd_{side}"]
                assert abs(p[f"change_n_{side}"] - n) <= 2
                half = 1.96 * sd / math.sqrt(n)
                moved = abs(p[f"change_mean_{side}"] - e[f"change_mean_{side}"])
                assert moved <= half / 20 + 5e-4
            half = (e["change_difference_ci_high"] - e["change_difference_ci_low"]) / 2
            assert abs(p["change_difference"] - e["change_difference"]) <= half / 10 + 1e-3
            assert p["change_difference"] != e["change_difference"]  # it does carry noise
