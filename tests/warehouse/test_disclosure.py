"""The small-cell disclosure rule: primary and complementary suppression, so that no
combination of the figures shown together recovers a hidden count or mean, in every query."""

from __future__ import annotations

import itertools
import shutil

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stats.tiers import evidence_tier
from warehouse.connection import Database
from warehouse.disclosure import complementary_suppression
from warehouse.evidence import program_evidence
from warehouse.filters import Filters
from warehouse.followup import people
from warehouse.outcomes import STAT_KEYS, change_distribution, group_change, pair_counts

FLOOR = 11


def determined(equations: list[list[float]], unknown: int) -> bool:
    """Whether unknown ``unknown`` follows from the equations (rows over all unknowns)."""
    if not equations:
        return False
    a = np.array(equations, dtype=float)
    unit = np.zeros(a.shape[1])
    unit[unknown] = 1.0
    return np.linalg.matrix_rank(np.vstack([a, unit])) == np.linalg.matrix_rank(a)


def published_equations(keys, dims, hidden, sizes):
    """The equations a reader has: every shown cell, every line total (margins) and the
    overall total that is not itself below the floor, over the unknowns = the hidden cells."""
    cols = sorted(hidden)
    index = {c: i for i, c in enumerate(cols)}
    eqs = []
    groups: dict[tuple, list[int]] = {}
    for d in range(len(dims)):
        for c, k in enumerate(keys):
            groups.setdefault((d, *(v for i, v in enumerate(k) if i != d)), []).append(c)
    groups[("all",)] = list(range(len(keys)))
    for members in groups.values():
        if sum(sizes[c] for c in members) < FLOOR:
            continue  # that margin is primary-suppressed where it is shown
        row = [0.0] * len(cols)
        for c in members:
            if c in index:
                row[index[c]] = 1.0
        if any(row):
            eqs.append(row)
    return cols, eqs


# --- the rule on generated tables --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=2, max_size=8))
def test_one_way_no_hidden_count_or_mean_is_recoverable(sizes):
    keys = [(i,) for i in range(len(sizes))]
    small = {i for i, n in enumerate(sizes) if n < FLOOR}
    hidden = complementary_suppression(keys, [(n,) for n in sizes], ("g",), small, FLOOR)
    assert small <= hidden
    if not hidden:
        return
    if sum(sizes) < FLOOR:  # the total is itself suppressed: nothing to subtract from
        assert hidden == set(range(len(sizes)))
        return
    # A reader knows every shown cell and the total: the hidden cells' sum, and nothing more.
    h = sorted(hidden)
    n_left = sum(sizes) - sum(sizes[i] for i in range(len(sizes)) if i not in hidden)
    assert len(h) >= 2, "a single hidden cell is total minus the rest"
    assert n_left >= FLOOR and n_left > len(h)
    # No hidden count follows from those equations, nor (n_left > len(h)) from "every group
    # has at least one person"; a hidden mean is known only through its sum n * mean, which
    # obeys the same equations.
    unknowns, eqs = published_equations(keys, ("g",), hidden, sizes)
    for j, cell in enumerate(unknowns):
        assert not determined(eqs, j), (sizes, sorted(hidden), cell)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4), st.integers(2, 4), st.data())
def test_two_way_table_with_margins_no_hidden_cell_is_determined(rows, cols, data):
    sizes = data.draw(st.lists(st.integers(1, 40), min_size=rows * cols,
                               max_size=rows * cols))
    keys = list(itertools.product(range(rows), range(cols)))
    small = {i for i, n in enumerate(sizes) if n < FLOOR}
    hidden = complementary_suppression(keys, [(n,) for n in sizes], ("a", "b"), small, FLOOR)
    assert small <= hidden
    if not hidden:
        return
    unknowns, eqs = published_equations(keys, ("a", "b"), hidden, sizes)
    for j, cell in enumerate(unknowns):
        assert not determined(eqs, j), (sizes, sorted(hidden), cell)
    # every row and column with a hidden cell hides at least two, adding up to >= FLOOR
    for d in range(2):
        lines: dict = {}
        for c, k in enumerate(keys):
            lines.setdefault(k[1 - d], []).append(c)
        for line in lines.values():
            h = [c for c in line if c in hidden]
            if h and len(h) < len(line):
                assert len(h) >= 2 and sum(sizes[c] for c in h) >= FLOOR


def test_strata_are_not_summed():
    # Waves are the same people twice: no total across them, so nothing extra is hidden.
    keys = [("post", "hr"), ("post", "educator"), ("followup_3m", "hr")]
    hidden = complementary_suppression(keys, [(30,), (5,), (40,)], ("wave_to", "audience"),
                                       {1}, FLOOR)
    assert hidden == {0, 1}


def test_two_small_cells_adding_up_to_little_need_a_third():
    # 1 + 2 = 3 people hidden: "total minus shown" gives 3, and both are at least 1, so a
    # reader knows they are 1 and 2 (or 2 and 1) and a small total: hide one more.
    hidden = complementary_suppression([(i,) for i in range(4)], [(1,), (2,), (30,), (50,)],
                                       ("g",), {0, 1}, FLOOR)
    assert hidden == {0, 1, 2}


# --- end to end on a fixture database --------------------------------------------------------

GROUPS = {
    ("hr", "workshop"): 20, ("educator", "workshop"): 7, ("coach", "workshop"): 16,
    ("hr", "degree"): 12, ("educator", "degree"): 15, ("coach", "degree"): 13,
}


def _post(i: int) -> float:
    """Participant i's post score in ``tests.support.build_tiny_db``."""
    return 2 + (i % 5) * 0.25 + 0.5 + (i % 3) * 0.25


@pytest.fixture
def table_db(tiny_db_factory):
    return tiny_db_factory(GROUPS)


def test_explorer_page_figures_do_not_determine_a_suppressed_cell(table_db):
    """The explorer shows audience x format cells, one-way margins (reliable change by
    audience or format) and the overall figure: together, no hidden n or mean follows."""
    db = Database(table_db, min_cell_size=FLOOR)
    cells = list(GROUPS)
    index = {k: i for i, k in enumerate(cells)}
    eqs, values_n, values_s = [], [], []

    def add(members, row):
        if row["suppressed"]:
            return
        vec = [0.0] * len(cells)
        for m in members:
            vec[index[m]] = 1.0
        eqs.append(vec)
        values_n.append(row["n_pairs"])
        values_s.append(row["n_pairs"] * row["mean_to"])

    two_way = group_change(db, scale_id="CONF", by=("audience", "format"))
    for row in two_way:
        add([(row["audience"], row["format"])], row)
    for row in group_change(db, scale_id="CONF", by=("audience",)):
        add([k for k in cells if k[0] == row["audience"]], row)
    for row in group_change(db, scale_id="CONF", by=("format",)):
        add([k for k in cells if k[1] == row["format"]], row)
    for row in group_change(db, scale_id="CONF", by=()):
        add(cells, row)
    hidden = [(r["audience"], r["format"]) for r in two_way if r["suppressed"]]
    assert ("educator", "workshop") in hidden and len(hidden) >= 2
    for cell in hidden:
        assert not determined(eqs, index[cell]), cell
    # the shown figures are the true ones (so the equations above are the right ones): each
    # shown n and each shown n * mean_to is the sum over the cells it covers
    truth_n = np.array([GROUPS[k] for k in cells], dtype=float)
    truth_s = np.array([sum(_post(i) for i in range(GROUPS[k])) for k in cells])
    assert np.allclose(np.array(eqs) @ truth_n, values_n)
    assert np.allclose(np.array(eqs) @ truth_s, values_s)
    # the primary-suppressed count appears nowhere in the results
    shown = [r["n_pairs"] for r in two_way if not r["suppressed"]]
    assert 7 not in shown


def test_complementary_rows_are_marked_and_fully_hidden(table_db):
    db = Database(table_db, min_cell_size=FLOOR)
    rows = group_change(db, scale_id="CONF", by=("audience",), filters=Filters(
        format=("workshop",)))
    by_audience = {r["audience"]: r for r in rows}
    assert by_audience["educator"]["suppression"] == "small"
    extra = [r for r in rows if r["suppression"] == "complementary"]
    assert [r["audience"] for r in extra] == ["coach"]  # the smallest other cell (16)
    for key in STAT_KEYS:
        assert extra[0][key] is None
    assert by_audience["hr"]["n_pairs"] == 20


def test_complementary_can_be_turned_off(table_db):
    db = Database(table_db, min_cell_size=FLOOR)
    rows = group_change(db, scale_id="CONF", by=("audience",),
                          filters=Filters(format=("workshop",)), complementary=False)
    assert [r["suppressed"] for r in rows] == [True, False, False]


def test_people_and_pair_counts_and_histogram_apply_the_rule(table_db):
    db = Database(table_db, min_cell_size=FLOOR)
    wk = Filters(format=("workshop",))
    ppl = people(db, by=("audience",), filters=wk)
    assert sum(1 for r in ppl if r["suppressed"]) == 2
    counts = pair_counts(db, scale_id="CONF", by=("audience",), filters=wk)
    assert sum(1 for r in counts if r["suppressed"]) == 2
    dist = change_distribution(db, scale_id="CONF")
    hidden = [b for b in dist["bins"] if b["suppressed"]]
    assert len(hidden) != 1
    shown_total = sum(b["n"] for b in dist["bins"] if not b["suppressed"])
    assert hidden == [] or dist["n_pairs"] - shown_total >= FLOOR


def test_suppression_reaches_every_public_query(tiny_db):
    db = Database(tiny_db, min_cell_size=11)
    only_small = Filters(audience=("educator",))
    assert group_change(db, scale_id="CONF", by=(), filters=only_small)[0]["suppressed"]
    assert change_distribution(db, scale_id="CONF", filters=only_small)["suppressed"]
    ppl = people(db, filters=only_small)
    assert ppl[0]["suppressed"] and ppl[0]["n_people"] is None
    # histogram bins under the cell size carry no count
    dist = change_distribution(db, scale_id="CONF")
    assert all(b["n"] is None for b in dist["bins"] if b["suppressed"])
    assert all(b["n"] >= 11 for b in dist["bins"] if not b["suppressed"])
    # programme tiers for small programmes are hidden
    assert all(p["tier"] is None for p in program_evidence(db, scale_id="CONF",
                                                           filters=only_small))


def test_a_programme_whose_dropouts_are_hidden_keeps_the_tier_its_exact_attrition_earns(
        tiny_db_factory, tmp_path):
    """Three dropouts of 40 (7.5%) are too few to show, so the attrition shown is hidden;
    the tier is still decided on the exact attrition (never read as "not reported")."""
    db = tmp_path / "dropouts.duckdb"
    shutil.copy(tiny_db_factory({("hr", "degree"): 40, ("hr", "workshop"): 30}), db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM responses WHERE wave = 'post' AND participant_id IN "
                "('hr-degree-0', 'hr-degree-1', 'hr-degree-2')")
    con.close()
    for published in (False, True):
        rows = {r["program"]: r for r in program_evidence(
            Database(db), scale_id="CONF", filters=Filters(published=published))}
        degree = rows["P0"]
        assert degree["attrition_pct"] is None  # 3 dropouts: not shown
        exact = evidence_tier("single_group_pre_post", 37, 7.5, None)
        assert degree["tier"] == exact.tier
        assert degree["tier"] > evidence_tier("single_group_pre_post", 37, None, None).tier
