"""Cost figures (``warehouse.cost``): hand-computed totals and ratios on a world of known
cohorts, bootstrap CIs equal to a resampling of the cohorts' own rows done here, the groups
that have nothing to pay for or no known cost, and published figures that follow from the
published counts, share and g for any disclosure key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stats.paired import hedges_j
from tests.warehouse.cost_world import COHORTS, SCORES, Cohort, build_cost_db
from warehouse.connection import Database
from warehouse.cost import (
    FEW_COHORTS,
    NO_COST,
    NO_IMPROVEMENT,
    RESAMPLES,
    SEED,
    cost,
    pooled_g,
)
from warehouse.filters import Filters
from warehouse.followup import people
from warehouse.outcomes import _change_stats, group_change

KEY_VARIABLE = "ATTUNE_DISCLOSURE_KEY_FILE"
WORKSHOP = [c for c in COHORTS if c.cohort_id in ("A", "B", "G")]  # in cohort order


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return build_cost_db(tmp_path_factory.mktemp("cost") / "world.duckdb")


def groups(result: dict, by: str = "format") -> dict:
    return {g[by]: g for g in result["groups"]}


def test_cost_per_participant_is_total_cost_over_people(world):
    shop = groups(cost(world, scale_id="CONF"))["workshop"]
    # A: 100 x 20, B: 300 x 30, G: 150 x 16
    assert shop["total_cost"] == pytest.approx(13400.0)
    assert shop["people"] == 66
    assert shop["cost_per_participant"] == pytest.approx(13400 / 66)
    assert shop["n_pairs"] == 61  # B's five who answered pre only are people, not pairs
    assert shop["cost_per_matched_participant"] == pytest.approx(13400 / 61)
    assert shop["cohorts"] == 3 and shop["cohorts_without_cost"] == 0


def test_cost_per_outcome_divides_by_the_share_improved_and_the_outcomes_g(world):
    shop = groups(cost(world, scale_id="CONF"))["workshop"]
    assert shop["pct_reliable_improved"] == pytest.approx(100 * 23 / 61)  # 10 + 5 + 8 of 61
    assert shop["cost_per_reliably_improved"] == pytest.approx((13400 / 66) / (23 / 61))
    shown = {r["format"]: r for r in group_change(world, scale_id="CONF", by=("format",))}
    assert shop["g"] == shown["workshop"]["g"]
    pre = [p for c in WORKSHOP for p, q in SCORES[c.cohort_id] if q is not None]
    post = [q for c in WORKSHOP for _, q in SCORES[c.cohort_id] if q is not None]
    g = hedges_j(60) * (np.mean(post) - np.mean(pre)) / np.std(pre, ddof=1)  # Becker 1988
    assert shop["g"] == pytest.approx(g)
    assert shop["cost_per_tenth_sd"] == pytest.approx((13400 / 66) / (g / 0.1))


def test_cohorts_of_unknown_cost_are_left_out_of_the_cost_and_counted(world):
    degree = groups(cost(world, scale_id="CONF"))["degree"]
    assert degree["cohorts_without_cost"] == 1
    assert (degree["people"], degree["n_pairs"]) == (40, 30)  # cohort C only
    assert degree["total_cost"] == pytest.approx(40000.0)
    assert degree["cost_per_participant"] == pytest.approx(1000.0)
    # the outcome is the group's, C and D together, as the Outcomes page shows it
    assert degree["pct_reliable_improved"] == pytest.approx(100 * 18 / 42)
    assert degree["cost_per_reliably_improved"] == pytest.approx(1000 / (18 / 42))
    # one cohort with a cost: nothing to resample
    assert degree["cost_per_tenth_sd_ci_low"] is None
    assert degree["reasons"]["cost_per_tenth_sd_ci"] == FEW_COHORTS
    short = groups(cost(world, scale_id="CONF"))["short_course"]
    assert all(short[f] is None for f in ("total_cost", "cost_per_participant",
                                          "cost_per_tenth_sd"))
    assert short["reasons"]["cost_per_participant"] == NO_COST


def test_no_improvement_gives_no_cost_per_outcome_never_a_negative_one(world):
    cert = groups(cost(world, scale_id="CONF"))["certificate"]
    assert cert["g"] < 0 and cert["pct_reliable_improved"] == 0
    assert cert["cost_per_participant"] == pytest.approx(500.0)
    for name in ("cost_per_reliably_improved", "cost_per_tenth_sd"):
        assert cert[name] is None
        assert cert["reasons"][name] == NO_IMPROVEMENT


def _resampled(draw: np.ndarray) -> tuple[float, float, float]:
    """Cost per matched pair, reliably improved per cost and tenths of an SD per cost of one
    resample of the workshop cohorts, from their people's own scores."""
    picked = [WORKSHOP[i] for i in draw]
    total = sum(c.cost * c.people for c in picked)
    per_person = total / sum(c.people for c in picked)
    pairs = [(p, q) for c in picked for p, q in SCORES[c.cohort_id] if q is not None]
    pre, post = np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])
    improved = sum(c.improved for c in picked)
    g = hedges_j(len(pre) - 1) * (post.mean() - pre.mean()) / pre.std(ddof=1)
    return total / len(pairs), improved / len(pairs) / per_person, g / 0.1 / per_person


def test_bootstrap_ci_equals_a_resampling_of_the_cohorts_rows_with_the_same_seed(world):
    shop = groups(cost(world, scale_id="CONF"))["workshop"]
    rng = np.random.default_rng(SEED)
    values = np.array([_resampled(rng.integers(0, len(WORKSHOP), size=len(WORKSHOP)))
                       for _ in range(RESAMPLES)])
    per_pair = np.quantile(values[:, 0], [0.025, 0.975])
    assert (shop["cost_per_matched_participant_ci_low"],
            shop["cost_per_matched_participant_ci_high"]) == pytest.approx(tuple(per_pair))
    for column, name in ((1, "cost_per_reliably_improved"), (2, "cost_per_tenth_sd")):
        low, high = np.quantile(values[:, column], [0.025, 0.975])
        assert (shop[f"{name}_ci_low"], shop[f"{name}_ci_high"]) == pytest.approx(
            (1 / high, 1 / low))
        assert shop[f"{name}_ci_low"] < shop[name] < shop[f"{name}_ci_high"]


def test_another_seed_draws_other_cohorts_and_the_same_seed_the_same(world):
    # few resamples: with 3 cohorts, 2000 of them put both ends on the extreme multisets
    result = cost(world, scale_id="CONF", seed=7, resamples=40)
    assert (result["seed"], result["resamples"]) == (7, 40)
    first = groups(result)["workshop"]
    again = groups(cost(Database(world), scale_id="CONF", seed=7, resamples=40))["workshop"]
    other = groups(cost(world, scale_id="CONF", seed=8, resamples=40))["workshop"]
    assert first == again
    assert first["cost_per_tenth_sd_ci_low"] != other["cost_per_tenth_sd_ci_low"]
    assert first["cost_per_tenth_sd"] == other["cost_per_tenth_sd"]


def test_resampled_g_is_the_g_outcomes_computes_from_the_same_sums(world):
    database = Database(world)
    snap = database.snapshot()
    info = snap.scales["CONF"]
    rows = database.fetch_dicts(
        "SELECT c.cidx, sum(n) AS n, sum(s_f) AS s_f, sum(s_t) AS s_t, sum(ss_f) AS ss_f, "
        "sum(ss_t) AS ss_t, sum(s_c) AS s_c, sum(ss_c) AS ss_c, sum(n_improved) AS n_improved,"
        " sum(n_deteriorated) AS n_deteriorated FROM memory.pair_cube AS c "
        "WHERE scale_id = 'CONF' AND wave_from = 'pre' AND wave_to = 'post' GROUP BY ALL")
    keys = ("n", "s_f", "s_t", "ss_f", "ss_t", "s_c", "ss_c")
    for counts in ([1, 0, 2, 0, 0, 0, 1], [0, 3, 0, 1, 1, 0, 0], [2, 2, 0, 0, 1, 1, 0]):
        drawn = [r for r, k in zip(rows, counts, strict=True) for _ in range(k)]
        pooled = {k: sum(r[k] for r in drawn) for k in (*keys, "n_improved",
                                                       "n_deteriorated")}
        assert pooled_g(np.array([[pooled[k] for k in keys]]), info)[0] == pytest.approx(
            _change_stats(pooled, info)["g"])


def test_suppressed_groups_show_no_figure(world):
    result = groups(cost(world, scale_id="CONF", min_cell_size=45))
    cert = result["certificate"]
    assert cert["suppressed"] and cert["suppression"] == "small"
    hidden = [g for g in result.values() if g["suppressed"]]
    assert len(hidden) >= 2  # and another, so the total does not give it away
    for g in hidden:
        assert all(g[k] is None for k in g if k not in ("format", "suppressed", "suppression",
                                                        "reasons"))


def _published(world: Path, key_file: Path, monkeypatch, **kwargs) -> tuple[Database, dict]:
    key_file.write_text(np.random.default_rng().bytes(32).hex() + "\n")
    monkeypatch.setenv(KEY_VARIABLE, str(key_file))
    database = Database(world, **kwargs)
    database.snapshot()
    return database, groups(cost(database, scale_id="CONF",
                                 filters=Filters(published=True)))


def test_published_cost_follows_from_the_published_counts_share_and_g(world, tmp_path,
                                                                     monkeypatch):
    for attempt in range(4):  # a new disclosure key each time
        database, result = _published(world, tmp_path / f"{attempt}.key", monkeypatch)
        published = Filters(published=True)
        shown = {r["format"]: r for r in group_change(database, scale_id="CONF",
                                                      by=("format",), filters=published)}
        counted = {r["format"]: r for r in people(database, by=("format",),
                                                  filters=published)}
        shop = result["workshop"]
        # every workshop cohort has a cost: its people and pairs are the pages' own
        assert shop["people"] == counted["workshop"]["n_people"]
        assert shop["n_pairs"] == shown["workshop"]["n_pairs"]
        assert abs(shop["people"] - 66) <= 2 and abs(shop["n_pairs"] - 61) <= 2
        # weighted by counts that move by at most 2: (100 x 22 + 300 x 28 ...) / 66 and back
        assert abs(shop["cost_per_participant"] - 13400 / 66) <= 11
        for fmt, g in result.items():
            if g["cost_per_participant"] is None:
                continue
            per_person = g["cost_per_participant"]
            assert g["g"] == shown[fmt]["g"]
            assert g["pct_reliable_improved"] == shown[fmt]["pct_reliable_improved"]
            assert g["total_cost"] == round(per_person * g["people"])
            assert g["cost_per_matched_participant"] == round(g["total_cost"] / g["n_pairs"])
            if g["g"] > 0:
                assert g["cost_per_tenth_sd"] == round(per_person / (g["g"] / 0.1))
                assert g["cost_per_reliably_improved"] == round(
                    per_person / (g["pct_reliable_improved"] / 100))
            figures = [g[k] for k in g if k.startswith(("total", "cost_per"))]
            assert all(v is None or v == round(v) for v in figures)  # whole currency units
        low, high = shop["cost_per_tenth_sd_ci_low"], shop["cost_per_tenth_sd_ci_high"]
        assert low == float(f"{low:.2g}") and high == float(f"{high:.2g}")


def test_published_figures_never_show_a_suppressed_group(world, tmp_path, monkeypatch):
    _, result = _published(world, tmp_path / "key", monkeypatch, min_cell_size=45)
    hidden = [g for g in result.values() if g["suppressed"]]
    assert {g["format"] for g in hidden} >= {"certificate"}
    for g in hidden:
        assert g["suppression"] is None  # published figures never say why
        assert all(v is None for k, v in g.items()
                   if k not in ("format", "suppressed", "suppression", "reasons"))
        assert g["reasons"] == {}


def test_published_cost_is_the_same_for_the_same_key(world, tmp_path, monkeypatch):
    database, first = _published(world, tmp_path / "key", monkeypatch)
    database.clear_cache()
    again = groups(cost(database, scale_id="CONF", filters=Filters(published=True)))
    assert first == again


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_the_bootstraps_g_of_many_resamples_is_the_g_outcomes_computes_for_each(
        world, higher_is_better):
    """The resamples' g, computed as arrays, is the g the Outcomes pages compute from the same
    sums, resample by resample: everywhere, and where it shows none (too few pairs, no
    spread, a constant score)."""
    info = Database(world).snapshot().scales["CONF"]
    info = type(info)(**{**vars(info), "higher_is_better": higher_is_better})
    rng = np.random.default_rng(3)
    rows = []
    for n in rng.integers(1, 60, size=400):
        pre, post = rng.normal(3, 0.7, n), rng.normal(3.4, 0.8, n)
        rows.append([n, pre.sum(), post.sum(), (pre**2).sum(), (post**2).sum(),
                     (post - pre).sum(), ((post - pre) ** 2).sum()])
    same = np.full(5, 2.5)  # no spread at all: no g
    level = np.full(11, 3.3)  # no spread either, though the sums leave a rounding residue
    later = level + rng.normal(0.4, 0.3, 11)
    rows += [[5, same.sum(), same.sum() + 5, (same**2).sum(), ((same + 1)**2).sum(), 5.0, 5.0],
             [11, level.sum(), later.sum(), (level**2).sum(), (later**2).sum(),
              (later - level).sum(), ((later - level) ** 2).sum()],
             [2, 5.0, 6.0, 12.5, 18.1, 1.0, 0.6]]
    many = pooled_g(np.array(rows, dtype=float), info)
    keys = ("n", "s_f", "s_t", "ss_f", "ss_t", "s_c", "ss_c")
    for row, got in zip(rows, many, strict=True):
        sums = {**dict(zip(keys, row, strict=True)), "n_improved": 0, "n_deteriorated": 0}
        one = _change_stats(sums, info)["g"]
        assert (one is None and np.isnan(got)) or got == pytest.approx(one, rel=1e-12), row
    assert np.isnan(many[-3:]).all() and np.isfinite(many[:-3]).sum() > 350


def test_a_cohorts_weight_in_the_published_cost_is_its_own_published_count(tmp_path,
                                                                           monkeypatch):
    # The attack: two workshop cohorts of different cost, each its programme's only cohort,
    # so a sponsor reads each one's published people count, and the workshops' published
    # cost per participant is a weighted mean of the two costs. Were the weights noised
    # independently of the counts, every filter would give the attacker a second noisy look
    # at the same people, and two looks narrow down what one hides; with the counts' own
    # noise the cost tells nothing the counts did not.
    pair = (Cohort("X", "P1", 100.0, 30, 30, 10), Cohort("Y", "P3", 400.0, 25, 25, 5))
    world = build_cost_db(tmp_path / "pair.duckdb", pair)
    for attempt in range(6):  # a new disclosure key each time
        database, result = _published(world, tmp_path / f"{attempt}.key", monkeypatch)
        count = {}
        for cohort in pair:
            (row,) = people(database, filters=Filters(published=True,
                                                      program=(cohort.program_id,)))
            count[cohort.cohort_id] = row["n_people"]
        weighted = (100.0 * count["X"] + 400.0 * count["Y"]) / (count["X"] + count["Y"])
        assert result["workshop"]["cost_per_participant"] == round(weighted)
