"""The attack suite's fixtures: the attack database (``tests.attacks.attack_data``), built
once per run, and the dashboard over it as its users see it from outside.

* ``attack``: the database and its truth (every cohort and person as generated).
* ``sponsor``: SP1's sponsor, the attacker: the app served with SP1's sponsor as its user.
* ``evaluator``: a trusted role on the same file, for the controls (the same attack on exact
  figures, which must succeed: otherwise an attack that fails proves nothing).

* ``keyed_databases``: the same file opened with several other disclosure keys, for the
  claims that are about the noise rather than one draw of it ("the attacker's estimate is
  wrong for most hidden cells").
* ``sponsor_outputs``: everything the sponsor received for a range of states (every chart
  callback, the ZIP download, the pages, the API), as ``(where, text)``, for the tests that
  search it (labels, pooled figures, the other sponsor).

Both apps build their summaries with one disclosure key, written to a file of its own and
read through ``$ATTUNE_DISCLOSURE_KEY_FILE`` while they are built, as a deployment would. The
key is fixed, so that every run draws the same noise and a result is reproducible.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dashboard.app import create_app
from tests.attacks.attack_data import OWN, AttackData, build_attack_db
from tests.attacks.playing import Viewer, collect_outputs, corpus_states
from warehouse.connection import Database

KEY_VARIABLE = "ATTUNE_DISCLOSURE_KEY_FILE"
DISCLOSURE_KEY = "5be1c0a77f2e4d1b9c3a8e6f0d2b4c6a8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b"
OTHER_KEYS = 8


@pytest.fixture(scope="session")
def disclosure_key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("disclosure") / "disclosure.key"
    path.write_text(DISCLOSURE_KEY + "\n")
    return path


@pytest.fixture(scope="session")
def attack(tmp_path_factory) -> AttackData:
    return build_attack_db(tmp_path_factory.mktemp("attack") / "attack.duckdb")


def _app(attack: AttackData, key_file: Path, role: str, sponsor: str | None):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_VARIABLE, str(key_file))
        app = create_app(attack.path, login_required=False, local_role=role,
                         local_sponsor=sponsor)
        app.attune.db.snapshot()  # built now, with this key
    return app


@pytest.fixture(scope="session")
def sponsor(attack, disclosure_key_file) -> Viewer:
    """SP1's sponsor: every request of this client is made as them."""
    app = _app(attack, disclosure_key_file, "sponsor", OWN)
    return Viewer(app, app.attune.local_user)


@pytest.fixture(scope="session")
def evaluator(attack, disclosure_key_file) -> Viewer:
    """A trusted role (exact figures, suppression only) on the same database."""
    app = _app(attack, disclosure_key_file, "evaluator", None)
    return Viewer(app, app.attune.local_user)


@pytest.fixture(scope="session")
def keyed_databases(attack, tmp_path_factory) -> list[Database]:
    """The attack database opened with ``OTHER_KEYS`` further keys (fixed, so reproducible)."""
    folder = tmp_path_factory.mktemp("keys")
    out = []
    for i in range(OTHER_KEYS):
        path = folder / f"disclosure-{i}.key"
        path.write_text(hashlib.sha256(f"attack key {i}".encode()).hexdigest() + "\n")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(KEY_VARIABLE, str(path))
            database = Database(attack.path)
            database.snapshot()
        out.append(database)
    return out


@pytest.fixture(scope="session")
def sponsor_outputs(attack, sponsor) -> list[tuple[str, str]]:
    return collect_outputs(sponsor, corpus_states(attack))
