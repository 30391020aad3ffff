"""Local accounts, roles and the audit trail, kept apart from the research database.

Accounts live in a small SQLite file (`$ATTUNE_AUTH_DB`, else `attune-auth.sqlite` in the
user's data directory, see `schemas.settings`), never in the DuckDB file researchers query.
Passwords are stored as Argon2id hashes (salted, memory-hard). Failed logins are logged and
rate-limited per account and per client address, and every `authenticate` call costs one
Argon2 check, whether the name exists, is locked out or not, so response times do not tell
which names exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from schemas.settings import default_auth_path

ROLES = {
    "admin": "everything, including accounts",
    "evaluator": "all programmes, and the quarantined rows",
    "sponsor": "only the cohorts they sponsored",
    "researcher": "all data, the data dictionary and the SQL console",
}
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
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
CREATE TABLE IF NOT EXISTS audit_log (
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"""


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    sponsor_id: str | None = None


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class AuthStore:
    """Accounts, login attempts and the audit log in one SQLite file."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path or default_auth_path())
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.hasher = PasswordHasher()
        self._decoy_hash = decoy_hash(self.hasher)
        with closing(self._connect()) as con, con:
            con.executescript(SCHEMA)
        os.chmod(self.path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

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
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        try:
            with closing(self._connect()) as con, con:
                con.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                    [name, role, sponsor_id, self.hasher.hash(password), _now().isoformat()],
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} already exists") from None
        return User(name, role, sponsor_id)

    def remove_user(self, name: str) -> bool:
        with closing(self._connect()) as con, con:
            return con.execute("DELETE FROM users WHERE name = ?", [name]).rowcount > 0

    def users(self) -> list[User]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT name, role, sponsor_id FROM users ORDER BY name").fetchall()
        return [User(*row) for row in rows]

    def user(self, name: str) -> User | None:
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT name, role, sponsor_id FROM users WHERE name = ?", [name]
            ).fetchone()
        return User(*row) if row else None

    # -- logging in --

    def recent_failures(self, name: str, client: str) -> int:
        since = (_now() - FAILURE_WINDOW).isoformat()
        with closing(self._connect()) as con:
            return con.execute(
                "SELECT count(*) FROM login_attempts WHERE success = 0 AND at > ? "
                "AND (name = ? OR client = ?)",
                [since, name, client],
            ).fetchone()[0]

    def authenticate(self, name: str, password: str, client: str) -> User | None:
        """The user, if the password is right and neither the name nor the client is locked out.

        Every attempt is logged; after MAX_FAILURES failures in FAILURE_WINDOW for the same
        name or client, even a right password is refused until the window has passed. Each
        call runs exactly one Argon2 check (against the decoy hash for an unknown or locked-out
        name), so how long it takes does not tell whether the name exists.
        """
        locked = self.recent_failures(name, client) >= MAX_FAILURES
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT name, role, sponsor_id, password_hash FROM users WHERE name = ?", [name]
            ).fetchone()
        usable = row is not None and not locked
        try:
            matched = self.hasher.verify(row[3] if usable else self._decoy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        ok = usable and matched
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT INTO login_attempts VALUES (?, ?, ?, ?)",
                [_now().isoformat(), name, client, int(ok)],
            )
        return User(row[0], row[1], row[2]) if ok else None

    def is_locked(self, name: str, client: str) -> bool:
        return self.recent_failures(name, client) >= MAX_FAILURES

    # -- audit --

    def audit(self, user: str, action: str, detail: str, outcome: str) -> None:
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
                [_now().isoformat(), user, action, detail, outcome],
            )

    def audit_entries(self, limit: int = 100) -> list[tuple]:
        with closing(self._connect()) as con:
            return con.execute(
                "SELECT at, user_name, action, detail, outcome FROM audit_log "
                "ORDER BY at DESC LIMIT ?",
                [limit],
            ).fetchall()
