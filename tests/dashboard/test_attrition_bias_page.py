"""The Follow-up page's attrition-bias check in words: alike baselines no longer reassure when
those who answered a follow-up had changed differently by the end of training."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.pages import attrition
from tests.warehouse.change_world import build_change_db

STATE = {"scale": "CONF", "wf": "pre", "wt": "followup_12m", "by": "format",
         "supervision": "any"}


def _app(path):
    return create_app(path, login_required=False).attune


@pytest.fixture(scope="module")
def apart(tmp_path_factory):
    """Started alike (baseline g = 0); completers improved by 0.75, drop-outs by 0.25."""
    return _app(build_change_db(tmp_path_factory.mktemp("page") / "apart.duckdb"))


def _verdict(chart) -> str:
    assert chart.extra is not None, chart.empty
    return chart.extra.children


def test_alike_baselines_with_a_larger_change_of_completers_say_the_figures_overstate(apart):
    chart = attrition.build_bias(apart, STATE)
    assert _verdict(chart) == (
        "Those who answered at 12 months had improved more by the end of training (+0.75 vs "
        "+0.25): the 12-month figures of completers likely overstate the change for "
        "everyone.")
    baseline, change = chart.figure.to_plotly_json()["data"]
    assert baseline["name"] == "Baseline" and change["name"] == "Change pre to post"
    assert all(g > 0 for g in change["x"]) and all(abs(g) < 1e-9 for g in baseline["x"])
    overall = chart.records[0]
    assert overall["change_difference"] == pytest.approx(0.5)
    assert "change_difference_ci_low" in dict(chart.columns)


def test_a_smaller_change_of_completers_says_the_figures_understate(tmp_path):
    app_ctx = _app(build_change_db(tmp_path / "less.duckdb", completer_gain=0.25,
                                   dropout_gain=0.75))
    verdict = _verdict(attrition.build_bias(app_ctx, STATE))
    assert verdict.startswith("Those who answered at 12 months had improved less by the end "
                              "of training (+0.25 vs +0.75)")
    assert "understate the change for everyone" in verdict


def test_alike_baselines_and_alike_change_say_so_without_claiming_more(tmp_path):
    app_ctx = _app(build_change_db(tmp_path / "alike.duckdb", completer_gain=0.5,
                                   dropout_gain=0.5))
    verdict = _verdict(attrition.build_bias(app_ctx, STATE))
    assert verdict.startswith("Those who answered at 12 months had started like those who "
                              "did not (g = 0.00")
    assert "improved alike by the end of training (+0.50 vs +0.50" in verdict
    assert "overstate" not in verdict and "understate" not in verdict


def test_at_the_end_of_training_the_page_says_change_cannot_be_compared(tmp_path):
    app_ctx = _app(build_change_db(tmp_path / "post.duckdb",
                                   without_post={"in_person": 12, "online": 12}))
    chart = attrition.build_bias(app_ctx, {**STATE, "wt": "post"})
    verdict = _verdict(chart)
    assert verdict.startswith("Those who answered at the end of training had started like")
    assert "not whether they changed alike" in verdict
    assert len(chart.figure.to_plotly_json()["data"]) == 1  # the baseline only
    assert "change by the end of training" not in chart.title


def test_a_hidden_change_is_named_and_never_reassures(tmp_path):
    """3 completers in person lack a post score: shown, that count would follow from the
    change n beside the baseline n, so the change is hidden (everywhere: those 3 are also
    all of the overall group's) while the baselines stay shown."""
    app_ctx = _app(build_change_db(tmp_path / "few.duckdb", without_post={"in_person": 3}))
    chart = attrition.build_bias(app_ctx, STATE)
    assert any(n.startswith("Change by the end of training not shown") for n in chart.notes)
    assert all(r["change_difference"] is None and r["hedges_g"] is not None
               for r in chart.records)
    verdict = _verdict(chart)
    assert "change by the end of training beside that of those who did not is not shown" \
        in verdict
    assert "does not show that the figures at 12 months describe everyone" in verdict
