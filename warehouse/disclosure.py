"""The small-cell disclosure rule: which groups to hide so that no hidden figure can be seen
or worked out from the figures shown beside it (docs/security.md, "Small cells").

Primary suppression hides a group below the minimum cell size. That is not enough when the
page also shows a total (or the groups can be summed to one): total minus the groups shown
is the hidden group. ``complementary_suppression`` hides further groups until no hidden
figure can be recovered by subtraction. Pure functions: no database here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

# Groupings whose values do not add up to a published total (the same people at several
# waves; one scale next to another): they split a result into independent tables (strata).
NON_ADDITIVE = frozenset({"wave_to", "scale_id"})
SUPPRESSION_PRIMARY = "small"
SUPPRESSION_COMPLEMENTARY = "complementary"


def cell_floor(default: int, requested: int | None) -> int:
    """The minimum cell size in force: ``requested`` when given, else ``default``."""
    value = default if requested is None else int(requested)
    if value < 1:
        raise ValueError("min_cell_size must be at least 1")
    return value


def complementary_suppression(
    keys: Sequence[Sequence[Any]],
    sizes: Sequence[Sequence[int]],
    dims: Sequence[str],
    hidden: Iterable[int],
    floor: int,
) -> set[int]:
    """The cells to hide so that no hidden cell can be recovered from the cells shown.

    ``keys[i]`` are cell i's values of ``dims``; ``sizes[i]`` its counts (the first is its n;
    more, e.g. completers and dropouts, are checked alike); ``hidden`` the primary-suppressed
    cells. Every *line* (the cells that differ only in one additive dimension, i.e. the
    siblings that sum to a margin or to the overall figure) is assumed to have its total
    published. Rule, repeated until stable:

    1. In every line with a hidden cell, at least two cells are hidden, and for every count
       the hidden cells add up to at least ``floor`` and to more than the number of hidden
       cells (so neither "total minus shown" nor "each group has at least one person" pins a
       hidden cell down). Otherwise the smallest shown cell of the line is hidden too
       (preferring cells that are not alone in another line).
    2. With two or more additive dimensions (a two-way table with margins), a linear audit:
       a hidden cell whose value follows from the line totals (its unit vector lies in the
       span of the line equations restricted to the hidden cells) gets the smallest shown
       cell of one of its lines hidden as well.

    Means and every other statistic are hidden with their n, and a hidden mean is
    recoverable only through its cell's sum ``n * mean``, which obeys the same line equations
    as n; so protecting the counts protects the means.
    """
    hidden = set(hidden)
    cells = list(range(len(keys)))
    additive = [i for i, d in enumerate(dims) if d not in NON_ADDITIVE]
    lines: list[list[int]] = []
    for d in additive:
        groups: dict[tuple, list[int]] = {}
        for c in cells:
            rest = tuple(v for i, v in enumerate(keys[c]) if i != d)
            groups.setdefault(rest, []).append(c)
        lines.extend(g for g in groups.values() if len(g) >= 2)
    if not lines or not hidden:
        return hidden
    lines_of: dict[int, list[list[int]]] = {c: [] for c in cells}
    for line in lines:
        for c in line:
            lines_of[c].append(line)
    n_lines = {c: len(lines_of[c]) for c in cells}

    def candidate(line: list[int]) -> int | None:
        shown = [c for c in line if c not in hidden]
        if not shown:
            return None
        # Prefer cells that lie in as many lines as the table has additive dimensions (not the
        # only cell of another line, whose margin would give it away), then the smallest.
        return min(shown, key=lambda c: (n_lines[c] < len(additive), sizes[c][0], c))

    def line_ok(line: list[int]) -> bool:
        h = [c for c in line if c in hidden]
        if not h:
            return True
        if len(h) < 2:
            return False
        for m in range(len(sizes[h[0]])):
            total = sum(sizes[c][m] for c in h)
            if total < floor or total <= len(h):
                return False
        return True

    changed = True
    while changed:
        changed = False
        for line in lines:
            if not line_ok(line):
                extra = candidate(line)
                if extra is not None:
                    hidden.add(extra)
                    changed = True
        if changed or len(additive) < 2:
            continue
        for c in sorted(_determined(lines, hidden)):
            options = [x for x in (candidate(line) for line in lines_of[c]) if x is not None]
            if options:
                hidden.add(min(options, key=lambda x: (sizes[x][0], x)))
                changed = True
                break
    return hidden


def _determined(lines: list[list[int]], hidden: set[int]) -> set[int]:
    """Hidden cells whose value follows linearly from the line totals and the shown cells."""
    cols = sorted(hidden)
    index = {c: i for i, c in enumerate(cols)}
    rows = []
    for line in lines:
        row = np.zeros(len(cols))
        for c in line:
            if c in index:
                row[index[c]] = 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for c, i in index.items():
        unit = np.zeros(len(cols))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.add(c)
    return out


def small_cells(sizes: Iterable[int], floor: int) -> set[int]:
    """Positions of the cells below the minimum cell size (primary suppression)."""
    return {i for i, n in enumerate(sizes) if n < floor}
