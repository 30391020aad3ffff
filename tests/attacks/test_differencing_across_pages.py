"""Differencing across pages and downloads, played as SP1's sponsor: one filter state, one
ZIP download ("Download all chart data" on the methods page), every table in it read
together; and the evidence tier table of two date windows.

Issue 12 took the overview headline minus the heatmap's shown cells minus the tier table's
programme rows and got a hidden cell (n = 7). Here the attacker solves the ZIP's tables at
once over the audience x programme cells: the headline (every pair), the heatmap (audience x
format), reliable change by format and by audience, the gap map (audience), the forest and
the tier table (programme), and any count the tier table's text states. The control runs the
same attack on a trusted role's exact download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from dashboard.style import label
from tests.attacks.attack_data import OWN, PROGRAMS, SCALE, SCALES, AttackData, Cohort
from tests.attacks.playing import Viewer, dashboard_state, sides
from tests.attacks.solving import COUNT_MOVES, Published, count_range, determined, estimate

# How near a reconstruction from exact figures comes, given that every CSV rounds a float to 4
# decimals (dashboard.components.CSV_DIGITS): the evaluator's control below comes within about
# 6e-5; a published mean, rounded and perturbed, stays well away (about 3e-3 at the least seen).
EXACT = 2e-4
ALL = "All matching cohorts"
STATED_COUNT = re.compile(r"\bhas (\d+)\b")  # how the tier reasons state a count


def _hidden(row: dict[str, str], count: str = "Matched pairs") -> bool:
    """A CSV row of a hidden group: its count is empty (whatever its flag column is called)."""
    return row[count] == ""


@dataclass
class Download:
    """The ZIP's tables for one scale, as cells over the audience x programme atoms."""

    scale_id: str
    atoms: list[tuple[str, str]]
    shown: list[Published]
    hidden: list[frozenset]
    mean_cells: list[tuple[Published, int]]  # cells with a mean change, and their true size


def _cells(atoms, **where) -> frozenset:
    def keeps(atom):
        audience, program = atom
        values = {"audience": audience, "program": program, "format": PROGRAMS[program][1]}
        return all(values[k] == v for k, v in where.items())
    return frozenset(a for a in atoms if keeps(a))


def read_download(viewer: Viewer, attack: AttackData, scale_id: str, **extra) -> Download:
    """The ZIP for the scale (two states: reliable change by format and by audience)."""
    own = [p for p in attack.people if p.cohort.sponsor == OWN]
    atoms = sorted({(p.audience, p.cohort.program_id) for p in own})
    scale = SCALE[scale_id]
    by_label = {("audience", label("audience", a)): a for a, _ in atoms}
    by_label |= {("format", label("format", PROGRAMS[p][1])): PROGRAMS[p][1] for _, p in atoms}
    by_name = {name: p for p, (name, _, _) in PROGRAMS.items()}
    shown, hidden = [], []

    def add(cell: frozenset, n: str, mean: str | None = None, exact: bool = False) -> None:
        shown.append(Published(cell, int(n), float(mean) if mean else None, exact))

    for by in ("format", "audience"):
        tables = viewer.zip(dashboard_state(scale=scale_id, by=by, **extra))
        for row in tables["explorer-reliable"]:
            if not _hidden(row):
                group = row[next(iter(row))]
                add(frozenset(atoms) if group == ALL else
                    _cells(atoms, **{by: by_label[(by, group)]}), row["Matched pairs"])
    for row in tables["overview-headline"]:
        if row["Scale"] == scale.name and not _hidden(row):
            add(frozenset(atoms), row["Matched pairs"], row["Mean change (improvement +)"])
    for row in tables["explorer-heatmap"]:
        cell = _cells(atoms, audience=row["Audience"], format=row["Format"])
        if _hidden(row):
            hidden.append(cell)
        else:
            add(cell, row["Matched pairs"], row["Mean change (improvement +)"])
    for row in tables["evidence-gap"]:
        if row["Source"] == "Our cohorts" and row["Outcome domain"] == scale.domain:
            add(_cells(atoms, audience=by_label[("audience", row["Audience"])]), row["People"])
    for row in tables["evidence-forest"]:
        if row["Source"] == "Our programme" and not _hidden(row, "n"):
            add(_cells(atoms, program=by_name[row["Study / programme"]]), row["n"])
    for row in tables["evidence-tiers"]:
        if not _hidden(row):
            cell = _cells(atoms, program=row["Programme id"])
            add(cell, row["Matched pairs"])
            for stated in STATED_COUNT.findall(row["Reasons"]):
                add(cell, stated, exact=True)
    sizes = {c: attack.truth(scale_id, [p for p in own if (p.audience, p.cohort.program_id)
                                        in c]).n for c in {c.atoms for c in shown}}
    means = [(c, sizes[c.atoms]) for c in shown if c.mean is not None]
    return Download(scale_id, atoms, shown, hidden, means)


@pytest.fixture(scope="module")
def published(sponsor, attack) -> list[Download]:
    return [read_download(sponsor, attack, s.scale_id) for s in SCALES]


@pytest.fixture(scope="module")
def exact(evaluator, attack) -> list[Download]:
    return [read_download(evaluator, attack, s.scale_id, sponsor=[OWN]) for s in SCALES]


def _targets(download: Download) -> list[frozenset]:
    """Each hidden heatmap cell, and all of them together (itself a group never shown)."""
    union = frozenset().union(*download.hidden)
    return [*download.hidden, union] if download.hidden else []


def _mean_errors(download: Download, attack: AttackData) -> dict[tuple, float]:
    cells = [c for c, _ in download.mean_cells]
    sums = [c.mean * n for c, n in download.mean_cells]
    out = {}
    for target in _targets(download):
        total = estimate(cells, download.atoms, target, sums)
        if total is None:
            continue
        truth = attack.truth(download.scale_id, [
            p for p in attack.people
            if p.cohort.sponsor == OWN and (p.audience, p.cohort.program_id) in target])
        out[(download.scale_id, tuple(sorted(target)))] = total / truth.n - truth.mean_change
    return out


def test_headline_minus_heatmap_cells_never_gives_the_hidden_cells_exact_mean(
        published, exact, attack):
    found = {k: e for d in published for k, e in _mean_errors(d, attack).items()}
    assert found, "the download determines some hidden group's mean"
    exactly = [k for k, e in found.items() if abs(e) < EXACT]
    assert not exactly, f"hidden groups' mean change recovered exactly: {exactly}"
    control = {k: e for d in exact for k, e in _mean_errors(d, attack).items()}
    assert control.keys() == found.keys()
    assert all(abs(e) < EXACT for e in control.values()), control


def test_tables_of_one_download_do_not_pin_a_hidden_count(published, exact, attack, sponsor):
    floor = sponsor.db.min_cell_size
    pinned = []
    for download in published:
        for target in _targets(download):
            true = attack.truth(download.scale_id, [
                p for p in attack.people
                if p.cohort.sponsor == OWN and (p.audience, p.cohort.program_id) in target]).n
            low, high = count_range(download.shown, download.atoms, target, floor=floor,
                                    nonempty=download.atoms)
            assert low <= true <= high
            if low == high:
                pinned.append((download.scale_id, sorted(target), true))
    assert not pinned, f"hidden counts provably pinned by one download: {pinned}"
    determined_anywhere = False
    for download in exact:  # the control: exact counts pin what the tables determine
        for target in _targets(download):
            if determined(download.shown, download.atoms, target):
                determined_anywhere = True
                low, high = count_range(download.shown, download.atoms, target, floor=floor,
                                        nonempty=download.atoms, moves=0)
                assert low == high
    assert determined_anywhere


def _tier_candidates(viewer: Viewer, cohort: Cohort, side, scale_id: str):
    """What the tier tables of the two windows prove about the cohort's size: the values
    consistent with both programme rows (published count within COUNT_MOVES, any count the
    row's text states exactly); None when either row is not shown."""
    ranges = []
    for window in (side.with_it, side.without):
        chart = viewer.chart("evidence-tiers", dashboard_state(scale=scale_id, **window))
        rows = [r for r in chart["data"]["records"] if r["program"] == cohort.program_id]
        if not rows or rows[0]["suppressed"]:
            return None
        stated = {int(n) for n in STATED_COUNT.findall(rows[0]["reasons_text"] or "")}
        ranges.append(stated or set(range(rows[0]["n_pairs"] - COUNT_MOVES,
                                          rows[0]["n_pairs"] + COUNT_MOVES + 1)))
    with_it, without = ranges
    return {a - b for a in with_it for b in without if a - b >= 0}


def test_tier_tables_of_two_windows_do_not_pin_a_cohorts_size(sponsor, attack):
    """The tier table is published per programme for any window; a count stated in a tier's
    reasons ("needs at least 50 matched pairs; has 30") is the exact one, whatever the
    table's perturbed column says, so two windows one cohort apart would give that cohort's
    exact size."""
    scale_id = SCALES[0].scale_id
    pinned, attacked = [], 0
    for cohort in attack.own_cohorts():
        for side in sides(cohort):
            candidates = _tier_candidates(sponsor, cohort, side, scale_id)
            if candidates is None:
                continue
            attacked += 1
            true = attack.truth(scale_id, [p for p in attack.people if p.cohort == cohort]).n
            assert true in candidates
            if len(candidates) == 1:
                pinned.append((cohort.cohort_id, side.name, true))
    assert attacked >= len(attack.own_cohorts())
    assert not pinned, f"cohort sizes pinned by the tier tables: {pinned}"
