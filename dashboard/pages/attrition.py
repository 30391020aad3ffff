"""Follow-up and attrition: who answered each wave, and were the dropouts different?"""

from __future__ import annotations

from dash import html

from dashboard.components import Chart
from dashboard.figures import Bar, Figure, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import OKABE_ITO, colour_for, figure_layout, fmt, fmt_p, label
from warehouse.followup import attrition_bias, people

KEY, PATH, NAME = "attrition", "/attrition", "Follow-up and attrition"


def layout(app_ctx) -> html.Div:
    return page_layout(
        "Follow-up and attrition",
        "Change is measured on the people who answered both surveys. If those who dropped out "
        "were different, the results may not describe everyone trained.", CHARTS)


def build_funnel(app_ctx, state) -> Chart:
    f = common.filters(app_ctx, state)
    m = app_ctx.min_cell
    waves = app_ctx.options()["waves"]
    rows = people(app_ctx.db, by=("format",), filters=f)
    title = "Respondents at each wave as % of those who answered before training, by format"
    columns = [("format", "Format"), ("wave", "Wave"), ("due", "Answered pre and wave due"),
               ("retained", "Also answered this wave"), ("pct", "% retained"),
               ("suppressed", "Not shown")]
    records = []
    for r in rows:
        for w in waves:
            due, kept = r.get(f"n_pre_eligible_{w}"), r.get(f"n_retained_{w}")
            small = r["suppressed"] or due is None or kept is None
            records.append({"format": label("format", r["format"]), "wave": label("wave", w),
                            "due": None if small else due, "retained": None if small else kept,
                            "pct": None if small else r.get(f"pct_retained_{w}"),
                            "suppressed": small, "_code": r["format"], "_wave": w})
    filename = "attrition-funnel.csv"
    shown = [r for r in records if not r["suppressed"]]
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    if not rows:
        return Chart(title=title, empty="No cohorts match these filters.", columns=columns,
                     filename=filename)
    if not shown:
        return Chart(title=title, empty=common.too_few("figure", m), records=public,
                     columns=columns, filename=filename)
    fig = Figure()
    for code in dict.fromkeys(r["_code"] for r in shown):
        part = [r for r in shown if r["_code"] == code]
        fig.add_trace(Bar(
            x=[r["wave"] for r in part], y=[r["pct"] for r in part],
            name=label("format", code), marker_color=colour_for("format", code),
            text=[f"{r['pct']:.0f}%" for r in part], textposition="outside",
            customdata=[[r["retained"], r["due"]] for r in part],
            hovertemplate=label("format", code) + " · %{x}: %{y:.1f}% (%{customdata[0]:,} of "
                          "%{customdata[1]:,})<extra></extra>",
        ))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="% of pre-training respondents", range=[0, 110])
    fig.update_xaxes(type="category", categoryorder="array",
                     categoryarray=[label("wave", w) for w in waves])
    figure_layout(fig, height=420)
    hidden = [r for r in records if r["suppressed"]]
    notes = [f"{len(hidden)} format × wave bar(s) not shown: {common.hidden_reason(m)} (and "
             "a survey not yet due has no bar)."] if hidden else []
    total = sum(r["n_people"] or 0 for r in rows if not r["suppressed"])
    return Chart(title=title, subtitle=f"n = {total:,} participants in the formats shown",
                 figure=fig, records=public, columns=columns, notes=notes, filename=filename)


def build_bias(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    wt = state.get("wt") or "post"
    m = app_ctx.min_cell
    f = common.filters(app_ctx, state)
    title = f"{scale['name']}: baseline difference, completers minus dropouts at " \
            f"{label('wave', wt).lower()} (Hedges g, 95% CI)"
    columns = [("group", "Group"), ("n_completers", "Completers"), ("n_dropouts", "Dropouts"),
               ("attrition_pct", "Attrition %"), ("mean_completers", "Baseline mean, completers"),
               ("mean_dropouts", "Baseline mean, dropouts"), ("difference", "Difference"),
               ("hedges_g", "Hedges g"), ("g_ci_low", "g CI low"), ("g_ci_high", "g CI high"),
               ("p", "Welch p"), ("suppressed", "Not shown")]
    filename = common.slug("attrition-bias", scale["scale_id"], wt) + ".csv"
    if not scale.get("measured_before") or wt == "pre":
        return Chart(title=title, empty="Choose a scale measured before training and a later "
                     "'to' wave to check attrition bias.", columns=columns, filename=filename)
    overall = attrition_bias(app_ctx.db, scale_id=scale["scale_id"], wave_to=wt, by=(),
                             filters=f)
    rows = attrition_bias(app_ctx.db, scale_id=scale["scale_id"], wave_to=wt,
                          by=("format",), filters=f)
    records = [{"group": "All matching cohorts", **r} for r in overall] + [
        {"group": label("format", r["format"]), **r} for r in rows]
    records = [{k: r.get(k) for k, _ in columns} for r in records]
    shown = [r for r in records if not r["suppressed"] and r["hedges_g"] is not None]
    if not shown:
        return Chart(title=title, empty=common.too_few("comparison", m),
                     records=records, columns=columns, filename=filename)
    ylab = [f"{r['group']} ({r['attrition_pct']:.0f}% lost)" for r in shown]
    fig = Figure(Scatter(
        x=[r["hedges_g"] for r in shown], y=ylab, mode="markers",
        marker={"size": 11, "color": OKABE_ITO["blue"]},
        error_x={"type": "data", "symmetric": False,
                 "array": [r["g_ci_high"] - r["hedges_g"] for r in shown],
                 "arrayminus": [r["hedges_g"] - r["g_ci_low"] for r in shown]},
        customdata=[[r["n_completers"], r["n_dropouts"], fmt_p(r["p"]), fmt(r["difference"])]
                    for r in shown],
        hovertemplate="%{y}<br>g = %{x:.2f}; difference %{customdata[3]} points<br>"
                      "%{customdata[0]:,} completers, %{customdata[1]:,} dropouts; Welch p "
                      "%{customdata[2]}<extra></extra>",
    ))
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.add_vrect(x0=-0.2, x1=0.2, fillcolor="#eee", opacity=0.6, line_width=0, layer="below")
    fig.update_xaxes(title="Hedges g (positive: completers started higher)")
    fig.update_yaxes(autorange="reversed", type="category")
    figure_layout(fig, height=120 + 50 * len(shown), legend=False)
    hidden = [r["group"] for r in records if r["suppressed"]]
    notes = [f"Not shown ({common.hidden_reason(m)}): {', '.join(hidden)}."] \
        if hidden else []
    notes.append("Shaded band: |g| < 0.2, a baseline difference between completers and "
                 "dropouts conventionally read as negligible; it says how alike they started, "
                 "not whether they changed alike.")
    first = shown[0]
    return Chart(title=title,
                 subtitle=f"n = {first['n_completers'] + first['n_dropouts']:,} people who "
                          "answered before training and were due the later survey",
                 figure=fig, records=records, columns=columns, notes=notes, filename=filename)


CHARTS = (
    ChartSpec(
        "attrition-funnel", "Response funnel by format",
        "Of the people who answered before training, the share who answered each later "
        "survey. Only cohorts whose survey was already due (end of training plus the "
        "follow-up months, up to the last date in the data) count.",
        build_funnel),
    ChartSpec(
        "attrition-bias", "Attrition-bias check: did completers start differently?",
        "Baseline (pre-training) score of people who answered the later wave minus those who "
        "did not: Hedges g with 95% CI and Welch's t test. Near 0 = dropouts started out like "
        "completers.",
        build_bias),
)
