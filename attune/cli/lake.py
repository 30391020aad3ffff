"""`attune export --lake DIR`: the database's researcher-facing tables as a Parquet lake
(``schemas.lake``: hive-partitioned by provider, sponsor and cohort year, with a manifest),
which DuckDB, Spark and object-store engines read; `attune summarize --lake` reads it back.

Exit codes: 0 exported; 2 usage error (no database, a bad provider name, a folder that is not
a lake); 4 the lake was written under another lake schema version (nothing was written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attune.cli.shared import DbOption, console, fail, progress_bar, require_database, stdout

commands = typer.Typer()

EXIT_LAKE_VERSION = 4  # the lake's manifest has another schema version


@commands.command()
def export(
    lake: Annotated[Path, typer.Option("--lake", help="The lake folder (created if absent).")],
    db: DbOption = None,
    provider: Annotated[
        str | None,
        typer.Option(help="This database's provider in a consortium lake: its files go under "
                     "provider=NAME (letters, digits, underscores). Default: local."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Export the database to a Parquet lake: pseudonymised responses with scores and flags,
    cohorts, programmes, scales, waves, evidence and ingest runs (never the quarantined
    rows), partitioned by provider, sponsor and cohort year, with a manifest of every file's
    rows and SHA-256 and the database snapshot it came from.

    Atomic (readers of the manifest see the old version or the new one) and incremental (a
    partition whose content has not changed keeps its file).
    """
    from etl.lake_export import export_lake  # DuckDB: only when exporting
    from schemas.lake import DEFAULT_PROVIDER, LakeError, LakeVersionError

    database = require_database(db)
    with progress_bar() as bar:
        task = bar.add_task(f"exporting to {lake}", total=None)

        def advance(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        try:
            report = export_lake(database, lake, provider or DEFAULT_PROVIDER, progress=advance)
        except LakeVersionError as error:
            raise fail(str(error), EXIT_LAKE_VERSION) from None
        except LakeError as error:
            raise fail(str(error)) from None
    if as_json:
        stdout.print_json(json.dumps(report.as_dict(), default=str))
        return
    table = Table(title=f"Exported {database.name} to {lake} as provider {report.provider}")
    for column in ("table", "rows"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, rows in report.rows.items():
        table.add_row(name, str(rows))
    stdout.print(table)
    console.print(f"{len(report.written)} file(s) written, {len(report.unchanged)} unchanged, "
                  f"{len(report.removed)} removed")
