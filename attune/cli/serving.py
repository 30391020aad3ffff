"""Serving the dashboard: `attune serve` (login required) and `attune demo` (the demo
database, built if absent, served without login on a local address).

The one module of the command line that starts the Dash app (``dashboard.app.create_app``);
it imports Dash, the app and the WSGI server only when a command serves, so that every other
command, and `attune --help`, starts without them.
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


def _serve(database: Path, host: str, port: int, login_required: bool,
           auth_db: Path | None = None) -> None:
    """Serve the dashboard over ``database`` with waitress until interrupted."""
    # Dash, the app and the WSGI server load only when serving.
    from waitress import serve as waitress_serve

    from accounts.store import AuthStore
    from dashboard.app import create_app

    if not database.exists():
        raise fail(f"no database at {database}; run `attune ingest` or `attune demo` first")
    store = None
    if login_required:
        store = AuthStore(auth_db)
        if not store.users():
            raise fail(
                f"no accounts in {store.path}: create one first with "
                "`attune users add NAME --role admin` (roles: admin, evaluator, sponsor "
                "--sponsor ID, researcher)"
            )
    named = os.environ.get(ALLOWED_HOSTS, "").strip()
    if not named and host in EVERY_ADDRESS:
        raise fail(f"listening on every address ({host or 'empty --host'}) needs "
                   f"{ALLOWED_HOSTS}: the host names clients reach the dashboard by, as a "
                   "comma list (e.g. attune.example.org); any other Host header gets 400")
    try:
        dash_app = create_app(database, auth_store=store, login_required=login_required)
    except ValueError as error:  # e.g. a malformed ATTUNE_ALLOWED_HOSTS
        raise fail(str(error)) from None
    config = dash_app.server.config
    if not named and host not in LOCAL_HOSTS:  # default: the loopback names and this address
        config[ALLOWED_HOSTS] = (*config[ALLOWED_HOSTS], host.strip("[]").lower())
    if login_required:
        console.print(f"Login required (accounts: {store.path}).")
    else:
        console.print(
            "[yellow]Login is OFF:[/] this local demo acts as one evaluator and listens on "
            f"{host} only. Anyone who can reach it sees all programmes; use `attune serve` "
            "(login required) to share the dashboard."
        )
    console.print(
        f"Serving the Attune dashboard on http://{host}:{port} (database {database}), "
        f"answering to the host names {', '.join(config[ALLOWED_HOSTS])} "
        f"(${ALLOWED_HOSTS}). Ctrl+C stops it."
    )
    waitress_serve(dash_app.server, host=host, port=port, threads=8, ident="attune")


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
                     "(<accounts file>.secret).", show_default=False),
    ] = None,
) -> None:
    """Serve the dashboard with a production WSGI server (waitress); login required."""
    _serve(database_path(db), host, port, login_required=True, auth_db=auth_db)


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
