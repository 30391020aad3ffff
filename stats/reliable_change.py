"""Reliable change (Jacobson & Truax 1991): which individuals changed beyond measurement error.

A group mean can improve while few individuals change more than the scale's own noise. The
Reliable Change Index divides a person's change by the standard error of a difference score,
which depends on the baseline SD and the scale's reliability (alpha or test-retest r).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stats.distributions import norm_ppf

NAN = float("nan")


@dataclass(frozen=True)
class ReliableChangeShares:
    """How many people reliably improved, did not reliably change, or reliably deteriorated.

    ``threshold`` is the smallest raw change (in scale points) that counts as reliable.
    """

    n: int
    n_improved: int
    n_unchanged: int
    n_deteriorated: int
    pct_improved: float
    pct_unchanged: float
    pct_deteriorated: float
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def s_diff(sd_pre: float, reliability: float) -> float:
    """Standard error of the difference between two scores on the scale.

    NaN unless sd_pre > 0 and 0 <= reliability < 1.
    """
    sd_pre, reliability = float(sd_pre), float(reliability)
    if not (sd_pre > 0 and math.isfinite(sd_pre) and 0 <= reliability < 1):
        return NAN
    # Jacobson & Truax 1991, p. 14: S_diff = sqrt(2 * SE^2), SE = s1 * sqrt(1 - r_xx)
    return math.sqrt(2) * sd_pre * math.sqrt(1 - reliability)


def _z_crit(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    return norm_ppf(0.5 + level / 2)


def reliable_change_threshold(sd_pre: float, reliability: float, level: float = 0.95) -> float:
    """Smallest raw change that is reliable: z_(1+level)/2 * S_diff (1.96 * S_diff at 95%)."""
    # Jacobson & Truax 1991: RC > 1.96 is unlikely (p < .05) without real change
    return _z_crit(level) * s_diff(sd_pre, reliability)


def rci(change: ArrayLike, sd_pre: float, reliability: float) -> float | np.ndarray:
    """Reliable Change Index = raw change / S_diff (a float for a scalar change, else array)."""
    # Jacobson & Truax 1991, p. 14: RC = (x2 - x1) / S_diff
    values = np.asarray(change, dtype=float) / s_diff(sd_pre, reliability)
    return float(values) if values.ndim == 0 else values


def classify_reliable_change(
    changes: ArrayLike,
    sd_pre: float,
    reliability: float,
    higher_is_better: bool = True,
    level: float = 0.95,
) -> ReliableChangeShares:
    """Count people whose change (to - from, raw scale units) is reliable, by direction.

    Improved: RCI beyond +z (1.959964 at 95%, "1.96") in the improvement direction;
    deteriorated: beyond -z; everything in between is "no reliable change". Missing changes
    (NaN) are dropped, so percentages are of people with both waves. ``sd_pre`` should be
    the baseline SD of the reference group (Attune: the pre-wave SD of the matched sample).
    Raises ValueError when no threshold can be computed (sd_pre <= 0 or reliability
    outside [0, 1)): silently calling everyone "unchanged" would be wrong.
    """
    sd = s_diff(sd_pre, reliability)
    if not math.isfinite(sd):
        raise ValueError(
            f"cannot classify reliable change with sd_pre={sd_pre!r}, "
            f"reliability={reliability!r}: need sd_pre > 0 and 0 <= reliability < 1"
        )
    z = _z_crit(level)
    values = np.asarray(changes, dtype=float).ravel()
    values = values[np.isfinite(values)]
    sign = 1.0 if higher_is_better else -1.0
    index = sign * values / sd  # RCI signed so that improvement is positive
    n = int(values.size)
    n_improved = int(np.sum(index > z))
    n_deteriorated = int(np.sum(index < -z))
    n_unchanged = n - n_improved - n_deteriorated

    def pct(count: int) -> float:
        return 100.0 * count / n if n else NAN

    return ReliableChangeShares(
        n=n,
        n_improved=n_improved,
        n_unchanged=n_unchanged,
        n_deteriorated=n_deteriorated,
        pct_improved=pct(n_improved),
        pct_unchanged=pct(n_unchanged),
        pct_deteriorated=pct(n_deteriorated),
        threshold=z * sd,
    )
