"""What a request may show instead of a password: session records and API tokens.

Both are 32 random bytes given to the client once and kept in the accounts file only as their
SHA-256 (a random 256-bit secret needs no salt or slow hash: there is nothing to guess), so a
copy of the file lets no one sign in, and both can be revoked on the server:

* **Sessions** (``sessions``): one row per sign-in with its user, when it was created, last
  seen and expires, and whether it was revoked. The browser's cookie carries only the id.
  Signing out revokes the row; a password change or removing the account revokes every
  session of that user.
* **API tokens** (``api_tokens``): per-user bearer tokens for scripts (``Authorization:
  Bearer <token>``), with a label, created and last-used time and a revoked flag. Removing an
  account revokes its tokens; a password change does not (a token is not the password).

``CredentialRecords`` is a part of ``accounts.store.AuthStore`` (it uses the store's
connection, clock and audit trail); checking a credential answers a ``Credential``: the user,
or why not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from contextlib import closing

from accounts.records import (
    EXPIRED,
    NO_ACCOUNT,
    REVOKED,
    UNKNOWN,
    AccountError,
    Credential,
    SessionRecord,
    TokenRecord,
    User,
    iso,
)

TOKEN_PREFIX = "attune_"  # tells a leaked token apart in logs and secret scanners
TOKEN_BYTES = 32
MAX_CREDENTIAL_LENGTH = 200  # anything longer is not one of ours: refuse without hashing
TOUCH_INTERVAL = dt.timedelta(minutes=1)  # last seen / last used is kept to the minute
KEEP_ENDED_SESSIONS = dt.timedelta(days=30)  # ended session rows are deleted after this

INSERT_SESSION = (
    "INSERT INTO sessions (id_hash, user_name, created_at, last_seen, expires_at, revoked) "
    "VALUES (?, ?, ?, ?, ?, 0)")
DELETE_ENDED_SESSIONS = "DELETE FROM sessions WHERE expires_at < ?"
SELECT_SESSION = (
    "SELECT s.user_name, s.expires_at, s.revoked, s.last_seen, u.name, u.role, u.sponsor_id "
    "FROM sessions s LEFT JOIN users u ON u.name = s.user_name WHERE s.id_hash = ?")
TOUCH_SESSION = "UPDATE sessions SET last_seen = ? WHERE id_hash = ?"
REVOKE_SESSION = "UPDATE sessions SET revoked = 1 WHERE id_hash = ? AND revoked = 0"
REVOKE_USER_SESSIONS = "UPDATE sessions SET revoked = 1 WHERE user_name = ? AND revoked = 0"
# (The typed NULL test: PostgreSQL cannot tell the type of a bare "? IS NULL".)
SELECT_SESSIONS = (
    "SELECT user_name, created_at, last_seen, expires_at, revoked FROM sessions "
    "WHERE CAST(? AS TEXT) IS NULL OR user_name = ? ORDER BY created_at")

INSERT_TOKEN = (
    "INSERT INTO api_tokens (token_hash, user_name, label, created_at, last_used, revoked) "
    "VALUES (?, ?, ?, ?, NULL, 0) RETURNING id")
SELECT_TOKEN = (
    "SELECT t.id, t.user_name, t.revoked, t.last_used, u.name, u.role, u.sponsor_id "
    "FROM api_tokens t LEFT JOIN users u ON u.name = t.user_name WHERE t.token_hash = ?")
TOUCH_TOKEN = "UPDATE api_tokens SET last_used = ? WHERE id = ?"
REVOKE_TOKEN = "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND revoked = 0"
REVOKE_USER_TOKENS = "UPDATE api_tokens SET revoked = 1 WHERE user_name = ? AND revoked = 0"
SELECT_TOKENS = (
    "SELECT id, user_name, label, created_at, last_used, revoked FROM api_tokens "
    "WHERE CAST(? AS TEXT) IS NULL OR user_name = ? ORDER BY id")
SELECT_TOKEN_OWNER = "SELECT user_name FROM api_tokens WHERE id = ?"


def digest(secret: str) -> str:
    """The only form in which a session id or token is stored: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _stale(last: str | None, now: dt.datetime) -> bool:
    return last is None or dt.datetime.fromisoformat(last) < now - TOUCH_INTERVAL


class CredentialRecords:
    """Sessions and API tokens of an ``AuthStore`` (see the module docstring)."""

    # -- sessions --

    def create_session(self, user_name: str, lifetime: dt.timedelta) -> str:
        """A new session of ``user_name`` that expires after ``lifetime``: its id, which is
        given to the browser and never stored."""
        session_id = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.now()
        with closing(self._connect()) as con, con:
            con.execute(DELETE_ENDED_SESSIONS, [iso(now - KEEP_ENDED_SESSIONS)])
            con.execute(INSERT_SESSION, [digest(session_id), user_name, iso(now), iso(now),
                                         iso(now + lifetime)])
        return session_id

    def session_user(self, session_id: str) -> Credential:
        """The user of a live session; an unknown, expired or revoked id gets no user."""
        if not session_id or len(session_id) > MAX_CREDENTIAL_LENGTH:
            return Credential(None, UNKNOWN)
        key = digest(session_id)
        with closing(self._connect()) as con:
            row = con.execute(SELECT_SESSION, [key]).fetchone()
        if row is None:
            return Credential(None, UNKNOWN)
        owner, expires_at, revoked, last_seen, *account = row
        now = self.now()
        if revoked:
            return Credential(None, REVOKED, owner)
        if dt.datetime.fromisoformat(expires_at) <= now:
            return Credential(None, EXPIRED, owner)
        if account[0] is None:
            return Credential(None, NO_ACCOUNT, owner)
        if _stale(last_seen, now):
            with closing(self._connect()) as con, con:
                con.execute(TOUCH_SESSION, [iso(now), key])
        return Credential(User(*account), None, owner)

    def revoke_session(self, session_id: str) -> bool:
        """End one session (signing out); False if it was unknown or already ended."""
        with closing(self._connect()) as con, con:
            return con.execute(REVOKE_SESSION, [digest(session_id)]).rowcount > 0

    def revoke_sessions(self, user_name: str) -> int:
        """End every session of ``user_name``; how many were live."""
        with closing(self._connect()) as con, con:
            return con.execute(REVOKE_USER_SESSIONS, [user_name]).rowcount

    def sessions(self, user_name: str | None = None) -> list[SessionRecord]:
        """The session records (of one user, or all), oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute(SELECT_SESSIONS, [user_name, user_name]).fetchall()
        return [SessionRecord(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- API tokens --

    def add_token(self, user_name: str, label: str = "") -> tuple[int, str]:
        """A new bearer token for ``user_name``: ``(token id, token)``. The token is returned
        only here; the file keeps its hash."""
        if self.user(user_name) is None:
            raise AccountError(f"no user {user_name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        with closing(self._connect()) as con, con:
            token_id = con.execute(INSERT_TOKEN, [digest(token), user_name, label.strip(),
                                                  iso(self.now())]).fetchone()[0]
        self.audit(user_name, "token_add", f"token {token_id} {label.strip()!r}", "ok")
        return token_id, token

    def token_user(self, token: str) -> Credential:
        """The user of a live token; an unknown or revoked token gets no user."""
        if not token or len(token) > MAX_CREDENTIAL_LENGTH:
            return Credential(None, UNKNOWN)
        with closing(self._connect()) as con:
            row = con.execute(SELECT_TOKEN, [digest(token)]).fetchone()
        if row is None:
            return Credential(None, UNKNOWN)
        token_id, owner, revoked, last_used, *account = row
        if revoked:
            return Credential(None, REVOKED, owner)
        if account[0] is None:
            return Credential(None, NO_ACCOUNT, owner)
        now = self.now()
        if _stale(last_used, now):
            with closing(self._connect()) as con, con:
                con.execute(TOUCH_TOKEN, [iso(now), token_id])
        return Credential(User(*account), None, owner)

    def revoke_token(self, token_id: int) -> bool:
        """Revoke one token by its id; False if there is no such live token."""
        with closing(self._connect()) as con, con:
            owner = con.execute(SELECT_TOKEN_OWNER, [token_id]).fetchone()
            revoked = con.execute(REVOKE_TOKEN, [token_id]).rowcount > 0
        if revoked:
            self.audit(owner[0], "token_revoke", f"token {token_id}", "ok")
        return revoked

    def revoke_tokens(self, user_name: str) -> int:
        """Revoke every token of ``user_name``; how many were live."""
        with closing(self._connect()) as con, con:
            return con.execute(REVOKE_USER_TOKENS, [user_name]).rowcount

    def tokens(self, user_name: str | None = None) -> list[TokenRecord]:
        """The tokens (of one user, or all) by id, without the tokens themselves."""
        with closing(self._connect()) as con:
            rows = con.execute(SELECT_TOKENS, [user_name, user_name]).fetchall()
        return [TokenRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

