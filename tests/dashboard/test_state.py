"""The dashboard's state in the URL: only known keys and values survive, and it round-trips."""

from __future__ import annotations

import pytest

from dashboard import state as url_state
from warehouse.catalog import filter_options
from warehouse.connection import Database
from warehouse.filters import DATE_RANGE, FILTER_SPECS, MULTI, filters_from_state


def test_url_state_round_trip(tiny_db):
    db = Database(tiny_db)
    options = filter_options(db)
    search = "?audience=hr,educator&format=workshop&start=2024-01-01&supervision=yes&wt=post"
    st = url_state.parse(search, options)
    assert st["audience"] == ["educator", "hr"] and st["supervision"] == "yes"
    again = url_state.parse(url_state.encode(st, options), options)
    assert again == st
    junk = url_state.parse("?audience=<script>&scale=DROP&by=evil", options)
    assert junk["audience"] == [] and junk["scale"] == "CONF" and junk["by"] == "all"
    f = filters_from_state(st, options)
    assert f.audience == ("educator", "hr") and f.supervision is True


def _set_value(spec, options):
    """A value of each of the spec's keys that is not its default."""
    if spec.kind == MULTI:
        return {spec.keys[0]: list(spec.allowed_values(options))[-2:]}
    if spec.kind == DATE_RANGE:
        return dict(zip(spec.keys, ("2024-02-01", "2024-11-30"), strict=True))
    default = spec.default_for(options)
    return {spec.keys[0]: next(v for v in spec.allowed_values(options) if v != default)}


@pytest.mark.parametrize("spec", FILTER_SPECS, ids=lambda s: s.name)
def test_each_control_round_trips_through_the_url(consortium_db, spec):
    """On a consortium's pooled lake: every control, the provider's too, has values."""
    options = filter_options(Database(consortium_db))
    chosen = _set_value(spec, options)
    state = {**url_state.defaults(options), **chosen}
    search = url_state.encode(state, options)
    for key in spec.keys:
        assert f"{key}=" in search
    assert url_state.parse(search, options) == state
    assert url_state.encode(url_state.parse(search, options), options) == search
    # an unknown value of the key, and an unknown key, leave the default
    junk = "&".join(f"{key}=%3Cscript%3E" for key in spec.keys)
    assert url_state.parse(f"?{junk}&nonsense=1", options) == url_state.defaults(options)
