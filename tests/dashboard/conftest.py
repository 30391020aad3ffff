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
