"""Confidence interval for a proportion: the Wilson score interval (Wilson 1927).

A share such as "% reliably improved" is a count out of n people; the interval that stays
inside [0, 1] and keeps close to its nominal coverage for small n and shares near 0 or 1 is
Wilson's score interval (Newcombe 1998 compares seven methods; the Wald interval p ± z·SE
is the worst of them and can leave [0, 1]).
"""

from __future__ import annotations

import math

from stats.distributions import norm_ppf

NAN = float("nan")


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``n``, as proportions.

    With z = Φ⁻¹((1 + level) / 2) and p̂ = successes / n (Wilson 1927; Newcombe 1998,
    method 3): centre (p̂ + z²/2n) / (1 + z²/n), half-width
    z · √(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n). Gives (NaN, NaN) when n is 0; raises
    ``ValueError`` for a count outside 0..n or a level outside (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"successes must be between 0 and n: got {successes} of {n}")
    if n == 0:
        return NAN, NAN
    z = norm_ppf((1 + level) / 2)
    share = successes / n
    z2n = z * z / n
    centre = (share + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(share * (1 - share) / n + z2n / (4 * n)) / (1 + z2n)
    # The exact ends: 0 successes gives 0, all successes gives 1 (not 1e-17 off).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
