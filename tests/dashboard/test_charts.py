"""Charts declared once (dashboard.pages.charts): each page's specs give its cards and their
callbacks; a chart that cannot be drawn says why, and a programming error is logged with its
traceback and shown only as a generic failure."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from types import ModuleType, SimpleNamespace

import plotly
import pytest

from dashboard import state as url_state
from dashboard.components import chart_id, render
from dashboard.pages import PAGES, common
from dashboard.pages.charts import FAILED, ChartSpec, check_specs, safe_build
from warehouse.errors import CannotShow, DatabaseUnavailable

CHART_LOG = "dashboard.pages.charts"


def _page(*specs: ChartSpec, key: str = "demo") -> ModuleType:
    page = ModuleType(f"tests.fake_{key}")
    page.KEY, page.PATH, page.NAME, page.CHARTS = key, f"/{key}", key.title(), specs
    return page


def _context(raw_options=dict) -> SimpleNamespace:
    return SimpleNamespace(raw_options=raw_options, min_cell=11)


def _text(rendered: tuple) -> str:
    return json.dumps(rendered, cls=plotly.utils.PlotlyJSONEncoder)


def _unused_builder(app_ctx, state):
    raise AssertionError("this test never draws the chart")


def _type_error_builder(app_ctx, state):
    return len(42)  # TypeError: a programming error, whatever the data


def test_builder_raising_type_error_is_logged_with_traceback_and_not_shown(caplog):
    spec = ChartSpec("demo-broken", "Broken chart", "No method.", _type_error_builder)
    with caplog.at_level(logging.ERROR, logger=CHART_LOG):
        chart = safe_build(_page(spec), spec, _context(), {"scale": "CONF"})
    (record,) = [r for r in caplog.records if r.name == CHART_LOG]
    assert record.levelno == logging.ERROR and "demo-broken" in record.getMessage()
    assert record.exc_info[0] is TypeError
    assert "_type_error_builder" in caplog.text  # the traceback, down to the builder
    assert chart.title != "Cannot draw this chart"
    assert chart.empty == FAILED
    shown = _text(render(spec.id, chart))
    assert FAILED in shown and str(record.exc_info[1]) not in shown  # stays on the server
    caplog.clear()


def test_exception_text_never_reaches_the_reader(caplog):
    def leaky(app_ctx, state):
        raise RuntimeError("participant P-0042 scored 4.5")

    spec = ChartSpec("demo-leaky", "Leaky chart", "No method.", leaky)
    with caplog.at_level(logging.ERROR, logger=CHART_LOG):
        shown = _text(render(spec.id, safe_build(_page(spec), spec, _context(), {})))
    assert "P-0042" not in shown and FAILED in shown
    assert "P-0042" in caplog.text
    caplog.clear()


def test_cannot_show_is_shown_with_its_reason_and_not_logged(caplog):
    def too_few(app_ctx, state):
        raise CannotShow("too few")

    spec = ChartSpec("demo-small", "Small chart", "No method.", too_few)
    with caplog.at_level(logging.DEBUG, logger=CHART_LOG):
        chart = safe_build(_page(spec), spec, _context(), {})
    assert (chart.title, chart.empty) == ("Cannot draw this chart", "too few")
    assert "too few" in _text(render(spec.id, chart))
    assert [r for r in caplog.records if r.name == CHART_LOG] == []


def test_unreadable_database_is_explained_without_its_path(caplog):
    def gone():
        raise DatabaseUnavailable("no database at /srv/attune/secret-place.duckdb")

    def reads_the_database(app_ctx, state):
        common.filters(app_ctx, state)  # as every builder does first
        raise AssertionError("the filters could not be read, so this is never reached")

    spec = ChartSpec("demo-db", "Chart", "No method.", reads_the_database)
    with caplog.at_level(logging.DEBUG, logger=CHART_LOG):
        chart = safe_build(_page(spec), spec, _context(gone), {})
    assert chart.title == "Database unavailable" and "cannot be read" in chart.empty
    assert "/srv" not in chart.empty and "secret-place" not in chart.empty
    logged = [r for r in caplog.records if r.name == CHART_LOG]
    assert [r.levelname for r in logged] == ["WARNING"]  # no traceback: not a programming error
    assert "secret-place" in logged[0].getMessage()  # the operator still finds it


def test_chart_ids_repeated_or_outside_the_page_key_are_refused():
    spec = ChartSpec("demo-a", "A", "No method.", _unused_builder)
    with pytest.raises(ValueError, match="twice: demo-a"):
        check_specs(_page(spec, spec))
    with pytest.raises(ValueError, match="must start with 'demo-': other-a"):
        check_specs(_page(spec, ChartSpec("other-a", "A", "No method.", _unused_builder)))


@pytest.mark.parametrize("page", [p for p in PAGES if p.CHARTS], ids=lambda p: p.KEY)
def test_each_spec_gives_its_card_in_order_with_its_title_and_methods(page):
    cards = [c for c in page.layout(_context())._traverse()
             if getattr(c, "className", None) == "card chart-card"]
    assert [c.id for c in cards] == [f"card-{spec.id}" for spec in page.CHARTS]
    for card, spec in zip(cards, page.CHARTS, strict=True):
        parts = {getattr(c, "id", None) and json.dumps(c.id, sort_keys=True): c
                 for c in card._traverse()}
        title = parts[json.dumps(chart_id(spec.id, "title"), sort_keys=True)]
        assert title.children == spec.title
        methods = next(c for c in card._traverse()
                       if getattr(c, "className", None) == "methods-note")
        assert methods.children == ["Method: ", spec.methods]


def test_every_chart_has_one_callback_filling_its_card(tiny_db):
    from dashboard.app import create_app

    app = create_app(tiny_db, login_required=False)
    # A page-local control may redraw cards too (allow_duplicate outputs, "@" in the key):
    # the Evidence page's domain chooser; every chart still has one callback from the state.
    outputs = [key for key in app.callback_map if "chart-title" in key and "@" not in key]
    specs = [spec for page in PAGES for spec in page.CHARTS]
    assert len(outputs) == len(specs)
    for spec in specs:
        title = json.dumps(chart_id(spec.id, "title"), sort_keys=True, separators=(",", ":"))
        assert sum(title in key for key in outputs) == 1, spec.id


def _states(options: dict) -> list[dict]:
    """The default view and a few others a reader can choose: by group, later waves, every
    scale."""
    default = url_state.defaults(options)
    states = [default, {**default, "by": "audience"}, {**default, "by": "format"}]
    waves = options["waves"]
    if len(waves) > 2:
        states.append({**default, "wf": waves[1], "wt": waves[-1]})
    states += [{**default, "scale": s["scale_id"]} for s in options["scales"]]
    return states


def test_every_chart_of_every_page_builds_on_the_demo_database(demo_db, caplog):
    """Walks every page's specs over several filter states: no builder may fail."""
    from dashboard.app import create_app

    app = create_app(demo_db, login_required=False)
    app_ctx = app.attune
    built = 0
    with caplog.at_level(logging.ERROR, logger=CHART_LOG):
        for state in _states(app_ctx.options()):
            for page in PAGES:
                for spec in page.CHARTS:
                    chart = safe_build(page, spec, app_ctx, state)
                    assert chart.empty != FAILED, (spec.id, state)
                    _text(render(spec.id, chart))
                    built += 1
    assert [r.getMessage() for r in caplog.records if r.name == CHART_LOG] == []
    assert built >= 3 * sum(len(p.CHARTS) for p in PAGES)


def _card_data(app, spec: ChartSpec, state: dict) -> dict:
    """The chart-data store the card's own callback fills, asked for as the browser does."""
    store = json.dumps(chart_id(spec.id, "data"), sort_keys=True, separators=(",", ":"))
    output = next(key for key in app.callback_map if store in key)
    outputs = [{"id": json.loads(part.rsplit(".", 1)[0]), "property": part.rsplit(".", 1)[1]}
               for part in output.strip(".").split("...")]
    response = app.server.test_client().post("/_dash-update-component", json={
        "output": output, "outputs": outputs, "changedPropIds": ["state.data"],
        "inputs": [{"id": "state", "property": "data", "value": state}]})
    assert response.status_code == 200, spec.id
    return response.get_json()["response"][store]["data"]


def test_zip_download_holds_every_chart_as_its_card_would_download_it(tiny_db):
    from dashboard.app import create_app
    from dashboard.components import to_csv
    from dashboard.downloads import header_lines
    from dashboard.pages.methods import all_chart_data

    app = create_app(tiny_db, login_required=False)
    state = url_state.defaults(app.attune.options())
    made = dt.date(2026, 1, 2)
    expected = {}
    for page in PAGES:
        for spec in page.CHARTS:
            data = _card_data(app, spec, state)
            if data["columns"]:
                expected[f"{spec.id}--{data['filename']}"] = to_csv(
                    [tuple(c) for c in data["columns"]], data["records"],
                    header_lines(app.attune, state, data["filename"], made))
    archive = zipfile.ZipFile(io.BytesIO(all_chart_data(app.attune, state, made)))
    assert {name: archive.read(name).decode() for name in archive.namelist()} == expected
    assert len(expected) >= 15 and any(n.startswith("quality-") for n in expected)
