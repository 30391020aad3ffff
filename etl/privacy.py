"""Keep personal data out: pseudonymise participant codes and refuse columns that look personal.

Participant codes are stored only as HMAC-SHA256(key, code). The key lives outside the database
(default `~/.config/attune/pseudonym.key`, or `$ATTUNE_KEY_FILE`), is created on first use, and
must be kept (and backed up) with the same care as the raw exports: whoever holds it and a code
can recompute the hash, and without it new waves can no longer be linked to earlier ones.
"""

from __future__ import annotations

import ipaddress
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
from schemas.settings import user_config_dir

KEY_BYTES = 32
# Below this many distinct codes, hashing takes less than forking a helper process.
BACKGROUND_HASHING_MIN_CODES = 20_000


def default_key_path() -> Path:
    """`$ATTUNE_KEY_FILE`, else `pseudonym.key` in the user's configuration directory."""
    if os.environ.get("ATTUNE_KEY_FILE"):
        return Path(os.environ["ATTUNE_KEY_FILE"])
    return user_config_dir() / "pseudonym.key"


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
#
# Direct identifiers (a name, an e-mail address, a phone number, an IP address, an identity
# number) and quasi-identifiers (a postal code, a date or year of birth, an age) are refused
# unless the column is dropped. A column is judged by its name, by the question a platform
# export asked (`Q4` that asked "What is your ZIP code?") and by a sample of its values, and
# the reason names the cause, so that a platform's respondent id is not called a phone number
# and a ZIP code is not taken for a participant code.

SAMPLE_SIZE = 500  # values looked at per column, so that the checks stay cheap on any file

PERSON_NAME = "a person's name"
E_MAIL = "an e-mail address"
PHONE_NUMBER = "a phone number"
IP_ADDRESS = "an IP address"
POSTAL_CODE = "a postal code (a quasi-identifier)"
POSTAL_ADDRESS = "a postal address"
BIRTH = "a date or year of birth (a quasi-identifier)"
AGE = "an age (a quasi-identifier)"
IDENTITY_NUMBER = "an identity number"

# Patterns on a column's snake_case name; the first match wins (an IP address before a postal
# address). The third field says whether the name makes a column unfit to store even when a
# mapping maps it (True), or only suspicious as an extra, unexpected column (False).
PERSONAL_COLUMN_NAMES = [
    (r"(^|_)(first|last|full|given|family|sur|user|maiden)_?name($|_)|^name$", PERSON_NAME, True),
    (r"e_?mail", E_MAIL, True),
    (r"phone|mobile|telephone|(^|_)tel($|_)|whatsapp", PHONE_NUMBER, True),
    (r"ip_?address|(^|_)ip(_?v[46])?($|_)", IP_ADDRESS, True),
    (r"(^|_)zip(_?code)?($|_)|post_?code|(^|_)postal($|_)|postal_?code", POSTAL_CODE, True),
    (r"address|street", POSTAL_ADDRESS, True),
    (r"birth|(^|_)dob($|_)|(^|_)born($|_)", BIRTH, True),
    (r"(^|_)age($|_)", AGE, True),
    (r"latitude|longitude|(^|_)(lat|lon|lng)($|_)|geo_?location", "a location", True),
    (
        r"national_?id|passport|ssn|nhs_?number|social_security|staff_?id|employee_?id",
        IDENTITY_NUMBER,
        True,
    ),
    (r"city|suburb", POSTAL_ADDRESS, False),
    (r"location", "a location", False),
    (
        r"comment|feedback|free_?text|notes?($|_)|remarks|open_?ended|other_text|_text$",
        "free-text comments",
        False,
    ),
]
# Patterns on a question's text (lower case). Narrower than the name patterns: a statement
# such as "children from birth to five" or "the course addressed my needs" is not personal.
PERSONAL_QUESTIONS = [
    (
        r"\byour (?:(?:first|last|full|given|family|maiden) )?name\b|\bsurname\b"
        r"|\b(?:first|last|full) name\b",
        PERSON_NAME,
    ),
    (r"\be-?mail address|\byour e-?mail\b", E_MAIL),
    (r"\b(?:tele)?phone number|\bmobile number|\bcontact number|\btelephone\b", PHONE_NUMBER),
    (r"\bip address", IP_ADDRESS),
    (r"\bzip\b|\bzip ?code|\bpost ?code|\bpostal code", POSTAL_CODE),
    (
        r"\b(?:date|year|day) of birth\b|\bbirth ?(?:date|day|year)\b|\bdob\b"
        r"|\b(?:were|was) you born\b|\byou were born\b",
        BIRTH,
    ),
    (r"\bhow old are you\b|\byour age\b|\bage in years\b", AGE),
    (r"\b(?:home|postal|street|your) address\b", POSTAL_ADDRESS),
    (r"\bnational insurance\b|\bpassport\b|\bsocial security\b|\bnhs number\b", IDENTITY_NUMBER),
]
CODE_QUESTION = re.compile(r"\bcodes?\b")
POSTAL_CODE_WORDS = re.compile(r"\b(?:zip|post|postal)[ -]?codes?\b")
# A response's own identifier (SurveyMonkey `Respondent ID`, Qualtrics `ResponseId`, REDCap
# `record_id`, SPSS `V1`): when it holds integers, its values are not personal data.
ID_NAME = re.compile(
    r"^(?:id|v1|.+_id|(?:respondent|response|record|study|collector|participant|subject"
    r"|case|submission)_?id)$"
)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
INTEGER = re.compile(r"\d+")
DECIMAL = re.compile(r"-?\d+\.\d+")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
UK_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", re.IGNORECASE)  # SW1A 1AA
US_ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")  # 12345-6789; a bare 12345 could be anything
# A phone's shape: a country prefix (+44 ..., 0044 ...), a UK national number written without
# spaces (01..., 02..., 07..., 10-11 digits), or digits in groups with separators
# ((020) 7946 0958, 555-123-4567). A plain integer, however long, is not a phone number.
PHONE_INTERNATIONAL = re.compile(r"\+\d[\d\s().-]*\d")
PHONE_COUNTRY_PREFIX = re.compile(r"00[1-9][\d\s().-]*\d")
PHONE_NATIONAL = re.compile(r"0[127]\d{8,9}")
PHONE_GROUPED = re.compile(r"\(?\d[\d\s().-]*\d")
PHONE_SEPARATOR = re.compile(r"[\s().-]")


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

    def mapped_message(self, target: str) -> str:
        """The refusal of a column a mapping file maps (to `target`)."""
        return (
            f"column '{self.column}' (mapped to {target}) looks like personal data "
            f"({self.why}); Attune does not store personal data. Take it out of columns: "
            f"and list it under drop: in the mapping file"
        )


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _name_forms(name: str) -> tuple[str, ...]:
    """The name in snake_case, as written and with camelCase split (RecipientLastName,
    RespondentID), so that either spelling is recognised."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return tuple(dict.fromkeys((_snake(name), _snake(split))))


def personal_column_name(name: str, identifying_only: bool = False) -> str | None:
    """Why a column's name suggests personal data, or None. With `identifying_only`, only
    names that make even a mapped column unfit to store (not "comments", "location")."""
    forms = _name_forms(name)
    for pattern, why, identifying in PERSONAL_COLUMN_NAMES:
        if identifying_only and not identifying:
            continue
        if any(re.search(pattern, form) for form in forms):
            return f"its name suggests {why}"
    return None


def personal_question(question: str | None) -> str | None:
    """Why the question a column answers asks for personal data, or None.

    A question that asks for a code (other than a postal code) is not judged by its words:
    they are instructions ("not your name", "your mother's initial and the day you were
    born"), and the code's values are still checked."""
    text = " ".join(str(question or "").split())
    if CODE_QUESTION.search(POSTAL_CODE_WORDS.sub("", text.lower())):
        return None
    for pattern, why in PERSONAL_QUESTIONS:
        if re.search(pattern, text.lower()):
            shown = text if len(text) <= 60 else text[:59] + "…"
            return f'its question "{shown}" asks for {why}'
    return None


def id_like_name(name: str) -> bool:
    """Whether a column is named like the identifier of a response (RespondentID, record_id)."""
    return any(ID_NAME.match(form) for form in _name_forms(name))


def _text_sample(values: object, size: int = SAMPLE_SIZE) -> list[str] | None:
    """The first `size` non-blank values as trimmed text; None for a column that is not text
    (a number is never an e-mail address, an IP address or a postcode)."""
    if values is None:
        return None
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        kind = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return None
        head = values.slice(0, size * 4).drop_null()
        if len(head) < size < len(values):
            head = values.drop_null()
        texts = head.slice(0, size * 2).to_pylist()
    elif isinstance(values, pd.Series):
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            return None
        texts = values.dropna().iloc[: size * 2].tolist()
    else:
        texts = [value for value in values if value is not None and value == value]  # not NaN
    stripped = (str(text).strip() for text in texts)
    return [text for text in stripped if text][:size]


def _phone_shaped(text: str) -> bool:
    digits = sum(character.isdigit() for character in text)
    if PHONE_INTERNATIONAL.fullmatch(text):
        return 8 <= digits <= 15
    if PHONE_COUNTRY_PREFIX.fullmatch(text):
        return 12 <= digits <= 17
    if PHONE_NATIONAL.fullmatch(text):
        return True
    return (
        9 <= digits <= 15
        and bool(PHONE_GROUPED.fullmatch(text))
        and bool(PHONE_SEPARATOR.search(text))
        and not DATE_LIKE.match(text)
        and not DECIMAL.fullmatch(text)
    )


def _ip_address(text: str) -> bool:
    if IPV4.fullmatch(text):
        return True
    if not IPV6_CANDIDATE.fullmatch(text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _postal_code(text: str) -> bool:
    return bool(UK_POSTCODE.fullmatch(text) or US_ZIP_PLUS_4.fullmatch(text))


def personal_values(
    values: object,
    sample_size: int = SAMPLE_SIZE,
    free_text_expected: bool = False,
) -> str | None:
    """Why a column's values look like personal data (e-mail addresses, IP addresses, postal
    codes, phone numbers, free text), judged on its first `sample_size` non-blank values.
    `values`: a pandas Series, a pyarrow array or a list; columns that are not text pass."""
    sample = _text_sample(values, sample_size)
    if not sample:
        return None

    def share(test: Callable[[str], object]) -> float:
        return sum(bool(test(text)) for text in sample) / len(sample)

    if share(EMAIL.search) > 0.05:
        return "it holds e-mail addresses"
    if share(_ip_address) > 0.2:
        return "it holds IP addresses"
    if share(_postal_code) > 0.2:
        return "it holds postal codes (a quasi-identifier)"
    if share(lambda text: not _postal_code(text) and _phone_shaped(text)) > 0.2:
        return "it holds phone numbers"
    if (
        not free_text_expected
        and len(sample) >= 3
        and sum(len(text.split()) for text in sample) / len(sample) >= 4
        and sum(map(len, sample)) / len(sample) >= 25
    ):
        return "it holds free text, which can identify people"
    return None


def _integers_of_an_id(name: str, values: object) -> bool:
    """An id-named column of integers: the response's identifier, whatever its digits."""
    if not id_like_name(name):
        return False
    sample = _text_sample(values)
    return sample is None or all(INTEGER.fullmatch(text) for text in sample)


def personal_source_column(
    name: str, question: str | None = None, values: object = None
) -> str | None:
    """Why a column that nothing maps or expects must not be stored: by its name, by the
    question it answers (a platform export's question text) or by its values; None if
    nothing suggests personal data. An id-named column of integers is not judged by values."""
    why = personal_column_name(name) or personal_question(question)
    if why is None and not _integers_of_an_id(name, values):
        why = personal_values(values)
    return why


def identifier_like(name: str, question: str | None = None, values: object = None) -> str | None:
    """Why a column identifies a person, or singles one out with others (a quasi-identifier),
    so that it can be neither a participant code nor any other stored column; None if not.

    Judged by its name or question (a name, e-mail, phone, IP address, postal code or address,
    date or year of birth, age, identity number) or by its values (e-mail addresses, IP
    addresses, postal codes, phone numbers). Free text and an id's digits are not reasons:
    participant codes are codes. `values`: a pandas Series, a pyarrow array or a list; the
    first 500 non-blank values are looked at. `attune mapping init` uses it to leave such a
    column out of the participant code and list it under drop:, ingest to refuse mapping it.
    """
    why = personal_column_name(name, identifying_only=True) or personal_question(question)
    if why is None and not _integers_of_an_id(name, values):
        why = personal_values(values, free_text_expected=True)
    return why


def find_personal_data(
    frame_columns: dict[str, pd.Series],
    expected_text_columns: set[str],
    questions: dict[str, str] | None = None,
) -> list[PersonalDataFinding]:
    """Columns of an input that must not be stored.

    Names (and, for a platform export, the `questions` the columns answer) are checked for
    every column that is not an expected contract column; values are checked for every text
    column, so a participant_code column of e-mail addresses is caught. Free text is expected
    only in the contract's own text columns (a programme's name, a citation).
    """
    questions = questions or {}
    findings = []
    for column, values in frame_columns.items():
        if column in expected_text_columns:
            why = personal_values(values, free_text_expected=True)
        else:
            why = personal_source_column(column, questions.get(column), values)
        if why:
            findings.append(PersonalDataFinding(column, why))
    return findings
