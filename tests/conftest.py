"""Shared test setup: every test uses its own pseudonymisation key and accounts file, never
the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_key_file(tmp_path_factory, monkeypatch):
    key_dir = tmp_path_factory.mktemp("key")
    monkeypatch.setenv("ATTUNE_KEY_FILE", str(key_dir / "pseudonym.key"))
    monkeypatch.setenv("ATTUNE_AUTH_DB", str(key_dir / "accounts.sqlite"))
    monkeypatch.delenv("ATTUNE_DB", raising=False)
