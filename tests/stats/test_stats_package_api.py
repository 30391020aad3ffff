"""The stats package's public surface: re-exports, frozen results, no I/O dependencies."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import stats

REPO_ROOT = Path(__file__).resolve().parents[2]

RESULT_TYPES = [
    stats.PairedChange,
    stats.Alpha,
    stats.ReliableChangeShares,
    stats.AttritionBias,
    stats.MetaResult,
    stats.EvidenceTier,
    stats.RegressionFit,
    stats.Coefficient,
    stats.ArmEffect,
    stats.BaselineEquivalence,
    stats.AttritionStandard,
    stats.BootstrapCI,
    stats.MixedFit,
]


def test_every_public_name_is_re_exported():
    for name in stats.__all__:
        assert hasattr(stats, name), name


@pytest.mark.parametrize("result_type", RESULT_TYPES, ids=lambda t: t.__name__)
def test_results_are_frozen_dataclasses_with_as_dict(result_type):
    assert dataclasses.is_dataclass(result_type)
    assert result_type.__dataclass_params__.frozen
    assert callable(result_type.as_dict)


def test_importing_stats_pulls_in_no_dash_duckdb_or_pandas():
    code = (
        "import sys, stats; "
        "bad = [m for m in ('dash', 'duckdb', 'pandas', 'plotly') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
