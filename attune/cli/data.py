"""Data in: `attune generate` (synthetic demo data), `attune ingest` (validate and load
survey exports) and `attune mapping init` (draft how a platform's export becomes Attune's
input).

The work is done in ``synthetic`` and ``etl``; they load pandas, pandera, pyarrow and DuckDB,
seconds of start-up that `attune --help` and every other command must not pay, so each
command imports them when it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attune.cli.shared import (
    EXIT_BUSY,
    DbOption,
    console,
    database_path,
    fail,
    progress_bar,
    stdout,
)
from etl.refusal import FileRejected
from schemas import settings
from synthetic import DEMO_PARTICIPANTS, DEMO_SEED

commands = typer.Typer()
mapping_app = typer.Typer(
    help="Mapping files: how a survey platform's export becomes Attune's input.",
    no_args_is_help=True,
)
commands.add_typer(mapping_app, name="mapping")


@commands.command()
def generate(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help=(
                "Folder to write the dataset into; responses files an earlier run left there "
                "are replaced. The default participants and seed write the shipped demo "
                "data byte for byte."
            ),
            show_default=False,
        ),
    ],
    participants: Annotated[
        int, typer.Option(help="Participants to simulate (about 3 response rows each).")
    ] = DEMO_PARTICIPANTS,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed and participants give the same bytes.")
    ] = DEMO_SEED,
    single_file: Annotated[
        bool,
        typer.Option(
            "--single-file",
            help="Write all responses to one responses.csv instead of one file per year.",
        ),
    ] = False,
    invalid_rows: Annotated[
        bool,
        typer.Option(
            help=(
                "Splice in a handful of deliberately invalid rows, each breaking a named rule "
                "that `attune ingest` quarantines it under. The valid rows are the same "
                "either way."
            )
        ),
    ] = True,
) -> None:
    """Write a synthetic dataset in exactly Attune's input format (never real people's data).

    The world it simulates (programmes, scales, response and attrition rates) is
    synthetic/world.yaml.
    """
    from synthetic.dataset import generate_dataset  # numpy and pyarrow only when generating

    with progress_bar() as progress:
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
    """What was written, and how many rows `attune ingest` will set aside."""
    described = f"{result.response_rows:,} valid response rows"
    if not result.invalid_rows:
        return described
    return (
        f"{described} and {result.invalid_rows_written} deliberately invalid rows; ingest "
        f"quarantines {len(result.rows_set_aside)}, as the duplicates also set aside the "
        f"{len(result.repeated_rows)} rows they repeat"
    )


@commands.command()
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
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help=(
                "Mapping file (YAML) for survey platform exports (Qualtrics, REDCap, "
                "SurveyMonkey, SPSS): how their columns and answers become Attune's. "
                "Draft one with `attune mapping init EXPORT`. See docs/import.md."
            ),
        ),
    ] = None,
    wave: Annotated[
        str | None,
        typer.Option("--wave", help="Wave of every responses file (overrides the mapping)."),
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option("--cohort", help="Cohort of every responses file (overrides the mapping)."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help=(
                "Seconds to wait for another ingest that is writing the database to finish "
                "(0: give up at once)."
            ),
        ),
    ] = settings.DEFAULT_INGEST_WAIT_SECONDS,
) -> None:
    """Validate and load survey exports into DuckDB, quarantining every row that breaks a rule.

    Files are told apart by name: instrument.yaml, programs.csv, cohorts.csv, evidence.csv;
    every other .csv, .xlsx or .parquet file is a responses file (with --mapping also .tsv
    and .sav exports). Each file loads in one transaction; a file already loaded (same SHA-256)
    is skipped. While another ingest writes the database, this one says so and waits for it
    (see --wait).

    Exit codes: 0 every row loaded; 1 some rows quarantined or files refused; 2 usage error
    (no such path); 3 another ingest was still writing the database when the wait ran out.
    """
    # etl loads pandas, pandera, pyarrow and DuckDB: only when ingesting
    from etl.ingest import IngestOptions
    from etl.ingest import ingest as run_ingest
    from etl.load import IngestLocked
    from etl.mapping import MappingError

    if wait < 0:
        raise fail("--wait takes a number of seconds, 0 or more")
    missing = [str(path) for path in paths if not path.exists()]
    if mapping is not None and not mapping.exists():
        missing.append(str(mapping))
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}")
    database = database_path(db)
    with progress_bar() as progress:
        task = progress.add_task("starting", total=None)

        def report(source: str, step: str) -> None:
            progress.update(task, description=f"{Path(source).name}: {step}")

        options = IngestOptions(
            replace=replace,
            strict=strict,
            drop=tuple(drop or ()),
            progress=report,
            mapping=mapping,
            wave=wave,
            cohort=cohort,
            wait_seconds=wait,
            on_wait=lambda message: console.print(message, soft_wrap=True, markup=False),
        )
        try:
            result = run_ingest(paths, database, options)
        except IngestLocked as busy:
            raise fail(str(busy), EXIT_BUSY) from None
        except MappingError as error:
            raise fail(str(error)) from None
    if as_json:
        stdout.print_json(json.dumps(result.as_dict()))
    else:
        _print_ingest_summary(result)
    raise typer.Exit(result.exit_code)


INGEST_COLUMNS = ("file", "kind", "status", "read", "loaded", "quarantined", "skipped",
                  "top reasons / message")
INGEST_COUNTS = ("read", "loaded", "quarantined", "skipped")
STATUS_COLOURS = {"loaded": "green", "partial": "yellow", "rejected": "red", "skipped": "blue"}


def _print_ingest_summary(result) -> None:
    """One row per file: what was read, loaded, quarantined and skipped, and why."""
    table = Table(title=f"Ingest run {result.run_id} into {result.database}")
    for column in INGEST_COLUMNS:
        table.add_column(column, justify="right" if column in INGEST_COUNTS else "left")
    for report in result.files:
        reasons = ", ".join(f"{rule} ({count})" for rule, count in report.top_reasons)
        note = "; ".join(part for part in (reasons, report.message or "") if part)
        table.add_row(
            report.source,
            report.kind,
            f"[{STATUS_COLOURS[report.status]}]{report.status}[/]",
            f"{report.rows_read:,}",
            f"{report.rows_loaded:,}",
            f"{report.rows_quarantined:,}",
            f"{report.rows_skipped:,}",
            note,
        )
    stdout.print(table)
    if result.exit_code:
        stdout.print(
            "Some rows were set aside or files refused: see the table above, the `quarantine` "
            "table, or the dashboard's Data quality page."
        )


@mapping_app.command("init")
def mapping_init(
    export: Annotated[Path, typer.Argument(help="A survey export (csv, tsv, xlsx or sav).")],
    instrument: Annotated[
        Path | None,
        typer.Option(
            "--instrument",
            help="instrument.yaml whose items to match. Default: the instrument in --db, if any.",
        ),
    ] = None,
    db: DbOption = None,
    platform: Annotated[
        str,
        typer.Option("--format", help="qualtrics, redcap, surveymonkey, spss, canonical or auto."),
    ] = "auto",
) -> None:
    """Draft a mapping file from an export, on stdout: `attune mapping init X > mapping.yaml`.

    Question codes and texts are matched to the instrument's items where they can be; every
    column left to decide is a commented TODO. Complete it, then
    `attune ingest EXPORT --mapping mapping.yaml`.
    """
    # etl and DuckDB load pandas, pyarrow and pyreadstat: only when drafting
    import duckdb

    from etl.draft import draft_mapping
    from etl.load import stored_instrument
    from schemas.instrument import InstrumentError, load_instrument

    if not export.exists():
        raise fail(f"no such file: {export}")
    known = None
    try:
        if instrument is not None:
            known = load_instrument(instrument)
        elif database_path(db).exists():
            con = duckdb.connect(str(database_path(db)), read_only=True)
            try:
                known = stored_instrument(con)
            finally:
                con.close()
    except InstrumentError as error:
        raise fail(str(error)) from None
    try:
        text = draft_mapping(export, export.read_bytes(), known, platform.lower())
    except FileRejected as error:
        raise fail(f"{export}: {error}") from None
    sys.stdout.write(text)
