"""The Parquet lake's contract: which tables it holds, how each is partitioned, and what its
manifest says. ``etl.lake_export`` writes a lake by it and ``warehouse.lake`` reads one, so
both sides share this one declaration.

A lake is a folder (a local path, or the same layout in an object store)::

    DIR/_manifest.json                              the commit point: what the lake holds
    DIR/<table>/provider=<P>/part-<content>.parquet           a table partitioned by provider
    DIR/responses/provider=<P>/sponsor=<S>/cohort_year=<Y>/part-<content>.parquet

Hive-style ``name=value`` folders, so DuckDB, Spark, Trino and polars read the partition
columns back from the path and prune files by them. Files are immutable and named by their
content hash; the manifest lists, per provider, every file of the current version with its
row count and SHA-256, and the database snapshot it was exported from. A reader that goes
through the manifest sees one whole version; a reader that globs the folders may also see
the files of the previous version (kept until the next export) or of an export in progress.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.contract import IDENTIFIER
from schemas.sql_text import sql_string

MANIFEST_NAME = "_manifest.json"
LOCK_NAME = "_manifest.lock"  # held by an export while it writes (one writer at a time)
FORMAT_NAME = "attune-lake"
# Bump when a table, a column or the partitioning changes: an export refuses a lake written
# under another version rather than mixing two layouts in one manifest.
LAKE_SCHEMA_VERSION = 1
PROVIDER_COLUMN = "provider"
DEFAULT_PROVIDER = "local"
# Hive's name for a partition whose value is NULL (Spark and Hive read it back as NULL).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# A manifest's file paths: relative, plain segments, a Parquet file named by its content.
FILE_PATH = re.compile(r"^[a-z_]+(/[A-Za-z0-9_]+=[A-Za-z0-9_.%-]+)+/part-[0-9a-f]{20}\.parquet$")


@dataclass(frozen=True)
class LakeTable:
    """One table of the lake: its name (the database's own), the SELECT over the database
    that gives its rows (the attached database is ``attune``; partition columns named as in
    ``partition_by``), the columns that order its rows in a file, and the partition columns
    under ``provider=``."""

    name: str
    source: str
    order_by: tuple[str, ...]
    partition_by: tuple[str, ...] = ()


# The researcher-facing tables, and never the quarantine (raw rows as they came in) nor
# attune_meta (facts of one file; the manifest carries them). The views of schemas/views.sql
# are not copied: ``warehouse.lake.attach_lake`` recreates them over these tables.
LAKE_TABLES: tuple[LakeTable, ...] = (
    LakeTable("programs", "SELECT * FROM attune.programs", ("program_id",)),
    LakeTable("cohorts", "SELECT * FROM attune.cohorts", ("cohort_id",)),
    LakeTable("scales", "SELECT * FROM attune.scales", ("scale_id",)),
    LakeTable("scale_items", "SELECT * FROM attune.scale_items", ("item_id",)),
    LakeTable("waves", "SELECT * FROM attune.waves", ("position",)),
    LakeTable("evidence", "SELECT * FROM attune.evidence", ("study_id",)),
    LakeTable("ingest_runs", "SELECT * FROM attune.ingest_runs",
              ("run_id", "source", "started_at")),
    LakeTable(
        "responses",
        "SELECT r.*, c.sponsor_id AS sponsor, year(c.start_date) AS cohort_year "
        "FROM attune.responses AS r JOIN attune.cohorts AS c USING (cohort_id)",
        ("participant_id", "cohort_id", "wave"),
        ("sponsor", "cohort_year"),
    ),
)
TABLES_BY_NAME = {table.name: table for table in LAKE_TABLES}
# How DuckDB reads a table of the lake: read_parquet over the manifest's file list ({files}:
# quoted paths), the partition columns from the folders, as text (an engine guessing types
# could read a sponsor "01" as a number).
SQL_READ = ("read_parquet([{files}], hive_partitioning = true, hive_types_autocast = false, "
            "union_by_name = true)")
# Where a consortium's tables hold one row per provider of the same thing (the instrument).
SHARED_TABLES = ("scales", "scale_items", "waves")
# Ids that are one provider's: qualified by it when several providers are attached together.
# A study of the evidence table is one provider's entry too: two providers' "S01" may be two
# studies (a study both entered is listed twice; README: keep the evidence in one database).
PROVIDER_IDS = {"responses": ("participant_id", "cohort_id"),
                "cohorts": ("cohort_id", "program_id"), "programs": ("program_id",),
                "evidence": ("study_id",)}


def table_select(lake: Path, manifest: dict[str, Any], table: str,
                 providers: tuple[str, ...], qualify: bool) -> str:
    """The SELECT that reads ``table`` of ``providers`` from the manifest's files (DuckDB's
    SQL). With ``qualify`` (several providers pooled) each provider's participant, cohort and
    programme ids become ``provider:id`` (``PROVIDER_IDS``), so no join ever pairs one
    provider's rows with another's, and the instrument's tables hold each row once."""
    files = table_files(manifest, table, providers)
    if not files:
        raise LakeError(f"{lake}: the manifest lists no files of {table}")
    source = SQL_READ.format(files=", ".join(sql_string(str(Path(lake) / f)) for f in files))
    if qualify and table in PROVIDER_IDS:
        replaced = ", ".join(f"provider || ':' || {c} AS {c}" for c in PROVIDER_IDS[table])
        return f"SELECT * REPLACE ({replaced}) FROM {source}"
    if qualify and table in SHARED_TABLES:
        return f"SELECT DISTINCT * EXCLUDE (provider) FROM {source}"
    return f"SELECT * FROM {source}"


class LakeError(Exception):
    """A lake that cannot be read or written as asked: the message names the lake and why."""


class LakeVersionError(LakeError):
    """The lake was written under another ``LAKE_SCHEMA_VERSION``."""


def check_provider(name: str) -> str:
    """A provider name as the lake's paths hold it: letters, digits and underscores, starting
    with a letter (so no engine reads it back as a number)."""
    if not IDENTIFIER.match(name or ""):
        raise LakeError(f"provider name {name!r}: use letters, digits and underscores, "
                        "starting with a letter")
    return name


def partition_value(value: Any) -> str:
    """A partition value as a path segment: Hive's escaping (``%XX`` for anything but
    letters, digits and ``_ . -``), NULL as Hive's default partition."""
    if value is None:
        return NULL_PARTITION
    return "".join(ch if re.match(r"[A-Za-z0-9_.-]", ch) else
                   "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in str(value))


def read_manifest(lake: Path) -> dict[str, Any] | None:
    """The lake's manifest (None when the folder holds none yet), checked: its format, and
    every file path relative and inside the lake."""
    path = Path(lake) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise LakeError(f"{path}: not a lake manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise LakeError(f"{path}: not a lake manifest (no \"format\": \"{FORMAT_NAME}\")")
    for provider, entry in manifest.get("providers", {}).items():
        check_provider(provider)
        for table, listing in entry.get("tables", {}).items():
            for item in listing.get("files", []):
                if not FILE_PATH.match(item.get("path", "")) or not item["path"].startswith(
                        f"{table}/{PROVIDER_COLUMN}={provider}/"):
                    raise LakeError(f"{path}: file {item.get('path')!r} of {provider}/{table} "
                                    "is not a lake file path")
    return manifest


def check_version(manifest: dict[str, Any], lake: Path) -> None:
    """Refuse a manifest written under another lake schema version."""
    found = manifest.get("schema_version")
    if found != LAKE_SCHEMA_VERSION:
        raise LakeVersionError(
            f"{Path(lake) / MANIFEST_NAME}: the lake has schema version {found}, this Attune "
            f"writes and reads version {LAKE_SCHEMA_VERSION}; export into a new folder")


def table_files(manifest: dict[str, Any], table: str,
                providers: tuple[str, ...] | None = None) -> list[str]:
    """The relative paths of one table's files in the manifest, of the given providers (all:
    None), in a fixed order."""
    chosen = manifest.get("providers", {})
    return [item["path"] for name in sorted(chosen) if providers is None or name in providers
            for item in chosen[name]["tables"].get(table, {}).get("files", [])]
