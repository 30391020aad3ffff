"""Datasets generated once per test run, and the same datasets ingested."""

from __future__ import annotations

import pytest

from synthetic.dataset import generate_dataset
from synthetic.world import load_world
from tests.synthetic.helpers import ingest_folder, read_responses


@pytest.fixture(scope="session")
def world():
    return load_world()


@pytest.fixture(scope="session")
def clean(tmp_path_factory):
    """A mid-sized dataset without the deliberately invalid rows, and its responses."""
    folder = tmp_path_factory.mktemp("clean")
    result = generate_dataset(folder, participants=3000, seed=7, invalid_rows=False)
    return result, read_responses(result.response_paths)


@pytest.fixture(scope="session")
def with_invalid(tmp_path_factory):
    """The same dataset with the invalid rows spliced in."""
    folder = tmp_path_factory.mktemp("invalid")
    return generate_dataset(folder, participants=3000, seed=7, invalid_rows=True)


def _ingested(tmp_path_factory, result, name):
    """The dataset ingested into a new database (with the session's private key file)."""
    db = tmp_path_factory.mktemp(name) / "attune.duckdb"
    return ingest_folder(result.out_dir, db), db


@pytest.fixture(scope="session")
def clean_ingested(tmp_path_factory, clean):
    """(ingest report, database) of the clean dataset."""
    return _ingested(tmp_path_factory, clean[0], "clean-db")


@pytest.fixture(scope="session")
def invalid_ingested(tmp_path_factory, with_invalid):
    """(ingest report, database) of the dataset with invalid rows."""
    return _ingested(tmp_path_factory, with_invalid, "invalid-db")
