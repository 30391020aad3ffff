"""The key that signs the dashboard's session cookies, shared by every server process.

``$ATTUNE_SECRET_KEY`` when set (the same value on every machine that serves one accounts
store), else a random key kept beside the accounts file (``<accounts file>.secret``, 0600),
so it lives (and is backed up or removed) with the accounts it protects. Every worker of
``attune serve --workers N`` reads the same file, so a cookie signed by one is good on the
others; the file is made whole or not at all (a complete draft, then ``os.link``), so workers
starting at the same moment all read the first one's key.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def secret_file(auth_path: Path) -> Path:
    """Where the session-signing key of an accounts file is kept: ``<accounts file>.secret``,
    so it lives (and is backed up or removed) with the accounts it protects."""
    return Path(auth_path).with_name(Path(auth_path).name + ".secret")


def secret_key(auth_path: Path | None) -> bytes:
    """``$ATTUNE_SECRET_KEY``, else a random key kept in ``secret_file(auth_path)`` (0600;
    by default in the user's data directory, like the accounts file)."""
    env = os.environ.get("ATTUNE_SECRET_KEY")
    if env:
        return env.encode()
    if auth_path is None:
        return secrets.token_bytes(32)  # login off: sessions need not survive a restart
    key_file = secret_file(auth_path)
    if not key_file.exists():  # several server processes may start at once: the first wins
        fd, draft = tempfile.mkstemp(dir=key_file.parent, prefix=key_file.name + ".")  # 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(draft, key_file)  # whole or not at all: no process reads half a key
        except FileExistsError:
            pass  # another process made it first: every process reads that one
        finally:
            os.unlink(draft)
    os.chmod(key_file, 0o600)
    return key_file.read_text().strip().encode()
