"""Share links against a real app with login on: a fresh link opens one sponsor's published
view without an account; an altered, expired or revoked link is refused; revoking ends the
sessions a link opened; every use is in the audit log, with the link's id and never its token.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from argon2 import PasswordHasher

from accounts.store import AuthStore
from dashboard.app import create_app

# formats sorted: degree -> P0/C0/SP1 (sponsor A), workshop -> P1/C1/SP2 (sponsor B)
B_PROGRAMME = "Programme workshop"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 14, ("hr", "workshop"): 29})
    store = AuthStore(tmp_path_factory.mktemp("share") / "auth.sqlite",
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    store.add_user("ada", "admin", "correct horse battery")
    return create_app(db, auth_store=store), store


def link(store, sponsor="SP1", days=30, **extra) -> tuple[int, str]:
    return store.add_share(sponsor, store.now() + dt.timedelta(days=days), **extra)


def opened(app, token):
    client = app.server.test_client()
    return client, client.get(f"/share/{token}")


def uses(store, link_id) -> list[tuple]:
    return [e for e in store.audit_entries(1000)
            if e[2] == "share_open" and e[1] == f"(share link {link_id})"]


def test_a_fresh_link_opens_that_sponsors_view_only_without_an_account(setup):
    app, store = setup
    link_id, token = link(store)
    client, response = opened(app, token)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert f"(share link {link_id}) (sponsor, sponsor SP1)" in layout
    assert "SP2" not in layout and B_PROGRAMME not in layout
    assert '"SQL console"' not in layout and '"Data quality"' not in layout


def test_without_the_link_the_same_client_is_sent_to_sign_in(setup):
    app, _ = setup
    client = app.server.test_client()
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize("where", ["secret", "id"])
def test_a_token_with_one_character_changed_is_refused(setup, where):
    app, store = setup
    link_id, token = link(store)
    other_id, _ = link(store, "SP2")  # a live link to another sponsor, under another id
    if where == "secret":
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    else:  # point the secret of SP1's link at SP2's link: the scope is not in the token
        altered = f"{other_id}." + token.split(".", 1)[1]
    client, response = opened(app, altered)
    assert response.status_code == 403
    assert client.get("/_dash-layout").status_code == 401
    refused = uses(store, other_id if where == "id" else link_id)
    assert [e[4] for e in refused] == ["refused"]
    assert "unknown share link" in refused[0][3]


def test_an_expired_link_is_refused(setup):
    app, store = setup
    link_id, token = link(store, days=-1)
    client, response = opened(app, token)
    assert response.status_code == 403
    assert client.get("/_dash-layout").status_code == 401
    assert "expired share link" in uses(store, link_id)[0][3]


def test_a_revoked_link_is_refused_and_its_open_session_stops_working(setup):
    app, store = setup
    link_id, token = link(store)
    client, _ = opened(app, token)
    assert client.get("/_dash-layout").status_code == 200
    assert store.revoke_share(link_id)
    assert client.get("/_dash-layout").status_code == 401
    page = client.get("/explorer")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    again, response = opened(app, token)
    assert response.status_code == 403
    assert again.get("/_dash-layout").status_code == 401
    sessions = [e for e in store.audit_entries(1000)
                if e[2] == "share" and e[1] == f"(share link {link_id})"]
    assert sessions and "revoked share link" in sessions[0][3]


def test_a_link_to_a_sponsor_without_cohorts_is_refused(setup):
    app, store = setup
    link_id, token = link(store, "SP9")
    client, response = opened(app, token)
    assert response.status_code == 403
    assert client.get("/_dash-layout").status_code == 401
    assert "SP9, which has no cohorts" in uses(store, link_id)[0][3]


def test_every_use_is_audited_with_the_link_id_and_never_the_token(setup):
    app, store = setup
    link_id, token = link(store)
    opened(app, token)
    opened(app, token)
    opened(app, token + "x")
    entries = uses(store, link_id)
    assert sorted(e[4] for e in entries) == ["ok", "ok", "refused"]
    assert all(f"link {link_id}" in e[3] for e in entries if e[4] == "ok")
    secret = token.split(".", 1)[1]
    assert secret not in str(store.audit_entries(10_000))
    assert secret.encode() not in store.path.read_bytes()


def test_a_link_made_for_some_scales_offers_only_those(setup):
    app, store = setup
    _, everything = link(store)
    client, _ = opened(app, everything)
    assert "(CONF)" in client.get("/_dash-layout").get_data(as_text=True)
    _, token = link(store, scales=["OTHER"])
    client, _ = opened(app, token)
    assert "(CONF)" not in client.get("/_dash-layout").get_data(as_text=True)


def test_a_visitor_can_sign_out_of_a_shared_view(setup):
    app, store = setup
    _, token = link(store)
    client, _ = opened(app, token)
    page = client.get("/logout").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401


def _chart_call(client, chart: str, state: dict) -> str:
    """A hand-made chart callback request, as an attacker who edits the state would send."""
    deps = client.get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if d["inputs"] == [{"id": "state", "property": "data"}]
               and f"{chart}" in d["output"] and "chart-title" in d["output"])
    outputs = []
    for part in dep["output"].strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident,
                        "property": prop})
    body = {"output": dep["output"], "outputs": outputs,
            "inputs": [{"id": "state", "property": "data", "value": state}],
            "changedPropIds": ["state.data"]}
    return client.post("/_dash-update-component", json=body).get_data(as_text=True)


def test_a_link_made_for_other_scales_refuses_a_crafted_request_for_this_one(setup):
    app, store = setup
    state = {"scale": "CONF", "wf": "pre", "wt": "post", "by": "all", "audience": [],
             "format": [], "delivery": [], "sponsor": [], "program": [], "start": None,
             "end": None, "supervision": "any"}
    _, everything = link(store)
    client, _ = opened(app, everything)
    assert "matched pairs" in _chart_call(client, "explorer-dumbbell", state)  # the control
    _, token = link(store, scales=["OTHER"])
    client, _ = opened(app, token)
    refused = _chart_call(client, "explorer-dumbbell", state)
    assert "Choose an outcome scale" in refused and "matched pairs" not in refused
