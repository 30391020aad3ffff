"""`attune serve --lake`: the lake's current version copied into an ordinary Attune database,
which the dashboard serves; its numbers are the lake's (pooled over providers, never linking
one provider's participants to another's)."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
import requests
from argon2 import PasswordHasher

from accounts.store import AuthStore
from dashboard.app import create_app
from etl.lake_copy import serving_copy
from etl.lake_export import export_lake
from tests.lake.conftest import assert_same_rows, summarize
from tests.postgres_server import free_port
from tests.support import PROJECT, attune, sign_in_over_http, wait_until

PASSWORD = "correct horse battery"


def _pooled_lake(tiny_pair, tmp_path):
    lake = tmp_path / "lake"
    for provider, db in zip(("north", "south"), tiny_pair, strict=True):
        export_lake(db, lake, provider)
    return lake


def test_the_copy_of_a_consortium_summarises_as_the_lake_does(tiny_pair, tmp_path):
    lake = _pooled_lake(tiny_pair, tmp_path)
    copy = serving_copy(lake, tmp_path / "copies")
    options = ("--by", "audience,format", "--min-cell", "5")
    assert_same_rows(summarize("--db", str(copy), *options),
                     summarize("--lake", str(lake), *options))
    with duckdb.connect(str(copy), read_only=True) as con:
        people = con.execute("SELECT count(DISTINCT participant_id), count(*) FROM "
                             "responses").fetchall()[0]
        ids = {row[0].split(":")[0] for row in con.execute(
            "SELECT DISTINCT cohort_id FROM responses").fetchall()}
    each = [duckdb.connect(str(db), read_only=True) for db in tiny_pair]
    try:
        own = [con.execute("SELECT count(DISTINCT participant_id), count(*) FROM responses")
               .fetchall()[0] for con in each]
    finally:
        for con in each:
            con.close()
    # the two providers use the same ids: pooled, they stay two sets of people
    assert people == (own[0][0] + own[1][0], own[0][1] + own[1][1])
    assert ids == {"north", "south"}


def test_an_unchanged_lake_is_served_from_the_copy_already_built(tiny_pair, tmp_path):
    lake = _pooled_lake(tiny_pair, tmp_path)
    first = serving_copy(lake, tmp_path / "copies")
    stamp = os.stat(first).st_mtime_ns
    assert serving_copy(lake, tmp_path / "copies") == first
    assert os.stat(first).st_mtime_ns == stamp
    export_lake(tiny_pair[0], lake, "east")  # a new provider: a new version of the lake
    second = serving_copy(lake, tmp_path / "copies")
    assert second != first and not first.exists()
    assert [p.name for p in (tmp_path / "copies").iterdir()] == [second.name]


@pytest.mark.parametrize("options", [
    ("--by", "provider"),
    ("--by", "provider,audience", "--min-cell", "5", "--published"),
])
def test_the_served_copy_groups_by_provider_as_the_lake_does(consortium_lake, consortium_db,
                                                             options):
    assert_same_rows(summarize("--db", str(consortium_db), *options),
                     summarize("--lake", str(consortium_lake), *options))


def test_a_provider_filter_on_the_served_copy_keeps_that_providers_groups(consortium_lake,
                                                                        consortium_db):
    """A filter of the pooled data (the reliable-change threshold stays the pooled one, as
    for any filter), unlike `--lake --provider`, which reads only that provider's files."""
    south = summarize("--db", str(consortium_db), "--provider", "south", "--by", "format")
    pooled = [{k: v for k, v in row.items() if k != "provider"} for row in summarize(
        "--lake", str(consortium_lake), "--by", "provider,format") if row["provider"] == "south"]
    assert south and len(south) == len(pooled)
    family = ("p_adj",)  # adjusted over the groups asked for: fewer here
    assert_same_rows([{k: v for k, v in row.items() if k not in family} for row in south],
                     [{k: v for k, v in row.items() if k not in family} for row in pooled])


def test_the_dashboard_offers_the_provider_as_a_filter_and_a_grouping(consortium_db, demo_db):
    pooled = create_app(consortium_db, login_required=False).server.test_client()
    by_provider = pooled.get("/api/v1/outcomes?scale=CONF&by=provider").get_json()["groups"]
    groups = {row["provider"]: row for row in by_provider}
    assert set(groups) == {"north", "south"}
    (south,) = pooled.get("/api/v1/outcomes?scale=CONF&provider=south").get_json()["groups"]
    assert south["n_pairs"] == groups["south"]["n_pairs"]
    assert south["mean_change"] == groups["south"]["mean_change"]
    unknown = pooled.get("/api/v1/outcomes?scale=CONF&provider=east")
    assert unknown.status_code == 400 and unknown.get_json()["allowed"] == ["north", "south"]
    # The panel shows the control, and the groupings offer it, only where providers are pooled
    own = create_app(demo_db, login_required=False).server.test_client()
    assert _shown(pooled, "f-provider") == (True, ["north", "south"])
    assert _shown(own, "f-provider") == (False, [])
    assert "provider" in _shown(pooled, "f-by")[1] and "provider" not in _shown(own, "f-by")[1]


def _shown(client, control: str) -> tuple[bool, list[str]]:
    """Whether the page's layout shows ``control`` (its filter's box is not hidden), and the
    values it offers."""

    def walk(node, hidden=False):
        if isinstance(node, list):
            return next((f for f in (walk(n, hidden) for n in node) if f), None)
        if not isinstance(node, dict):
            return None
        props = node.get("props", {})
        hidden = hidden or bool(props.get("hidden"))
        if props.get("id") == control:
            return not hidden, [o["value"] for o in props.get("options", [])]
        return walk(props.get("children"), hidden)

    return walk(client.get("/_dash-layout").get_json())


def test_the_dashboard_serves_the_copy(tiny_pair, tmp_path):
    copy = serving_copy(_pooled_lake(tiny_pair, tmp_path), tmp_path / "copies")
    client = create_app(copy, login_required=False).server.test_client()
    answer = client.get("/api/v1/outcomes?scale=CONF")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    rows = answer.get_json()["rows"] if "rows" in answer.get_json() else answer.get_json()
    assert rows


def test_serve_lake_serves_the_pooled_lake_to_a_signed_in_evaluator(tiny_pair, tmp_path):
    lake = _pooled_lake(tiny_pair, tmp_path)
    store = AuthStore(tmp_path / "auth.sqlite", hasher=PasswordHasher(time_cost=1))
    store.add_user("eve", "evaluator", PASSWORD)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "XDG_DATA_HOME": str(tmp_path / "data")}
    server = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "serve", "--lake", str(lake), "--port", str(port),
         "--auth-db", str(store.path)], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            assert server.poll() is None, server.stderr.read()
            try:
                return requests.get(base + "/login", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(up, timeout=120, interval=0.2, message="attune serve --lake is up")
        browser = requests.Session()
        assert sign_in_over_http(browser, base, "eve", PASSWORD).status_code == 302
        answer = browser.get(base + "/api/v1/outcomes?scale=CONF&by=format", timeout=60)
        assert answer.status_code == 200, answer.text
        with duckdb.connect(str(next((tmp_path / "data" / "attune" / "lake-copies")
                                     .glob("lake-*.duckdb"))), read_only=True) as con:
            pooled = con.execute("SELECT count(DISTINCT participant_id) FROM responses "
                                 "WHERE cohort_id LIKE 'south:%'").fetchall()[0][0]
        assert pooled > 0  # both providers are in what is served
    finally:
        server.terminate()
        server.wait(60)


def test_serve_lake_on_a_folder_without_a_lake_is_a_usage_error(tmp_path):
    done = attune("serve", "--lake", str(tmp_path), env={"XDG_DATA_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "no lake here" in done.stderr.replace("\n", " ")
