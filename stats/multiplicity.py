"""Multiple-comparison adjustment for the dashboard's many scale-by-wave tests.

A programme page shows a p value for every scale and wave pair; with a dozen tests some will
be "significant" by chance. Benjamini-Hochberg keeps the expected share of false
discoveries among the flagged results at the nominal rate, without Bonferroni's loss of power.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def benjamini_hochberg(p_values: Iterable[float | None]) -> list[float]:
    """Benjamini-Hochberg adjusted p values, in the input order.

    Missing entries (None or NaN) come back as NaN and do not count towards the number of
    tests m, so an unavailable test does not make the others look stronger or weaker.
    Equals statsmodels ``multipletests(method='fdr_bh')`` on the non-missing entries.
    """
    raw = [math.nan if p is None else float(p) for p in p_values]
    present = [i for i, p in enumerate(raw) if not math.isnan(p)]
    for i in present:
        if not 0 <= raw[i] <= 1:
            raise ValueError(f"p values must lie in [0, 1], got {raw[i]!r} at position {i}")
    adjusted = [math.nan] * len(raw)
    m = len(present)
    if m == 0:
        return adjusted
    p = np.array([raw[i] for i in present])
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, m + 1)
    # Benjamini & Hochberg 1995: p_(i) * m / i, made monotone from the largest p down
    stepped = np.minimum.accumulate((p[order] * m / ranks)[::-1])[::-1]
    stepped = np.minimum(stepped, 1.0)
    for position, value in zip(order, stepped, strict=True):
        adjusted[present[position]] = float(value)
    return adjusted
