"""Internal consistency of a multi-item scale: Cronbach's alpha with the Feldt interval.

Alpha is reported next to each scale so readers can judge how noisy its scores are, and it
feeds the reliable-change threshold (``stats.reliable_change``). Two entry points give the
same numbers: ``cronbach_alpha`` from an item matrix, ``cronbach_alpha_from_variances`` from
the aggregates DuckDB computes (n, k, sum of item variances, variance of the total score).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stats.distributions import f_ppf

from .paired import _float

NAN = float("nan")


@dataclass(frozen=True)
class Alpha:
    """Cronbach's alpha of k items over n complete respondents, with its Feldt CI."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    k: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)


def cronbach_alpha_from_variances(
    n: int,
    k: int,
    sum_item_variances: float | None,
    total_score_variance: float | None,
    level: float = 0.95,
) -> Alpha:
    """Alpha from aggregates: n respondents, k items, sum of item variances, total variance.

    Both variances must use the same denominator (n - 1 in Attune). NaN alpha when n < 2,
    k < 2 or the total score does not vary (None, a SQL NULL, reads as missing).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    n, k = int(n or 0), int(k or 0)
    total = _float(total_score_variance)
    if n < 2 or k < 2 or not total > 0:
        return Alpha(alpha=NAN, ci_low=NAN, ci_high=NAN, n=n, k=k)
    # Cronbach 1951: alpha = k/(k-1) * (1 - sum(var item) / var(total))
    alpha = k / (k - 1) * (1 - _float(sum_item_variances) / total)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    a = 1 - level
    # Feldt, Woodruff & Salih 1987: (1 - alpha_pop)/(1 - alpha) ~ F(n-1, (n-1)(k-1))
    ci_low = 1 - (1 - alpha) * f_ppf(1 - a / 2, df1, df2)
    ci_high = 1 - (1 - alpha) * f_ppf(a / 2, df1, df2)
    return Alpha(alpha=alpha, ci_low=ci_low, ci_high=ci_high, n=n, k=k)


def cronbach_alpha(items: ArrayLike, level: float = 0.95) -> Alpha:
    """Alpha from an (n respondents x k items) matrix, with listwise deletion.

    Rows with a missing (NaN/None) item are dropped entirely, as in pingouin and
    R psych::alpha(use = "complete.obs"), so all variances describe the same people.
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2:
        raise ValueError("items must be a 2-D array (respondents x items)")
    x = x[np.all(np.isfinite(x), axis=1)]
    n, k = x.shape
    if n < 2:
        return cronbach_alpha_from_variances(n, k, NAN, NAN, level)
    sum_item_var = float(x.var(axis=0, ddof=1).sum())
    total_var = float(x.sum(axis=1).var(ddof=1))
    return cronbach_alpha_from_variances(n, k, sum_item_var, total_var, level)
