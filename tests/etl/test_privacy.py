"""No personal data gets in: suspicious columns are refused, participant codes are hashed."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from etl.privacy import Pseudonymiser, load_or_create_key
from tests.etl.helpers import (
    GOOD_ROWS,
    query,
    responses_report,
    run,
    with_extra_column,
    write_dataset,
)


@pytest.mark.parametrize(
    ("column", "values", "why"),
    [
        ("email", ["a@b.org"] * 5, "e-mail"),
        ("First Name", ["Ann", "Ann", "Bo", "Bo", "Cy"], "a person's name"),
        ("mobile", ["07700 900123"] * 5, "phone number"),
        ("home_address", ["1 High St"] * 5, "postal address"),
        ("date_of_birth", ["1980-01-01"] * 5, "date or year of birth"),
        ("comments", ["great"] * 5, "free-text comments"),
        (
            "q17",
            ["I really enjoyed the role plays and will use them with my team"] * 5,
            "free text",
        ),
        ("contact", ["ann@example.org", "bo@example.org", "", "", ""], "e-mail addresses"),
    ],
)
def test_column_that_looks_like_personal_data_is_refused_naming_it(tmp_path, column, values, why):
    folder = with_extra_column(tmp_path, column, values)
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([folder], db))
    assert responses.status == "rejected"
    assert f"column '{column}' looks like personal data" in responses.message
    assert why in responses.message
    assert f"--drop {column}" in responses.message
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_participant_codes_that_are_email_addresses_are_refused(tmp_path):
    rows = [row.replace("A1,", "ann@example.org,", 1) for row in GOOD_ROWS]
    folder = write_dataset(tmp_path / "export", rows=rows)
    (responses,) = responses_report(run([folder], tmp_path / "a.duckdb"))
    assert responses.status == "rejected"
    assert "participant_code" in responses.message and "e-mail" in responses.message


def test_dropped_personal_column_lets_the_file_load_without_it(tmp_path):
    folder = with_extra_column(tmp_path, "email", ["a@b.org"] * 5)
    db = tmp_path / "a.duckdb"
    (responses,) = responses_report(run([folder], db, drop=("email",)))
    assert responses.status == "loaded"
    assert responses.dropped_columns == ["email"]
    columns = {row[0] for row in query(db, "SELECT column_name FROM duckdb_columns()")}
    assert "email" not in columns
    assert not any("a@b.org" in str(row) for row in query(db, "SELECT * FROM responses"))


def test_raw_participant_code_never_reaches_the_database(tmp_path):
    folder = write_dataset(tmp_path / "export")
    db = tmp_path / "a.duckdb"
    run([folder], db)
    content = db.read_bytes()
    for code in (b"A1", b"A2", b"B1"):
        assert b"," + code + b"," not in content
    ids = {row[0] for row in query(db, "SELECT DISTINCT participant_id FROM responses")}
    assert len(ids) == 3
    assert all(len(participant) == 64 for participant in ids)


def test_participant_id_is_hmac_sha256_with_the_key_outside_the_database(tmp_path, monkeypatch):
    key_file = tmp_path / "keys" / "pseudonym.key"
    monkeypatch.setenv("ATTUNE_KEY_FILE", str(key_file))
    folder = write_dataset(tmp_path / "export")
    db = tmp_path / "a.duckdb"
    run([folder], db)
    key = bytes.fromhex(key_file.read_text().strip())
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    expected = hmac.new(key, b"A1", hashlib.sha256).hexdigest()
    assert (expected,) in query(db, "SELECT participant_id FROM responses")


def test_codes_differing_only_in_case_or_spaces_are_the_same_participant(tmp_path):
    pseudonymiser = Pseudonymiser(load_or_create_key(tmp_path / "k"))
    assert pseudonymiser.hash_one("k7qf 2m9x") == pseudonymiser.hash_one("K7QF2M9X")
    assert pseudonymiser.hash_one("K7QF2M9X") != pseudonymiser.hash_one("K7QF2M9Y")


def test_same_key_links_waves_across_runs_and_another_key_does_not(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "export")
    first, second = tmp_path / "1.duckdb", tmp_path / "2.duckdb"
    run([folder], first)
    run([folder], second)
    sql = "SELECT participant_id FROM responses ORDER BY source_row"
    assert query(first, sql) == query(second, sql)
    monkeypatch.setenv("ATTUNE_KEY_FILE", str(tmp_path / "other.key"))
    third = tmp_path / "3.duckdb"
    run([folder], third)
    assert query(first, sql) != query(third, sql)


def _many_codes(count: int):
    import pyarrow as pa

    return pa.array([f"code {number:06d}" if number % 97 else None for number in range(count)])


def test_large_columns_are_hashed_by_the_helper_process_exactly_as_here():
    from etl.privacy import BACKGROUND_HASHING_MIN_CODES, normalise_codes

    key = bytes(range(32))
    codes = normalise_codes(_many_codes(BACKGROUND_HASHING_MIN_CODES + 500))
    pseudonymiser = Pseudonymiser(key)
    in_background = pseudonymiser.hash_codes_in_background(codes)()
    assert in_background.to_pylist() == pseudonymiser.hash_codes(codes).to_pylist()
    first = codes.dictionary[0].as_py()
    assert first == "CODE000001"
    assert in_background.dictionary[0].as_py() == hmac.new(key, first.encode(), hashlib.sha256).hexdigest()
    assert in_background[0].as_py() is None  # a blank code stays blank


def test_if_the_helper_process_fails_the_codes_are_hashed_here(monkeypatch):
    import sys

    from etl.privacy import BACKGROUND_HASHING_MIN_CODES, normalise_codes

    codes = normalise_codes(_many_codes(BACKGROUND_HASHING_MIN_CODES + 10))
    pseudonymiser = Pseudonymiser(b"k" * 32)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # a helper that exits with 1 at once
    assert (
        pseudonymiser.hash_codes_in_background(codes)().to_pylist()
        == pseudonymiser.hash_codes(codes).to_pylist()
    )
