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

from schemas import settings

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
if not stdout.is_terminal:  # piped or redirected: keep table rows on one line
    stdout = Console(width=220)

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
) -> None:
    """Validate and load survey exports into DuckDB, quarantining every row that breaks a rule.

    Files are told apart by name: instrument.yaml, programs.csv, cohorts.csv, evidence.csv;
    every other .csv, .xlsx or .parquet file is a responses file (with --mapping also .tsv
    and .sav exports). Each file loads in one transaction; a file already loaded (same SHA-256)
    is skipped.

    Exit codes: 0 every row loaded; 1 some rows quarantined or files refused; 2 usage error
    (no such path); 3 another ingest is writing the database.
    """
    from etl.ingest import IngestOptions
    from etl.ingest import ingest as run_ingest
    from etl.load import IngestLocked
    from etl.mapping import MappingError

    missing = [str(path) for path in paths if not path.exists()]
    if mapping is not None and not mapping.exists():
        missing.append(str(mapping))
    if missing:
        console.print(f"[red]error:[/] no such file or folder: {', '.join(missing)}")
        raise typer.Exit(EXIT_USAGE)
    database = _db(db)
    with _progress() as progress:
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
        )
        try:
            result = run_ingest(paths, database, options)
        except IngestLocked as busy:
            console.print(f"[red]error:[/] {busy}")
            raise typer.Exit(EXIT_BUSY) from None
        except MappingError as error:
            console.print(f"[red]error:[/] {error}")
            raise typer.Exit(EXIT_USAGE) from None
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
        "skipped",
        "top reasons / message",
    ):
        table.add_column(
            column,
            justify="right" if column in ("read", "loaded", "quarantined", "skipped") else "left",
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
            f"{report.rows_skipped:,}",
            note,
        )
    stdout.print(table)
    if result.exit_code:
        stdout.print(
            "Some rows were set aside or files refused: see the table above, the `quarantine` "
            "table, or the dashboard's Data quality page."
        )


mapping_app = typer.Typer(
    help="Mapping files: how a survey platform's export becomes Attune's input.",
    no_args_is_help=True,
)
app.add_typer(mapping_app, name="mapping")


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
    from etl.draft import draft_mapping
    from etl.read import FileRejected
    from schemas.instrument import InstrumentError, load_instrument

    if not export.exists():
        console.print(f"[red]error:[/] no such file: {export}")
        raise typer.Exit(EXIT_USAGE)
    known = None
    try:
        if instrument is not None:
            known = load_instrument(instrument)
        elif _db(db).exists():
            import duckdb

            from etl.load import stored_instrument

            con = duckdb.connect(str(_db(db)), read_only=True)
            try:
                known = stored_instrument(con)
            finally:
                con.close()
    except InstrumentError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_USAGE) from None
    try:
        text = draft_mapping(export, export.read_bytes(), known, platform.lower())
    except FileRejected as error:
        console.print(f"[red]error:[/] {export}: {error}")
        raise typer.Exit(EXIT_USAGE) from None
    sys.stdout.write(text)


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


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _serve(database: Path, host: str, port: int, login_required: bool,
           auth_db: Path | None = None) -> None:
    from waitress import serve as waitress_serve

    from dashboard.accounts import AuthStore
    from dashboard.app import create_app

    if not database.exists():
        console.print(
            f"[red]error:[/] no database at {database}; run `attune ingest` or `attune demo` first"
        )
        raise typer.Exit(EXIT_USAGE)
    store = None
    if login_required:
        store = AuthStore(auth_db)
        if not store.users():
            console.print(
                f"[red]error:[/] no accounts in {store.path}: create one first with "
                "`attune users add NAME --role admin` (roles: admin, evaluator, sponsor "
                "--sponsor ID, researcher)"
            )
            raise typer.Exit(EXIT_USAGE)
    dash_app = create_app(database, auth_store=store, login_required=login_required)
    if login_required:
        console.print(f"Login required (accounts: {store.path}).")
    else:
        console.print(
            "[yellow]Login is OFF:[/] this local demo acts as one evaluator and listens on "
            f"{host} only. Anyone who can reach it sees all programmes; use `attune serve` "
            "(login required) to share the dashboard."
        )
    console.print(
        f"Serving the Attune dashboard on http://{host}:{port} (database {database}). "
        "Ctrl+C stops it."
    )
    waitress_serve(dash_app.server, host=host, port=port, threads=8, ident="attune")


HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]


@app.command()
def serve(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8050,
    auth_db: Annotated[
        Path | None,
        typer.Option("--auth-db", help="Accounts file. Default: $ATTUNE_AUTH_DB, else "
                     "data/attune-auth.sqlite.", show_default=False),
    ] = None,
) -> None:
    """Serve the dashboard with a production WSGI server (waitress); login required."""
    _serve(_db(db), host, port, login_required=True, auth_db=auth_db)


@app.command()
def demo(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8050,
    login: Annotated[
        bool, typer.Option("--login", help="Require login even on 127.0.0.1.")
    ] = False,
    auth_db: Annotated[
        Path | None,
        typer.Option("--auth-db", help="Accounts file (with --login or a non-local host).",
                     show_default=False),
    ] = None,
) -> None:
    """Build the demo database from data/demo/ if it is absent, then serve the dashboard.

    Without login only on 127.0.0.1 / localhost / ::1; on any other address (or with
    --login) accounts are required, as for `attune serve`."""
    database = _db(db)
    _ensure_demo_database(database)
    local = host in LOCAL_HOSTS
    if not local and not login:
        console.print(f"Host {host} is not local: login is required (accounts from "
                      "`attune users add`).")
    _serve(database, host, port, login_required=login or not local, auth_db=auth_db)


def _require_database(db: Path | None) -> Path:
    database = _db(db)
    if not database.exists():
        console.print(
            f"[red]error:[/] no database at {database}; run `attune ingest` or `attune demo` first"
        )
        raise typer.Exit(EXIT_USAGE)
    return database


SUMMARY_FIELDS = (
    "scale_id",
    "wave_from",
    "wave_to",
    "n_pairs",
    "mean_from",
    "mean_to",
    "mean_change",
    "ci_low",
    "ci_high",
    "t",
    "p",
    "p_adj",
    "d_z",
    "d_z_ci_low",
    "d_z_ci_high",
    "g_av",
    "pct_reliable_improved",
    "suppressed",
)
GROUPINGS = (
    "audience",
    "format",
    "delivery",
    "sponsor",
    "program",
    "supervision",
    "cohort_quarter",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with ' (numbers untouched)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _split_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@app.command()
def summarize(
    db: DbOption = None,
    by: Annotated[
        str,
        typer.Option(help=f"Comma-separated groupings: {', '.join(GROUPINGS)}; empty = overall."),
    ] = "audience,format",
    scale: Annotated[
        str | None, typer.Option("--scale", help="Scale id, e.g. CONF. Default: every scale.")
    ] = None,
    wave_from: Annotated[str, typer.Option("--from", help="Earlier wave.")] = "pre",
    wave_to: Annotated[str, typer.Option("--to", help="Later wave.")] = "post",
    sponsor: Annotated[
        str | None, typer.Option(help="Only cohorts of these sponsors (comma-separated ids).")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="Only these audiences.")] = None,
    program_format: Annotated[
        str | None, typer.Option("--format", help="Only these programme formats.")
    ] = None,
    min_cell: Annotated[
        int | None,
        typer.Option(
            "--min-cell",
            help="Minimum cell size: groups with fewer matched pairs show no statistics "
            "(default $ATTUNE_MIN_CELL, else 11).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list of groups).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Paired change between two waves per group: the dashboard's numbers, for scripts.

    One row per group with n_pairs, the means, the mean change with its 95% CI, paired t, p and
    Benjamini-Hochberg p_adj across the groups shown, d_z with its 95% CI, g_av and the share
    reliably improved. Change is signed so that improvement is positive. Groups with fewer
    matched pairs than the minimum cell size come back suppressed, with no statistics at all.
    """
    import csv

    from dashboard.queries import Database, Filters, group_change, scales

    database = Database(_require_database(db), changes_only=True)
    groupings = _split_list(by)
    unknown = [name for name in groupings if name not in GROUPINGS]
    if unknown:
        console.print(
            f"[red]error:[/] unknown --by {', '.join(unknown)}; use {', '.join(GROUPINGS)}"
        )
        raise typer.Exit(EXIT_USAGE)
    known_scales = [row["scale_id"] for row in scales(database)]
    if scale is not None and scale not in known_scales:
        console.print(f"[red]error:[/] unknown --scale {scale}; known: {', '.join(known_scales)}")
        raise typer.Exit(EXIT_USAGE)
    filters = Filters(
        audience=_split_list(audience),
        format=_split_list(program_format),
        sponsor=_split_list(sponsor),
    )
    floor = min_cell if min_cell is not None else settings.min_cell_size()
    rows: list[dict] = []
    try:
        for scale_id in [scale] if scale else known_scales:
            rows.extend(
                group_change(
                    database,
                    scale_id=scale_id,
                    wave_from=wave_from,
                    wave_to=wave_to,
                    by=groupings,
                    filters=filters,
                    min_cell_size=floor,
                )
            )
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_USAGE) from None
    if not scale and len(known_scales) > 1:  # one family: every group of every scale shown
        from stats.multiplicity import benjamini_hochberg

        shown = [row for row in rows if not row["suppressed"]]
        for row, p_adj in zip(shown, benjamini_hochberg([row["p"] for row in shown]), strict=True):
            row["p_adj"] = p_adj
    fields = [*groupings, *SUMMARY_FIELDS]
    rows = [{field: row.get(field) for field in fields} for row in rows]
    if as_json:
        stdout.print_json(json.dumps(rows, default=str))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: safe_csv_cell(value) for key, value in row.items()})
    else:
        _print_summary(rows, groupings, floor, wave_from, wave_to)


def _print_summary(rows, groupings, floor, wave_from, wave_to) -> None:
    table = Table(
        title=f"Paired change {wave_from} -> {wave_to} (improvement positive; 95% CI)",
        caption=f"Groups with fewer than {floor} matched pairs are suppressed.",
    )
    shown = [
        *groupings,
        "scale_id",
        "n_pairs",
        "mean_from",
        "mean_to",
        "mean_change",
        "95% CI",
        "p_adj",
        "d_z",
        "g_av",
        "% reliably improved",
    ]
    for column in shown:
        table.add_column(column, justify="left" if column in (*groupings, "scale_id") else "right")
    for row in rows:
        labels = [str(row[name]) for name in groupings] + [row["scale_id"]]
        if row["suppressed"]:
            table.add_row(
                *labels, f"< {floor}", *["suppressed"] + [""] * (len(shown) - len(labels) - 2)
            )
            continue
        table.add_row(
            *labels,
            str(row["n_pairs"]),
            f"{row['mean_from']:.2f}",
            f"{row['mean_to']:.2f}",
            f"{row['mean_change']:+.2f}",
            f"{row['ci_low']:+.2f} to {row['ci_high']:+.2f}",
            f"{row['p_adj']:.3g}",
            f"{row['d_z']:.2f}",
            f"{row['g_av']:.2f}",
            f"{row['pct_reliable_improved']:.0f}%",
        )
    stdout.print(table)


POOL_FIELDS = (
    "k",
    "method",
    "mu",
    "se",
    "ci_low",
    "ci_high",
    "z",
    "t",
    "p",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_p",
    "pi_low",
    "pi_high",
)


def _evidence_effects_from_csv(
    path: Path, domain: str | None
) -> tuple[list[float], list[float], int]:
    """(yi, vi) of every study in an evidence CSV that gives or implies them."""
    import pandas as pd

    from stats.meta import to_yi_vi

    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        console.print(f"[red]error:[/] {path}: cannot read it as CSV ({error})")
        raise typer.Exit(EXIT_USAGE) from None
    if domain is not None and "outcome_domain" in frame:
        frame = frame[frame["outcome_domain"] == domain]
    pairs = [to_yi_vi(row) for row in frame.to_dict("records")]
    usable = [pair for pair in pairs if pair is not None]
    return [pair[0] for pair in usable], [pair[1] for pair in usable], len(pairs) - len(usable)


@app.command()
def pool(
    evidence_csv: Annotated[
        Path | None,
        typer.Argument(
            help="Evidence CSV with yi and vi (or g with its 95% CI, or pre/post means, "
            "sd_pre, r and n). Without it, the loaded `evidence` table of --db is pooled."
        ),
    ] = None,
    db: DbOption = None,
    method: Annotated[
        str, typer.Option(help="tau^2 estimator: REML (default), DL, PM, or FE (fixed effect).")
    ] = "REML",
    hksj: Annotated[
        bool,
        typer.Option(
            "--hksj", help="Hartung-Knapp-Sidik-Jonkman adjustment (t-based CI and test)."
        ),
    ] = False,
    domain: Annotated[
        str | None, typer.Option(help="Pool only studies of this outcome domain, e.g. Confidence.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Pool an evidence table with a random-effects meta-analysis (metafor's conventions).

    Prints k, the estimate mu with its SE, 95% CI and test (z, or t with --hksj), tau^2,
    I^2 (percent), H^2, Cochran's Q with its p, and the 95% prediction interval.
    """
    from stats.meta import METHODS, meta_analysis

    method = method.upper()
    if method not in METHODS:
        console.print(f"[red]error:[/] --method must be one of {', '.join(METHODS)}")
        raise typer.Exit(EXIT_USAGE)
    if evidence_csv is not None:
        if not evidence_csv.exists():
            console.print(f"[red]error:[/] no such file: {evidence_csv}")
            raise typer.Exit(EXIT_USAGE)
        yi, vi, skipped = _evidence_effects_from_csv(evidence_csv, domain)
    else:
        from dashboard.queries import evidence

        database = _require_database(db)
        studies = [
            study
            for study in evidence(database)
            if domain is None or study["outcome_domain"] == domain
        ]
        usable = [study for study in studies if study["es"] is not None]
        yi = [study["es"] for study in usable]
        vi = [study["es_vi"] for study in usable]
        skipped = len(studies) - len(usable)
    if len(yi) < 2:
        console.print(
            f"[red]error:[/] pooling needs at least 2 studies with effect sizes, got {len(yi)}"
        )
        raise typer.Exit(EXIT_USAGE)
    result = meta_analysis(yi, vi, method=method, hksj=hksj).as_dict()
    if as_json:
        stdout.print_json(
            json.dumps({key: result[key] for key in POOL_FIELDS} | {"skipped": skipped})
        )
        return
    table = Table(title=f"Random-effects meta-analysis ({method}{' + HKSJ' if hksj else ''})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key in POOL_FIELDS:
        value = result[key]
        if value is None:
            continue
        table.add_row(key, value if isinstance(value, str) else f"{value:.4g}")
    stdout.print(table)
    if skipped:
        stdout.print(f"{skipped} row(s) without a usable effect size were left out.")


users_app = typer.Typer(
    help="Local accounts for `attune serve`: admin, evaluator, sponsor, researcher.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
AuthOption = Annotated[
    Path | None,
    typer.Option(
        "--auth-db",
        help="Accounts file. Default: $ATTUNE_AUTH_DB, else data/attune-auth.sqlite.",
        show_default=False,
    ),
]


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[
        str,
        typer.Option(
            help="admin (everything), evaluator (all programmes and quarantined rows), "
            "sponsor (only their cohorts), researcher (all data and the SQL console)."
        ),
    ],
    sponsor: Annotated[
        str | None,
        typer.Option(help="For the sponsor role: the sponsor_id whose cohorts they see."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    auth_db: AuthOption = None,
) -> None:
    """Create an account; the password is prompted for (twice) and stored as an Argon2 hash."""
    from dashboard.accounts import AccountError, AuthStore

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = AuthStore(auth_db).add_user(name, role, password, sponsor)
    except AccountError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_USAGE) from None
    scope = f" for sponsor {user.sponsor_id}" if user.sponsor_id else ""
    console.print(f"Created {user.role} account {user.name!r}{scope}.")


@users_app.command("list")
def users_list(auth_db: AuthOption = None) -> None:
    """List the accounts with their roles (never their passwords)."""
    from dashboard.accounts import AuthStore

    table = Table(title="Attune accounts")
    for column in ("name", "role", "sponsor"):
        table.add_column(column)
    for user in AuthStore(auth_db).users():
        table.add_row(user.name, user.role, user.sponsor_id or "")
    stdout.print(table)


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name.")], auth_db: AuthOption = None
) -> None:
    """Delete an account."""
    from dashboard.accounts import AuthStore

    if not AuthStore(auth_db).remove_user(name):
        console.print(f"[red]error:[/] no user {name!r}")
        raise typer.Exit(EXIT_USAGE)
    console.print(f"Removed {name!r}.")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":
    main()
