"""The dashboard on the demo database, served once per run for the browser tests. The
databases and the browser settings come from ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.store import AuthStore
from dashboard.app import create_app
from tests.support import LiveServer

SPONSOR_LOGIN = ("sadie", "correct horse battery")  # a sponsor account of SP01 (sponsor_site)


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


@pytest.fixture(scope="module")
def sponsor_site(demo_db, tmp_path_factory) -> Iterator[LiveServer]:
    """The app with login on over the demo database, with one sponsor account (SP01's,
    ``SPONSOR_LOGIN``), served for a module's browser tests."""
    store = AuthStore(tmp_path_factory.mktemp("sponsor-site") / "auth.sqlite")
    store.add_user(SPONSOR_LOGIN[0], "sponsor", SPONSOR_LOGIN[1], "SP01")
    app = create_app(demo_db, auth_store=store)
    app.attune.db.snapshot()
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def sign_in_as_sponsor(sponsor_site):
    """``sign_in(page)``: sign in through the login form of ``sponsor_site`` as its sponsor."""

    def sign_in(page) -> None:
        page.goto(sponsor_site.url + "/login")
        page.get_by_label("User name").fill(SPONSOR_LOGIN[0])
        page.get_by_label("Password").fill(SPONSOR_LOGIN[1])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda address: "/login" not in address)

    return sign_in
