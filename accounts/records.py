"""The plain values the accounts store answers with, and how it writes times.

Kept apart from ``accounts.store`` and ``accounts.credentials`` so both can use them; import
them from ``accounts.store`` (which re-exports them) elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Why a credential, or a sign-in, was refused.
UNKNOWN, EXPIRED, REVOKED, NO_ACCOUNT = "unknown", "expired", "revoked", "no account"
WRONG, NAME_WAITS, ADDRESS_WAITS = "wrong", "name waits", "address waits"


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


class AccountsUnavailable(RuntimeError):
    """The accounts store cannot be reached (its message names it, never its password)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    sponsor_id: str | None = None


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the user, or why not (``WRONG``: wrong name or password, told
    apart from nothing else; ``NAME_WAITS`` / ``ADDRESS_WAITS``: too many failures, try again
    in ``retry_after`` seconds)."""

    user: User | None
    refused: str | None = None
    retry_after: float = 0.0


@dataclass(frozen=True)
class Credential:
    """The answer to "whose is this session id / token?": the user, or ``problem`` (unknown,
    expired, revoked, no account) and, when the credential was ours, whose it was."""

    user: User | None
    problem: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    user_name: str
    created_at: str
    last_seen: str
    expires_at: str
    revoked: bool


@dataclass(frozen=True)
class TokenRecord:
    """An API token as listed: never the token itself (only its hash is kept)."""

    id: int
    user_name: str
    label: str
    created_at: str
    last_used: str | None
    revoked: bool


def utc_now() -> dt.datetime:
    """The store's clock: naive UTC, as every time in the accounts file is written."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def iso(moment: dt.datetime) -> str:
    """A time as the accounts file stores it (sortable as text: always with microseconds)."""
    return moment.isoformat(timespec="microseconds")
