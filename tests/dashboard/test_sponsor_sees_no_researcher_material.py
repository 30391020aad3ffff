"""A sponsor's pages (and a share link's, which are a sponsor's) never show researcher material:
no example SQL, no data dictionary, no database or source file paths, no notes on the
code and its tests. Checked on every page a sponsor may open and on every chart's text, as
the sponsor SP01 on the demo database, and through a real share link on the methods page."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from argon2 import PasswordHasher

from accounts.store import AuthStore
from dashboard.app import create_app, visible_pages
from dashboard.pages.charts import safe_build
from dashboard.pages.methods import METHODS_MD, methods_markdown
from dashboard.state import defaults

RESEARCHER_MATERIAL = (
    "Example SQL", "SELECT ", "GROUP BY ALL", "duckdb -readonly", ".duckdb", "Data dictionary",
    "duckdb_columns", "~/.local", "/home/", "/tmp/", "tests/stats", "stats/paired.py",
    "warehouse/sql", ".sql", "Reference values reproduced by the tests", "fixtures",
)


def _texts(node) -> list[str]:
    """Every string a component tree renders (children and Markdown)."""
    if node is None:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for child in node for t in _texts(child)]
    return _texts(getattr(node, "children", None))


def _found(text: str) -> list[str]:
    return [needle for needle in RESEARCHER_MATERIAL if needle in text]


def test_no_page_or_chart_a_sponsor_opens_shows_researcher_material(sponsor):
    pages = visible_pages()
    assert {p.KEY for p in pages} >= {"overview", "methods", "evidence"}
    state = defaults(sponsor.options())
    for page in pages:
        text = "\n".join(_texts(page.layout(sponsor)))
        assert not _found(text), (page.KEY, _found(text))
        for spec in page.CHARTS:
            chart = safe_build(page, spec, sponsor, state)
            words = "\n".join([chart.title, chart.subtitle, chart.empty or "", *chart.notes,
                               *_texts(chart.extra)])
            assert not _found(words), (spec.id, _found(words))


def test_an_evaluator_still_gets_the_example_sql_and_the_dictionary(evaluator):
    from dashboard.pages import methods

    text = "\n".join(_texts(methods.layout(evaluator)))
    assert "Example SQL for researchers" in text and "Data dictionary" in text
    assert "stats/paired.py" in text  # the full methods text, with its sources


def test_the_sponsors_methods_text_keeps_every_statistic_but_not_the_code_notes():
    full = methods_markdown(METHODS_MD.read_text(encoding="utf-8"))
    mine = methods_markdown(METHODS_MD.read_text(encoding="utf-8"), sponsor=True)
    headings = [line.split(" (`")[0] for line in full.splitlines() if line.startswith("## ")]
    assert [h for h in headings if "reproduced by the tests" not in h] == \
        [line for line in mine.splitlines() if line.startswith("## ")]
    assert "## Paired change" in mine and "Feldt" in mine and not _found(mine)


@pytest.fixture(scope="module")
def shared(tmp_path_factory, demo_db):
    store = AuthStore(tmp_path_factory.mktemp("no-research") / "auth.sqlite",
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    return create_app(demo_db, auth_store=store), store


def test_a_share_links_methods_page_has_no_researcher_material(shared):
    app, store = shared
    _, token = store.add_share("SP01", store.now() + dt.timedelta(days=1))
    client = app.server.test_client()
    assert client.get(f"/share/{token}").status_code == 302
    route = next(d for d in client.get("/_dash-dependencies").get_json()
                 if "page.children" in d["output"])  # the page router, whatever else it sets
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
               for part in route["output"].strip(".").split("...")]
    response = client.post("/_dash-update-component", json={
        "output": route["output"], "outputs": outputs,
        "inputs": [{"id": "url", "property": "pathname", "value": "/methods"}],
        "state": [{"id": "url", "property": "search", "value": ""}],
        "changedPropIds": ["url.pathname"]})
    assert response.status_code == 200
    page = json.dumps(response.get_json()["response"]["page"], ensure_ascii=False)
    assert "How the statistics are computed" in page and "Paired change" in page
    assert not _found(page), _found(page)
