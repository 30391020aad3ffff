"""Share links: `attune share --sponsor ID`, `attune share list`, `attune share revoke ID`.

A share link (``accounts.shares``) opens one sponsor's published view of the dashboard for
someone without an account, until it expires or is revoked. Only a hash of its secret is
kept in the accounts file; making, opening and revoking a link are all in its audit log.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from attune.cli.accounts import AuthOption, _store, check_sponsor
from attune.cli.shared import DbOption, console, fail, stdout

EXIT_CODES = ("Exit codes: 0 done; 2 usage error (a sponsor without cohorts, a bad expiry, no "
              "such link).")
DEFAULT_BASE_URL = "http://127.0.0.1:8050"

commands = typer.Typer()
share_app = typer.Typer(
    help="Share links: a read-only link to one sponsor's published view that works without an "
    "account, expires, and can be revoked. With --sponsor, make one; `share list` and "
    "`share revoke ID` manage them.",
    invoke_without_command=True,
    no_args_is_help=False,
)
commands.add_typer(share_app, name="share")


def _maker() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return ""


@share_app.callback(epilog=EXIT_CODES)
def share(
    ctx: typer.Context,
    sponsor: Annotated[
        str | None,
        typer.Option(help="The sponsor_id whose published view the link opens; it must have "
                     "cohorts in --db."),
    ] = None,
    expires: Annotated[
        str,
        typer.Option(help="How long the link works: Nd (days) or Nh (hours), at most 365d."),
    ] = "30d",
    scale: Annotated[
        list[str] | None,
        typer.Option("--scale", help="Offer only this scale (repeat for more). Default: "
                     "every scale."),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option("--base-url", help="The dashboard's address as its visitors reach it."),
    ] = DEFAULT_BASE_URL,
    db: DbOption = None,
    auth_db: AuthOption = None,
) -> None:
    """Make a share link and print it as the LAST line (take it with `tail -1`). It is shown
    only this once: the accounts file keeps only a hash of its secret."""
    if ctx.invoked_subcommand is not None:
        return
    if not sponsor:
        console.print(ctx.get_help())
        raise fail("give --sponsor ID to make a link, or a command: list, revoke")
    from accounts.records import AccountError
    from accounts.shares import make_share, parse_lifetime

    try:
        parse_lifetime(expires)  # a bad expiry is refused before the database is read
    except AccountError as error:
        raise fail(str(error)) from None
    check_sponsor(sponsor, db, later="")  # a link to a sponsor without data shows nothing
    link_id, token, expires_at = make_share(_store(auth_db), sponsor, expires, scale or (),
                                            _maker())
    scope = f" (scales {', '.join(scale)})" if scale else ""
    console.print(f"Created share link {link_id} to sponsor {sponsor}'s published view"
                  f"{scope}, until {expires_at.isoformat(timespec='minutes')} UTC. Revoke it "
                  f"with `attune share revoke {link_id}`; the link is not shown again:")
    console.file.flush()
    typer.echo(f"{base_url.rstrip('/')}/share/{token}")  # plain, unwrapped, and the last line


@share_app.command("list", help="List share links: id, sponsor, scales, created, expires, "
                   "revoked, made by; never the links themselves.")
def share_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    auth_db: AuthOption = None,
) -> None:
    links = _store(auth_db).shares()
    if as_json:
        typer.echo(json.dumps([asdict(link) for link in links], indent=2))
        return
    table = Table(title="Attune share links")
    for column in ("id", "sponsor", "scales", "created", "expires", "revoked", "made by"):
        table.add_column(column)
    for link in links:
        table.add_row(str(link.id), link.sponsor_id, ", ".join(link.scales) or "all",
                      link.created_at[:16], link.expires_at[:16],
                      (link.revoked_at or "no")[:16], link.created_by)
    stdout.print(table)


@share_app.command("revoke", epilog=EXIT_CODES,
                   help="Revoke a share link at once: it and every session it opened stop "
                   "working.")
def share_revoke(
    link_id: Annotated[int, typer.Argument(metavar="ID", help="The link's id (`share list`).")],
    auth_db: AuthOption = None,
) -> None:
    if not _store(auth_db).revoke_share(link_id, _maker()):
        raise fail(f"no live share link {link_id}")
    console.print(f"Revoked share link {link_id}.")
