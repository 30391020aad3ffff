"""Dates as whole days since 1970-01-01, the unit the generator computes in (numpy int64)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

_EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    """Days since 1970-01-01."""
    return (value - _EPOCH).days


def date_of(day: int) -> date:
    """The date of a day number."""
    return _EPOCH + timedelta(days=int(day))


def iso_date(day: int) -> str:
    """A day number written YYYY-MM-DD, as the input format wants it."""
    return date_of(day).isoformat()


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def weekday_of(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7
