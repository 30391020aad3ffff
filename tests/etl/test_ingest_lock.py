"""Two ingests of one database in two real processes: the second waits, says so, then loads;
or, when its wait runs out, gives up with IngestLocked and leaves the database as it was."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from etl.ingest import IngestOptions, ingest
from etl.load import IngestLocked
from tests.etl.helpers import query

REPO = Path(__file__).resolve().parents[2]
# Holds the database's ingest lock until its standard input closes; says "locked" once held.
HOLD_LOCK = """
import sys
from pathlib import Path
from etl.load import ingest_lock
with ingest_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""
# An ingest that reports its wait on stderr and its result as JSON on stdout.
INGEST = """
import json, sys
from pathlib import Path
from etl.ingest import IngestOptions, ingest
options = IngestOptions(on_wait=lambda message: print(message, file=sys.stderr, flush=True))
report = ingest([Path(sys.argv[1])], Path(sys.argv[2]), options)
print(json.dumps(report.as_dict()))
"""
PATIENCE_SECONDS = 120  # the longest a step may take on a busy machine before the test fails


def _python(code: str, *args: object, **pipes) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO,
        env=os.environ.copy(),
        text=True,
        **pipes,
    )


def _line(stream) -> str:
    """The next line the process writes, waiting for it (not for a fixed time)."""
    ready, _, _ = select.select([stream], [], [], PATIENCE_SECONDS)
    assert ready, f"no line within {PATIENCE_SECONDS} s"
    return stream.readline()


@pytest.fixture
def lock_holder(db_path):
    """Another process that holds the database's ingest lock until released."""
    holder = _python(HOLD_LOCK, db_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert _line(holder.stdout) == "locked\n"
    yield holder
    if holder.poll() is None:
        holder.stdin.close()
        holder.wait(PATIENCE_SECONDS)


def test_second_ingest_waits_for_the_first_says_so_and_then_loads(
    dataset, db_path, lock_holder
):
    waiting = _python(
        INGEST, dataset, db_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    said = _line(waiting.stderr)
    assert said.startswith(f"another attune ingest is writing {db_path}: waiting up to 600 s")
    assert waiting.poll() is None  # still waiting: nothing written yet
    assert not db_path.exists()

    lock_holder.stdin.close()  # the first ingest finishes
    out, err = waiting.communicate(timeout=PATIENCE_SECONDS)
    assert waiting.returncode == 0, err
    assert err == ""  # told once, not on every try
    report = json.loads(out)
    assert report["totals"]["rows_loaded"] == report["totals"]["rows_read"] > 0
    assert query(db_path, "SELECT count(*) FROM responses") == [(5,)]


def test_ingest_gives_up_when_its_wait_runs_out_and_leaves_the_database_untouched(
    dataset, db_path, lock_holder
):
    told: list[str] = []
    with pytest.raises(IngestLocked, match="still writing .* after 0.3 s of waiting") as busy:
        ingest([dataset], db_path, IngestOptions(wait_seconds=0.3, on_wait=told.append))
    assert str(db_path) in str(busy.value)
    assert len(told) == 1 and "waiting up to 0.3 s" in told[0]
    assert not db_path.exists()
    assert not db_path.with_name(db_path.name + ".ingest-tmp").exists()


def test_ingest_that_may_not_wait_gives_up_at_once_without_saying_it_waits(
    dataset, db_path, lock_holder
):
    told: list[str] = []
    with pytest.raises(IngestLocked, match="wait for it to finish"):
        ingest([dataset], db_path, IngestOptions(wait_seconds=0, on_wait=told.append))
    assert told == []
    assert not db_path.exists()
