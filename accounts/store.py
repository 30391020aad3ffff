"""Local accounts, roles and the audit trail, kept apart from the research database.

Accounts live in a small SQLite file (`$ATTUNE_AUTH_DB`, else `attune-auth.sqlite` in the
user's data directory, see `schemas.settings`), or in PostgreSQL when `$ATTUNE_ACCOUNTS_URL`
is set (``accounts.backends``: one store for several servers), never in the DuckDB file
researchers query.
Passwords are stored as Argon2id hashes (salted, memory-hard). Every sign-in attempt is
logged; failures slow down the user name (exponential back-off) and the client address (a
short window), as ``accounts.limits`` sets out, and every attempt costs one Argon2 check,
whether the name exists, must wait or not, so response times do not tell which names exist.
Session records and API tokens (``accounts.credentials``) and share links (``accounts.shares``)
are part of the same store.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from accounts.backends import open_backend
from accounts.credentials import CredentialRecords
from accounts.limits import LoginLimits, seconds_left
from accounts.records import (
    ADDRESS_WAITS,
    NAME_WAITS,
    WRONG,
    AccountError,
    AccountsUnavailable,
    Credential,
    SessionRecord,
    SignIn,
    TokenRecord,
    User,
    iso,
    utc_now,
)
from accounts.shares import ShareRecords
from schemas.settings import default_auth_path

__all__ = ["AccountError", "AccountsUnavailable", "AuthStore", "Credential", "LoginLimits",
           "SessionRecord", "SignIn", "TokenRecord", "User", "ROLES", "decoy_hash"]

ROLES = {
    "admin": "everything, including accounts",
    "evaluator": "all programmes, and the quarantined rows",
    "sponsor": "only the cohorts they sponsored",
    "researcher": "all data, the data dictionary and the SQL console",
}
MIN_PASSWORD_LENGTH = 10
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    sponsor_id TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_attempts (
    at TEXT NOT NULL,
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_by_client ON login_attempts (client, at);
CREATE TABLE IF NOT EXISTS login_backoff (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_name);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_name TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used TEXT,
    revoked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS share_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT NOT NULL,
    sponsor_id TEXT NOT NULL,
    scales TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    created_by TEXT NOT NULL
);
"""

INSERT_USER = "INSERT INTO users VALUES (?, ?, ?, ?, ?)"
DELETE_USER = "DELETE FROM users WHERE name = ?"
SELECT_USERS = "SELECT name, role, sponsor_id FROM users ORDER BY name"
SELECT_USER = "SELECT name, role, sponsor_id FROM users WHERE name = ?"
SELECT_USER_WITH_HASH = "SELECT name, role, sponsor_id, password_hash FROM users WHERE name = ?"
UPDATE_PASSWORD = "UPDATE users SET password_hash = ? WHERE name = ?"
INSERT_ATTEMPT = "INSERT INTO login_attempts VALUES (?, ?, ?, ?)"
SELECT_BACKOFF = "SELECT failures, last_failure FROM login_backoff WHERE name = ?"
# One more failure in a row; a run whose last failure is older than the memory starts again.
# (The existing row's columns are named with the table: PostgreSQL finds them ambiguous.)
RECORD_FAILURE = """
INSERT INTO login_backoff (name, failures, last_failure) VALUES (?, 1, ?)
ON CONFLICT (name) DO UPDATE SET
    failures = CASE WHEN login_backoff.last_failure < ? THEN 1
                    ELSE login_backoff.failures + 1 END,
    last_failure = excluded.last_failure
"""
CLEAR_BACKOFF = "DELETE FROM login_backoff WHERE name = ?"
# The address_failures-th most recent failure from a client within the window, if any: the
# client may try again once it has left the window.
NTH_RECENT_CLIENT_FAILURE = (
    "SELECT at FROM login_attempts WHERE client = ? AND success = 0 AND at > ? "
    "ORDER BY at DESC LIMIT 1 OFFSET ?")
INSERT_AUDIT = "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)"
SELECT_AUDIT = ("SELECT at, user_name, action, detail, outcome FROM audit_log "
                "ORDER BY at DESC LIMIT ?")


def _random_b64(size: int) -> str:
    """Random bytes as Argon2's encoded form writes them: standard base64 without padding."""
    return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")


def decoy_hash(hasher: PasswordHasher) -> str:
    """A hash in Argon2's encoded form with the hasher's own parameters and a random salt and
    digest: verifying any password against it fails and costs exactly what checking a real
    account costs, without the cost of hashing a password to make it."""
    return (f"$argon2{hasher.type.name.lower()}$v=19$m={hasher.memory_cost},"
            f"t={hasher.time_cost},p={hasher.parallelism}"
            f"${_random_b64(hasher.salt_len)}${_random_b64(hasher.hash_len)}")


def check_password_rules(password: str) -> None:
    """The rules every new password follows (`users add` and `users passwd` alike)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


class AuthStore(CredentialRecords, ShareRecords):
    """Accounts, sign-in limits, sessions, API tokens, share links and the audit log in one
    store: the SQLite file ``path`` when given, else PostgreSQL at ``url`` (default
    ``$ATTUNE_ACCOUNTS_URL``) when set, else the default SQLite file (``accounts.backends``).

    ``path`` stays the accounts file's name even with PostgreSQL: the session key is kept
    beside it (``<path>.secret``) unless ``$ATTUNE_SECRET_KEY`` gives it. ``location`` names
    the store in messages (the file, or the URL without its password). A PostgreSQL server
    that cannot be reached raises ``AccountsUnavailable``. ``limits`` is the sign-in
    back-off policy (``accounts.limits.LoginLimits``), ``clock`` the source of "now" (naive
    UTC) for every time the store writes or compares, ``hasher`` the Argon2id parameters of
    new passwords (default: argon2-cffi's, RFC 9106's low-memory profile).
    """

    def __init__(self, path: Path | None = None, *, url: str | None = None,
                 limits: LoginLimits | None = None,
                 clock: Callable[[], dt.datetime] = utc_now,
                 hasher: PasswordHasher | None = None):
        self.path = Path(path or default_auth_path())
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.backend = open_backend(path, url, self.path)
        self.location = self.backend.location
        self.limits = limits or LoginLimits()
        self.now = clock
        self.hasher = hasher or PasswordHasher()
        self._decoy_hash = decoy_hash(self.hasher)
        self.backend.create(SCHEMA)

    def _connect(self):
        """A connection of the backend: ``with con:`` is one transaction, ``close()`` ends it."""
        return self.backend.connect()

    def close(self) -> None:
        """Let go of pooled connections (a server calls this before it forks its workers)."""
        self.backend.close()

    # -- accounts --

    def add_user(self, name: str, role: str, password: str, sponsor_id: str | None = None) -> User:
        if not NAME.match(name):
            raise AccountError("a user name is 1-64 letters, digits or . _ @ -")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if role == "sponsor" and not sponsor_id:
            raise AccountError("a sponsor account needs --sponsor ID (the cohorts' sponsor_id)")
        if role != "sponsor" and sponsor_id:
            raise AccountError("--sponsor applies only to the sponsor role")
        check_password_rules(password)
        try:
            with closing(self._connect()) as con, con:
                con.execute(INSERT_USER, [name, role, sponsor_id, self.hasher.hash(password),
                                          iso(self.now())])
        except self.backend.integrity_errors:
            raise AccountError(f"user {name!r} already exists") from None
        self.audit(name, "user_add", f"role {role}", "ok")
        return User(name, role, sponsor_id)

    def remove_user(self, name: str) -> bool:
        """Delete an account and revoke its sessions and API tokens."""
        with closing(self._connect()) as con, con:
            removed = con.execute(DELETE_USER, [name]).rowcount > 0
        if removed:
            sessions, tokens = self.revoke_sessions(name), self.revoke_tokens(name)
            self.audit(name, "user_remove",
                       f"{sessions} sessions and {tokens} API tokens revoked", "ok")
        return removed

    def set_password(self, name: str, password: str) -> int:
        """Give ``name`` a new password (the rules of ``add_user``) and revoke every session
        of theirs, so whoever knew the old one is signed out; API tokens stay valid. Returns
        how many sessions were revoked."""
        check_password_rules(password)
        with closing(self._connect()) as con, con:
            changed = con.execute(UPDATE_PASSWORD, [self.hasher.hash(password), name]).rowcount
        if not changed:
            raise AccountError(f"no user {name!r}")
        revoked = self.revoke_sessions(name)
        self.audit(name, "passwd", f"password changed; {revoked} sessions revoked", "ok")
        return revoked

    def users(self) -> list[User]:
        with closing(self._connect()) as con:
            rows = con.execute(SELECT_USERS).fetchall()
        return [User(*row) for row in rows]

    def user(self, name: str) -> User | None:
        with closing(self._connect()) as con:
            row = con.execute(SELECT_USER, [name]).fetchone()
        return User(*row) if row else None

    # -- signing in --

    def name_failures(self, name: str) -> int:
        """Failures in a row of this user name still counted by the back-off."""
        with closing(self._connect()) as con:
            row = con.execute(SELECT_BACKOFF, [name]).fetchone()
        return self._counted(row, self.now())[0]

    def _counted(self, row: tuple | None, now: dt.datetime) -> tuple[int, dt.datetime | None]:
        if row is None:
            return 0, None
        last = dt.datetime.fromisoformat(row[1])
        return (row[0], last) if self.limits.failures_still_counted(last, now) else (0, None)

    def _waits(self, con, name: str, client: str,
               now: dt.datetime) -> tuple[str | None, float]:
        """Whether the address or the name must wait now, and for how many seconds."""
        limits = self.limits
        nth = con.execute(NTH_RECENT_CLIENT_FAILURE, [
            client, iso(now - limits.address_window), limits.address_failures - 1]).fetchone()
        if nth is not None:
            left = seconds_left(dt.datetime.fromisoformat(nth[0]) + limits.address_window, now)
            if left > 0:
                return ADDRESS_WAITS, left
        failures, last = self._counted(con.execute(SELECT_BACKOFF, [name]).fetchone(), now)
        # No wait is no wait, even when another server process recorded a failure of this
        # name a moment after this request's "now".
        if last is not None and limits.name_wait(failures):
            left = seconds_left(limits.name_free_at(failures, last), now)
            if left > 0:
                return NAME_WAITS, left
        return None, 0.0

    def sign_in(self, name: str, password: str, client: str) -> SignIn:
        """Check a password: the user, or why not (see ``accounts.records.SignIn``).

        Every attempt is logged. While the client address or the user name must wait (see
        ``accounts.limits``), even the right password is refused and the name's count does not
        grow; otherwise a wrong password, or any password for an unknown name, is one more
        failure of that name (made-up names count like real ones) and a right one clears the
        name's count. Each call runs exactly one Argon2 check (against the decoy hash for an
        unknown name or one that must wait), so its time does not tell whether a name exists.
        """
        now = self.now()
        with closing(self._connect()) as con:
            refused, retry_after = self._waits(con, name, client, now)
            row = con.execute(SELECT_USER_WITH_HASH, [name]).fetchone()
        usable = row is not None and refused is None
        try:
            matched = self.hasher.verify(row[3] if usable else self._decoy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        ok = usable and matched
        with closing(self._connect()) as con, con:
            con.execute(INSERT_ATTEMPT, [iso(now), name, client, int(ok)])
            if ok:
                con.execute(CLEAR_BACKOFF, [name])
            elif refused is None:
                con.execute(RECORD_FAILURE, [name, iso(now), iso(now - self.limits.memory)])
        if ok:
            return SignIn(User(row[0], row[1], row[2]))
        if refused is None:  # the wait this failure starts (none for the first few)
            return SignIn(None, WRONG,
                          self.limits.name_wait(self.name_failures(name)).total_seconds())
        return SignIn(None, refused, retry_after)

    def authenticate(self, name: str, password: str, client: str) -> User | None:
        """The user if the password is right and neither the name nor the client must wait."""
        return self.sign_in(name, password, client).user

    def wait_seconds(self, name: str, client: str) -> float:
        """How long this name, or this client address, must wait before it may try again."""
        with closing(self._connect()) as con:
            return self._waits(con, name, client, self.now())[1]

    def is_locked(self, name: str, client: str) -> bool:
        return self.wait_seconds(name, client) > 0

    def unlock(self, name: str) -> int:
        """Clear the back-off of ``name`` (``attune users unlock``); how many failures in a row
        it had. Audited."""
        failures = self.name_failures(name)
        with closing(self._connect()) as con, con:
            con.execute(CLEAR_BACKOFF, [name])
        self.audit(name, "unlock", f"back-off cleared after {failures} failures", "ok")
        return failures

    # -- audit --

    def audit(self, user: str, action: str, detail: str, outcome: str) -> None:
        with closing(self._connect()) as con, con:
            con.execute(INSERT_AUDIT, [iso(self.now()), user, action, detail, outcome])

    def audit_entries(self, limit: int = 100) -> list[tuple]:
        with closing(self._connect()) as con:
            return con.execute(SELECT_AUDIT, [limit]).fetchall()
