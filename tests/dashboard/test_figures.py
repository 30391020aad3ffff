"""The plain-dict figures give the JSON that plotly.graph_objects would give for the same calls
(without Plotly's template), so the browser draws the same charts."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots as plotly_make_subplots

from dashboard import figures
from dashboard.components import safe_figure


def _plotly_json(fig: go.Figure) -> dict:
    out = fig.to_plotly_json()
    out["layout"].pop("template", None)
    return {"data": [dict(t) for t in out["data"]], "layout": dict(out["layout"])}


def _build(module_figure, module_traces, subplots=None):
    fig = subplots() if subplots else module_figure()
    where = {"row": 2, "col": 1} if subplots else {}
    fig.add_trace(module_traces.Scatter(
        x=[1, 2], y=["a", "b"], mode="markers", marker_color="#0072B2",
        marker={"size": 10, "line": {"width": 2}}, customdata=[[1, 2], [3, 4]],
        error_x={"type": "data", "array": [0.1, 0.2]}, hovertemplate="%{y}<extra></extra>",
    ), **where)
    fig.add_trace(module_traces.Bar(x=[1], y=[2], orientation="h", marker_color="#E69F00",
                                    textposition="inside"))
    fig.add_trace(module_traces.Heatmap(z=[[1, None]], colorbar={"title": {"text": "g"}},
                                        xgap=3))
    fig.add_vline(x=0, line_color="#555", line_width=1, **where)
    fig.add_vrect(x0=-0.2, x1=0.2, fillcolor="#eee", opacity=0.6, line_width=0, layer="below",
                  **where)
    fig.add_annotation(x=1, y=1, yref="paper", text="reliable change", showarrow=False,
                       font={"size": 11})
    fig.update_layout(barmode="stack", height=300, hoverlabel={"font_size": 13},
                      legend={"orientation": "h", "y": 1.02})
    fig.update_xaxes(title="Mean score (points)", automargin=True, gridcolor="#eee")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def test_single_plot_matches_plotly():
    ours = _build(figures.Figure, figures).to_plotly_json()
    theirs = _plotly_json(_build(go.Figure, go))
    assert ours == theirs


def test_two_row_subplots_match_plotly():
    def ours_subplots():
        return figures.make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                                     subplot_titles=("Effect size g", "Mean change"))

    def their_subplots():
        return plotly_make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                                    subplot_titles=("Effect size g", "Mean change"))

    ours = _build(None, figures, ours_subplots)
    theirs = _build(None, go, their_subplots)
    for fig in (ours, theirs):
        fig.add_hline(y=0, line_color="#777", line_width=1, row=2, col=1)
        fig.update_xaxes(title="Quarter the cohort started", row=2, col=1)
    ours_json, theirs_json = ours.to_plotly_json(), _plotly_json(theirs)
    assert ours_json["layout"] == theirs_json["layout"]
    # Plotly spells out the first subplot's axes; plotly.js assumes them: same chart.
    assert ours_json["data"][0] == theirs_json["data"][0]
    assert [{k: v for k, v in t.items() if k not in ("xaxis", "yaxis")}
            for t in ours_json["data"][1:]] == theirs_json["data"][1:]


def test_string_titles_become_title_objects_for_plotlyjs_3():
    fig = figures.Figure(figures.Heatmap(z=[[1]], colorbar={"title": "g"}))
    fig.update_xaxes(title="Months")
    out = fig.to_plotly_json()
    assert out["layout"]["xaxis"]["title"] == {"text": "Months"}
    assert out["data"][0]["colorbar"]["title"] == {"text": "g"}


def test_rendering_twice_does_not_escape_twice():
    fig = figures.Figure(figures.Scatter(x=[1], y=["<b>Acme</b>"]))
    fig.add_annotation(text="A & B", x=0, y=0)
    first, second = safe_figure(fig), safe_figure(fig)
    assert first == second
    assert second["data"][0]["y"] == ["&lt;b&gt;Acme&lt;/b&gt;"]
    assert second["layout"]["annotations"][0]["text"] == "A &amp; B"
