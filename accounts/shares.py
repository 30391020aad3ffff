"""Share links: a read-only, expiring, revocable link to one sponsor's published view.

``attune share --sponsor ID`` makes a link ``/share/<token>`` that opens the dashboard as
that sponsor sees it, for someone without an account. The token is ``<link id>.<secret>``:
the secret is 32 random bytes, and the accounts file keeps only its SHA-256 (as for API
tokens: a copy of the file opens nothing). What the link shows (the sponsor, the scales) and
until when lives in the stored row, never in the token, so editing the URL cannot widen it:
any change to the id or the secret no longer matches a row and is refused.

Each ``share_links`` row has its sponsor, scales (empty: every scale), who made it, when it
was made, when it expires and when it was revoked. ``ShareRecords`` is a part of
``accounts.store.AuthStore`` (it uses the store's connection, clock and audit trail);
checking a token answers a ``Credential`` whose user is a ``ShareVisitor``: the sponsor role
with that sponsor id, marked with the link's id, re-checked on every request so that
revoking or expiry ends the sessions it opened at once.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass

from accounts.credentials import MAX_CREDENTIAL_LENGTH, TOKEN_BYTES, digest
from accounts.records import EXPIRED, REVOKED, UNKNOWN, AccountError, Credential, User, iso

MAX_LIFETIME = dt.timedelta(days=365)
DEFAULT_LIFETIME = dt.timedelta(days=30)
SEPARATOR = "."  # between the link id and the secret; never in a url-safe base64 secret

INSERT_SHARE = (
    "INSERT INTO share_links (secret_hash, sponsor_id, scales, created_at, expires_at, "
    "revoked_at, created_by) VALUES (?, ?, ?, ?, ?, NULL, ?) RETURNING id")
SELECT_SHARE = ("SELECT id, secret_hash, sponsor_id, scales, expires_at, revoked_at "
                "FROM share_links WHERE id = ?")
REVOKE_SHARE = "UPDATE share_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
SELECT_SHARES = ("SELECT id, sponsor_id, scales, created_at, expires_at, revoked_at, created_by "
                 "FROM share_links ORDER BY id")


@dataclass(frozen=True)
class ShareVisitor(User):
    """Whoever opened a share link: the sponsor role for the link's sponsor, no account.
    ``scales`` empty means every scale."""

    link_id: int = 0
    scales: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShareRecord:
    """A share link as listed: never its secret (only its hash is kept)."""

    id: int
    sponsor_id: str
    scales: tuple[str, ...]
    created_at: str
    expires_at: str
    revoked_at: str | None
    created_by: str


def visitor_name(link_id: int) -> str:
    """The name a share link's visitor goes by in the audit log and the page header (with
    brackets, which no account name has)."""
    return f"(share link {link_id})"


def parse_lifetime(text: str) -> dt.timedelta:
    """``Nd`` (days) or ``Nh`` (hours), more than nothing and at most ``MAX_LIFETIME``."""
    value = (text or "").strip().lower()
    unit = {"d": "days", "h": "hours"}.get(value[-1:])
    if unit is None or not value[:-1].isdigit():
        raise AccountError(f"expiry {text!r}: give a number of days or hours, e.g. 30d or 12h")
    lifetime = dt.timedelta(**{unit: int(value[:-1])})
    if lifetime <= dt.timedelta(0) or lifetime > MAX_LIFETIME:
        raise AccountError(f"expiry {text!r}: a share link lasts at most 365 days")
    return lifetime


def unknown_sponsor(sponsor_id: str, known: Iterable[str], where: str = "the database"
                    ) -> str | None:
    """Why ``sponsor_id`` is refused for an account or a share link (None: it has cohorts).
    A typo would give an account, or a link, whose every page is empty; ``known`` are the
    sponsor ids with cohorts in ``where``. The one wording of ``attune users add``,
    ``attune share`` and the dashboard's share button."""
    known = list(known)
    if sponsor_id in known:
        return None
    listed = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
    return (f"sponsor {sponsor_id!r} has no cohorts in {where} (sponsors there: "
            f"{listed or 'none'}); check the id")


def make_share(store: ShareRecords, sponsor_id: str, expires: str, scales: Iterable[str] = (),
               created_by: str = "", known_sponsors: Iterable[str] | None = None
               ) -> tuple[int, str, dt.datetime]:
    """THE way a share link is made, by ``attune share`` and by the dashboard's share button:
    the sponsor checked against ``known_sponsors`` (when given: the caller may have checked
    it already), the expiry parsed (``parse_lifetime``), the link added and audited with its
    maker. ``(link id, token, expires at)``; a refused input raises ``AccountError``."""
    if known_sponsors is not None:
        problem = unknown_sponsor(sponsor_id, known_sponsors)
        if problem:
            raise AccountError(problem)
    expires_at = store.now() + parse_lifetime(expires)
    link_id, token = store.add_share(sponsor_id, expires_at, scales, created_by)
    return link_id, token, expires_at


def _split(token: str) -> tuple[int, str] | None:
    link_id, sep, secret = (token or "").partition(SEPARATOR)
    if not sep or not secret or not link_id.isdigit() or len(token) > MAX_CREDENTIAL_LENGTH:
        return None
    return int(link_id), secret


class ShareRecords:
    """Share links of an ``AuthStore`` (see the module docstring)."""

    def add_share(self, sponsor_id: str, expires_at: dt.datetime,
                  scales: Iterable[str] = (), created_by: str = "") -> tuple[int, str]:
        """A new link to ``sponsor_id``'s published view until ``expires_at`` (naive UTC):
        ``(link id, token)``. The token is returned only here; the file keeps its hash."""
        if not sponsor_id:
            raise AccountError("a share link needs a sponsor id")
        secret = secrets.token_urlsafe(TOKEN_BYTES)
        kept = ",".join(sorted({s.strip() for s in scales if s.strip()}))
        with closing(self._connect()) as con, con:
            link_id = con.execute(INSERT_SHARE, [digest(secret), sponsor_id, kept,
                                                 iso(self.now()), iso(expires_at),
                                                 created_by]).fetchone()[0]
        self.audit(created_by or "(command line)", "share_add",
                   f"link {link_id} for sponsor {sponsor_id} until {iso(expires_at)[:16]}"
                   + (f", scales {kept}" if kept else ""), "ok")
        return link_id, f"{link_id}{SEPARATOR}{secret}"

    def share_visitor(self, token: str) -> Credential:
        """The visitor of a live link; an unknown, altered, expired or revoked token gets
        none (``owner`` names the link when the id was one of ours)."""
        parts = _split(token)
        if parts is None:
            return Credential(None, UNKNOWN)
        with closing(self._connect()) as con:
            row = con.execute(SELECT_SHARE, [parts[0]]).fetchone()
        if row is None or not hmac.compare_digest(row[1], digest(parts[1])):
            return Credential(None, UNKNOWN, visitor_name(parts[0]) if row else None)
        link_id, _, sponsor_id, scales, expires_at, revoked_at = row
        owner = visitor_name(link_id)
        if revoked_at is not None:
            return Credential(None, REVOKED, owner)
        if dt.datetime.fromisoformat(expires_at) <= self.now():
            return Credential(None, EXPIRED, owner)
        return Credential(ShareVisitor(owner, "sponsor", sponsor_id, link_id,
                                       tuple(s for s in scales.split(",") if s)), None, owner)

    def revoke_share(self, link_id: int, by: str = "") -> bool:
        """Revoke a link at once (and every session it opened); False if no such live link."""
        with closing(self._connect()) as con, con:
            revoked = con.execute(REVOKE_SHARE, [iso(self.now()), link_id]).rowcount > 0
        if revoked:
            self.audit(by or "(command line)", "share_revoke", f"link {link_id}", "ok")
        return revoked

    def shares(self) -> list[ShareRecord]:
        """Every share link by id, without the secrets."""
        with closing(self._connect()) as con:
            rows = con.execute(SELECT_SHARES).fetchall()
        return [ShareRecord(r[0], r[1], tuple(s for s in r[2].split(",") if s), r[3], r[4],
                            r[5], r[6]) for r in rows]
