"""The `attune` command: generate demo data, ingest survey exports, summarise, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from attune import settings

app = typer.Typer(
    help=(
        "Attune turns anonymised pre/post/follow-up survey exports of attachment-based training "
        "into trustworthy evidence: a documented DuckDB file and a dashboard."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
stdout = Console()

EXIT_OK, EXIT_ROWS_SET_ASIDE, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB file to use. Default: $ATTUNE_DB, else data/attune.duckdb.",
        show_default=False,
    ),
]


def _db(path: Path | None) -> Path:
    return Path(path) if path else settings.default_db_path()


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset into.")],
    participants: Annotated[
        int, typer.Option(help="Participants to simulate (about 3 rows each).")
    ] = 2400,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same bytes.")
    ] = 2026,
    single_file: Annotated[
        bool, typer.Option("--single-file", help="Write all responses to one responses.csv.")
    ] = False,
    invalid_rows: Annotated[
        bool, typer.Option(help="Include a handful of deliberately invalid rows.")
    ] = True,
) -> None:
    """Write a synthetic dataset in exactly Attune's input format (never real people's data)."""
    from etl.generate import generate_dataset

    with _progress() as progress:
        task = progress.add_task("generating", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=fraction)

        result = generate_dataset(
            out_dir,
            participants=participants,
            seed=seed,
            single_responses_file=single_file,
            invalid_rows=invalid_rows,
            progress=report,
        )
    console.print(
        f"Wrote a synthetic dataset to [bold]{out_dir}[/] ({_describe_generated(result)})."
    )


def _describe_generated(result) -> str:
    rows = getattr(result, "response_rows", None)
    return f"{rows:,} response rows" if rows is not None else "done"


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders (searched recursively) to load.")
    ],
    db: DbOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help=(
                "Let a corrected export replace responses already loaded for the same "
                "participant, cohort and wave."
            ),
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help=(
                "Refuse a whole file when any row breaks a rule, instead of quarantining the rows."
            ),
        ),
    ] = False,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop", help="Leave this column out (repeatable), e.g. a free-text comment column."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Validate and load survey exports into DuckDB, quarantining every row that breaks a rule.

    Files are told apart by name: instrument.yaml, programs.csv, cohorts.csv, evidence.csv;
    every other .csv, .xlsx or .parquet file is a responses file. Each file loads in one
    transaction; a file already loaded (same SHA-256) is skipped.

    Exit codes: 0 every row loaded; 1 some rows quarantined or files refused; 2 usage error
    (no such path); 3 another ingest is writing the database.
    """
    from etl.ingest import IngestOptions
    from etl.ingest import ingest as run_ingest
    from etl.load import IngestLocked

    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        console.print(f"[red]error:[/] no such file or folder: {', '.join(missing)}")
        raise typer.Exit(EXIT_USAGE)
    database = _db(db)
    with _progress() as progress:
        task = progress.add_task("starting", total=None)

        def report(source: str, step: str) -> None:
            progress.update(task, description=f"{Path(source).name}: {step}")

        options = IngestOptions(
            replace=replace, strict=strict, drop=tuple(drop or ()), progress=report
        )
        try:
            result = run_ingest(paths, database, options)
        except IngestLocked as busy:
            console.print(f"[red]error:[/] {busy}")
            raise typer.Exit(EXIT_BUSY) from None
    if as_json:
        stdout.print_json(json.dumps(result.as_dict()))
    else:
        _print_ingest_summary(result)
    raise typer.Exit(result.exit_code)


def _print_ingest_summary(result) -> None:
    table = Table(title=f"Ingest run {result.run_id} into {result.database}")
    for column in (
        "file",
        "kind",
        "status",
        "read",
        "loaded",
        "quarantined",
        "top reasons / message",
    ):
        table.add_column(
            column, justify="right" if column in ("read", "loaded", "quarantined") else "left"
        )
    colours = {"loaded": "green", "partial": "yellow", "rejected": "red", "skipped": "blue"}
    for report in result.files:
        reasons = ", ".join(f"{rule} ({count})" for rule, count in report.top_reasons)
        note = "; ".join(part for part in (reasons, report.message or "") if part)
        table.add_row(
            report.source,
            report.kind,
            f"[{colours[report.status]}]{report.status}[/]",
            f"{report.rows_read:,}",
            f"{report.rows_loaded:,}",
            f"{report.rows_quarantined:,}",
            note,
        )
    stdout.print(table)
    if result.exit_code:
        stdout.print(
            "Some rows were set aside or files refused: see the table above, the `quarantine` "
            "table, or the dashboard's Data quality page."
        )


def _ensure_demo_database(database: Path) -> None:
    if database.exists():
        return
    from etl.ingest import ingest as run_ingest

    console.print(f"Building the demo database {database} from {settings.DEMO_DATA} ...")
    result = run_ingest([settings.DEMO_DATA], database)
    totals = result.as_dict()["totals"]
    console.print(
        f"Loaded {totals['rows_loaded']:,} rows; {totals['rows_quarantined']:,} deliberately "
        "invalid demo rows are in the quarantine."
    )


def _serve(database: Path, host: str, port: int, login_required: bool) -> None:
    from waitress import serve as waitress_serve

    from dashboard.app import create_app

    if not database.exists():
        console.print(
            f"[red]error:[/] no database at {database}; run `attune ingest` or `attune demo` first"
        )
        raise typer.Exit(EXIT_USAGE)
    dash_app = create_app(database)
    console.print(
        f"Serving the Attune dashboard on http://{host}:{port} (database {database}). "
        "Ctrl+C stops it."
    )
    waitress_serve(dash_app.server, host=host, port=port, threads=8, ident="attune")


HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]


@app.command()
def serve(db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8050) -> None:
    """Serve the dashboard with a production WSGI server (waitress)."""
    _serve(_db(db), host, port, login_required=True)


@app.command()
def demo(db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8050) -> None:
    """Build the demo database from data/demo/ if it is absent, then serve the dashboard."""
    database = _db(db)
    _ensure_demo_database(database)
    _serve(database, host, port, login_required=False)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":
    main()
