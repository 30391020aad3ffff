"""`attune share`: make a link to a sponsor with cohorts (the URL on the last line), list the
links without their secrets, revoke one so the dashboard refuses it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from accounts.store import AuthStore
from attune.cli import app as cli
from dashboard.app import create_app

runner = CliRunner()


@pytest.fixture
def files(tmp_path, tiny_db_factory):
    return tiny_db_factory({("hr", "degree"): 12, ("hr", "workshop"): 12}), tmp_path / "a.sqlite"


def share(db, auth, *args):
    return runner.invoke(cli, ["share", *args, "--db", str(db), "--auth-db", str(auth)])


def test_share_prints_a_url_that_opens_the_sponsors_view_until_revoked(files):
    db, auth = files
    made = share(db, auth, "--sponsor", "SP1", "--expires", "7d",
                 "--base-url", "https://attune.example.org/")
    assert made.exit_code == 0, made.output
    url = made.stdout.strip().splitlines()[-1]
    assert url.startswith("https://attune.example.org/share/1.")
    assert "share link 1" in made.output
    links = json.loads(runner.invoke(cli, ["share", "list", "--json", "--auth-db",
                                           str(auth)]).stdout)
    assert [(x["id"], x["sponsor_id"], x["revoked_at"]) for x in links] == [(1, "SP1", None)]
    assert url.rsplit(".", 1)[1] not in json.dumps(links)
    store = AuthStore(auth)
    app = create_app(db, auth_store=store)
    path = url.removeprefix("https://attune.example.org")
    client = app.server.test_client()
    assert client.get(path).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    revoked = runner.invoke(cli, ["share", "revoke", "1", "--auth-db", str(auth)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/_dash-layout").status_code == 401
    assert app.server.test_client().get(path).status_code == 403
    again = runner.invoke(cli, ["share", "revoke", "1", "--auth-db", str(auth)])
    assert again.exit_code == 2 and "no live share link 1" in again.output


def test_share_refuses_a_sponsor_without_cohorts_and_a_bad_expiry(files):
    db, auth = files
    unknown = share(db, auth, "--sponsor", "SP9")
    assert unknown.exit_code == 2 and "has no cohorts" in unknown.output
    for expiry in ("366d", "0h", "2w", "soon"):
        bad = share(db, auth, "--sponsor", "SP1", "--expires", expiry)
        assert bad.exit_code == 2 and "expiry" in bad.output, expiry
    assert AuthStore(auth).shares() == []


def test_share_expiry_is_counted_from_now_in_days_or_hours(files):
    db, auth = files
    assert share(db, auth, "--sponsor", "SP1", "--expires", "12h").exit_code == 0
    assert share(db, auth, "--sponsor", "SP2", "--scale", "CONF").exit_code == 0
    first, second = AuthStore(auth).shares()

    def lasts(link):
        return (dt.datetime.fromisoformat(link.expires_at)
                - dt.datetime.fromisoformat(link.created_at))

    assert abs(lasts(first) - dt.timedelta(hours=12)) < dt.timedelta(seconds=5)
    assert abs(lasts(second) - dt.timedelta(days=30)) < dt.timedelta(seconds=5)
    assert second.scales == ("CONF",)
