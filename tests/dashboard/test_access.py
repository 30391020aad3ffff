"""Roles and scope enforced on the server, tested the way an attacker would: logged in as
sponsor A, hand-crafted POSTs to Dash's callback endpoint ask for sponsor B's cohorts, B's
programmes or the unfiltered total. The answers must equal A's own and hold none of B's
numbers. Plus login, the back-off, cookie flags, expiry and the serve/demo rules (session
records, logout, API tokens, the Host allow-list and the headers: test_access_hardening.py)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import time
import zipfile

import pytest
from itsdangerous import TimestampSigner
from typer.testing import CliRunner

from accounts.store import AuthStore, LoginLimits
from attune.cli import app as cli
from dashboard.app import create_app
from dashboard.components import csv_value
from tests.support import sign_in
from warehouse.filters import DATA_FILTERS, DATE_RANGE, MULTI, Filters, FilterSpec
from warehouse.outcomes import group_change

PASSWORD = "correct horse battery"
# formats sorted: degree -> P0/C0/SP1 (sponsor A), workshop -> P1/C1/SP2 (sponsor B)
A_N, B_N = 14, 29
B_SHIFT = (0.5, 1.5)  # B's scores: before 0.5 higher, change 1.5 times A's (tests.support)
B_PROGRAMME = "Programme workshop"
SESSION_SECONDS = 8 * 3600  # the documented default lifetime of a login


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_db_factory):
    # B's scores start higher and change more than A's, so that no published figure of A,
    # whose noise moves it a little, can land on one of B's numbers by chance (it did once).
    db = tiny_db_factory({("hr", "degree"): A_N, ("hr", "workshop"): B_N},
                         shift={("hr", "workshop"): B_SHIFT})
    # a first wait of a minute: the lockout test's next try surely falls within it
    store = AuthStore(tmp_path_factory.mktemp("access") / "auth.sqlite",
                      limits=LoginLimits(first_wait=dt.timedelta(minutes=1)))
    for name, role, sponsor in [("ada", "admin", None), ("eve", "evaluator", None),
                                ("rex", "researcher", None), ("alice", "sponsor", "SP1"),
                                ("bob", "sponsor", "SP2"), ("gone", "evaluator", None),
                                ("lou", "evaluator", None)]:
        store.add_user(name, role, PASSWORD, sponsor)
    app = create_app(db, auth_store=store)
    app.attune.db.snapshot()
    return app, store


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(app, name, password=PASSWORD, *, client=None, environ=None):
    client = client or app.server.test_client()
    if environ:
        client.environ_base.update(environ)
    return client, sign_in(client, name, password)


def logout(client):
    """Sign out as the page's "Sign out" control does: POST /logout with the CSRF token."""
    page = client.get("/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/logout", data={"csrf_token": token})


def _deps(client) -> list[dict]:
    return client.get("/_dash-dependencies").get_json()


def _outputs(output: str) -> list[dict]:
    parts = output.strip(".").split("...")
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident,
                    "property": prop})
    return out


def call(client, dep: dict, inputs: list, state: list | None = None):
    """POST a hand-made callback request, as an attacker would."""
    outputs = _outputs(dep["output"])
    body = {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 or dep["output"].startswith("..") else outputs[0],
        "inputs": [{"id": i["id"], "property": i["property"], "value": v}
                   for i, v in zip(dep["inputs"], inputs, strict=True)],
        "state": [{"id": s["id"], "property": s["property"], "value": v}
                  for s, v in zip(dep.get("state", []), state or [], strict=True)],
        "changedPropIds": [f"{json.dumps(dep['inputs'][0]['id']) if isinstance(dep['inputs'][0]['id'], dict) else dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],  # noqa: E501
    }
    return client.post("/_dash-update-component", json=body)


def _state(**changes) -> dict:
    state = {"audience": [], "format": [], "delivery": [], "sponsor": [], "program": [],
             "start": None, "end": None, "supervision": "any", "scale": "CONF", "wf": "pre",
             "wt": "post", "by": "all"}
    state.update(changes)
    return state


ATTACKS = {
    "sponsor B": _state(sponsor=["SP2"]),
    "B's programme": _state(program=["P1"]),
    "both sponsors": _state(sponsor=["SP1", "SP2"]),
    "the unfiltered total": _state(sponsor=[]),
    "junk": _state(sponsor=["SP2", {"x": 1}], program="P1"),
}


def _chart_deps(client):
    return [d for d in _deps(client)
            if d["inputs"] == [{"id": "state", "property": "data"}]
            and "chart-title" in d["output"]]


def _b_numbers(app) -> list[str]:
    """B's distinctive numbers: its n, the total n, B's mean before/after and mean change."""
    db = app.attune.db
    b = group_change(db, scale_id="CONF", by=(), filters=Filters(sponsor=("SP2",)))[0]
    everyone = group_change(db, scale_id="CONF", by=(), filters=Filters())[0]
    assert b["n_pairs"] == B_N and everyone["n_pairs"] == A_N + B_N
    return [json.dumps(b["mean_from"]), json.dumps(b["mean_to"]),
            json.dumps(b["mean_change"]), json.dumps(everyone["mean_from"]),
            f'"n_pairs": {B_N}', f'"n_pairs":{B_N}', f"n = {B_N}", f"{A_N + B_N} people",
            f'"n_pairs":{A_N + B_N}', f"n = {A_N + B_N}"]


def _assert_no_b(text: str, b_numbers: list[str], where: str) -> None:
    for needle in b_numbers:
        assert needle not in text, f"{where}: B's number {needle!r} leaked"
    assert "SP2" not in text, where
    assert B_PROGRAMME not in text, where


def test_sponsor_a_crafted_chart_callbacks_get_only_a(setup):
    app, _ = setup
    client, response = login(app, "alice")
    assert response.status_code == 302
    deps = _chart_deps(client)
    assert len(deps) >= 10
    b_numbers = _b_numbers(app)
    checked = 0
    for dep in deps:
        own = call(client, dep, [_state()])
        assert own.status_code in (200, 204), dep["output"]
        for attack, state in ATTACKS.items():
            got = call(client, dep, [state])
            assert got.status_code == own.status_code, (dep["output"], attack)
            assert got.get_data(as_text=True) == own.get_data(as_text=True), \
                (dep["output"], attack)
            _assert_no_b(got.get_data(as_text=True), b_numbers, dep["output"])
        checked += 1
    assert checked == len(deps)
    # A's own programme plus B's gives exactly A's own programme
    for dep in deps:
        mine = call(client, dep, [_state(program=["P0"])]).get_data(as_text=True)
        assert call(client, dep, [_state(program=["P0", "P1"], sponsor=["SP2"])]).get_data(
            as_text=True) == mine
        _assert_no_b(mine, b_numbers, dep["output"])
    # and A's own scope really is A: the headline counts A's people
    headline = next(d for d in deps if "overview-headline" in d["output"])
    text = call(client, headline, [ATTACKS["sponsor B"]]).get_data(as_text=True)
    # (a sponsor's counts are published: within the perturbation of a count, at most 2)
    assert abs(int(re.search(r'"(\d+) people in', text).group(1)) - A_N) <= 2
    assert "sponsor: SP1" in text


def test_evaluator_sees_b_so_the_numbers_are_real(setup):
    """Control: the needles are found where they should be (the test can detect a leak)."""
    app, _ = setup
    client, _ = login(app, "eve")
    dep = next(d for d in _chart_deps(client) if "explorer-dumbbell" in d["output"])
    text = call(client, dep, [_state(sponsor=["SP2"])]).get_data(as_text=True)
    assert any(n in text for n in _b_numbers(app)[:3])


def _zip_files(client, state) -> dict[str, str]:
    """The chart-data ZIP of the methods page for this state: file name -> CSV text."""
    dep = next(d for d in _deps(client) if d["output"] == "methods-zip.data")
    response = call(client, dep, [1], [state])
    assert response.status_code == 200
    payload = response.get_json()["response"]["methods-zip"]["data"]
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(payload["content"])))
    return {n: archive.read(n).decode() for n in archive.namelist()}


def _b_cells(app) -> tuple[list[str], list[str]]:
    """B's numbers as the CSVs write them: B's own (its n as a cell, its means rounded as
    every CSV rounds them) and those of everyone together (the total n, the mean before)."""
    numbers = [str(csv_value(json.loads(n))) for n in _b_numbers(app)[:4]]
    return [f",{B_N},", *numbers[:3]], [f",{A_N + B_N},", numbers[3]]


def test_sponsor_a_zip_download_holds_only_a(setup):
    app, _ = setup
    client, _ = login(app, "alice")
    b_cells = [cell for cells in _b_cells(app) for cell in cells]
    own = _zip_files(client, _state())
    assert own and not any(n.startswith("quality-") for n in own)  # page not for sponsors
    table = [line for line in own["overview-headline--overview-headline-pre-post.csv"]
             .splitlines() if not line.startswith("# ")]  # the comment lines on top
    pairs = int(table[1].split(",")[2])
    assert abs(pairs - A_N) <= 2  # A's published count: within a count's perturbation
    for attack, state in ATTACKS.items():
        got = _zip_files(client, state)
        assert got == own, attack
        for name, text in got.items():
            _assert_no_b(text, b_cells, f"{attack}: {name}")


def test_evaluator_zip_for_sponsor_b_holds_b_so_the_check_is_real(setup):
    """Control: B's cells are found in a ZIP that may hold them (the test can detect a leak)."""
    app, _ = setup
    client, _ = login(app, "eve")
    b_only, everyone = _b_cells(app)
    b_text = "\n".join(_zip_files(client, _state(sponsor=["SP2"])).values())
    assert [cell for cell in b_only if cell not in b_text] == []
    assert B_PROGRAMME in b_text
    all_text = "\n".join(_zip_files(client, _state()).values())
    assert [cell for cell in everyone if cell not in all_text] == []


def test_sponsor_cannot_run_quality_callbacks_or_see_b_in_options(setup):
    app, _ = setup
    client, _ = login(app, "alice")
    deps = [d for d in _chart_deps(client) if "quality-" in d["output"]]
    assert deps
    for dep in deps:
        text = call(client, dep, [_state()]).get_data(as_text=True)
        assert "not available to your role" in text
        assert "wave_is_allowed" not in text and "tiny.csv" not in text
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "SP1" in layout and "SP2" not in layout and "Programme workshop" not in layout
    # the URL sync callback drops B from a hand-edited URL
    sync = next(d for d in _deps(client) if d["output"].startswith("..url.search"))
    text = call(client, sync, ["?sponsor=SP2&program=P1", *[None] * (len(sync["inputs"]) - 1)]
                ).get_data(as_text=True)
    assert "SP2" not in text and "P1" not in text
    # the router refuses the page, the nav does not offer it
    route = next(d for d in _deps(client) if d["output"].startswith("..page.children"))
    text = call(client, route, ["/quality"], ["?"]).get_data(as_text=True)
    assert "not available to your role" in text and "Data quality" not in text


def test_csv_download_callback_only_echoes_what_was_sent(setup):
    """The per-chart CSV is built from the chart data the browser holds: a crafted request
    gets back only what it sent, neutralised."""
    app, _ = setup
    client, _ = login(app, "alice")
    dep = next(d for d in _deps(client) if "chart-download" in d["output"])
    data = {"columns": [["a", "A"]], "records": [{"a": "=HYPERLINK(1)"}, {"a": -2}],
            "filename": "x.csv"}
    body = {
        "output": dep["output"],
        "outputs": {"id": {"chart": "x", "type": "chart-download"}, "property": "data"},
        "inputs": [{"id": {"chart": "x", "type": "chart-csv"}, "property": "n_clicks",
                    "value": 1}],
        "state": [{"id": {"chart": "x", "type": "chart-data"}, "property": "data",
                   "value": data}, {"id": "state", "property": "data", "value": _state()}],
        "changedPropIds": ['{"chart":"x","type":"chart-csv"}.n_clicks'],
    }
    got = client.post("/_dash-update-component", json=body)
    assert got.status_code == 200, got.get_data(as_text=True)
    content = got.get_json()["response"]
    content = next(iter(content.values()))["data"]["content"]
    assert content.startswith("# Attune chart data: x.csv\r\n")
    assert content.endswith("\r\nA\r\n'=HYPERLINK(1)\r\n-2\r\n")


def test_unauthenticated_requests_are_refused(setup):
    app, _ = setup
    client = app.server.test_client()
    dep_body = {"output": "x.children", "outputs": {"id": "x", "property": "children"},
                "inputs": [], "changedPropIds": []}
    assert client.post("/_dash-update-component", json=dep_body).status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401
    page = client.get("/explorer?sponsor=SP2")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_wrong_password_refused_and_logged_then_lockout(setup):
    app, store = setup
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    for _ in range(5):
        _, response = login(app, "lou", "wrong password!", client=client)
        assert response.status_code == 401
        assert "Wrong user name or password" in response.get_data(as_text=True)
    assert store.name_failures("lou") == 5
    assert "Wait 60 seconds before the next try" in response.get_data(as_text=True)
    assert any(e[1] == "lou" and e[2] == "login" and e[4] == "refused"
               for e in store.audit_entries())
    _, response = login(app, "lou", PASSWORD, client=client)  # right password, locked out
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins for this user name" in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    assert any(e[1] == "lou" and e[3].startswith("locked: the user name must wait")
               for e in store.audit_entries())


def test_login_form_needs_csrf_token(setup):
    app, _ = setup
    client = app.server.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_cross_site_post_refused(setup):
    app, _ = setup
    client, _ = login(app, "ada")
    response = client.post("/_dash-update-component", json={},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_cookie_flags_and_expiry(setup):
    app, _ = setup
    _, response = login(app, "rex")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("attune_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    assert app.server.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600
    assert "user" not in response.get_data(as_text=True)


def test_session_expires_on_the_server(setup, monkeypatch):
    """A session cookie replayed after its lifetime is refused by the server itself, whatever
    the browser does with the cookie's expiry date. The signature's clock is moved instead of
    waiting: the cookie's timestamp was signed at login, its age is checked on each request."""
    app, _ = setup
    client, _ = login(app, "rex")
    signed_at = int(time.time())
    assert client.get("/_dash-layout").status_code == 200

    def later(seconds: int) -> None:
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + seconds)

    later(SESSION_SECONDS - 60)
    assert client.get("/_dash-layout").status_code == 200
    later(SESSION_SECONDS + 2)
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(("name", "role", "sees_quality", "sees_console"), [
    ("ada", "admin", True, True), ("eve", "evaluator", True, False),
    ("rex", "researcher", True, True), ("alice", "sponsor", False, False),
])
def test_each_role_logs_in_and_gets_its_pages(setup, name, role, sees_quality, sees_console):
    app, _ = setup
    client, response = login(app, name)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert f"{name} ({role}" in layout
    assert ('"Data quality"' in layout) == sees_quality
    assert ('"SQL console"' in layout) == sees_console
    assert client.get("/logout").status_code == 200  # GET only asks: still signed in
    assert client.get("/_dash-layout").status_code == 200
    assert logout(client).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_removed_account_loses_access_at_once(setup):
    app, store = setup
    client, _ = login(app, "gone")
    assert client.get("/_dash-layout").status_code == 200
    store.remove_user("gone")
    assert client.get("/_dash-layout").status_code == 401


def test_open_redirect_after_login_refused(setup):
    app, _ = setup
    client = app.server.test_client()
    response = client.post("/login", data={"username": "ada", "password": PASSWORD,
                                           "csrf_token": _csrf(client),
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_serve_refuses_without_accounts_and_demo_only_local_without_login(tmp_path,
                                                                          tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 12})
    empty = tmp_path / "empty-auth.sqlite"
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--db", str(db), "--auth-db", str(empty)])
    assert result.exit_code == 2
    assert "attune users add" in result.output
    result = runner.invoke(cli, ["demo", "--db", str(db), "--host", "0.0.0.0",
                                 "--auth-db", str(empty)])
    assert result.exit_code == 2
    assert "login is required" in result.output and "attune users add" in result.output


def test_demo_without_login_is_one_local_user(tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 12})
    app = create_app(db, login_required=False, local_role="sponsor", local_sponsor="SP1")
    client = app.server.test_client()
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "Local demo without login (sponsor, sponsor SP1)" in layout


def _every_value(spec: FilterSpec, options: dict) -> list[dict]:
    """States that set this filter to each value it may take, and to all of them at once."""
    if spec.kind == MULTI:
        values = list(spec.allowed_values(options))
        return [{spec.name: [v]} for v in values] + [{spec.name: values}]
    if spec.kind == DATE_RANGE:
        days = [options["start_min"], options["start_max"]]
        return [{key: day.isoformat()} for key in spec.keys for day in days]
    return [{spec.name: choice} for choice in spec.allowed_values(options)]


@pytest.mark.parametrize("spec", DATA_FILTERS, ids=lambda s: s.name)
def test_sponsor_a_keeps_own_scope_whatever_each_filter_says(setup, spec):
    """Every filter of the spec table, set by a crafted request to each value it may take
    (B's included), leaves sponsor A with A's people only, and never B's numbers."""
    app, _ = setup
    client, _ = login(app, "alice")
    headline = next(d for d in _chart_deps(client) if "overview-headline" in d["output"])
    b_numbers = _b_numbers(app)
    for changes in _every_value(spec, app.attune.raw_options()):
        text = call(client, headline, [_state(**changes)]).get_data(as_text=True)
        _assert_no_b(text, b_numbers, f"{spec.name}={changes}")
        people = re.search(r'"(\d+) people in', text)
        assert people is None or (int(people.group(1)) <= A_N + 2  # published: noise <= 2
                                  and "sponsor: SP1" in text), \
            changes
