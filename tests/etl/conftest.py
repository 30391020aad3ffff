from __future__ import annotations

from pathlib import Path

import pytest

from tests.etl.helpers import write_dataset


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "export")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "attune.duckdb"
