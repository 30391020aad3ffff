"""Reading generated datasets back, as a reader of the files (or `attune ingest`) sees them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from etl.ingest import ingest
from etl.report import IngestReport
from schemas.instrument import Instrument
from synthetic.world import WORLD_FILE


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_responses(paths) -> pd.DataFrame:
    return pd.concat([read_csv(path) for path in paths], ignore_index=True)


def body_lines(paths) -> Counter:
    return Counter(line for path in paths for line in path.read_text("utf-8").splitlines()[1:])


def all_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def numeric_items(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    return responses[list(instrument.items)].replace("", np.nan).astype(float)


def scale_scores(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Scale scores as the instrument defines them (reverse-keyed, min_answered)."""
    values = numeric_items(responses, instrument)
    scores = {}
    for scale in instrument.scales:
        block = values[list(scale.items)].copy()
        for item in scale.reverse:
            block[item] = scale.min + scale.max - block[item]
        enough = block.notna().sum(axis=1) >= scale.items_needed
        scores[scale.id] = block.mean(axis=1).where(enough)
    return pd.DataFrame(scores)


def with_cohorts(responses: pd.DataFrame, folder: Path) -> pd.DataFrame:
    cohorts = read_csv(folder / "cohorts.csv").merge(
        read_csv(folder / "programs.csv"), on="program_id"
    )
    merged = responses.merge(cohorts, on="cohort_id", how="left", validate="many_to_one")
    for column in ("completed_at", "start_date", "end_date"):
        merged[column] = pd.to_datetime(merged[column], format="%Y-%m-%d")
    return merged


def ingest_folder(folder: Path, db: Path) -> IngestReport:
    """`attune ingest FOLDER --db DB`, in process."""
    return ingest([folder], db)


def quarantined(db: Path) -> dict[tuple[str, int], set[str]]:
    """Every quarantined row of the database: (source file, source_row) -> rules broken."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql("SELECT source, source_row, rules FROM quarantine").fetchall()
    return {(source, row): set(rules) for source, row, rules in rows}


def advertised(result) -> dict[tuple[str, int], set[str]]:
    """What the generator says ingest will quarantine, in the same shape."""
    return {(str(row.path), row.source_row): set(row.rules) for row in result.rows_set_aside}


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


def edited_world(tmp_path: Path, edit) -> Path:
    """A copy of the shipped world file after `edit(data)` changed its parsed YAML."""
    data = yaml.safe_load(WORLD_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
