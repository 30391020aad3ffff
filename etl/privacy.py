"""Keep personal data out: pseudonymise participant codes and refuse columns that look personal.

Participant codes are stored only as HMAC-SHA256(key, code). The key lives outside the database
(default `~/.config/attune/pseudonym.key`, or `$ATTUNE_KEY_FILE`), is created on first use, and
must be kept (and backed up) with the same care as the raw exports: whoever holds it and a code
can recompute the hash, and without it new waves can no longer be linked to earlier ones.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.keyed_hash import HEX_DIGEST_CHARS, KeyedHash

KEY_BYTES = 32
# Below this many distinct codes, hashing takes less than forking a helper process.
BACKGROUND_HASHING_MIN_CODES = 20_000


def default_key_path() -> Path:
    if os.environ.get("ATTUNE_KEY_FILE"):
        return Path(os.environ["ATTUNE_KEY_FILE"])
    config_home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return config_home / "attune" / "pseudonym.key"


def load_or_create_key(path: Path | None = None) -> bytes:
    """The pseudonymisation key, created (readable by its owner only) if it does not exist."""
    path = path or default_key_path()
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"{path}: the pseudonymisation key is too short")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def normalise_code(code: str) -> str:
    """Codes typed by people: case and surrounding/inner blanks do not make another person."""
    return re.sub(r"\s+", "", code).upper()


def _feed(helper: subprocess.Popen, message: bytes) -> None:
    """Write the helper's whole input, then close it (the helper reads to the end)."""
    try:
        helper.stdin.write(message)
        helper.stdin.close()
    except (BrokenPipeError, OSError):  # the helper died: `result` hashes here instead
        pass


class Pseudonymiser:
    """HMAC-SHA256 of participant codes (RFC 2104), keyed with the pseudonymisation key."""

    def __init__(self, key: bytes):
        self._key = key
        self._hash = KeyedHash(key)

    def _digest(self, normalised: str) -> str:
        return self._hash.hexdigest(normalised)

    def hash_one(self, code: str) -> str:
        return self._digest(normalise_code(code))

    def hash_codes(self, normalised: pa.DictionaryArray) -> pa.DictionaryArray:
        """Hash codes already normalised by ``normalise_codes``: each distinct code once."""
        return self._with_digests(normalised, self._hex(normalised.dictionary.to_pylist()))

    def hash_codes_in_background(
        self, normalised: pa.DictionaryArray
    ) -> Callable[[], pa.DictionaryArray]:
        """``hash_codes``, computed by a helper process (``etl.keyed_hash``) while this one goes
        on: HMAC in Python holds the interpreter lock, the helper uses the second core. Returns
        a function that waits for the hashes. Small columns are hashed here; if the helper
        fails, the codes are hashed here after all."""
        codes = normalised.dictionary.to_pylist()
        if len(codes) < BACKGROUND_HASHING_MIN_CODES:
            hashed = self.hash_codes(normalised)
            return lambda: hashed
        helper = subprocess.Popen(
            [sys.executable, "-m", "etl.keyed_hash"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent,
        )
        message = "\n".join([self._key.hex(), *codes]).encode("utf-8")
        writer = threading.Thread(target=_feed, args=(helper, message), daemon=True)
        writer.start()

        def result() -> pa.DictionaryArray:
            hexed = helper.stdout.read()
            writer.join()
            if helper.wait() != 0 or len(hexed) != HEX_DIGEST_CHARS * len(codes):
                hexed = self._hex(codes)
            return self._with_digests(normalised, hexed)

        return result

    def _hex(self, codes: list[str]) -> bytes:
        return self._hash.hexdigests(codes)

    @staticmethod
    def _with_digests(normalised: pa.DictionaryArray, hexed: bytes) -> pa.DictionaryArray:
        large = len(hexed) >= 2**31  # 32-bit string offsets end at 2 GiB
        width = np.int64 if large else np.int32
        offsets = np.arange(0, len(hexed) + 1, HEX_DIGEST_CHARS, dtype=width)
        kind = pa.LargeStringArray if large else pa.StringArray
        digests = kind.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(hexed))
        return pa.DictionaryArray.from_arrays(normalised.indices, digests)

    def hash_array(self, codes: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
        """Hash a column of codes, each distinct normalised code once; blanks stay null."""
        return self.hash_codes(normalise_codes(codes))


def normalise_codes(codes: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """``normalise_code`` for a whole column of text, dictionary-encoded so that each distinct
    code is worked on once; a code that normalises to nothing is null (blank)."""
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    raw = codes.dictionary_encode()
    normalised = pc.utf8_upper(pc.replace_substring_regex(raw.dictionary, r"\s+", ""))
    normalised = pc.if_else(pc.equal(normalised, ""), None, normalised)
    distinct = normalised.dictionary_encode()
    return pa.DictionaryArray.from_arrays(
        pc.take(distinct.indices, raw.indices), distinct.dictionary
    )


# --- The personal-data guard -------------------------------------------------------------

PERSONAL_COLUMN_NAMES = [
    (r"(^|_)(first|last|full|given|family|sur|user|maiden)_?name($|_)|^name$", "a person's name"),
    (r"e_?mail", "an e-mail address"),
    (r"phone|mobile|telephone|(^|_)tel($|_)|whatsapp", "a phone number"),
    (r"address|street|postcode|post_code|zip_?code|(^|_)zip($|_)|city|suburb", "a postal address"),
    (r"birth|(^|_)dob($|_)|(^|_)age($|_)", "a date of birth or age"),
    (
        r"comment|feedback|free_?text|notes?($|_)|remarks|open_?ended|other_text|_text$",
        "free-text comments",
    ),
    (r"ip_?address|(^|_)ip($|_)|latitude|longitude|location", "a location or network address"),
    (
        r"national_?id|passport|ssn|nhs_?number|social_security|staff_?id|employee_?id",
        "an identity number",
    ),
]

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"^\+?[\d\s().-]{9,}$")
DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")


@dataclass(frozen=True)
class PersonalDataFinding:
    column: str
    why: str

    def message(self) -> str:
        return (
            f"column '{self.column}' looks like personal data ({self.why}); Attune does not "
            f"store personal data. Remove it from the export, or leave it out with "
            f"--drop {self.column}"
        )


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def personal_column_name(name: str) -> str | None:
    """Why a column's name suggests personal data, or None."""
    snake = _snake(name)
    for pattern, why in PERSONAL_COLUMN_NAMES:
        if re.search(pattern, snake):
            return f"its name suggests {why}"
    return None


def personal_values(
    values: pd.Series, sample_size: int = 500, free_text_expected: bool = False
) -> str | None:
    """Why a column's values look like personal data (e-mails, phone numbers, free text)."""
    sample = values.dropna().astype(str)
    if sample.empty:
        return None
    sample = sample.iloc[:sample_size]
    stripped = sample.str.strip()
    if stripped.str.contains(EMAIL).mean() > 0.05:
        return "it holds e-mail addresses"
    digits = stripped.str.replace(r"\D", "", regex=True).str.len()
    phone_like = stripped.str.match(PHONE) & (digits >= 9) & ~stripped.str.match(DATE_LIKE)
    if phone_like.mean() > 0.2:
        return "it holds phone numbers"
    words = stripped.str.split().str.len()
    if (
        not free_text_expected
        and len(sample) >= 3
        and words.mean() >= 4
        and stripped.str.len().mean() >= 25
    ):
        return "it holds free text, which can identify people"
    return None


def find_personal_data(
    frame_columns: dict[str, pd.Series], expected_text_columns: set[str]
) -> list[PersonalDataFinding]:
    """Columns of an input that must not be stored.

    Names are checked for every column that is not an expected contract column; values are
    checked for every text column, so a participant_code column of e-mail addresses is caught.
    Free text is expected only in the contract's own text columns (a programme's name, a
    citation).
    """
    findings = []
    for column, values in frame_columns.items():
        expected = column in expected_text_columns
        why = None if expected else personal_column_name(column)
        if why is None and (values.dtype == object or pd.api.types.is_string_dtype(values)):
            why = personal_values(values, free_text_expected=expected)
        if why:
            findings.append(PersonalDataFinding(column, why))
    return findings
