"""The Evidence page's figures: the forest of one outcome domain with our programmes in a
separate panel on their own axis, the contour-enhanced funnel plot and the bubble plot.

Built for a phone first: a study's label is written above its bar (wrapped, never cut at the
plot's edge) instead of as a y-axis tick label that takes the plot's width. Every synthetic
study says so in its label and hover. Figures are plain dicts (``dashboard.figures``).
"""

from __future__ import annotations

import textwrap
from typing import Any

from dashboard.figures import Figure, Scatter
from dashboard.style import GREY, OKABE_ITO, figure_layout, fmt, fmt_ci

LABEL_WIDTH = 38  # characters per label line: under 250 px at 11 px, inside a 390 px screen
ROW_PX = 56  # a study's row: two label lines above its bar
LOCAL_PANEL_TITLE = "Our programmes: within-person change, not comparable one to one"
BETWEEN_NAME = "Ours vs comparison arm (between)"
FUNNEL_SHADES = {0.90: "#f2f2f2", 0.95: "#d9d9d9", 0.99: "#bdbdbd"}  # narrow -> wide: light


def synthetic_label(text: str, synthetic: bool) -> str:
    """A study's label, with "(synthetic)" when it is a demo study."""
    return f"{text} (synthetic)" if synthetic else text


def wrap(text: str, width: int = LABEL_WIDTH, lines: int = 2) -> list[str]:
    """``text`` on at most ``lines`` lines of ``width`` characters, the rest shortened with an
    ellipsis; the whole text stays in the hover and the table."""
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1].rstrip() + "…"
    return parts


def add_label(fig: Figure, text: str, *, y: float, yref: str, size: int = 11,
              colour: str = "#333", width: int = LABEL_WIDTH) -> None:
    """``text`` wrapped at the left edge of the plot, from ``y`` down: one annotation per
    line (annotation text is escaped as data, so it cannot hold a line break)."""
    for i, line in enumerate(wrap(text, width)):
        fig.add_annotation(text=line, x=0, xref="paper", xanchor="left", y=y, yref=yref,
                           yanchor="top", yshift=-(size + 3) * i, showarrow=False,
                           align="left", font={"size": size, "color": colour})


def _rows(fig: Figure, rows: list[dict[str, Any]], *, axis: int, name: str, colour: str,
          symbol: str, size: int) -> None:
    """One marker per row at y = -row["y"], its 95% CI as error bars, its label above it."""
    if not rows:
        return
    suffix = "" if axis == 1 else str(axis)
    fig.add_trace(Scatter(
        x=[r["es"] for r in rows], y=[-r["y"] for r in rows], mode="markers", name=name,
        xaxis=f"x{suffix}", yaxis=f"y{suffix}",
        marker={"color": colour, "symbol": symbol, "size": size,
                "line": {"color": colour, "width": 2}},
        error_x={"type": "data", "symmetric": False, "color": colour, "thickness": 1.5,
                 "array": [r["ci_high"] - r["es"] for r in rows],
                 "arrayminus": [r["es"] - r["ci_low"] for r in rows]},
        customdata=[[r["label"], fmt(r["n"], 0) if r.get("n") else "–", r["ci_low"],
                     r["ci_high"]] for r in rows],
        hovertemplate="%{customdata[0]}<br>n = %{customdata[1]}<br>%{x:.2f} (95% CI "
                      "%{customdata[2]:.2f} to %{customdata[3]:.2f})<extra></extra>",
    ))
    for r in rows:
        n = f" · n = {fmt(r['n'], 0)}" if r.get("n") else ""
        add_label(fig, r["label"] + n, y=-r["y"] + 0.85, yref=f"y{suffix}")


def forest_figure(domain: str, studies: list[dict[str, Any]], pooled: dict[str, Any] | None,
                  programmes: list[dict[str, Any]], between: list[dict[str, Any]],
                  scale_name: str | None) -> Figure:
    """Top panel: ``domain``'s studies (label, n, es, ci_low, ci_high), the pooled estimate
    as a diamond with its prediction interval, and ``between`` (our programmes' between-group
    effects, which share the axis). Bottom panel, its own axis: ``programmes``' within-person
    change g."""
    top = len(studies) + len(between) + (1 if pooled else 0)
    bottom = max(len(programmes), 1)
    # Pixel heights: each panel's rows, the gap holding the top axis and the panel title,
    # and the bottom margin holding the lower axis title and the legend (wrapped on a phone).
    height_top, height_bottom, gap, below = 20 + ROW_PX * top, 20 + ROW_PX * bottom, 160, 200
    plot = height_top + gap + height_bottom
    total = plot + 10 + below
    fig = Figure()
    fig.update_layout(
        xaxis={"domain": [0, 1], "anchor": "y", "zeroline": True,
               "title": {"text": f"{domain}: effect size<br>(SMD, 95% CI)", "standoff": 4}},
        yaxis={"domain": [(height_bottom + gap) / plot, 1], "anchor": "x", "showticklabels": False,
               "range": [-top - 0.3, 1.0], "fixedrange": True},
        xaxis2={"domain": [0, 1], "anchor": "y2", "zeroline": True,
                "title": {"text": "Within-person change g<br>(SMCR, pre-training SD)",
                          "standoff": 4}},
        yaxis2={"domain": [0, height_bottom / plot], "anchor": "x2", "showticklabels": False,
                "range": [-bottom - 0.3, 1.0], "fixedrange": True},
    )
    rows = [{**s, "y": i + 1} for i, s in enumerate(studies)]
    _rows(fig, [r for r in rows if not r["synthetic"]], axis=1, name="Published study",
          colour=OKABE_ITO["blue"], symbol="square", size=9)
    _rows(fig, [r for r in rows if r["synthetic"]], axis=1, name="Synthetic study (demo)",
          colour=GREY, symbol="square-open", size=9)
    y = len(rows) + 1
    _rows(fig, [{**b, "y": y + i} for i, b in enumerate(between)], axis=1, name=BETWEEN_NAME,
          colour=OKABE_ITO["vermillion"], symbol="diamond", size=11)
    y += len(between)
    if pooled:
        lo, mu, hi = pooled["ci_low"], pooled["mu"], pooled["ci_high"]
        fig.add_trace(Scatter(
            x=[pooled["pi_low"], pooled["pi_high"]], y=[-y, -y], mode="lines",
            name="95% prediction interval", line={"color": OKABE_ITO["black"], "width": 2,
                                                   "dash": "dot"},
            hovertemplate=f"Prediction interval {fmt_ci(pooled['pi_low'], pooled['pi_high'])}"
                          "<extra></extra>"))
        fig.add_trace(Scatter(
            x=[lo, mu, hi, mu, lo], y=[-y, -y + 0.25, -y, -y - 0.25, -y], mode="lines",
            fill="toself", fillcolor=OKABE_ITO["black"], line={"color": OKABE_ITO["black"]},
            name="Pooled estimate, 95% CI",
            hovertemplate=f"Pooled {fmt(mu)} (95% CI {fmt_ci(lo, hi)})<extra></extra>"))
        add_label(fig, f"Pooled, random effects (k = {pooled['k']}): {fmt(mu)} "
                       f"[{fmt_ci(lo, hi)}]; PI {fmt_ci(pooled['pi_low'], pooled['pi_high'])}",
                  y=-y + 0.85, yref="y", colour="#000")
    fig.add_vline(x=0, line_color="#555", line_width=1)
    _rows(fig, [{**p, "y": i + 1} for i, p in enumerate(programmes)], axis=2,
          name="Our programme (within-person)", colour=OKABE_ITO["orange"],
          symbol="circle", size=10)
    fig.add_vline(x=0, row=2, line_color="#555", line_width=1)
    add_label(fig, LOCAL_PANEL_TITLE, y=(height_bottom + 46) / plot, yref="paper", size=13,
              colour="#000", width=34)
    if not programmes:
        add_label(fig, f"No programme of ours to show on {scale_name}." if scale_name else
                  "None of our scales measures this domain.", y=-0.2, yref="y2")
    figure_layout(fig, height=total)
    fig.update_layout(margin={"l": 10, "r": 16, "t": 10, "b": below},
                      legend={"orientation": "h", "yanchor": "top", "y": -70 / plot,
                              "x": 0, "xanchor": "left"})
    return fig


def funnel_figure(studies: list[dict[str, Any]], pooled: dict[str, Any],
                  fill: dict[str, Any], contours: list[Any]) -> Figure:
    """Contour-enhanced funnel: each study's effect against its SE (reversed y axis), the
    90/95/99% significance regions around 0 shaded, observed studies filled, the studies
    trim-and-fill adds hollow, and the pooled and adjusted estimates as lines."""
    fig = Figure()
    se_max = contours[0].se[1]
    for contour in reversed(contours):  # widest first, the narrower drawn over it
        z = contour.z
        fig.add_trace(Scatter(
            x=[0, -z * se_max, z * se_max, 0], y=[0, se_max, se_max, 0], mode="lines",
            fill="toself", fillcolor=FUNNEL_SHADES.get(round(contour.level, 2), "#eee"),
            line={"color": "#999", "width": 0.5}, hoverinfo="skip",
            name=f"p < {1 - contour.level:.2f} outside the {contour.level:.0%} region"))
    obs_se = [s["es_vi"] ** 0.5 for s in studies]
    fig.add_trace(Scatter(
        x=[s["es"] for s in studies], y=obs_se, mode="markers", name="Observed study",
        marker={"color": OKABE_ITO["blue"], "size": 9, "symbol": "circle",
                "line": {"color": OKABE_ITO["blue"], "width": 1.5}},
        customdata=[[s["label"]] for s in studies],
        hovertemplate="%{customdata[0]}<br>%{x:.2f}, SE %{y:.3f}<extra></extra>"))
    if fill.get("k0"):
        fig.add_trace(Scatter(
            x=list(fill["filled_yi"]), y=[v ** 0.5 for v in fill["filled_vi"]],
            mode="markers", name=f"Filled by trim-and-fill ({fill['k0']}, hollow)",
            marker={"color": OKABE_ITO["vermillion"], "size": 10, "symbol": "circle-open",
                    "line": {"color": OKABE_ITO["vermillion"], "width": 2}},  # open: hollow
            hovertemplate="Filled study (imputed)<br>%{x:.2f}, SE %{y:.3f}<extra></extra>"))
    for x, name, colour, dash in (
            (pooled["mu"], f"Pooled {fmt(pooled['mu'])}", OKABE_ITO["black"], "solid"),
            (fill["estimate"], f"Adjusted by trim-and-fill {fmt(fill['estimate'])}",
             OKABE_ITO["vermillion"], "dash")):
        fig.add_trace(Scatter(x=[x, x], y=[0, se_max], mode="lines", name=name,
                              line={"color": colour, "dash": dash, "width": 2},
                              hoverinfo="skip"))
    fig.update_yaxes(title="Standard error", autorange="reversed", rangemode="tozero")
    fig.update_xaxes(title="Effect size (SMD)")
    figure_layout(fig, height=560)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
                      margin={"l": 10, "r": 16, "t": 10, "b": 40})
    return fig


def bubble_figure(points: Any, labels: list[str], moderator: str) -> Figure:
    """Effect size against ``moderator``: point area proportional to the study's weight, the
    meta-regression line with its 95% CI band."""
    fig = Figure()
    fig.add_trace(Scatter(
        x=list(points.line_x) + list(points.line_x)[::-1],
        y=list(points.line_ci_high) + list(points.line_ci_low)[::-1], mode="lines",
        fill="toself", fillcolor="rgba(86,180,233,0.25)", line={"width": 0},
        name="95% CI of the line", hoverinfo="skip"))
    fig.add_trace(Scatter(x=list(points.line_x), y=list(points.line_fit), mode="lines",
                          name="Meta-regression line", line={"color": OKABE_ITO["blue"]},
                          hoverinfo="skip"))
    biggest = max(points.weight) or 1.0
    fig.add_trace(Scatter(
        x=list(points.x), y=list(points.y), mode="markers", name="Study (area ∝ weight)",
        marker={"size": [8 + 30 * (w / biggest) ** 0.5 for w in points.weight],
                "color": "rgba(230,159,0,0.6)", "line": {"color": "#333", "width": 1}},
        customdata=[[lbl, w] for lbl, w in zip(labels, points.weight, strict=True)],
        hovertemplate="%{customdata[0]}<br>" + moderator + " %{x}: %{y:.2f} (weight "
                      "%{customdata[1]:.1f}%)<extra></extra>"))
    fig.update_xaxes(title=moderator.capitalize())
    fig.update_yaxes(title="Effect size (SMD)")
    figure_layout(fig, height=420)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
                      margin={"l": 10, "r": 16, "t": 10, "b": 40})
    return fig
