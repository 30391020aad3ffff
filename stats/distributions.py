"""Scalar quantiles and tail areas of the t, normal, chi-square and F distributions.

These are the routines ``scipy.stats`` itself calls (``t.ppf`` is ``special.stdtrit``,
``chi2.sf`` is ``special.chdtrc``, and so on), called directly: the generic
``scipy.stats`` wrapper costs about 25 times the computation for one scalar, and the dashboard
computes thousands of intervals per filter change. ``tests/stats/test_distributions.py``
checks each against ``scipy.stats``.
"""

from __future__ import annotations

from scipy import special


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom."""
    return float(special.stdtrit(df, q))


def t_sf(x: float, df: float) -> float:
    """Upper tail area P(T > x) of Student's t."""
    return float(special.stdtr(df, -x))


def norm_ppf(q: float) -> float:
    """Quantile of the standard normal distribution."""
    return float(special.ndtri(q))


def norm_sf(x: float) -> float:
    """Upper tail area P(Z > x) of the standard normal distribution."""
    return float(special.ndtr(-x))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail area P(X > x) of the chi-square distribution."""
    return float(special.chdtrc(df, x))


def f_ppf(q: float, dfn: float, dfd: float) -> float:
    """Quantile of the F distribution with ``dfn`` and ``dfd`` degrees of freedom."""
    return float(special.fdtri(dfn, dfd, q))
