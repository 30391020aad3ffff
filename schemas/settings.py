"""Where Attune keeps things, and the defaults every path out of the system shares."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = PROJECT_ROOT / "data" / "demo"
DEFAULT_MIN_CELL_SIZE = 11


def default_db_path() -> Path:
    """`$ATTUNE_DB`, else `data/attune.duckdb` in the project."""
    return Path(os.environ.get("ATTUNE_DB") or PROJECT_ROOT / "data" / "attune.duckdb")


def min_cell_size() -> int:
    """Smallest group for which any statistic is shown (`$ATTUNE_MIN_CELL`, default 11)."""
    return int(os.environ.get("ATTUNE_MIN_CELL", DEFAULT_MIN_CELL_SIZE))
