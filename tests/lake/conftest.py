"""Fixtures of the lake tests: lakes exported from the shared demo database and from small
databases, and how two `summarize` answers are compared (every group, every field, to 1e-9).
The consortium of two providers with their own pseudonym keys is in tests/conftest.py."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attune.cli import app
from etl.lake_export import export_lake
from tests.support import build_tiny_db

TOLERANCE = 1e-9
# Small groups of the tiny databases: 7 + 7 hr/workshop pairs are small in each provider and
# shown when pooled; hr/degree 12 each.
TINY_GROUPS = {("hr", "workshop"): 7, ("hr", "degree"): 12}


def summarize(*args: str) -> list[dict]:
    """`attune summarize ... --json` run in-process: its rows."""
    result = CliRunner().invoke(app, ["summarize", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_same_rows(got: list[dict], expected: list[dict]) -> None:
    """Every group of ``expected`` in ``got``, in the same order, every field equal (numbers
    to 1e-9, relative or absolute)."""
    assert len(got) == len(expected), (len(got), len(expected))
    for new, old in zip(got, expected, strict=True):
        assert new.keys() == old.keys()
        for field, value in old.items():
            other = new[field]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(other, value, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (
                    field, other, value, old)
            else:
                assert other == value, (field, other, value, old)


@pytest.fixture(scope="session")
def demo_lake(demo_db, tmp_path_factory) -> Path:
    """The shared demo database exported once, as provider ``north``."""
    lake = tmp_path_factory.mktemp("demo-lake") / "lake"
    export_lake(demo_db, lake, "north")
    return lake


@pytest.fixture
def tiny_pair(tmp_path) -> Iterator[tuple[Path, Path]]:
    """Two tiny databases with the same participant and cohort ids (``hr-workshop-0``, C0, ...),
    as two providers with their own keys would never link."""
    yield (build_tiny_db(tmp_path / "a.duckdb", TINY_GROUPS),
           build_tiny_db(tmp_path / "b.duckdb", TINY_GROUPS))
