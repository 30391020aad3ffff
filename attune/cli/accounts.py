"""Accounts for the dashboard: `attune users add`, `users list` and `users remove`.

The accounts store (``accounts.store``) is imported when a command runs, so that starting the
command line does not load Argon2 or SQLite for commands that never need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attune.cli.shared import console, fail, stdout

commands = typer.Typer()
users_app = typer.Typer(
    help="Local accounts for `attune serve`: admin, evaluator, sponsor, researcher.",
    no_args_is_help=True,
)
commands.add_typer(users_app, name="users")

AuthOption = Annotated[
    Path | None,
    typer.Option(
        "--auth-db",
        help="Accounts file. Default: $ATTUNE_AUTH_DB, else attune-auth.sqlite in the "
        "per-user data directory ($XDG_DATA_HOME/attune, else ~/.local/share/attune).",
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
    from accounts.store import AccountError, AuthStore  # lazy: only the users commands need it

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = AuthStore(auth_db).add_user(name, role, password, sponsor)
    except AccountError as error:
        raise fail(str(error)) from None
    scope = f" for sponsor {user.sponsor_id}" if user.sponsor_id else ""
    console.print(f"Created {user.role} account {user.name!r}{scope}.")


@users_app.command("list")
def users_list(auth_db: AuthOption = None) -> None:
    """List the accounts with their roles (never their passwords)."""
    from accounts.store import AuthStore  # lazy: only the users commands need it

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
    from accounts.store import AuthStore  # lazy: only the users commands need it

    if not AuthStore(auth_db).remove_user(name):
        raise fail(f"no user {name!r}")
    console.print(f"Removed {name!r}.")
