"""The app checks its callbacks against its validation layout when it is created: a callback
whose component no page has stops the app instead of leaving a card blank."""

from __future__ import annotations

import json
import re
from types import ModuleType

import pytest
from dash import Input, Output, html

from dashboard import app as app_module
from dashboard.app import CallbackWithoutComponent, create_app
from dashboard.components import chart_card, chart_id
from dashboard.pages import PAGES, explorer
from dashboard.pages.charts import ChartSpec


def _draw_nothing(app_ctx, state):
    raise AssertionError("not drawn at creation")


def _page(key: str, layout, charts=(), register=None) -> ModuleType:
    page = ModuleType(f"tests.fake_{key}")
    page.KEY, page.PATH, page.NAME = key, f"/{key}", key.title()
    page.CHARTS, page.layout = charts, layout
    if register is not None:
        page.register = register
    return page


def test_chart_whose_card_is_not_in_the_layout_stops_the_app(tiny_db, monkeypatch):
    # The old way: a layout written by hand, naming another chart than the page declares.
    hand_made = _page(
        "hand", lambda app_ctx: html.Div([chart_card("hand-made", "Hand-made", "No method.")]),
        charts=(ChartSpec("hand-drawn", "Hand-drawn", "No method.", _draw_nothing),))
    monkeypatch.setattr(app_module, "PAGES", [*PAGES, hand_made])
    with pytest.raises(CallbackWithoutComponent, match=re.escape('"chart":"hand-drawn"')):
        create_app(tiny_db, login_required=False)


def test_callback_for_a_component_no_page_has_stops_the_app(tiny_db, monkeypatch):
    def register(app, app_ctx):
        app.callback(Output("ghost-result", "children"), Input("ghost-run", "n_clicks"))(
            lambda n: n)

    ghost = _page("ghost", lambda app_ctx: html.Div(html.Button("Run", id="ghost-run")),
                  register=register)
    monkeypatch.setattr(app_module, "PAGES", [*PAGES, ghost])
    with pytest.raises(CallbackWithoutComponent, match="no component ghost-result"):
        create_app(tiny_db, login_required=False)


def test_callback_for_a_property_the_component_lacks_stops_the_app(tiny_db, monkeypatch):
    def register(app, app_ctx):
        app.callback(Output("typo-box", "valeu"), Input("typo-box", "n_clicks"))(lambda n: n)

    typo = _page("typo", lambda app_ctx: html.Div(html.Div(id="typo-box")), register=register)
    monkeypatch.setattr(app_module, "PAGES", [*PAGES, typo])
    with pytest.raises(CallbackWithoutComponent, match="Div typo-box has no property 'valeu'"):
        create_app(tiny_db, login_required=False)


def test_the_real_pages_pass_the_check_and_every_card_is_in_the_validation_layout(tiny_db):
    app = create_app(tiny_db, login_required=False)  # would raise on a mismatch
    ids = {json.dumps(c.id, sort_keys=True) if isinstance(c.id, dict) else c.id
           for c in app.validation_layout.children}
    for page in PAGES:
        for spec in page.CHARTS:
            assert f"card-{spec.id}" in ids
            assert json.dumps(chart_id(spec.id, "body"), sort_keys=True) in ids
    assert {"methods-zip-btn", "console-run", "f-scale", "page"} <= ids


def test_validation_layout_sent_to_the_browser_holds_no_data(tiny_db):
    """Dash puts the validation layout in every page's HTML: no filter choices (sponsors,
    programmes), no methods text or data dictionary, for any visitor."""
    app = create_app(tiny_db, login_required=False)
    page = app.server.test_client().get("/explorer").get_data(as_text=True)
    config = json.loads(re.search(
        r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S).group(1))
    sent = json.dumps(config["validation_layout"])
    assert '"card-explorer-heatmap"' in sent  # it is the validation layout
    for needle in ("SP1", "SP2", "Programme workshop", "CONF", explorer.CHARTS[0].methods,
                   "Data dictionary", "responses"):
        assert needle not in sent, needle


def test_chart_id_outside_its_page_key_stops_the_app(tiny_db, monkeypatch):
    spec = ChartSpec("explorer-stray", "Stray", "No method.", _draw_nothing)
    stray = _page("stray", lambda app_ctx: html.Div([chart_card(spec.id, spec.title, "")]),
                  charts=(spec,))
    monkeypatch.setattr(app_module, "PAGES", [*PAGES, stray])
    with pytest.raises(ValueError, match="must start with 'stray-': explorer-stray"):
        create_app(tiny_db, login_required=False)
