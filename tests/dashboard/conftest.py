"""The dashboard on the demo database, served once per run for the browser tests. The
databases and the browser settings come from ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard.app import create_app
from tests.support import LiveServer


@pytest.fixture(scope="session")
def live_app(demo_db) -> Iterator[LiveServer]:
    """The app on the shared demo database, without login, served for the whole run."""
    app = create_app(demo_db, login_required=False)
    app.attune.db.snapshot()  # build the aggregates before the first page load
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def evaluator(demo_db):
    """An evaluator's app context on the demo database, for calling page builders."""
    return create_app(demo_db, login_required=False).attune


@pytest.fixture
def sponsor(demo_db) -> Iterator:
    """Sponsor SP01's app context on the demo database, inside a request (the request guard
    sets the local sponsor), for calling page builders as that sponsor."""
    app = create_app(demo_db, login_required=False, local_role="sponsor",
                     local_sponsor="SP01")
    with app.server.test_request_context("/"):
        app.server.preprocess_request()
        yield app.attune
