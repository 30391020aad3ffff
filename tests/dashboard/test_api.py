"""The read-only JSON API, tested against what the pages show: for each role, the API's
numbers for a dashboard state equal the numbers of the chart callbacks the browser calls for
the same state (the data behind the chart and its CSV). A sponsor asks for other sponsors'
cohorts through every key of the query string and gets none; hidden groups carry no figure;
every answer is JSON, never stored, 401 without credentials and 400 on a bad query; the
OpenAPI document is valid, and documents exactly what is accepted and answered."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from accounts.store import AuthStore
from dashboard import state as url_state
from dashboard.app import create_app
from dashboard.style import label
from warehouse.catalog import filter_options

PASSWORD = "correct horse battery"
USERS = {"ada": ("admin", None), "eve": ("evaluator", None), "rex": ("researcher", None),
         "alice": ("sponsor", "SP01"), "sam": ("sponsor", "SP03"), "gone": ("evaluator", None)}
ROLES = ["ada", "eve", "rex", "alice"]
STATISTICS = ("n_pairs", "mean_from", "mean_to", "mean_change", "ci_low", "ci_high", "g",
              "g_ci_low", "g_ci_high", "pct_reliable_improved")
TREND_STATISTICS = ("n_pairs", "mean_change", "ci_low", "ci_high", "g", "g_ci_low",
                    "g_ci_high")
# Dashboard states (what the browser's state store holds); the API is sent the same state in
# the dashboard URL's keys.
STATES = {
    "defaults": {},
    "burnout for three audiences": {"scale": "BURN", "audience": ["hr", "educator",
                                                                   "healthcare"]},
    "practice at 3 months, short formats, supervised": {
        "scale": "PRAC", "wt": "followup_3m", "format": ["workshop", "short_course"],
        "supervision": "yes"},
    "a date window, two deliveries, three programmes": {
        "start": "2024-01-01", "end": "2025-06-30", "delivery": ["online", "hybrid"],
        "program": ["P01", "P02", "P04"]},
}


# --- the app, signing in, the pages' own numbers ---------------------------------------------


@pytest.fixture(scope="module")
def served(demo_db, tmp_path_factory):
    """The dashboard with login on, over the demo database, and an account per role."""
    store = AuthStore(tmp_path_factory.mktemp("api") / "auth.sqlite")
    for name, (role, sponsor) in USERS.items():
        store.add_user(name, role, PASSWORD, sponsor)
    app = create_app(demo_db, auth_store=store)
    app.attune.db.snapshot()
    return app, store


def sign_in(app, name):
    """A test client with the session cookie of a real sign-in through the login form."""
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": name, "password": PASSWORD,
                                           "csrf_token": csrf, "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture(scope="module")
def signed_in(served):
    """``signed_in(name)``: a client signed in as ``name``, one per name for the module."""
    app, _ = served
    clients = {}

    def client(name):
        if name not in clients:
            clients[name] = sign_in(app, name)
        return clients[name]

    return client


def dashboard_state(options, **changes) -> dict:
    return url_state.parse(url_state.encode({**url_state.defaults(options), **changes},
                                            options), options)


def api_query(state, by=()) -> str:
    """``state`` in the dashboard URL's keys, every key written out (a sponsor's defaults
    differ), without the page's own "by"; then the API's ``by``."""
    pairs = [(k, ",".join(v) if isinstance(v, list) else v) for k, v in state.items()
             if k != "by" and v not in (None, [])]
    return urlencode([*pairs, ("by", ",".join(by))], safe=",")


def chart_data(client, chart: str, state: dict) -> list[dict]:
    """The records behind chart ``chart`` (what it draws and its CSV holds) for ``state``,
    from the chart's callback as the browser calls it."""
    deps = client.get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if f'"chart":"{chart}"' in d["output"]
               and d["inputs"] == [{"id": "state", "property": "data"}])
    outputs = []
    for part in dep["output"].strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident,
                        "property": prop})
    response = client.post("/_dash-update-component", json={
        "output": dep["output"], "outputs": outputs,
        "inputs": [{"id": "state", "property": "data", "value": state}],
        "changedPropIds": ["state.data"], "state": []})
    assert response.status_code == 200, response.get_data(as_text=True)
    data = next(v["data"] for k, v in response.get_json()["response"].items()
                if '"chart-data"' in k)
    return data["records"]


def get(client, path, query="", **headers):
    response = client.get(f"/api/v1/{path}" + (f"?{query}" if query else ""), headers=headers)
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    assert response.headers["Cache-Control"] == "no-store"
    return response


def answer(client, path, query=""):
    response = get(client, path, query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def options(demo_db):
    return filter_options(demo_db)


# --- the same numbers as the pages, for every role ------------------------------------------


@pytest.mark.parametrize("name", ROLES)
@pytest.mark.parametrize("sample", list(STATES))
def test_outcomes_by_audience_and_format_equal_the_explorer_chart(signed_in, options, name,
                                                                 sample):
    client = signed_in(name)
    state = dashboard_state(options, **STATES[sample])
    records = chart_data(client, "explorer-dumbbell", state)
    got = answer(client, "outcomes", api_query(state, ("audience", "format")))
    assert records, "the sample state shows something on the page"
    assert [(g["audience"], g["format"]) for g in got["groups"]] == \
        [(r["audience"], r["format"]) for r in records]
    for group, record in zip(got["groups"], records, strict=True):
        assert group["shown"] is not record["suppressed"]
        assert {k: group[k] for k in STATISTICS} == {k: record[k] for k in STATISTICS}
    assert got["published"] is (USERS[name][0] == "sponsor")


@pytest.mark.parametrize("name", ROLES)
@pytest.mark.parametrize("sample", list(STATES))
def test_overall_outcome_equals_the_overview_headline(signed_in, options, name, sample):
    client = signed_in(name)
    state = dashboard_state(options, **STATES[sample])
    scale = next(s["name"] for s in options["scales"] if s["scale_id"] == state["scale"])
    record = next(r for r in chart_data(client, "overview-headline", state)
                  if r["scale"] == scale)
    [group] = answer(client, "outcomes", api_query(state))["groups"]
    assert group["shown"] is not record["suppressed"]
    assert {k: group[k] for k in STATISTICS} == {k: record[k] for k in STATISTICS}


@pytest.mark.parametrize("name", ROLES)
@pytest.mark.parametrize(("sample", "by"), [("defaults", "all"), ("defaults", "audience"),
                                            ("burnout for three audiences", "format")])
def test_trends_equal_the_trends_chart(signed_in, options, name, sample, by):
    client = signed_in(name)
    state = dashboard_state(options, **STATES[sample], by=by)
    records = chart_data(client, "trends-quarter", state)
    dims = () if by == "all" else (by,)
    got = answer(client, "trends", api_query(state, dims))["groups"]
    assert records
    assert [(label(by, g[by]) if dims else "All matching cohorts", g["cohort_quarter"])
            for g in got] == [(r["group"], r["x"]) for r in records]
    for group, record in zip(got, records, strict=True):
        assert group["shown"] is not record["suppressed"]
        assert {k: group[k] for k in TREND_STATISTICS} == \
            {k: record[k] for k in TREND_STATISTICS}


@pytest.mark.parametrize("name", ROLES)
@pytest.mark.parametrize("sample", ["defaults", "a date window, two deliveries, three "
                                    "programmes"])
def test_funnel_equals_the_follow_up_chart(signed_in, options, name, sample):
    client = signed_in(name)
    state = dashboard_state(options, **STATES[sample])
    records = chart_data(client, "attrition-funnel", state)
    got = answer(client, "funnel", api_query(state, ("format",)))["groups"]
    assert records
    assert [(label("format", g["format"]), label("wave", g["wave"])) for g in got] == \
        [(r["format"], r["wave"]) for r in records]
    for group, record in zip(got, records, strict=True):
        assert group["shown"] is not record["suppressed"]
        assert (group["due"], group["answered"], group["pct_answered"]) == \
            (record["due"], record["retained"], record["pct"])


def test_a_sponsor_gets_only_their_own_cohorts_on_the_demo(signed_in, options):
    """SP01 shares programmes with other sponsors: split by programme, a sponsor's answer has
    only the programmes they have cohorts in, and differs from everyone's together."""
    alice, eve = signed_in("alice"), signed_in("eve")
    own = {p for p, sponsors in options["program_sponsors"].items() if "SP01" in sponsors}
    by_programme = "scale=CONF&by=program"
    programmes = {g["program"] for g in answer(alice, "outcomes", by_programme)["groups"]}
    assert programmes and programmes <= own
    everyone = {g["program"] for g in answer(eve, "outcomes", by_programme)["groups"]}
    assert everyone - own, "the demo has programmes SP01 is not in (the check is real)"

    def n_pairs(client):
        return answer(client, "outcomes", "scale=CONF")["groups"][0]["n_pairs"]

    assert n_pairs(alice) not in (n_pairs(eve), n_pairs(signed_in("sam")))


# --- a sponsor never gets another sponsor's cohorts ---------------------------------------


# Formats sorted: certificate -> P0/C0/SP1, degree -> P1/C1/SP2, workshop -> P2/C2/SP1.
# Each sponsor's cohorts have audiences, programmes, formats and supervision of their own.
SPONSOR_GROUPS = {("hr", "certificate"): 20, ("educator", "degree"): 25,
                  ("coach", "workshop"): 15}
SP1_VALUES = {"audience": {"hr", "coach"}, "program": {"P0", "P2"},
              "format": {"certificate", "workshop"}, "supervision": {"yes"}}
SP2_NUMBERS = ('"n_pairs": 25', '"due": 25', '"SP2"', '"P1"', '"educator"', '"degree"')


@pytest.fixture(scope="module")
def sponsors_db(tiny_db_factory):
    return tiny_db_factory(SPONSOR_GROUPS, followup=True)


@pytest.fixture(scope="module")
def token_app(sponsors_db, tmp_path_factory):
    """The app with login on, an account for sponsor SP1 and one for an evaluator."""
    store = AuthStore(tmp_path_factory.mktemp("tokens") / "auth.sqlite")
    store.add_user("sp1", "sponsor", PASSWORD, "SP1")
    store.add_user("ev", "evaluator", PASSWORD)
    app = create_app(sponsors_db, auth_store=store)
    app.attune.db.snapshot()
    return app, store


def bearer(app, store, name):
    """A test client sending a new bearer token of ``name`` with every request."""
    _, token = store.add_token(name, "tests")
    client = app.server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="module", params=["local sponsor without login", "sponsor's token"])
def as_sp1(request, sponsors_db, token_app):
    """A client that is sponsor SP1: the app's local user (as ``attune demo`` runs it), or a
    bearer token of SP1's account."""
    if request.param == "sponsor's token":
        return bearer(*token_app, "sp1")
    app = create_app(sponsors_db, login_required=False, local_role="sponsor",
                     local_sponsor="SP1")
    app.attune.db.snapshot()
    return app.server.test_client()


GROUPINGS = ["", "audience", "format", "program", "supervision", "delivery",
             "cohort_quarter"]
SPLITS = [(path, by) for path in ("outcomes", "trends", "funnel") for by in GROUPINGS] + [
    (path, by) for path in ("outcomes", "funnel")
    for by in ("audience,program", "format,supervision", "program,cohort_quarter")]


@pytest.mark.parametrize(("path", "by"), SPLITS)
def test_a_sponsor_split_any_way_sees_only_their_own_cohorts(as_sp1, path, by):
    text = get(as_sp1, path, f"by={by}").get_data(as_text=True)
    got = json.loads(text)
    assert got["groups"] and got["published"] is True
    for group in got["groups"]:
        for key, own in SP1_VALUES.items():
            assert group.get(key, next(iter(own))) in own, (key, group)
    for needle in SP2_NUMBERS:
        assert needle not in text


def test_the_other_sponsors_cohorts_are_there_for_a_trusted_role(token_app):
    """Control: an evaluator's answers hold SP2's groups, so the checks above can fail."""
    client = bearer(*token_app, "ev")
    text = get(client, "outcomes", "by=audience,program").get_data(as_text=True)
    assert all(needle in text for needle in ('"n_pairs": 25', '"P1"', '"educator"'))
    assert '"due": 25' in get(client, "funnel", "by=program").get_data(as_text=True)


@pytest.mark.parametrize(("query", "key"), [
    ("sponsor=SP2", "sponsor"), ("sponsor=SP1,SP2", "sponsor"),
    ("sponsor=SP1&sponsor=SP2", "sponsor"), ("program=P1", "program"),
    ("program=P0,P1", "program"), ("program=P1&by=program", "program"),
    ("by=sponsor", "by"), ("by=audience,sponsor", "by"),
])
def test_a_sponsor_naming_another_sponsor_is_refused_with_only_their_own_values(
        as_sp1, query, key):
    for path in ("outcomes", "trends", "funnel"):
        response = get(as_sp1, path, query)
        assert response.status_code == 400
        body = response.get_json()
        assert body["key"] == key and "groups" not in body
        assert "SP2" not in body["allowed"] and "P1" not in body["allowed"]
    assert get(as_sp1, "outcomes", "program=P1").get_json()["allowed"] == ["P0", "P2"]
    assert get(as_sp1, "outcomes", "sponsor=SP2").get_json()["allowed"] == ["SP1"]


def test_a_sponsor_asking_for_another_sponsors_cohorts_is_audited(token_app):
    app, store = token_app
    assert get(bearer(app, store, "sp1"), "outcomes", "sponsor=SP2").status_code == 400
    refused = [e for e in store.audit_entries() if e[1] == "sp1" and e[2] == "api"]
    assert refused and refused[0][4] == "refused" and "SP2" in refused[0][3]


@pytest.mark.parametrize("query", ["", "sponsor=SP1", "program=P0,P2", "sponsor=SP1&program=P0,P2",
                                   "audience=hr,coach,educator", "format=certificate,workshop,degree"])
def test_a_sponsor_asking_for_everything_they_may_name_gets_exactly_their_own(as_sp1, query):
    client = as_sp1
    plain = answer(client, "outcomes", "by=audience")["groups"]
    assert answer(client, "outcomes", "&".join(q for q in (query, "by=audience") if q))[
        "groups"] == plain


def test_a_sponsor_filtering_on_the_other_sponsors_audience_gets_nothing(as_sp1):
    client = as_sp1
    assert answer(client, "outcomes", "audience=educator")["groups"] == []
    assert answer(client, "outcomes", "format=degree&by=format")["groups"] == []


# --- hidden groups ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cells_app(tiny_db_factory):
    """Six audience x format groups; educator/workshop has 7 people, below the minimum of 11."""
    db = tiny_db_factory({("hr", "workshop"): 20, ("educator", "workshop"): 7,
                          ("coach", "workshop"): 25, ("hr", "degree"): 12,
                          ("educator", "degree"): 30, ("coach", "degree"): 22}, followup=True)
    app = create_app(db, login_required=False, local_role="evaluator")
    app.attune.db.snapshot()
    return app


@pytest.mark.parametrize(("path", "by", "fields"), [
    ("outcomes", "audience,format", STATISTICS), ("outcomes", "audience", STATISTICS),
    ("trends", "audience", STATISTICS), ("funnel", "audience", ("due", "answered",
                                                                 "pct_answered"))])
def test_a_hidden_group_is_not_shown_and_carries_no_figure(small_cells_app, path, by, fields):
    groups = answer(small_cells_app.server.test_client(), path,
                    f"by={by}&format=workshop")["groups"]
    hidden = [g for g in groups if not g["shown"]]
    shown = [g for g in groups if g["shown"]]
    assert any(g["audience"] == "educator" for g in hidden)  # the group of 7
    assert shown, "the other groups are shown"
    for group in hidden:
        assert [group[f] for f in fields] == [None] * len(fields)
    for group in shown:
        assert group["n_pairs" if "n_pairs" in fields else "due"] >= 11


# --- credentials, bad queries, the answers' form ----------------------------------------------


@pytest.mark.parametrize("path", ["outcomes", "funnel", "trends", "openapi.json"])
def test_without_credentials_the_api_answers_401_and_no_data(served, path):
    app, _ = served
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = get(app.server.test_client(), path, "by=audience", **headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(response.get_json()) == {"error"}


def test_a_revoked_token_gets_401_and_a_live_one_answers(token_app):
    app, store = token_app
    token_id, token = store.add_token("ev", "to revoke")
    headers = {"Authorization": f"Bearer {token}"}
    assert get(app.server.test_client(), "outcomes", **headers).status_code == 200
    store.revoke_token(token_id)
    response = get(app.server.test_client(), "outcomes", **headers)
    assert response.status_code == 401 and set(response.get_json()) == {"error"}


@pytest.mark.parametrize("name", ROLES)
def test_a_token_answers_exactly_as_its_users_session_does(served, signed_in, name):
    app, store = served
    token = bearer(app, store, name)
    for path, query in (("outcomes", "scale=CONF&by=audience,format"), ("funnel", "by=format"),
                        ("trends", "scale=BURN&by=audience")):
        assert answer(token, path, query) == answer(signed_in(name), path, query)


def test_a_removed_accounts_session_gets_401(served):
    app, store = served
    client = sign_in(app, "gone")
    assert get(client, "outcomes").status_code == 200
    store.remove_user("gone")
    try:
        assert get(client, "outcomes").status_code == 401
    finally:
        store.add_user("gone", "evaluator", PASSWORD)


def test_over_http_a_client_without_credentials_gets_401_json_not_the_login_page(
        served, live_server):
    """Through a real server, as curl or a script sees it (urllib follows redirects: the
    sign-in page would come back as 200 HTML)."""
    app, _ = served
    server = live_server(app)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/api/v1/outcomes?by=audience", timeout=30)
    assert refused.value.code == 401
    assert refused.value.headers["Content-Type"] == "application/json"
    assert refused.value.headers["Cache-Control"] == "no-store"
    assert "groups" not in json.loads(refused.value.read())


BAD_QUERIES = [
    ("colour=blue", "colour"), ("audience=martian", "audience"),
    ("audience=hr,martian", "audience"), ("format=webinar", "format"),
    ("delivery=carrier-pigeon", "delivery"), ("program=P99", "program"),
    ("sponsor=SP99", "sponsor"), ("scale=NOPE", "scale"),
    ("wf=never", "wf"), ("wt=tomorrow", "wt"), ("supervision=maybe", "supervision"),
    ("start=yesterday", "start"), ("end=2024-02-30", "end"), ("start=2024-1-1", "start"),
    ("by=sponsor", "by"), ("by=audience,scale_id", "by"), ("by=wave_to", "by"),
]


@pytest.mark.parametrize(("query", "key"), BAD_QUERIES)
def test_a_bad_query_gets_400_naming_the_key_and_what_it_allows(signed_in, query, key):
    client = signed_in("eve")
    documented = answer(client, "openapi.json")["paths"]["/api/v1/outcomes"]["get"]
    parameters = {p["name"]: p["schema"] for p in documented["parameters"]}
    for path in ("outcomes", "funnel", "trends"):
        response = get(client, path, query)
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["key"] == key and key in body["error"]
        if key not in parameters:
            assert body["allowed"] == list(parameters)
        elif parameters[key].get("format") == "date":
            assert "YYYY-MM-DD" in body["allowed"]
        else:
            schema = parameters[key].get("items", parameters[key])
            assert body["allowed"] == schema["enum"]


def test_a_key_that_takes_one_value_given_twice_gets_400(signed_in):
    response = get(signed_in("eve"), "outcomes", "scale=CONF&scale=BURN")
    assert response.status_code == 400
    assert response.get_json()["key"] == "scale" and "one value" in response.get_json()["error"]


@pytest.mark.parametrize(("path", "by"), [
    ("outcomes", "audience,format,program"), ("funnel", "audience,program,cohort_quarter"),
    ("trends", "audience,format"), ("outcomes", "audience,format,delivery,program,"
                                    "cohort_quarter,supervision")])
def test_a_table_of_more_than_two_groupings_is_refused(signed_in, path, by):
    """The pages show at most two-way tables; a larger one would keep the server busy for
    minutes protecting its small cells. The document says so."""
    client = signed_in("eve")
    response = get(client, path, f"by={by}")
    assert response.status_code == 400
    assert response.get_json()["key"] == "by" and "at most" in response.get_json()["error"]
    documented = answer(client, "openapi.json")["paths"][f"/api/v1/{path}"]["get"]
    by_schema = next(p["schema"] for p in documented["parameters"] if p["name"] == "by")
    assert by_schema["maxItems"] < len(by.split(","))


def test_waves_in_the_wrong_order_get_400_saying_so(signed_in):
    for query in ("wf=post&wt=pre", "wf=post", "wf=followup_3m&wt=post"):
        response = get(signed_in("eve"), "outcomes", query)
        assert response.status_code == 400
        assert "wave" in response.get_json()["error"]


def test_a_database_that_cannot_be_read_gets_503_json_naming_no_file(tmp_path):
    app = create_app(tmp_path / "missing.duckdb", login_required=False)
    for path in ("outcomes", "funnel", "trends", "openapi.json"):
        response = get(app.server.test_client(), path)
        assert response.status_code == 503 and set(response.get_json()) == {"error"}
        assert str(tmp_path) not in response.get_data(as_text=True)


def test_only_get_is_answered_and_unknown_paths_get_404_json(signed_in):
    client = signed_in("eve")
    assert get(client, "nowhere").status_code == 404
    for method in (client.post, client.put, client.delete):
        response = method("/api/v1/outcomes")
        assert response.status_code == 405 and response.mimetype == "application/json"
        assert response.headers["Allow"] == "GET, HEAD"


KEYS = ["scale", "wf", "wt", "audience", "format", "delivery", "sponsor", "program", "start",
        "end", "supervision", "by", "junk", ""]
VALUES = ["", "CONF", "BURN", "pre", "post", "followup_12m", "hr", "hr,educator", "workshop",
          "online", "SP01", "SP02", "P01", "P09", "2024-01-01", "2024-13-40", "yes", "any",
          "audience", "program,cohort_quarter", "%00", "'; DROP TABLE x; --", "é", ",,,"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=6),
       path=st.sampled_from(["outcomes", "funnel", "trends"]),
       name=st.sampled_from(["eve", "alice"]))
def test_no_query_string_makes_the_server_fail(signed_in, pairs, path, name):
    client = signed_in(name)
    response = get(client, path, urlencode(pairs))
    assert response.status_code in (200, 400), response.get_json()
    assert set(response.get_json()) in ({"groups", "published", "state"},
                                        {"error"}, {"error", "key", "allowed"})


# --- the OpenAPI document ---------------------------------------------------------------------


def _documented(client) -> dict:
    doc = answer(client, "openapi.json")
    validate_openapi(doc)
    return doc


def test_the_openapi_document_is_valid_and_covers_every_route(served, signed_in):
    app, _ = served
    doc = _documented(signed_in("eve"))
    assert doc["openapi"].startswith("3.1")
    routes = {r.rule for r in app.server.url_map.iter_rules()
              if r.rule.startswith("/api/v1/") and "<" not in r.rule}
    assert routes == set(doc["paths"])
    for path, item in doc["paths"].items():
        if path.endswith("openapi.json"):
            continue
        names = [p["name"] for p in item["get"]["parameters"]]
        assert set(names) >= {"scale", "wf", "wt", "audience", "format", "delivery",
                              "program", "start", "end", "supervision", "by"}
        assert {"200", "400", "401"} <= set(item["get"]["responses"])


def _values_to_try(parameter: dict) -> list[str]:
    schema = parameter["schema"]
    if schema.get("format") == "date":
        return ["2024-01-01"]
    if schema["type"] == "array":
        enum = schema["items"].get("enum", [])
        return [*enum, ",".join(enum[:schema.get("maxItems", len(enum))])]
    return schema.get("enum", [])


@pytest.mark.parametrize("name", ["eve", "alice"])
def test_every_documented_parameter_and_value_is_accepted(signed_in, name):
    client = signed_in(name)
    doc = _documented(client)
    for path, item in doc["paths"].items():
        if path.endswith("openapi.json"):
            continue
        schemas = {p["name"]: p["schema"] for p in item["get"]["parameters"]}
        waves = schemas["wt"]["enum"]
        for parameter in item["get"]["parameters"]:
            for value in _values_to_try(parameter):
                query = {parameter["name"]: value}
                if parameter["name"] == "wf":  # compare with the last wave, which comes after
                    query["wt"] = waves[-1]
                response = client.get(path + "?" + urlencode(query))
                body = response.get_json()
                wf, wt = (query.get(k, schemas[k]["default"]) for k in ("wf", "wt"))
                if waves.index(wt) <= waves.index(wf) and not path.endswith("funnel"):
                    assert response.status_code == 400 and "wave" in body["error"], query
                else:
                    assert response.status_code == 200, (path, query, body)


def test_a_sponsors_document_lists_only_their_own_sponsor_and_programmes(signed_in, options):
    doc = _documented(signed_in("alice"))
    parameters = {p["name"]: p["schema"] for p in
                  doc["paths"]["/api/v1/outcomes"]["get"]["parameters"]}
    assert parameters["sponsor"]["items"]["enum"] == ["SP01"]
    own = [p for p, sponsors in options["program_sponsors"].items() if "SP01" in sponsors]
    assert parameters["program"]["items"]["enum"] == own


ANSWERED = [("outcomes", ""), ("outcomes", "by=audience,cohort_quarter"),
            ("outcomes", "by=delivery,supervision"),
            ("outcomes", "scale=BURN&wt=followup_12m&by=program"), ("funnel", ""),
            ("funnel", "by=supervision,cohort_quarter"), ("trends", "by=delivery"),
            ("outcomes", "audience=nobody"), ("outcomes", "by=nothing"),
            ("trends", "wf=post&wt=pre"), ("nowhere", ""), ("outcomes", "start=soon")]


@pytest.mark.parametrize("name", ["eve", "alice"])
def test_every_answered_field_is_documented(served, signed_in, name):
    """Each answer, hidden groups and errors included, matches the documented schema of its
    status, which allows no field it does not describe."""
    app, _ = served
    client = signed_in(name)
    doc = _documented(client)
    seen_hidden = False
    for path, query in ANSWERED:
        response = get(client, path, query)
        item = doc["paths"].get(f"/api/v1/{path}", doc["paths"]["/api/v1/outcomes"])
        documented = item["get"]["responses"][str(response.status_code)]
        schema = documented["content"]["application/json"]["schema"]
        errors = list(Draft202012Validator(schema).iter_errors(response.get_json()))
        assert errors == [], (path, query, [e.message for e in errors])
        seen_hidden |= any(not g["shown"] for g in response.get_json().get("groups", []))
    assert seen_hidden, "a hidden group was checked against the schema"
    anonymous = get(app.server.test_client(), "outcomes")
    schema = doc["paths"]["/api/v1/outcomes"]["get"]["responses"]["401"]
    assert list(Draft202012Validator(schema["content"]["application/json"]["schema"])
                .iter_errors(anonymous.get_json())) == []
