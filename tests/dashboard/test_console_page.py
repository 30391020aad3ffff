"""The console page's callback, asked the way an attacker would: hand-made POSTs to Dash's
callback endpoint by signed-in users of every role. Roles without the console are refused and
audited; a researcher's statement on the quarantine is refused and audited, an admin's runs;
a wide answer says it was cut. And in a real browser, what a researcher sees."""

from __future__ import annotations

import json

import pytest

from accounts.store import AuthStore
from dashboard import console as c
from dashboard.app import create_app
from dashboard.console_rules import MSG_QUARANTINE
from dashboard.pages.console import MSG_ROLE
from tests.support import signed_in

PASSWORD = "correct horse battery"
RAW = '{"wave": "mid"}'  # the tiny database's one quarantined row, as stored
QUARANTINE_SQL = "SELECT source_row, raw FROM quarantine"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 12, ("hr", "workshop"): 14})
    store = AuthStore(tmp_path_factory.mktemp("console-page") / "auth.sqlite")
    for name, role, sponsor in [("ada", "admin", None), ("eve", "evaluator", None),
                                ("rex", "researcher", None), ("alice", "sponsor", "SP1")]:
        store.add_user(name, role, PASSWORD, sponsor)
    app = create_app(db, auth_store=store)
    return app, store


def run_query(client, sql: str):
    """POST the console's "Run query" callback with ``sql``, as the page (or anyone) would."""
    (dep,) = [d for d in client.get("/_dash-dependencies").get_json()
              if "console-result.children" in d["output"]]
    body = {
        "output": dep["output"],
        "outputs": [{"id": "console-alert", "property": "children"},
                    {"id": "console-result", "property": "children"}],
        "inputs": [{"id": "console-run", "property": "n_clicks", "value": 1}],
        "state": [{"id": "console-sql", "property": "value", "value": sql}],
        "changedPropIds": ["console-run.n_clicks"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _entries(store, name):
    return [e for e in store.audit_entries(500) if e[1] == name and e[2] == c.ACTION]


@pytest.mark.parametrize("name", ["alice", "eve"])
def test_a_role_without_the_console_is_refused_and_audited(setup, name):
    app, store = setup
    answer = run_query(signed_in(app, name, PASSWORD), QUARANTINE_SQL)
    assert MSG_ROLE in answer and RAW not in answer.replace("\\", "")
    ((_, _, _, detail, outcome),) = _entries(store, name)
    assert outcome.startswith("refused") and QUARANTINE_SQL in detail


def test_a_researcher_reading_the_quarantine_is_refused_and_audited(setup):
    app, store = setup
    client = signed_in(app, "rex", PASSWORD)
    before = len(_entries(store, "rex"))
    for sql in (QUARANTINE_SQL, "WITH q AS (FROM attune.quarantine) SELECT * FROM q"):
        answer = run_query(client, sql)
        assert MSG_QUARANTINE in answer and "mid" not in answer
    refused = _entries(store, "rex")[: len(_entries(store, "rex")) - before]
    assert [e[4] for e in refused] == [f"refused: {MSG_QUARANTINE}"] * 2


def test_an_admin_reads_the_quarantined_rows(setup):
    app, store = setup
    answer = json.loads(run_query(signed_in(app, "ada", PASSWORD), QUARANTINE_SQL))
    cells = json.dumps(answer["response"]["console-result"])
    assert json.dumps(RAW) in cells
    assert _entries(store, "ada")[0][4] == "ok: 1 rows"


def test_the_page_says_an_answer_was_cut_at_the_size_limit(setup):
    app, _ = setup
    answer = run_query(signed_in(app, "rex", PASSWORD),
                       "SELECT repeat('x', 100000) AS s FROM range(50)")
    assert f"the answer was cut at {c.size_words()} (the console's size limit): only the " \
           "first 20 row(s) are shown" in answer


@pytest.mark.browser
def test_a_researcher_sees_the_refusal_and_no_quarantined_row(tiny_db, live_server, page):
    app = create_app(tiny_db, login_required=False, local_role="researcher")
    server = live_server(app)
    page.set_default_timeout(20_000)
    page.goto(server.url + "/console")
    page.fill("#console-sql", "SELECT * FROM (SELECT raw FROM quarantine) AS q")
    page.click("#console-run")
    alert = page.locator("#console-alert")
    alert.get_by_text("Query failed").wait_for()
    assert MSG_QUARANTINE in alert.inner_text()
    assert "mid" not in page.locator("#console-result").inner_text()
    page.fill("#console-sql", "SELECT repeat('x', 100000) AS s FROM range(50)")
    # While the next query runs, the old error is hidden and the button waits (seen by an
    # observer, not by timing): the error never sits beside the new answer.
    page.evaluate("""() => { window.seen = {alertHidden: false, buttonDisabled: false};
        new MutationObserver(() => {
            seen.alertHidden ||= document.querySelector('#console-alert').hidden;
            seen.buttonDisabled ||= document.querySelector('#console-run').disabled;
        }).observe(document.body, {attributes: true, subtree: true}); }""")
    page.click("#console-run")
    caption = page.locator("[data-testid=console-table] caption")
    caption.wait_for()
    assert page.evaluate("() => window.seen") == {"alertHidden": True, "buttonDisabled": True}
    assert "Query failed" not in alert.inner_text()
    assert "cut at 2 MB" in caption.inner_text()
    assert page.locator("[data-testid=console-table] tbody tr").count() == 20
