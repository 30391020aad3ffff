"""The request guard under attack: server-side sessions that signing out, a password change
or removing the account revoke; POST-only logout with CSRF; bearer API tokens; a Host
allow-list against DNS rebinding; the address limit; the Content-Security-Policy on every
response; and every refusal in the audit log, without a password or token in it.

Real parts throughout: the accounts file is a real SQLite file, the Host tests send real HTTP
requests to a served app, and `attune demo` runs as a process of its own."""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import socket
import sqlite3
import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from accounts.store import AuthStore, LoginLimits
from attune.cli import app as cli
from dashboard.access import allowed_hosts
from dashboard.app import create_app
from tests.support import PROJECT, wait_until

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new and longer secret"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_db_factory):
    """The app with login on over a tiny database; Argon2 made cheap (the timing tests in
    tests/accounts use the real cost)."""
    db = tiny_db_factory({("hr", "degree"): 12, ("hr", "workshop"): 12})
    store = AuthStore(tmp_path_factory.mktemp("hardening") / "auth.sqlite",
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    for name, role, sponsor in [("ada", "admin", None), ("alice", "sponsor", "SP1"),
                                ("pat", "evaluator", None), ("rex", "researcher", None),
                                ("tom", "evaluator", None)]:
        store.add_user(name, role, PASSWORD, sponsor)
    app = create_app(db, auth_store=store)
    return app, store


def sign_in(app, name, password=PASSWORD, client=None, address="127.0.0.1"):
    client = client or app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": name, "password": password,
                                           "csrf_token": token, "next": "/"})
    return client, response


def sign_out(client, **extra):
    token = CSRF.search(client.get("/logout").get_data(as_text=True)).group(1)
    return client.post("/logout", data={"csrf_token": token}, **extra)


def cookie(client) -> str:
    return client.get_cookie("attune_session").value


def with_cookie(app, value):
    replay = app.server.test_client()
    replay.set_cookie("attune_session", value)
    return replay


def audited(store, action) -> list[tuple]:
    return [entry for entry in store.audit_entries(1000) if entry[2] == action]


# --- sessions -----------------------------------------------------------------------------------


def test_the_cookie_carries_only_the_id_of_a_session_record_kept_as_a_hash(served):
    app, store = served
    client, _ = sign_in(app, "rex")
    content = app.server.session_interface.get_signing_serializer(app.server).loads(
        cookie(client))
    assert set(content) == {"sid", "_permanent"}
    session_id = content["sid"]
    with sqlite3.connect(store.path) as con:
        row = con.execute("SELECT user_name, revoked FROM sessions WHERE id_hash = ?",
                          [hashlib.sha256(session_id.encode()).hexdigest()]).fetchone()
    assert row == ("rex", 0)
    assert session_id.encode() not in store.path.read_bytes()


def test_signing_out_revokes_the_session_so_the_old_cookie_no_longer_works(served):
    app, store = served
    client, _ = sign_in(app, "ada")
    taken = cookie(client)
    assert with_cookie(app, taken).get("/_dash-layout").status_code == 200
    response = sign_out(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    replay = with_cookie(app, taken)  # the cookie as it was before signing out
    assert replay.get("/_dash-layout").status_code == 401
    page = with_cookie(app, taken).get("/explorer")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert any(e[1] == "ada" and "revoked session" in e[3] for e in audited(store, "session"))
    assert any(e[1] == "ada" and e[4] == "ok" for e in audited(store, "logout"))


def test_get_logout_only_asks_and_a_cross_site_or_tokenless_post_is_refused(served):
    app, store = served
    client, _ = sign_in(app, "pat")
    asked = client.get("/logout")
    assert asked.status_code == 200 and 'action="/logout"' in asked.get_data(as_text=True)
    assert client.post("/logout", data={}).status_code == 400  # no CSRF token
    assert sign_out(client, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/_dash-layout").status_code == 200  # still signed in after all three
    assert audited(store, "cross_site") and any(
        "CSRF" in e[3] for e in audited(store, "logout"))
    assert sign_out(client).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def _components(node):
    """Every component of a layout as Dash sends it (JSON), depth first."""
    if isinstance(node, list):
        for item in node:
            yield from _components(item)
    elif isinstance(node, dict) and "props" in node:
        yield node
        yield from _components(node["props"].get("children"))


def test_the_sign_out_control_is_a_form_posting_the_csrf_token(served):
    app, _ = served
    client, _ = sign_in(app, "tom")
    components = list(_components(client.get("/_dash-layout").get_json()))
    (form,) = [c for c in components if c["type"] == "Form"
               and c["props"].get("action") == "/logout"]
    assert form["props"]["method"] == "post"
    fields = {c["props"].get("name"): c["props"] for c in _components(form)}
    assert fields["csrf_token"]["type"] == "hidden"
    assert client.post("/logout", data={"csrf_token": fields["csrf_token"]["value"]}
                       ).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_an_expired_session_record_is_refused_whatever_the_cookie_says(served):
    app, store = served
    client, _ = sign_in(app, "tom")
    assert client.get("/_dash-layout").status_code == 200
    with sqlite3.connect(store.path) as con:  # the record's lifetime ends; the cookie's not
        con.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000000' "
                    "WHERE user_name = 'tom' AND revoked = 0")
    assert client.get("/_dash-layout").status_code == 401
    assert any(e[1] == "tom" and "expired session" in e[3] for e in audited(store, "session"))


def test_a_password_change_signs_out_every_session_of_that_user_only(served):
    app, store = served
    first, _ = sign_in(app, "pat")
    second, _ = sign_in(app, "pat")
    other, _ = sign_in(app, "rex")
    changed = CliRunner().invoke(cli, ["users", "passwd", "pat", "--password-stdin",
                                       "--auth-db", str(store.path)], input=NEW_PASSWORD + "\n")
    assert changed.exit_code == 0, changed.output
    assert first.get("/_dash-layout").status_code == 401
    assert second.get("/_dash-layout").status_code == 401
    assert other.get("/_dash-layout").status_code == 200
    assert sign_in(app, "pat", PASSWORD, address="10.5.0.1")[1].status_code == 401
    assert sign_in(app, "pat", NEW_PASSWORD, address="10.5.0.1")[1].status_code == 302


# --- API tokens -----------------------------------------------------------------------------------


def test_a_bearer_token_acts_as_its_user_on_every_path(served):
    app, store = served
    _, token = store.add_token("alice", "script")
    client = app.server.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    layout = client.get("/_dash-layout", headers=bearer)
    assert layout.status_code == 200
    assert "alice (sponsor, sponsor SP1)" in layout.get_data(as_text=True)
    assert client.get("/explorer", headers=bearer).status_code == 200
    assert client.get("/api/v1/outcomes", headers=bearer).status_code != 401
    assert client.get("/_dash-layout").status_code == 401  # nothing was kept between requests


def test_a_revoked_or_unknown_token_gets_401_json_and_is_audited_without_the_token(served):
    app, store = served
    token_id, token = store.add_token("rex", "leaked")
    store.revoke_token(token_id)
    client = app.server.test_client()
    for sent in (token, "attune_made-up-token"):
        for path in ("/api/v1/outcomes", "/explorer", "/_dash-layout"):
            response = client.get(path, headers={"Authorization": f"Bearer {sent}"})
            assert response.status_code == 401, path
            assert response.is_json and "Location" not in response.headers
    refusals = audited(store, "api_token")
    assert any(e[1] == "rex" and "revoked bearer token" in e[3] for e in refusals)
    assert any("unknown bearer token" in e[3] for e in refusals)
    assert token.encode() not in store.path.read_bytes()


def test_api_paths_without_valid_credentials_get_401_json_never_a_redirect(served):
    app, store = served
    client = app.server.test_client()
    for path in ("/api/v1/outcomes?scale=CONF", "/api/v1/openapi.json", "/api/anything"):
        response = client.get(path)
        assert response.status_code == 401 and response.is_json, path
        assert "Location" not in response.headers
    assert any(e[3].startswith("no valid session or token; GET /api/v1/outcomes")
               for e in audited(store, "unauthenticated"))


# --- sign-in limits through the form --------------------------------------------------------------


def test_many_failures_from_one_address_slow_it_but_not_the_same_account_elsewhere(served):
    app, store = served
    for i in range(store.limits.address_failures):
        assert sign_in(app, f"nobody{i}", "guess", address="10.7.7.7")[1].status_code == 401
    _, slowed = sign_in(app, "ada", PASSWORD, address="10.7.7.7")
    assert slowed.status_code == 429
    assert "Too many failed sign-ins from your address" in slowed.get_data(as_text=True)
    assert sign_in(app, "ada", PASSWORD, address="10.7.7.8")[1].status_code == 302


def test_made_up_names_lock_no_real_account_and_get_the_same_answers(served):
    app, store = served
    answers = {}
    for name, address in (("tom", "10.8.0.1"), ("nosuchuser", "10.8.0.2")):
        pages = []
        for _ in range(LoginLimits().free_failures + 1):
            _, response = sign_in(app, name, "guess", address=address)
            page = response.get_data(as_text=True)
            pages.append((response.status_code, re.search(r'role="alert">([^<]*)<',
                                                          page).group(1)))
        answers[name] = pages
    assert answers["tom"][:-1] == answers["nosuchuser"][:-1]  # the last may straddle a second
    store.unlock("tom")
    assert sign_in(app, "tom", PASSWORD, address="10.8.0.1")[1].status_code == 302


# --- Host allow-list, headers -----------------------------------------------------------------


def _request(url: str, host: str, path: str = "/login") -> http.client.HTTPResponse:
    address, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(address, int(port), timeout=30)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_foreign_host_header_gets_400_and_is_audited(served, live_server):
    app, store = served
    server = live_server(app)
    port = server.server.server_port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert _request(server.url, host).status == 200, host
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        response = _request(server.url, host)
        assert response.status == 400, host
        assert response.getheader("Content-Security-Policy")
    assert any("'evil.example'" in e[3] for e in audited(store, "host"))


def test_the_demo_without_login_refuses_a_rebound_host(tiny_db, live_server):
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends
    ``Host: evil.example``; the login-off demo must not answer it."""
    server = live_server(create_app(tiny_db, login_required=False))
    assert _request(server.url, "evil.example", "/_dash-layout").status == 400
    assert _request(server.url, server.url.removeprefix("http://"), "/_dash-layout").status \
        == 200
    assert any(e[2] == "host" for e in AuthStore().audit_entries())


def test_the_allowed_hosts_come_from_attune_allowed_hosts(tiny_db, monkeypatch):
    monkeypatch.setenv("ATTUNE_ALLOWED_HOSTS", "attune.example.org, [fe80::1]:8443,10.0.0.5")
    assert allowed_hosts() == ("attune.example.org", "fe80::1", "10.0.0.5")
    client = create_app(tiny_db, login_required=False).server.test_client()
    assert client.get("/_dash-layout", headers={"Host": "attune.example.org"}).status_code \
        == 200
    assert client.get("/_dash-layout", headers={"Host": "[fe80::1]:8050"}).status_code == 200
    assert client.get("/_dash-layout", headers={"Host": "localhost"}).status_code == 400
    with pytest.raises(ValueError, match="not a host name"):
        allowed_hosts("attune.example.org, http://x/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_attune_demo_answers_only_to_loopback_names(tiny_db):
    port = _free_port()
    demo = subprocess.Popen([sys.executable, "-m", "attune.cli", "demo", "--db", str(tiny_db),
                             "--port", str(port)], cwd=PROJECT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return _request(url, f"127.0.0.1:{port}", "/").status == 200
            except OSError:
                assert demo.poll() is None, demo.stderr.read()
                return False

        wait_until(up, timeout=90, message="attune demo answering")
        assert _request(url, f"localhost:{port}", "/").status == 200
        assert _request(url, "evil.example", "/").status == 400
        assert _request(url, f"evil.example:{port}", "/_dash-layout").status == 400
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def test_serving_on_every_address_needs_the_allowed_hosts(served, tiny_db, monkeypatch):
    """In a process of its own, with a time limit: were the check missing, it would serve."""
    _, store = served
    monkeypatch.delenv("ATTUNE_ALLOWED_HOSTS", raising=False)
    result = subprocess.run([sys.executable, "-m", "attune.cli", "serve", "--db", str(tiny_db),
                             "--host", "0.0.0.0", "--port", str(_free_port()), "--auth-db",
                             str(store.path)], cwd=PROJECT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "needs ATTUNE_ALLOWED_HOSTS" in " ".join(result.stderr.split())


def test_every_response_carries_a_content_security_policy_allowing_only_dash_own_script(served):
    app, _ = served
    client, _ = sign_in(app, "ada")
    index = client.get("/")
    html = index.get_data(as_text=True)
    inline = [body for attributes, body in INLINE_SCRIPT.findall(HTML_COMMENT.sub("", html))
              if "application/json" not in attributes]
    assert inline, "Dash's index page has its renderer inline"
    policy = index.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    for body in inline:  # each inline script the page runs is allowed by its exact hash
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"]
    assert directives["script-src"].split()[0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    anonymous = app.server.test_client()
    for response in (anonymous.get("/login"), anonymous.get("/_dash-layout"),
                     client.get("/_dash-layout"), client.get("/_dash-dependencies"),
                     client.get("/no/such/page.txt")):
        assert response.headers["Content-Security-Policy"] == policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_refusal_is_audited_and_no_password_or_token_is_ever_stored(served):
    app, store = served
    secret = "hunter2 is my password"
    sign_in(app, "rex", secret, address="10.6.0.1")
    sign_in(app, "nosuchuser", secret, address="10.6.0.2")
    app.server.test_client().get("/_dash-layout")
    _, token = store.add_token("rex")
    app.server.test_client().get("/_dash-layout",
                                 headers={"Authorization": f"Bearer {token}x"})
    refused = {(e[2], e[1]) for e in store.audit_entries(1000) if e[4] == "refused"}
    assert {("login", "rex"), ("login", "nosuchuser"), ("unauthenticated", "(anonymous)"),
            ("api_token", "(anonymous)")} <= refused
    stored = store.path.read_bytes()
    assert secret.encode() not in stored and token.encode() not in stored
    assert token[:-1].encode() not in stored  # not even most of it
