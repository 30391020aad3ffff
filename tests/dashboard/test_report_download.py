"""The outcomes report from the dashboard (``GET /report.html`` and ``/report.pdf``): a
sponsor always gets their own, whatever the address asks for; evaluators choose any sponsor;
every download, and every attempt at another sponsor's, is in the audit log."""

from __future__ import annotations

import re

import pytest

from accounts.store import AuthStore
from dashboard.app import create_app
from tests.support import signed_in

PASSWORD = "correct horse battery"
OWN, OTHER = "Programme degree", "Programme workshop"  # SP1's and SP2's (tests.support)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 14, ("hr", "workshop"): 29})
    store = AuthStore(tmp_path_factory.mktemp("report-download") / "auth.sqlite")
    for name, role, sponsor in [("eve", "evaluator", None), ("alice", "sponsor", "SP1")]:
        store.add_user(name, role, PASSWORD, sponsor)
    return create_app(db, auth_store=store), store


def _name(response) -> str:
    return re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)


def test_a_sponsor_asking_for_another_sponsor_gets_their_own_and_the_attempt_is_audited(site):
    app, store = site
    got = signed_in(app, "alice", PASSWORD).get("/report.html?sponsor=SP2")
    assert got.status_code == 200
    assert _name(got) == "attune-report-SP1-all-cohorts.html"
    text = got.get_data(as_text=True)
    assert OWN in text and OTHER not in text and "SP2" not in text
    entries = [(user, action, outcome, detail) for _, user, action, detail, outcome
               in store.audit_entries()]
    assert any(user == "alice" and action == "report" and outcome != "ok" and "SP2" in detail
               for user, action, outcome, detail in entries)
    assert any(user == "alice" and action == "report_download" and "SP1" in detail
               for user, action, outcome, detail in entries)


def test_an_evaluator_downloads_any_sponsors_report_as_pdf(site):
    app, _ = site
    client = signed_in(app, "eve", PASSWORD)
    got = client.get("/report.pdf?sponsor=SP2")
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert got.data.startswith(b"%PDF") and _name(got) == "attune-report-SP2-all-cohorts.pdf"
    assert client.get("/report.html").status_code == 400  # an evaluator names the sponsor


def test_no_report_without_signing_in(site):
    app, _ = site
    got = app.server.test_client().get("/report.html?sponsor=SP1")
    assert got.status_code in (302, 401) and b"Programme" not in got.data
