"""Signing in, the back-off, signing out and a password change as a person sees them: headless
Chromium (Playwright) against the app with login on over the demo database, served from a
thread. Every page is watched for Content-Security-Policy violations and console errors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from typer.testing import CliRunner

from accounts.store import AuthStore, LoginLimits
from attune.cli import app as cli
from dashboard.app import create_app
from tests.support import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long password"
FIRST_WAIT = 30  # seconds: long enough that the next try surely falls within it
# Collects every CSP violation the page reports, from before its first script runs.
# A refused sign-in is answered 401 or 429, which the browser logs as a failed load.
EXPECTED_REFUSAL = re.compile(r"Failed to load resource: .* status of (401|429)")
PLOTTED = """() => Array.from(document.querySelectorAll(".js-plotly-plot")).some(
  (gd) => (gd.data || []).length > 0 && gd.querySelector(".trace, .hm"))"""
REPORT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    store = AuthStore(tmp_path_factory.mktemp("browser-signin") / "auth.sqlite",
                      limits=LoginLimits(first_wait=dt.timedelta(seconds=FIRST_WAIT)))
    for name, role in [("ada", "admin"), ("lou", "evaluator"), ("pat", "evaluator"),
                       ("sam", "researcher")]:
        store.add_user(name, role, PASSWORD)
    app = create_app(demo_db, auth_store=store)
    app.attune.db.snapshot()
    with LiveServer(app) as server:
        yield server, store


@pytest.fixture
def visitor(browser):
    """``visit()``: a new browser (its own cookies) and a page in it, with a list of the
    problems seen: CSP violations, console errors, page errors."""
    contexts = []

    def visit(cookies: list | None = None):
        context = browser.new_context()
        contexts.append(context)
        if cookies:
            context.add_cookies(cookies)
        context.add_init_script(REPORT_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console: {m.text}")
                if m.type == "error" and not EXPECTED_REFUSAL.search(m.text) else None)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        return page, problems

    yield visit
    for context in contexts:
        context.close()


def sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    if "/login" not in page.url:
        page.goto(url + "/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")


def alert(page) -> str:
    return page.get_by_role("alert").inner_text()


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def test_sign_in_and_the_pages_work_under_the_content_security_policy(site, visitor):
    server, _ = site
    page, problems = visitor()
    page.goto(server.url + "/explorer?scale=CONF")
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in(page, server.url, "ada")
    page.wait_for_url(re.compile(r"/explorer\?scale=CONF"))
    page.get_by_role("heading", level=1, name="Outcomes explorer").wait_for()
    page.locator(".chart-subtitle").filter(has_text=re.compile(r"\d")).first.wait_for()
    page.wait_for_function(PLOTTED)  # Plotly drew a chart
    assert page.locator("#who-name").inner_text() == "ada (admin)"
    page.get_by_role("link", name="Outcomes", exact=True).first.click()
    page.get_by_role("heading", level=1, name="Outcomes").wait_for()
    page.wait_for_function(PLOTTED)
    page.wait_for_load_state("networkidle")
    assert violations(page) == [] and problems == []
    # Control: the policy is enforced, and the listener sees a violation when there is one.
    ran = page.evaluate("""() => { const s = document.createElement("script");
        s.textContent = "window.__injected = true;"; document.body.appendChild(s);
        return window.__injected === true; }""")
    assert not ran
    page.wait_for_function("() => window.__violations.length > 0")
    assert violations(page)[0].startswith("script-src")


def test_the_back_off_is_shown_and_unlock_lets_the_user_in(site, visitor):
    server, store = site
    page, problems = visitor()
    page.goto(server.url + "/login")
    for attempt in range(1, store.limits.free_failures + 1):
        sign_in(page, server.url, "lou", "wrong password")
        shown = alert(page)
        assert shown.startswith("Wrong user name or password."), shown
        assert ("Wait" in shown) == (attempt == store.limits.free_failures), shown
    assert f"Wait {FIRST_WAIT} seconds before the next try." in shown
    sign_in(page, server.url, "lou")  # the right password, while the name waits
    assert re.fullmatch(r"Too many failed sign-ins for this user name\. Wait \d+ seconds and "
                        r"try again\.", alert(page)), alert(page)
    assert "/login" in page.url
    unlocked = CliRunner().invoke(cli, ["users", "unlock", "lou", "--auth-db", str(store.path)])
    assert unlocked.exit_code == 0, unlocked.output
    sign_in(page, server.url, "lou")
    page.locator("#who-name").wait_for()
    assert page.locator("#who-name").inner_text() == "lou (evaluator)"
    assert violations(page) == [] and problems == []


def test_signing_out_revokes_the_session_and_the_old_cookie_is_refused(site, visitor):
    server, _ = site
    page, problems = visitor()
    sign_in(page, server.url, "sam")
    page.locator("#who-name").wait_for()
    settle(page)
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["attune_session"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.get_by_role("heading", name="Sign in to Attune").wait_for()
    replayed, _ = visitor(cookies)  # another browser holding the cookie from before
    replayed.goto(server.url + "/")
    replayed.wait_for_url(re.compile(r"/login\?next="))
    assert replayed.request.get(server.url + "/_dash-layout").status == 401
    assert violations(page) == [] and problems == []


def test_a_password_change_signs_out_every_session_and_only_the_new_password_works(
        site, visitor):
    server, store = site
    here, problems = visitor()
    there, _ = visitor()
    for page in (here, there):
        sign_in(page, server.url, "pat")
        page.locator("#who-name").wait_for()
        settle(page)  # no chart request still on its way when the sessions end
    changed = CliRunner().invoke(cli, ["users", "passwd", "pat", "--password-stdin",
                                       "--auth-db", str(store.path)], input=NEW_PASSWORD + "\n")
    assert changed.exit_code == 0, changed.output
    for page in (here, there):
        page.reload()
        page.wait_for_url(re.compile(r"/login\?next="))
    sign_in(here, server.url, "pat", PASSWORD)
    assert alert(here) == "Wrong user name or password."
    sign_in(here, server.url, "pat", NEW_PASSWORD)
    here.locator("#who-name").wait_for()
    assert here.locator("#who-name").inner_text() == "pat (evaluator)"
    assert violations(here) == [] and problems == []
