"""What an attacker does with published tables: linear algebra over the cells they overlap.

Every published figure is about a set of people, and the attacker knows each set as a union
of **atoms** (the finest cells they can name, e.g. audience x programme). ``Published`` is one
shown cell: its atoms, its count and its mean. ``estimate`` solves the published counts or
sums for the atoms by least squares and returns the attacker's figure for a target set, when
the tables determine it (the target lies in the span of the published cells); ``count_range``
is what integer programming can prove about a target's count, given that every published
count is within the documented perturbation of the true one (``warehouse.cell_key``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from warehouse.cell_key import COUNT_PTABLE

# The most a published count moves, from the documented perturbation table.
COUNT_MOVES = max(abs(change) for change, _ in COUNT_PTABLE)
RANK_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Published:
    """One shown cell: the atoms it covers, its published count and mean (None if not
    published in that table); ``exact`` when the count is known to be the true one (stated
    somewhere without perturbation)."""

    atoms: frozenset[Hashable]
    n: int
    mean: float | None = None
    exact: bool = False


def _matrix(cells: Sequence[Published], atoms: Sequence[Hashable]) -> np.ndarray:
    index = {a: i for i, a in enumerate(atoms)}
    rows = np.zeros((len(cells), len(atoms)))
    for r, cell in enumerate(cells):
        for atom in cell.atoms:
            rows[r, index[atom]] = 1.0
    return rows


def _vector(target: Iterable[Hashable], atoms: Sequence[Hashable]) -> np.ndarray:
    members = set(target)
    return np.array([1.0 if a in members else 0.0 for a in atoms])


def determined(cells: Sequence[Published], atoms: Sequence[Hashable],
               target: Iterable[Hashable]) -> bool:
    """Whether the published cells determine the target's total (it lies in their span)."""
    if not cells:
        return False
    a = _matrix(cells, atoms)
    t = _vector(target, atoms)
    rank = np.linalg.matrix_rank(a, tol=RANK_TOLERANCE)
    return np.linalg.matrix_rank(np.vstack([a, t]), tol=RANK_TOLERANCE) == rank


def estimate(cells: Sequence[Published], atoms: Sequence[Hashable],
             target: Iterable[Hashable], values: Sequence[float]) -> float | None:
    """The attacker's total for the target set from the cells' totals ``values`` (one per
    cell): the least-squares solution over the atoms, summed over the target. None when the
    cells do not determine it."""
    if not determined(cells, atoms, target):
        return None
    solution, *_ = np.linalg.lstsq(_matrix(cells, atoms), np.asarray(values, float),
                                   rcond=None)
    return float(_vector(target, atoms) @ solution)


def count_range(cells: Sequence[Published], atoms: Sequence[Hashable],
                target: Iterable[Hashable], *, floor: int,
                nonempty: Iterable[Hashable] = (), moves: int = COUNT_MOVES
                ) -> tuple[int, int]:
    """The least and greatest count of the target set consistent with every published
    count (integer programming): each atom holds a whole number of people, each published
    count is the true one moved by at most ``moves`` (the documented perturbation; 0 for
    exact figures and for cells marked ``exact``), every shown cell has at least ``floor``
    people, and each atom in
    ``nonempty`` (a group that was listed, shown or not) at least one. A range of one value
    pins the count: it is provably right."""
    a = _matrix(cells, atoms)
    slack = [0 if c.exact else moves for c in cells]
    low = np.array([max(c.n - m, floor) for c, m in zip(cells, slack, strict=True)], float)
    high = np.array([c.n + m for c, m in zip(cells, slack, strict=True)], float)
    lower_bounds = np.array([1.0 if atom in set(nonempty) else 0.0 for atom in atoms])
    constraints = [LinearConstraint(a, low, high)]
    t = _vector(target, atoms)
    ends = []
    for sign in (1.0, -1.0):
        result = milp(sign * t, constraints=constraints, integrality=np.ones(len(atoms)),
                      bounds=Bounds(lower_bounds, np.full(len(atoms), np.inf)))
        if not result.success:
            raise AssertionError(f"no count is consistent with the tables: {result.message}")
        ends.append(round(float(t @ result.x)))
    return ends[0], ends[1]
