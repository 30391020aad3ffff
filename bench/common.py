"""What every benchmark shares: the generated data it runs on, and timing helpers."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from synthetic.dataset import generate_dataset

BENCH_DIR = Path(os.environ.get("ATTUNE_BENCH_DIR", Path(__file__).resolve().parent / "out"))
# About 1,000,000 response rows: attrition leaves ~2.7 rows per participant.
BENCH_PARTICIPANTS = int(os.environ.get("ATTUNE_BENCH_PARTICIPANTS", 375_000))
BENCH_SEED = 2026
# The scale bench (`--only scale`): about 10,000,000 response rows, in the generator's three
# yearly responses files (responses/responses_<year>.csv), as an organisation of that size
# would send them.
SCALE_PARTICIPANTS = int(os.environ.get("ATTUNE_SCALE_PARTICIPANTS", 3_750_000))
PROJECT = Path(__file__).resolve().parent.parent


def bench_dataset(participants: int = BENCH_PARTICIPANTS, *, yearly_files: bool = False) -> Path:
    """A clean generated dataset of ``participants``, cached between runs: by default one
    responses.csv (``dataset-<n>-<seed>``, ~1M rows); with ``yearly_files`` one responses file
    per year of cohort start (``scale-<n>-<seed>``: a finished generation leaves a ``done``
    marker, as the yearly files leave no one file to look for)."""
    prefix, finished = ("scale", "done") if yearly_files else ("dataset", "responses.csv")
    folder = BENCH_DIR / f"{prefix}-{participants}-{BENCH_SEED}"
    if not (folder / finished).exists():
        print(f"generating {participants:,} participants into {folder} ...", file=sys.stderr)
        generate_dataset(
            folder, participants=participants, seed=BENCH_SEED,
            single_responses_file=not yearly_files, invalid_rows=False,
        )
        if yearly_files:
            (folder / "done").write_text("generated\n", encoding="utf-8")
    return folder


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "ATTUNE_KEY_FILE": str(BENCH_DIR / "bench.key"),
    }


def bench_database() -> Path:
    """The bench dataset ingested into a database (built once, then reused)."""
    database = BENCH_DIR / f"bench-{BENCH_PARTICIPANTS}-{BENCH_SEED}.duckdb"
    if not database.exists():
        dataset = bench_dataset()
        subprocess.run(
            [sys.executable, "-m", "attune.cli", "ingest", str(dataset), "--db", str(database)],
            env=bench_env(), check=False, stdout=subprocess.DEVNULL,
        )
    return database


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
