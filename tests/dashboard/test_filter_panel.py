"""The filter panel has one labelled control per entry of ``FILTER_SPECS``, offering the
entry's choices, and changing any control puts its key in the URL. The tests walk the spec
table, so a new entry is covered without a new test; they read a consortium's pooled lake (the
demo and a second provider), where every control, the provider's too, has choices."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dash import dcc, html

from dashboard import state as url_state
from dashboard.app import create_app
from dashboard.filter_panel import filter_panel
from warehouse.catalog import filter_options
from warehouse.connection import Database
from warehouse.filters import DATE_RANGE, FILTER_SPECS, MULTI, FilterSpec


@pytest.fixture(scope="module")
def options(consortium_db) -> dict[str, Any]:
    return filter_options(Database(consortium_db))


def _by_id(panel) -> dict[str, Any]:
    return {c.id: c for c in panel._traverse() if getattr(c, "id", None)}


def _container(panel, control_id: str):
    """The filter box (div or fieldset) that holds the control."""
    return next(c for c in panel._traverse()
                if isinstance(c, (html.Div, html.Fieldset)) and "filter" in
                (getattr(c, "className", "") or "").split()
                and any(getattr(x, "id", None) == control_id for x in c._traverse()))


def _label_text(panel, control_id: str) -> str:
    box = _container(panel, control_id)
    label = next((c for c in box._traverse() if isinstance(c, html.Label)
                  and c.htmlFor == control_id), None)
    if label is None:  # a radio group: the fieldset's legend names it
        label = next(c for c in box._traverse() if isinstance(c, html.Legend))
    return label.children


@pytest.mark.parametrize("spec", FILTER_SPECS, ids=lambda s: s.name)
def test_each_spec_has_a_labelled_control_offering_its_choices(options, spec):
    panel = filter_panel(options, "evaluator")
    control = _by_id(panel)[f"f-{spec.name}"]
    assert _label_text(panel, control.id) == spec.label
    assert not getattr(_container(panel, control.id), "hidden", False)
    if spec.kind == DATE_RANGE:
        assert isinstance(control, dcc.DatePickerRange)
        assert (control.min_date_allowed, control.max_date_allowed) == \
            tuple(options[k] for k in spec.bounds)
        return
    offered = [o["value"] for o in control.options]
    assert offered == list(spec.choices(options)) and offered
    assert all(isinstance(o["label"], str) and o["label"] for o in control.options)
    if isinstance(control, dcc.Dropdown):
        assert control.multi == (spec.kind == MULTI) and control.searchable


def test_sponsor_filter_is_hidden_from_sponsors_but_kept_for_the_callbacks(options):
    for role in ("sponsor", "evaluator"):
        panel = filter_panel(options, role)
        box = _container(panel, "f-sponsor")
        assert getattr(box, "hidden", False) == (role == "sponsor"), role
    assert "f-sponsor" in _by_id(filter_panel(options, "sponsor"))


def _chosen(spec: FilterSpec, options: dict[str, Any]) -> dict[str, Any]:
    """A value, other than the default, for each of the spec's keys."""
    if spec.kind == MULTI:
        return {spec.keys[0]: list(spec.choices(options))[:1]}
    if spec.kind == DATE_RANGE:
        return dict(zip(spec.keys, ("2024-02-01", "2024-11-30"), strict=True))
    default = spec.default_for(options)
    return {spec.keys[0]: next(v for v in spec.choices(options) if v != default)}


@pytest.fixture(scope="module")
def sync(consortium_db):
    """Post a change of the filter controls to the app's URL-sync callback, as the browser
    does; returns the URL query string the app answers with."""
    app = create_app(consortium_db, login_required=False)
    client = app.server.test_client()
    dep = next(d for d in client.get("/_dash-dependencies").get_json()
               if d["output"].startswith("..url.search"))

    def post(values: dict[tuple[str, str], Any], changed: tuple[str, str]) -> str:
        inputs = [{**i, "value": values.get((i["id"], i["property"]))} for i in dep["inputs"]]
        outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                   for part in dep["output"].strip(".").split("...")]
        body = {"output": dep["output"], "outputs": outputs, "inputs": inputs, "state": [],
                "changedPropIds": [".".join(changed)]}
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.get_data(as_text=True))["response"]["url"]["search"]

    return post


@pytest.mark.parametrize("spec", FILTER_SPECS, ids=lambda s: s.name)
def test_changing_each_control_puts_its_choice_in_the_url(options, sync, spec):
    state = url_state.defaults(options)
    chosen = _chosen(spec, options)
    state.update(chosen)
    props = {"start": ("f-dates", "start_date"), "end": ("f-dates", "end_date")}
    values = {props.get(key, (f"f-{key}", "value")): value for key, value in state.items()}
    search = sync(values, props.get(spec.keys[0], (f"f-{spec.name}", "value")))
    assert url_state.parse(search, options) == state
    for key in chosen:
        assert f"{key}=" in search


def test_a_sponsors_date_picker_opens_within_their_own_cohorts(sponsor, demo_db):
    import duckdb

    with duckdb.connect(str(demo_db), read_only=True) as con:
        own = con.execute("SELECT min(start_date), max(start_date) FROM cohorts "
                          "WHERE sponsor_id = 'SP01'").fetchall()[0]
        every = con.execute("SELECT min(start_date), max(start_date) FROM cohorts").fetchall()[0]
    assert own != every  # the demo's sponsors start at different times
    options = sponsor.panel_options()
    assert (options["start_min"], options["start_max"]) == own
    picker = _by_id(filter_panel(options, "sponsor"))["f-dates"]
    assert (picker.min_date_allowed, picker.max_date_allowed) == own
