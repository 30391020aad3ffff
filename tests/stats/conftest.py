"""Shared fixtures for the statistics tests: the published reference data sets.

The CSVs in ``fixtures/`` are copies of public data (sources in ``fixtures/README.md``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from stats.meta import log_risk_ratio

FIXTURES = Path(__file__).parent / "fixtures"


def _read_csv(name: str) -> dict[str, np.ndarray]:
    with open(FIXTURES / name, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {column: np.array([float(row[column]) for row in rows]) for column in rows[0]}


@pytest.fixture
def lakens_movies() -> dict[str, np.ndarray]:
    """Lakens 2013, Table 3: ten people rate movie_1 and movie_2."""
    return _read_csv("lakens_2013_movies.csv")


@pytest.fixture
def alpha_items() -> np.ndarray:
    """pingouin's cronbach_alpha dataset: 15 respondents x 10 items."""
    columns = _read_csv("cronbach_alpha_15x10.csv")
    return np.column_stack([columns[f"Q{i}"] for i in range(1, 11)])


@pytest.fixture
def dat_bcg() -> dict[str, np.ndarray]:
    """metafor's dat.bcg (Colditz et al. 1994): 13 BCG vaccine trials."""
    return _read_csv("dat_bcg.csv")


@pytest.fixture
def bcg_yi_vi(dat_bcg) -> tuple[np.ndarray, np.ndarray]:
    """dat.bcg's log risk ratios and their sampling variances, as metafor's escalc("RR")."""
    pairs = [
        log_risk_ratio(tpos, tpos + tneg, cpos, cpos + cneg)
        for tpos, tneg, cpos, cneg in zip(
            dat_bcg["tpos"], dat_bcg["tneg"], dat_bcg["cpos"], dat_bcg["cneg"], strict=True
        )
    ]
    yi, vi = (np.array(column) for column in zip(*pairs, strict=True))
    return yi, vi
