"""HMAC-SHA256 of many short strings (RFC 2104), importing nothing but the standard library.

``etl.privacy.Pseudonymiser`` hashes participant codes with ``KeyedHash``. A large file's codes
are hashed by this module run as a helper process (``python -m etl.keyed_hash``), so that the
hashing, which holds the interpreter lock, runs on the second core while the ingest validates.
The helper starts in milliseconds because it imports only ``hashlib`` and ``sys``.

Protocol on the helper's standard input: the key as one hex line, then the codes, one per line
(normalised codes hold no whitespace). Standard output: the hex digests, 64 characters each,
back to back, in the same order.
"""

from __future__ import annotations

import hashlib
import sys

SHA256_BLOCK = 64
HEX_DIGEST_CHARS = 64


class KeyedHash:
    """HMAC-SHA256 with a fixed key, the key's padded blocks hashed once."""

    def __init__(self, key: bytes):
        padded = (
            key.ljust(SHA256_BLOCK, b"\0")
            if len(key) <= SHA256_BLOCK
            else hashlib.sha256(key).digest().ljust(SHA256_BLOCK, b"\0")
        )
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def hexdigest(self, message: str) -> str:
        inner = self._inner.copy()
        inner.update(message.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def hexdigests(self, messages: list[str]) -> bytes:
        """The hex digests of ``messages``, back to back (64 ASCII characters each)."""
        return "".join(map(self.hexdigest, messages)).encode("ascii")


def main() -> None:
    lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
    key, codes = bytes.fromhex(lines[0]), lines[1:]
    sys.stdout.buffer.write(KeyedHash(key).hexdigests(codes))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
