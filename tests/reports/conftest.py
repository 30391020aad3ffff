"""Reports made once per run for the report tests: the demo's SP01 (HTML and PDF) and a tiny
two-sponsor database with one programme of each sponsor under the minimum cell size."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reports.files import write_report

PDFTOTEXT = "/usr/bin/pdftotext"
# Formats sorted give programmes P0.. with sponsors SP1, SP2, SP1, SP2 (tests/support.py):
# SP1 has P0 (7 pairs: under the cell size) and P2; SP2 has P1 and P3 (6 pairs).
SMALL_GROUPS = {("hr", "certificate"): 7, ("hr", "degree"): 20, ("hr", "short_course"): 30,
                ("hr", "workshop"): 6}


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """The PDF's text as pdftotext gives it (pages ``first`` to ``last``, else all)."""
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    done = subprocess.run([PDFTOTEXT, "-layout", *pages, str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


@pytest.fixture(scope="session")
def demo_report(demo_db, tmp_path_factory) -> dict[str, Path]:
    """SP01's report of the demo database: {"html": path, "pdf": path}."""
    _, files = write_report(demo_db, "SP01", tmp_path_factory.mktemp("report"))
    return {p.suffix[1:]: p for p in files}


@pytest.fixture(scope="session")
def small_groups_db(tiny_db_factory) -> Path:
    return tiny_db_factory(SMALL_GROUPS)


@pytest.fixture(scope="session")
def small_groups_report(small_groups_db, tmp_path_factory) -> dict[str, Path]:
    """SP1's report of the two-sponsor database: {"html": path, "pdf": path}."""
    _, files = write_report(small_groups_db, "SP1", tmp_path_factory.mktemp("small-report"))
    return {p.suffix[1:]: p for p in files}
