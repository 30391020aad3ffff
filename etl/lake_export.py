"""Export a database to the Parquet lake (``schemas.lake``): `attune export --lake DIR`.

Publishing is atomic and incremental:

* every partition's content is hashed in DuckDB first (row count, the sum and the XOR of the
  rows' hashes, and the table's column names and types); a partition whose hash the current
  manifest already lists keeps its file untouched (same inode, same mtime);
* a changed partition is written to a temporary name in its folder, then renamed to
  ``part-<content hash>.parquet``: files are immutable and content-named, so no reader ever
  sees half a file;
* the new manifest is written beside the old one and ``os.replace``-d over it: that rename is
  the commit point, so a reader that goes through the manifest sees the old version or the
  new one, never a mix;
* only then are this provider's files removed that neither the new manifest nor the one it
  replaced lists (a reader that opened the previous manifest a moment ago can still read
  every file it names; files two versions old go).

One export writes a lake at a time (a lock file in the lake); each provider replaces only its
own ``provider=`` prefix and its entry of the manifest, so providers export into one lake
independently.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from schemas.lake import (
    DEFAULT_PROVIDER,
    FORMAT_NAME,
    LAKE_SCHEMA_VERSION,
    LAKE_TABLES,
    LOCK_NAME,
    MANIFEST_NAME,
    PROVIDER_COLUMN,
    LakeError,
    LakeTable,
    check_provider,
    check_version,
    partition_value,
    read_manifest,
)
from schemas.sql_text import sql_string

CONTENT_CHARS = 20  # hex characters of the content hash in a file name
# {partitions}: the table's partition columns (checked names of schemas.lake); {source}: its
# SELECT there. One row per partition: its values, rows and the rows' hashes.
SQL_PARTITIONS = """
SELECT {partitions} count(*)::BIGINT AS n, sum(hash(t))::HUGEINT::VARCHAR AS hash_sum,
       bit_xor(hash(t))::VARCHAR AS hash_xor
FROM ({source}) AS t GROUP BY ALL
"""
# {columns} are the non-partition columns; {match}: one `col IS NOT DISTINCT FROM ?` per
# partition column (values bound); {target}: the temporary file (a path of this code).
SQL_COPY = """
COPY (SELECT {columns} FROM ({source}) AS t WHERE {match} ORDER BY {order_by})
TO {target} (FORMAT parquet, COMPRESSION zstd)
"""
SQL_LAST_RUN = "SELECT run_id, max(finished_at) FROM attune.ingest_runs GROUP BY run_id " \
               "ORDER BY 2 DESC, 1 DESC LIMIT 1"
SQL_META = "SELECT key, value FROM attune.attune_meta"
Progress = Callable[[int, int, str], None]  # (done, total, what is being written)


@dataclass
class ExportReport:
    """What one export did: rows per table, files written, kept as they were, removed."""

    lake: Path
    provider: str
    rows: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"lake": str(self.lake), "provider": self.provider, "rows": self.rows,
                "files_written": len(self.written), "files_unchanged": len(self.unchanged),
                "files_removed": len(self.removed), "snapshot": self.snapshot}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _writer_lock(lake: Path):
    """One export at a time per lake; the next waits for the lock."""
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _snapshot(con: duckdb.DuckDBPyConnection, db: Path) -> dict[str, Any]:
    """The database state an export came from: its content hash and last ingest run."""
    meta = dict(con.execute(SQL_META).fetchall())
    last = con.execute(SQL_LAST_RUN).fetchall()
    return {
        "database": db.name,
        "database_sha256": _sha256(db),
        "database_schema_version": meta.get("schema_version"),
        "last_ingest_run": last[0][0] if last else None,
        "last_ingest_finished_at": last[0][1].isoformat() if last else None,
    }


def _partitions(con: duckdb.DuckDBPyConnection, table: LakeTable) -> list[dict[str, Any]]:
    """The table's partitions: their values, row count and content hash (which also covers
    the column names and types, so a changed schema writes every file anew)."""
    described = con.execute(f"DESCRIBE {table.source}").fetchall()
    schema = ";".join(f"{name} {kind}" for name, kind, *_ in described)
    select = "".join(f"t.{name}, " for name in table.partition_by)
    rows = con.execute(SQL_PARTITIONS.format(partitions=select, source=table.source)).fetchall()
    parts = []
    for row in rows:
        values = dict(zip(table.partition_by, row[:len(table.partition_by)], strict=True))
        n, hash_sum, hash_xor = row[len(table.partition_by):]
        content = hashlib.sha256(
            f"{duckdb.__version__}|{schema}|{n}|{hash_sum}|{hash_xor}".encode()).hexdigest()
        parts.append({"values": values, "rows": int(n), "content": content})
    if not parts:  # an empty table still has a file, so its columns can be read
        parts.append({"values": dict.fromkeys(table.partition_by), "rows": 0,
                      "content": hashlib.sha256(f"{schema}|empty".encode()).hexdigest()})
    parts.sort(key=lambda p: [partition_value(v) for v in p["values"].values()])
    columns = [name for name, *_ in described if name not in table.partition_by]
    return [{**p, "columns": columns} for p in parts]


def _relative_path(table: LakeTable, provider: str, part: dict[str, Any]) -> str:
    folders = [f"{PROVIDER_COLUMN}={provider}"] + [
        f"{name}={partition_value(value)}" for name, value in part["values"].items()]
    return "/".join([table.name, *folders, f"part-{part['content'][:CONTENT_CHARS]}.parquet"])


def _write(con: duckdb.DuckDBPyConnection, lake: Path, table: LakeTable, part: dict[str, Any],
           relative: str) -> dict[str, Any]:
    """Write one partition's file (to a temporary name, then renamed into place)."""
    final = lake / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".tmp-{os.getpid()}-{final.name}")
    match = " AND ".join(f"t.{name} IS NOT DISTINCT FROM ?" for name in table.partition_by)
    columns = ", ".join(f't."{name}"' for name in part["columns"])
    where = match or "TRUE"
    if part["rows"] == 0:
        where = "FALSE"
    con.execute(SQL_COPY.format(columns=columns, source=table.source, match=where,
                                order_by=", ".join(f"t.{c}" for c in table.order_by),
                                target=sql_string(str(temporary))),
                [] if part["rows"] == 0 else list(part["values"].values()))
    os.replace(temporary, final)
    return {"path": relative, "rows": part["rows"], "sha256": _sha256(final),
            "bytes": final.stat().st_size, "content": part["content"],
            "partition": {k: v for k, v in part["values"].items()}}


def _publish(lake: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest beside the current one, then rename it over it: the commit."""
    target = lake / MANIFEST_NAME
    temporary = lake / f".{MANIFEST_NAME}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(lake, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _listed(entry: dict[str, Any] | None) -> set[str]:
    if not entry:
        return set()
    return {item["path"] for listing in entry["tables"].values() for item in listing["files"]}


def _remove_stale(lake: Path, provider: str, keep: set[str]) -> list[str]:
    """This provider's files that no kept manifest lists (and leftovers of a killed export)."""
    removed = []
    for table in LAKE_TABLES:
        root = lake / table.name / f"{PROVIDER_COLUMN}={provider}"
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(lake).as_posix()
            if path.is_file() and (path.name.startswith(".tmp-") or (
                    path.suffix == ".parquet" and relative not in keep)):
                path.unlink()
                removed.append(relative)
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    return removed


def export_lake(db: Path, lake: Path, provider: str = DEFAULT_PROVIDER, *,
                progress: Progress | None = None) -> ExportReport:
    """Export the database ``db`` into the lake folder ``lake`` under ``provider``.

    Raises ``LakeError`` for a bad provider name or a folder that is not a lake, and
    ``LakeVersionError`` for a lake written under another schema version.
    """
    db, lake = Path(db), Path(lake)
    check_provider(provider)
    if not db.exists():
        raise LakeError(f"no database at {db}")
    report = ExportReport(lake, provider)
    with _writer_lock(lake):
        old = read_manifest(lake)
        if old is not None:
            check_version(old, lake)
        previous = (old or {}).get("providers", {}).get(provider)
        reusable = {item["path"]: item for listing in (previous or {}).get("tables", {}).values()
                    for item in listing["files"]}
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {sql_string(str(db))} AS attune (READ_ONLY)")
            report.snapshot = _snapshot(con, db)
            plans = [(table, _partitions(con, table)) for table in LAKE_TABLES]
            total = sum(len(parts) for _, parts in plans)
            done = 0
            tables: dict[str, Any] = {}
            for table, parts in plans:
                files = []
                for part in parts:
                    relative = _relative_path(table, provider, part)
                    if relative in reusable and (lake / relative).exists():
                        files.append(reusable[relative])
                        report.unchanged.append(relative)
                    else:
                        files.append(_write(con, lake, table, part, relative))
                        report.written.append(relative)
                    done += 1
                    if progress:
                        progress(done, total, f"{table.name} {relative.split('/', 1)[1]}")
                tables[table.name] = {"rows": sum(f["rows"] for f in files),
                                      "partition_by": [PROVIDER_COLUMN, *table.partition_by],
                                      "files": files}
                report.rows[table.name] = tables[table.name]["rows"]
        except duckdb.Error as error:
            raise LakeError(f"could not export {db}: {error}") from error
        finally:
            con.close()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT_NAME, "schema_version": LAKE_SCHEMA_VERSION, "updated_at": now,
            "providers": {**(old or {}).get("providers", {}),
                          provider: {"exported_at": now, "snapshot": report.snapshot,
                                     "tables": tables}},
        }
        _publish(lake, manifest)
        keep = _listed(manifest["providers"][provider]) | _listed(previous)
        report.removed = _remove_stale(lake, provider, keep)
    return report
