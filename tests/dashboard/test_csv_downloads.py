"""CSV downloads as a reader gets them: numbers rounded sensibly (integers exact), and comment
lines on top that record the filters, the scope, the design statement and the day they were
made, which a spreadsheet shows as one cell each and pandas skips; the same in the ZIP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

import pandas as pd
import pytest
from argon2 import PasswordHasher

from accounts.store import AuthStore
from dashboard.app import create_app
from dashboard.components import to_csv
from dashboard.downloads import comment_line
from dashboard.pages.methods import all_chart_data
from dashboard.style import DESIGN_STATEMENT

PASSWORD = "correct horse battery"


def test_floats_keep_four_decimals_and_integers_stay_exact():
    out = to_csv([("n", "N"), ("x", "X")], [
        {"n": 123456789, "x": 0.1234567891}, {"n": -3, "x": 12.3456789},
        {"n": 0, "x": 0.000123456789}, {"n": 7, "x": 1234567.891234}, {"n": 1, "x": None}])
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["N", "X"], ["123456789", "0.1235"], ["-3", "12.3457"],
                    ["0", "0.0001235"], ["7", "1234567.8912"], ["1", ""]]


def test_a_comment_line_is_one_cell_a_spreadsheet_and_pandas_read_cleanly():
    line = comment_line('Filters: audience: HR, Educators; "quoted"\nnext')
    assert line.startswith("# ") and "," not in line and '"' not in line and "\n" not in line
    text = to_csv([("a", "A"), ("b", "B")], [{"a": 1, "b": 2.5}], [line, comment_line("x, y")])
    cells = list(csv.reader(io.StringIO(text)))
    assert [len(row) for row in cells] == [1, 1, 2, 2]
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert frame.to_dict("records") == [{"A": 1, "B": 2.5}]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_db_factory):
    db = tiny_db_factory({("hr", "degree"): 14, ("hr", "workshop"): 29})  # SP1, SP2
    store = AuthStore(tmp_path_factory.mktemp("csv") / "auth.sqlite",
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    store.add_user("eve", "evaluator", PASSWORD)
    store.add_user("alice", "sponsor", PASSWORD, "SP1")
    return create_app(db, auth_store=store)


def _login(app, name):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": name, "password": PASSWORD,
                                       "csrf_token": csrf, "next": "/"}).status_code == 302
    return client


STATE = {"audience": ["hr"], "format": ["degree"], "delivery": [], "sponsor": [],
         "program": [], "start": None, "end": None, "supervision": "any", "scale": "CONF",
         "wf": "pre", "wt": "post", "by": "all"}


def _card_csv(client, state) -> str:
    data = {"columns": [["n", "People"], ["m", "Mean change"]],
            "records": [{"n": 14, "m": 0.4567891234}], "filename": "overview-headline.csv"}
    body = {
        "output": '{"chart":["MATCH"],"type":"chart-download"}.data',
        "outputs": {"id": {"chart": "overview-headline", "type": "chart-download"},
                    "property": "data"},
        "inputs": [{"id": {"chart": "overview-headline", "type": "chart-csv"},
                    "property": "n_clicks", "value": 1}],
        "state": [{"id": {"chart": "overview-headline", "type": "chart-data"},
                   "property": "data", "value": data},
                  {"id": "state", "property": "data", "value": state}],
        "changedPropIds": ['{"chart":"overview-headline","type":"chart-csv"}.n_clicks'],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return next(iter(response.get_json()["response"].values()))["data"]["content"]


def _comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("# "))


def test_a_cards_csv_records_its_filters_scope_design_and_date(setup):
    text = _card_csv(_login(setup, "eve"), STATE)
    notes = _comments(text)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert "# Attune chart data: overview-headline.csv" in notes
    assert f"# Made: {today} (UTC)" in notes
    assert "# Scope: every cohort (all sponsors): exact figures" in notes
    assert "# Filters: audience: HR teams; format: Degree-level course" in notes
    assert "waves: Before training to End of training" in notes
    assert comment_line(f"Design: {DESIGN_STATEMENT}") in notes
    assert pd.read_csv(io.StringIO(text), comment="#").to_dict("records") == [
        {"People": 14, "Mean change": 0.4568}]


def test_a_sponsors_csv_says_it_holds_their_published_figures_only(setup):
    notes = _comments(_card_csv(_login(setup, "alice"), {**STATE, "sponsor": ["SP2"]}))
    assert "# Scope: sponsor SP1 only: published figures (rounded and with" in notes
    assert "SP2" not in notes and "every cohort" not in notes


def test_every_csv_in_the_zip_carries_the_same_comment_lines(setup):
    archive = zipfile.ZipFile(io.BytesIO(all_chart_data(setup.attune, STATE,
                                                        dt.date(2026, 3, 4))))
    names = archive.namelist()
    assert len(names) >= 10
    for name in names:
        text = archive.read(name).decode()
        notes = _comments(text)
        assert notes.startswith(f"# Attune chart data: {name.split('--', 1)[1]}"), name
        assert "# Made: 2026-03-04 (UTC)" in notes and "audience: HR" in notes, name
        assert comment_line(f"Design: {DESIGN_STATEMENT}") in notes, name
