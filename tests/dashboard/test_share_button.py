"""The header's "Share with a sponsor" control against a real app with login on: an evaluator
makes a link that opens the chosen sponsor's view, lists it and revokes it; a sponsor or a
share link's visitor never sees the control, and posting to its callback by hand is refused
on the server and audited; a sponsor without cohorts is refused as ``attune share`` refuses it.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from argon2 import PasswordHasher

from accounts.store import AuthStore
from dashboard.app import create_app
from tests.support import signed_in

PASSWORD = "correct horse battery"
CONTROL = "Share with a sponsor"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 14, ("hr", "workshop"): 29})  # SP1, SP2
    store = AuthStore(tmp_path_factory.mktemp("share-button") / "auth.sqlite",
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    for name, role, sponsor in [("ada", "admin", None), ("eve", "evaluator", None),
                                ("ian", "evaluator", None), ("rex", "researcher", None),
                                ("alice", "sponsor", "SP1")]:
        store.add_user(name, role, PASSWORD, sponsor)
    return create_app(db, auth_store=store), store


def post_share(client, *, sponsor="SP1", scales=None, expires="7d", revoke=None):
    """The share callback as a browser (or an attacker) would post it."""
    revoke_id = {"link": revoke, "type": "share-revoke"}  # in Dash's order: keys sorted
    body = {
        "output": "..share-result.children...share-links.children..",
        "outputs": [{"id": "share-result", "property": "children"},
                    {"id": "share-links", "property": "children"}],
        "inputs": [{"id": "share-make", "property": "n_clicks", "value": 0 if revoke else 1},
                   [{"id": revoke_id, "property": "n_clicks", "value": 1}] if revoke else []],
        "state": [{"id": "share-sponsor", "property": "value", "value": sponsor},
                  {"id": "share-scales", "property": "value", "value": scales},
                  {"id": "share-expires", "property": "value", "value": expires}],
        "changedPropIds": [f"{json.dumps(revoke_id, separators=(',', ':'))}.n_clicks"
                           if revoke else "share-make.n_clicks"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.dumps(response.get_json()["response"])


def audited(store, action, user):
    return [e for e in store.audit_entries(1000) if e[2] == action and e[1] == user]


def test_an_evaluator_makes_a_link_that_opens_the_chosen_sponsors_view(setup):
    app, store = setup
    client = signed_in(app, "eve", PASSWORD)
    assert CONTROL in client.get("/_dash-layout").get_data(as_text=True)
    answer = post_share(client, sponsor="SP1", scales=["CONF"], expires="7d")
    url = re.search(r"http://localhost/share/[0-9]+\.[A-Za-z0-9_-]+", answer).group(0)
    link = store.shares()[-1]
    assert (link.sponsor_id, link.scales, link.created_by) == ("SP1", ("CONF",), "eve")
    made = dt.datetime.fromisoformat(link.created_at)
    lasts = dt.datetime.fromisoformat(link.expires_at) - made
    assert abs(lasts - dt.timedelta(days=7)) < dt.timedelta(seconds=5)
    assert "Revoke" in answer and "SP1" in answer  # listed among eve's live links
    assert audited(store, "share_add", "eve")[0][4] == "ok"
    visitor = app.server.test_client()
    assert visitor.get(url.removeprefix("http://localhost")).status_code == 302
    layout = visitor.get("/_dash-layout").get_data(as_text=True)
    assert f"(share link {link.id}) (sponsor, sponsor SP1)" in layout
    assert CONTROL not in layout  # the visitor cannot make links of their own


@pytest.mark.parametrize("name", ["alice", "rex"])
def test_a_role_without_the_control_is_refused_on_the_server_and_audited(setup, name):
    app, store = setup
    client = signed_in(app, name, PASSWORD)
    assert CONTROL not in client.get("/_dash-layout").get_data(as_text=True)
    before = len(store.shares())
    answer = post_share(client, sponsor="SP1")
    assert "Not made: share links are made by admins and evaluators" in answer
    assert "/share/" not in answer and len(store.shares()) == before
    assert audited(store, "share_add", name)[-1][4] == "refused"


def test_a_share_links_visitor_posting_to_the_callback_is_refused(setup):
    app, store = setup
    _, token = store.add_share("SP1", store.now() + dt.timedelta(days=1))
    visitor = app.server.test_client()
    assert visitor.get(f"/share/{token}").status_code == 302
    before = len(store.shares())
    answer = post_share(visitor, sponsor="SP2", expires="90d")
    assert "Not made" in answer and len(store.shares()) == before


def test_a_sponsor_without_cohorts_is_refused_as_the_command_refuses_it(setup):
    app, store = setup
    client = signed_in(app, "ada", PASSWORD)
    before = len(store.shares())
    answer = post_share(client, sponsor="SP9")
    assert "sponsor 'SP9' has no cohorts" in answer and "SP1, SP2" in answer
    assert len(store.shares()) == before
    assert "Not made: expiry" in post_share(client, sponsor="SP1", expires="999d")


def test_an_evaluator_revokes_their_own_link_but_not_anothers(setup):
    app, store = setup
    eve, ian = signed_in(app, "eve", PASSWORD), signed_in(app, "ian", PASSWORD)
    post_share(eve, sponsor="SP2")
    eves = store.shares()[-1]
    refused = post_share(ian, revoke=eves.id)
    assert "not one of your live links" in refused
    assert store.shares()[-1].revoked_at is None
    answer = post_share(eve, revoke=eves.id)
    assert f"Revoked link {eves.id}" in answer
    assert store.shares()[-1].revoked_at is not None
    assert audited(store, "share_revoke", "eve")[-1][4] == "ok"
