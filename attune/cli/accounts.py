"""Accounts for the dashboard: `attune users add | list | remove | passwd | unlock` and the
API tokens of `attune tokens add | list | revoke`.

The accounts store (``accounts.store``) is imported when a command runs, so that starting the
command line does not load Argon2 or SQLite for commands that never need them. Every change
is written to the accounts file's audit log by the store itself. The store is the one
``attune serve`` uses: ``--auth-db FILE`` when given, else PostgreSQL when
``$ATTUNE_ACCOUNTS_URL`` is set, else ``$ATTUNE_AUTH_DB`` or the default file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from accounts.limits import LoginLimits  # plain arithmetic: light to import
from attune.cli.shared import DbOption, console, database_path, fail, stdout

SQL_SPONSORS = "SELECT DISTINCT sponsor_id FROM cohorts ORDER BY sponsor_id"
EXIT_CODES = "Exit codes: 0 done; 2 usage error (no such user or token, a refused password)."

commands = typer.Typer()
users_app = typer.Typer(
    help="Local accounts for `attune serve`: admin, evaluator, sponsor, researcher.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="API tokens: per-user bearer tokens for scripts calling /api/v1 "
    "(`Authorization: Bearer <token>`). Only a hash of each token is kept.",
    no_args_is_help=True,
)
commands.add_typer(users_app, name="users")
commands.add_typer(tokens_app, name="tokens")

AuthOption = Annotated[
    Path | None,
    typer.Option(
        "--auth-db",
        help="Accounts file (SQLite). Default: PostgreSQL at $ATTUNE_ACCOUNTS_URL when set, "
        "else $ATTUNE_AUTH_DB, else attune-auth.sqlite in the per-user data directory "
        "($XDG_DATA_HOME/attune, else ~/.local/share/attune).",
        show_default=False,
    ),
]
NameArgument = Annotated[str, typer.Argument(help="User name.")]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin",
                 help="Read the password from the first line of standard input (for scripts) "
                 "instead of prompting for it twice."),
]


def _store(auth_db: Path | None):
    """The accounts store of ``attune serve`` (see the module docstring); an unreachable
    PostgreSQL server is a usage error that names it (never its password)."""
    from accounts.store import AccountsUnavailable, AuthStore  # lazy: only these commands

    try:
        return AuthStore(auth_db)
    except AccountsUnavailable as error:
        raise fail(str(error)) from None


def _new_password(password_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command(
    "add", epilog=EXIT_CODES,
    help="Create an account; the password (at least 10 characters) is prompted for twice and "
    "stored as an Argon2 hash.")
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
        typer.Option(help="For the sponsor role: the sponsor_id whose cohorts they see. It "
                     "must have cohorts in --db, unless --force."),
    ] = None,
    new_sponsor: Annotated[
        bool,
        typer.Option("--force", "--new-sponsor",
                     help="Accept a sponsor_id with no cohorts in the database yet (their data "
                     "is still to be loaded); their pages stay empty until it is."),
    ] = False,
    db: DbOption = None,
    password_stdin: PasswordStdinOption = False,
    auth_db: AuthOption = None,
) -> None:
    from accounts.store import AccountError

    forced = None
    if role == "sponsor" and sponsor:
        forced = sponsor_problem(sponsor, db)
        if forced and not new_sponsor:
            check_sponsor(sponsor, db)
    password = _new_password(password_stdin)
    try:
        user = _store(auth_db).add_user(name, role, password, sponsor)
    except AccountError as error:
        raise fail(str(error)) from None
    scope = f" for sponsor {user.sponsor_id}" if user.sponsor_id else ""
    console.print(f"Created {user.role} account {user.name!r}{scope}.")
    if forced and new_sponsor:
        console.print(f"Note (--force): {forced}. Their pages stay empty until cohorts of "
                      f"{user.sponsor_id} are loaded.")


LATER_SPONSOR = "or give --force to add it before its data is loaded"


def sponsor_problem(sponsor: str, db: Path | None) -> str | None:
    """Why ``sponsor`` cannot be checked or has no cohorts in the database (None when it has):
    a typo would give an account (or a link) whose every page is empty."""
    import duckdb  # only when adding a sponsor

    database = database_path(db)
    if not database.exists():
        return f"no database at {database} to check sponsor {sponsor!r} against; give --db"
    from accounts.shares import unknown_sponsor  # the wording the share button uses too

    with duckdb.connect(str(database), read_only=True) as con:
        known = [row[0] for row in con.execute(SQL_SPONSORS).fetchall()]
    return unknown_sponsor(sponsor, known, str(database))


def check_sponsor(sponsor: str, db: Path | None, later: str = LATER_SPONSOR) -> None:
    """Refuse a sponsor_id without cohorts in the database (``sponsor_problem``); ``later``
    says what else the user may do."""
    problem = sponsor_problem(sponsor, db)
    if problem:
        raise fail(f"{problem}{', ' + later if later else ''}")


@users_app.command("list")
def users_list(auth_db: AuthOption = None) -> None:
    """List the accounts with their roles (never their passwords)."""
    table = Table(title="Attune accounts")
    for column in ("name", "role", "sponsor"):
        table.add_column(column)
    for user in _store(auth_db).users():
        table.add_row(user.name, user.role, user.sponsor_id or "")
    stdout.print(table)


@users_app.command(
    "remove", epilog=EXIT_CODES,
    help="Delete an account, and revoke its sessions (signed out at once) and its API tokens.")
def users_remove(name: NameArgument, auth_db: AuthOption = None) -> None:
    if not _store(auth_db).remove_user(name):
        raise fail(f"no user {name!r}")
    console.print(f"Removed {name!r}; their sessions and API tokens are revoked.")


@users_app.command(
    "passwd", epilog=EXIT_CODES,
    help="Set a new password for NAME, prompted for twice (the rules of `users add`: at least "
    "10 characters). Every session of NAME is revoked, so whoever signed in with the old "
    "password is signed out at once. NAME's API tokens stay valid (a token is not the "
    "password): revoke them with `attune tokens revoke ID` if they may have leaked too.")
def users_passwd(name: NameArgument, password_stdin: PasswordStdinOption = False,
                 auth_db: AuthOption = None) -> None:
    from accounts.store import AccountError

    store = _store(auth_db)
    if store.user(name) is None:  # before the prompt: no typing a password for nobody
        raise fail(f"no user {name!r}")
    try:
        revoked = store.set_password(name, _new_password(password_stdin))
    except AccountError as error:
        raise fail(str(error)) from None
    console.print(f"New password set for {name!r}; {revoked} sessions signed out.")


def _backoff_words() -> str:
    limits = LoginLimits()
    first, cap = limits.first_wait.total_seconds(), limits.max_wait.total_seconds()
    return (f"after {limits.free_failures} failed sign-ins in a row a name must wait "
            f"{first:g} s, then twice as long after each further failure, up to "
            f"{cap / 60:g} minutes")


@users_app.command("unlock", epilog=EXIT_CODES,
                   help=f"Clear the sign-in back-off of NAME ({_backoff_words()}), so it may "
                   "try again now. Failures from one address are slowed apart from this.")
def users_unlock(name: NameArgument, auth_db: AuthOption = None) -> None:
    store = _store(auth_db)
    if store.user(name) is None:
        raise fail(f"no user {name!r}")
    failures = store.unlock(name)
    console.print(f"Unlocked {name!r} ({failures} failed sign-ins in a row cleared).")


@tokens_app.command(
    "add", epilog=EXIT_CODES,
    help="Create an API token for NAME and print it as the LAST line of output (take it with "
    "`tail -1`). It is shown only this once: the accounts file keeps only its SHA-256. The "
    "token acts as NAME, with NAME's role and scope. Removing the account revokes it; a "
    "password change does not.")
def tokens_add(
    name: NameArgument,
    label: Annotated[str, typer.Option(help="What the token is for (shown by `tokens list`).")]
    = "",
    auth_db: AuthOption = None,
) -> None:
    from accounts.store import AccountError

    try:
        token_id, token = _store(auth_db).add_token(name, label)
    except AccountError as error:
        raise fail(str(error)) from None
    console.print(f"Created API token {token_id} for {name!r}. Send it as "
                  "'Authorization: Bearer <token>'; it is not shown again:")
    console.file.flush()
    typer.echo(token)  # plain, unwrapped, and the last line


@tokens_app.command(
    "list",
    help="List API tokens: id, user, label, created, last used (to the minute), revoked; "
    "never the tokens themselves.")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Only the tokens of this user.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    auth_db: AuthOption = None,
) -> None:
    tokens = _store(auth_db).tokens(user)
    if as_json:
        typer.echo(json.dumps([asdict(token) for token in tokens], indent=2))
        return
    table = Table(title="Attune API tokens")
    for column in ("id", "user", "label", "created", "last used", "revoked"):
        table.add_column(column)
    for token in tokens:
        table.add_row(str(token.id), token.user_name, token.label, token.created_at[:19],
                      (token.last_used or "never")[:19], "yes" if token.revoked else "no")
    stdout.print(table)


@tokens_app.command(
    "revoke", epilog=EXIT_CODES,
    help="Revoke an API token at once: requests with it get 401 from then on.")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (`tokens list`).")],
    auth_db: AuthOption = None,
) -> None:
    if not _store(auth_db).revoke_token(token_id):
        raise fail(f"no live token {token_id}")
    console.print(f"Revoked API token {token_id}.")
