"""A local DuckDB database of a lake's current version, for `attune serve --lake DIR`.

The dashboard reads one DuckDB file; a lake is many Parquet files of one or more providers.
So serving a lake copies its current version (through the manifest, never a glob) into a
database of the ordinary schema, built the way ``attune ingest`` builds one (the DDL, the
instrument's documented item and score columns, the researchers' views), then served as any
other: the same summaries, filters, disclosure control and API. Every machine that serves the
lake builds its own copy, so nothing is shared but the lake.

With several providers their participant, cohort and programme ids are qualified by the
provider (``north:C001``, ``schemas.lake.table_select``): a participant is never linked across
providers, and suppression and disclosure control work on the pooled data.

A copy is named by the manifest's content (``lake-<sha256 prefix>.duckdb``): a lake that has
not changed is served from the copy already built; a new version is built beside the old one
and put in place with one rename, so a reader never sees a copy half-built.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

from etl.load import (
    ensure_schema,
    refresh_views,
    store_instrument,
    stored_instrument,
)
from schemas.lake import (
    LAKE_TABLES,
    MANIFEST_NAME,
    PROVIDER_COLUMN,
    LakeError,
    check_version,
    read_manifest,
    table_select,
)
from schemas.sql_text import quote_identifier

COPY_PREFIX = "lake-"
STAGING = "lake"  # the schema of the lake's views while the copy is built
# Copied by store_instrument (with the documented columns they give responses), not by hand.
INSTRUMENT_TABLES = ("scales", "scale_items")


def copy_name(lake: Path) -> str:
    """The copy's file name: the manifest's SHA-256 (its first 16 hex digits)."""
    digest = hashlib.sha256((Path(lake) / MANIFEST_NAME).read_bytes()).hexdigest()
    return f"{COPY_PREFIX}{digest[:16]}.duckdb"


def serving_copy(lake: Path | str, folder: Path) -> Path:
    """The database of ``lake``'s current version in ``folder``, built if it is not there
    yet; older copies of the folder are removed once the new one is in place."""
    lake = Path(lake).resolve()
    manifest = read_manifest(lake)
    if manifest is None:
        raise LakeError(f"{lake}: no lake here (no {MANIFEST_NAME}); run `attune export "
                        "--lake` first")
    check_version(manifest, lake)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / copy_name(lake)
    if target.exists():
        return target
    draft = folder / f".{target.name}.{os.getpid()}.draft"
    draft.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(draft)) as con:
            _build(con, lake, manifest)
        os.replace(draft, target)
    finally:
        draft.unlink(missing_ok=True)
    for old in folder.glob(f"{COPY_PREFIX}*.duckdb"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()]


def _build(con: duckdb.DuckDBPyConnection, lake: Path, manifest: dict) -> None:
    providers = tuple(sorted(manifest.get("providers", {})))
    ensure_schema(con)
    con.execute(f"CREATE SCHEMA {STAGING}")
    qualify = len(providers) > 1

    def stage(names: tuple[str, ...], kind: str) -> None:
        for name in names:
            con.execute(f"CREATE {kind} {STAGING}.{name} AS "
                        + table_select(lake, manifest, name, providers, qualify))

    # The instrument first, as small tables read in their stored order, and given to the
    # database (with the documented item and score columns) before any responses view
    # exists to be mistaken for the database's own table.
    stage(INSTRUMENT_TABLES, "TABLE")
    con.execute(f"USE {STAGING}")
    instrument = stored_instrument(con)
    con.execute("USE main")
    con.execute("BEGIN TRANSACTION")
    if instrument is not None:
        store_instrument(con, instrument)
    con.execute("COMMIT")
    stage(tuple(t.name for t in LAKE_TABLES if t.name not in INSTRUMENT_TABLES), "VIEW")
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM main.waves")  # the lake's own waves replace the defaults
    for table in LAKE_TABLES:
        if table.name in INSTRUMENT_TABLES:
            continue
        # The columns both sides have: never the lake's partition columns (provider,
        # sponsor, cohort_year), which the database keeps elsewhere or not at all.
        shared = [c for c in _columns(con, "main", table.name)
                  if c in set(_columns(con, STAGING, table.name))]
        names = ", ".join(quote_identifier(c) for c in shared)
        try:
            con.execute(f"INSERT INTO main.{table.name} ({names}) "
                        f"SELECT {names} FROM {STAGING}.{table.name}")
        except duckdb.ConstraintException as error:  # two providers' rows of one key differ
            raise LakeError(f"{lake}: the providers' {table.name} disagree ({error}); pool "
                            f"only providers whose {table.name} rows of one key are the "
                            "same") from None
    # Which provider each cohort came from: the provider filter and grouping of the dashboard.
    con.execute(f"INSERT INTO main.cohort_providers SELECT cohort_id, {PROVIDER_COLUMN} "
                f"FROM {STAGING}.cohorts")
    con.execute("COMMIT")
    con.execute(f"DROP SCHEMA {STAGING} CASCADE")
    refresh_views(con)
    con.execute("CHECKPOINT")
