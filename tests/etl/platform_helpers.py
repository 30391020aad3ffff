"""Ingest the same data in canonical form and as a platform export, and compare."""

from __future__ import annotations

from pathlib import Path

from tests.etl.helpers import query, run, write_dataset

ITEM_COLUMNS = "CONF_01, CONF_02, CONF_03, CONF_04, CONF_05, BURN_01, BURN_02, BURN_03"
COMPARED = (
    "SELECT participant_id, cohort_id, wave, completed_at, audience, years_experience, "
    f"{ITEM_COLUMNS}, score_CONF, score_BURN, answered_CONF, answered_BURN, "
    "items_missing_share, flag_straightlining, flag_item_missingness "
    "FROM responses ORDER BY participant_id, wave"
)


def reference_rows(tmp_path: Path) -> list[tuple]:
    """The responses and scores of the tiny dataset ingested in canonical form."""
    folder = write_dataset(tmp_path / "canonical")
    db = tmp_path / "canonical.duckdb"
    report = run([folder], db)
    assert report.exit_code == 0
    return query(db, COMPARED)


def setup_database(tmp_path: Path) -> Path:
    """A database holding the instrument, programmes and cohorts, but no responses."""
    folder = write_dataset(tmp_path / "reference")
    db = tmp_path / "platform.duckdb"
    run([folder / "instrument.yaml", folder / "programs.csv", folder / "cohorts.csv"], db)
    return db


def write_mapping(tmp_path: Path, text: str, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
