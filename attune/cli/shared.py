"""What every command group of `attune` shares: the two consoles, the exit codes, the --db
option, the progress bar and how a comma-separated option is read.

Messages and errors go to stderr (``console``); results, the part a script reads, to stdout
(``stdout``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from schemas import settings

console = Console(stderr=True)
stdout = Console()
if not stdout.is_terminal:  # piped or redirected: keep table rows on one line
    stdout = Console(width=220)

# 0 done; 1 rows quarantined or files refused; 2 usage error; 3 another ingest holds the database
EXIT_OK, EXIT_ROWS_SET_ASIDE, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB file to use. Default: $ATTUNE_DB, else attune.duckdb in the per-user data "
        "directory ($XDG_DATA_HOME/attune, else ~/.local/share/attune).",
        show_default=False,
    ),
]


def database_path(path: Path | None) -> Path:
    """The database a command uses: ``--db`` when given, else the default."""
    return Path(path) if path else settings.default_db_path()


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit to raise, with ``code``."""
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def require_database(db: Path | None) -> Path:
    """The database a reading command uses; a usage error when there is none yet."""
    database = database_path(db)
    if not database.exists():
        raise fail(f"no database at {database}; run `attune ingest` or `attune demo` first")
    return database


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: the values of a comma-separated option."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def progress_bar() -> Progress:
    """A progress bar on stderr, shown only on a terminal and gone when the work is done."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
