"""Serving the dashboard: `attune serve` (login required) and `attune demo` (the demo
database, built if absent, served without login on a local address).

The one module of the command line that starts the Dash app (``dashboard.app.create_app``);
it imports Dash, the app and the WSGI server only when a command serves, so that every other
command, and `attune --help`, starts without them. One server process is waitress (threads);
``attune serve --workers N`` runs N processes with gunicorn (``attune.cli.workers``), each
building its own app, all sharing the accounts store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from attune.cli.shared import DbOption, console, database_path, fail
from schemas import settings

commands = typer.Typer()

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EVERY_ADDRESS = ("0.0.0.0", "::", "")
ALLOWED_HOSTS = "ATTUNE_ALLOWED_HOSTS"  # the Host names the dashboard answers to (comma list)

HostOption = Annotated[str, typer.Option(
    help="Address to listen on. Requests must name an allowed host ($ATTUNE_ALLOWED_HOSTS, a "
    "comma list; default 127.0.0.1, localhost, [::1] and this address, any port; 0.0.0.0 "
    "needs the variable); any other Host header gets 400.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
SERVER_THREADS = 8  # requests one server process answers at once (waitress and each worker)
WorkersOption = Annotated[int, typer.Option(
    "--workers", min=1,
    help="Server processes on this port. 1: one waitress process; more: gunicorn starts "
    "that many processes (about one per core), all sharing the accounts store, so any of "
    "them may answer any request. See attune.cli.workers.")]


def _ensure_demo_database(database: Path) -> None:
    """Ingest the demo data shipped with Attune into ``database`` unless it exists."""
    if database.exists():
        return
    from etl.ingest import ingest as run_ingest  # pandas, pandera and DuckDB: only to build it

    console.print(f"Building the demo database {database} from {settings.DEMO_DATA} ...")
    result = run_ingest([settings.DEMO_DATA], database)
    totals = result.as_dict()["totals"]
    console.print(
        f"Loaded {totals['rows_loaded']:,} rows; {totals['rows_quarantined']:,} deliberately "
        "invalid demo rows are in the quarantine."
    )


def query_threads(workers: int, cores: int | None = None) -> int:
    """DuckDB threads per server process: the cores shared out among the workers (at least
    one each). A dashboard query reads a few thousand summary rows, so under load many
    queries side by side use the cores better than one query split across them, and N
    processes that each split every query over all the cores only contend for them."""
    from warehouse.connection import DEFAULT_THREADS

    cores = cores or os.cpu_count() or 1
    return max(1, min(DEFAULT_THREADS, cores // workers))


def _serve(database: Path, host: str, port: int, login_required: bool,
           auth_db: Path | None = None, workers: int = 1) -> None:
    """Serve the dashboard over ``database`` until interrupted: with waitress, or with
    ``workers`` gunicorn processes. Everything that can be refused is checked here, once,
    before any server process starts."""
    from accounts.store import AccountsUnavailable, AuthStore

    if not database.exists():
        raise fail(f"no database at {database}; run `attune ingest` or `attune demo` first")
    store = None
    if login_required:
        try:
            store = AuthStore(auth_db)
            users = store.users()
        except AccountsUnavailable as error:
            raise fail(str(error)) from None
        if not users:
            raise fail(
                f"no accounts in {store.location}: create one first with "
                "`attune users add NAME --role admin` (roles: admin, evaluator, sponsor "
                "--sponsor ID, researcher)"
            )
    named = os.environ.get(ALLOWED_HOSTS, "").strip()
    if not named and host in EVERY_ADDRESS:
        raise fail(f"listening on every address ({host or 'empty --host'}) needs "
                   f"{ALLOWED_HOSTS}: the host names clients reach the dashboard by, as a "
                   "comma list (e.g. attune.example.org); any other Host header gets 400")
    # Dash and the app load only when serving; each server process builds its own app.
    from dashboard.app import create_app

    def build():
        """This server process's dashboard (its WSGI app), answering to the allowed hosts."""
        try:
            dash_app = create_app(database, auth_store=store, login_required=login_required,
                                  query_threads=query_threads(workers))
        except ValueError as error:  # e.g. a malformed ATTUNE_ALLOWED_HOSTS
            raise fail(str(error)) from None
        config = dash_app.server.config
        if not named and host not in LOCAL_HOSTS:  # default: loopback names and this address
            config[ALLOWED_HOSTS] = (*config[ALLOWED_HOSTS], host.strip("[]").lower())
        return dash_app.server

    def announce(server) -> None:
        _announce(server.config, database, host, port, store, workers)

    if workers > 1:
        from attune.cli.workers import serve_with_workers

        if store is not None:
            store.close()  # no connection of this process is carried into the workers
        try:
            serve_with_workers(build, host, port, workers, SERVER_THREADS, announce)
        except SystemExit as stopped:
            if stopped.code:
                raise fail("a server process could not start (the reason is above)") from None
        return
    from waitress import serve as waitress_serve

    server = build()
    announce(server)
    waitress_serve(server, host=host, port=port, threads=SERVER_THREADS, ident="attune")


def _announce(config, database: Path, host: str, port: int, store, workers: int) -> None:
    """Say what is served where, to whom, and how to stop it."""
    if store is not None:
        console.print(f"Login required (accounts: {store.location}).")
    else:
        console.print(
            "[yellow]Login is OFF:[/] this local demo acts as one evaluator and listens on "
            f"{host} only. Anyone who can reach it sees all programmes; use `attune serve` "
            "(login required) to share the dashboard."
        )
    processes = f" from {workers} server processes" if workers > 1 else ""
    console.print(
        f"Serving the Attune dashboard on http://{host}:{port}{processes} (database "
        f"{database}), answering to the host names {', '.join(config[ALLOWED_HOSTS])} "
        f"(${ALLOWED_HOSTS}). Ctrl+C stops it."
    )


@commands.command()
def serve(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8050,
    auth_db: Annotated[
        Path | None,
        typer.Option("--auth-db", help="Accounts file. Default: $ATTUNE_AUTH_DB, else "
                     "attune-auth.sqlite in the per-user data directory ($XDG_DATA_HOME/attune, "
                     "else ~/.local/share/attune); its session key is kept beside it "
                     "(<accounts file>.secret). $ATTUNE_ACCOUNTS_URL=postgresql://... keeps "
                     "the accounts in PostgreSQL instead (one store for several machines).",
                     show_default=False),
    ] = None,
    workers: WorkersOption = 1,
    lake: Annotated[
        Path | None,
        typer.Option("--lake", help="Serve a Parquet lake (`attune export --lake`) instead of "
                     "--db: its current version, every provider pooled, copied into a local "
                     "database (lake-copies/ in the per-user data directory), rebuilt when "
                     "the lake changes and reused while it does not.", show_default=False),
    ] = None,
) -> None:
    """Serve the dashboard with a production WSGI server (waitress; gunicorn with
    --workers N); login required."""
    if lake is not None:
        if db is not None:
            raise fail("give --db or --lake, not both")
        database = _lake_database(lake)
    else:
        database = database_path(db)
    _serve(database, host, port, login_required=True, auth_db=auth_db, workers=workers)


def _lake_database(lake: Path) -> Path:
    """The local copy of ``lake`` that is served (``etl.lake_copy``), built if need be."""
    from etl.lake_copy import serving_copy
    from schemas.lake import LakeError
    from schemas.settings import user_data_dir

    console.print(f"Reading the lake {lake} ...")
    try:
        return serving_copy(lake, user_data_dir() / "lake-copies")
    except LakeError as error:
        raise fail(str(error)) from None


@commands.command()
def demo(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8050,
    login: Annotated[
        bool, typer.Option("--login", help="Require login even on 127.0.0.1.")
    ] = False,
    auth_db: Annotated[
        Path | None,
        typer.Option("--auth-db", help="Accounts file (with --login or a non-local host); "
                     "default as for `attune serve`.", show_default=False),
    ] = None,
) -> None:
    """Build the demo database from the demo data shipped with Attune if it is absent, then
    serve the dashboard.

    Without login only on 127.0.0.1 / localhost / ::1; on any other address (or with
    --login) accounts are required, as for `attune serve`."""
    database = database_path(db)
    _ensure_demo_database(database)
    local = host in LOCAL_HOSTS
    if not local and not login:
        console.print(f"Host {host} is not local: login is required (accounts from "
                      "`attune users add`).")
    _serve(database, host, port, login_required=login or not local, auth_db=auth_db)
