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


def bench_dataset() -> Path:
    """A clean generated dataset with one ~1M-row responses.csv (cached between runs)."""
    folder = BENCH_DIR / f"dataset-{BENCH_PARTICIPANTS}-{BENCH_SEED}"
    if not (folder / "responses.csv").exists():
        print(f"generating {BENCH_PARTICIPANTS:,} participants into {folder} ...", file=sys.stderr)
        generate_dataset(
            folder, participants=BENCH_PARTICIPANTS, seed=BENCH_SEED,
            single_responses_file=True, invalid_rows=False,
        )
    return folder


def scale_dataset(participants: int = SCALE_PARTICIPANTS) -> Path:
    """A clean generated dataset of ``participants`` with one responses file per year of
    cohort start (cached between runs: a finished generation leaves a ``done`` marker)."""
    folder = BENCH_DIR / f"scale-{participants}-{BENCH_SEED}"
    if not (folder / "done").exists():
        print(f"generating {participants:,} participants into {folder} ...", file=sys.stderr)
        generate_dataset(
            folder, participants=participants, seed=BENCH_SEED,
            single_responses_file=False, invalid_rows=False,
        )
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
