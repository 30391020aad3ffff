"""Follow-up and attrition: who answered each wave, and were the dropouts different?"""

from __future__ import annotations

import dataclasses

from dash import html

from dashboard.components import Chart
from dashboard.figures import Bar, Figure, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import (
    OKABE_ITO,
    SUPPRESSED_TEXT,
    colour_for,
    figure_layout,
    fmt,
    fmt_ci,
    fmt_p,
    label,
)
from warehouse.catalog import waves as catalog_waves
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


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _excludes_zero(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and (low > 0 or high < 0)


def _when(months: int | None) -> str:
    """When a wave is taken, for a sentence: 'at 12 months', 'at the end of training'."""
    return f"at {months} months" if months else "at the end of training"


def bias_verdict(row: dict, months: int | None) -> str:
    """The check's plain sentence for one row of ``warehouse.followup.attrition_bias``
    (completers and dropouts of the wave ``months`` after the end of training; 0 or None:
    the end of training). Alike baselines reassure only when the pre->post change of those
    who answered also matches that of those who did not; a difference is one whose 95% CI
    leaves out 0."""
    when = _when(months)
    if row["suppressed"] or row["hedges_g"] is None:
        return ""
    g = f"g = {fmt(row['hedges_g'])}, 95% CI {fmt_ci(row['g_ci_low'], row['g_ci_high'])}"
    started_apart = _excludes_zero(row["g_ci_low"], row["g_ci_high"])
    start = (f"had started {'higher' if row['hedges_g'] > 0 else 'lower'} than those who "
             f"did not ({g})") if started_apart else \
        f"had started like those who did not ({g})"
    if not row["change_applies"]:
        return (f"Those who answered {when} {start}. That says how alike they started, not "
                "whether they changed alike: the end of training is the first survey after "
                "it, so their change cannot be compared.")
    if row["change_difference"] is None:
        return (f"Those who answered {when} {start}; their change by the end of training "
                f"beside that of those who did not is {SUPPRESSED_TEXT}, so this does not "
                f"show that the figures {when} describe everyone.")
    c1, c2 = row["change_mean_completers"], row["change_mean_dropouts"]
    pair = f"{_signed(c1)} vs {_signed(c2)}"
    if _excludes_zero(row["change_difference_ci_low"], row["change_difference_ci_high"]):
        more = row["change_difference"] > 0
        return (f"Those who answered {when} had improved {'more' if more else 'less'} by the "
                f"end of training ({pair}): the {months}-month figures of completers likely "
                f"{'overstate' if more else 'understate'} the change for everyone.")
    alike = (f"improved alike by the end of training ({pair}; difference 95% CI "
             f"{fmt_ci(row['change_difference_ci_low'], row['change_difference_ci_high'])})")
    if started_apart:
        return f"Those who answered {when} {start}, though they had {alike}."
    return (f"Those who answered {when} {start} and had {alike}; how those who did not "
            "answer changed after training is not known.")


def build_bias(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    wt = state.get("wt") or "post"
    m = app_ctx.min_cell
    f = common.filters(app_ctx, state)
    months = {w["wave"]: w["months_after_end"] for w in catalog_waves(app_ctx.db)}.get(wt)
    title = f"{scale['name']}: those who answered {_when(months)} minus those who did not, " \
            + ("baseline and change by the end of training" if months else "baseline") \
            + " (Hedges g, 95% CI)"
    columns = [("group", "Group"), ("n_completers", "Completers"), ("n_dropouts", "Dropouts"),
               ("attrition_pct", "Attrition %"), ("mean_completers", "Baseline mean, completers"),
               ("mean_dropouts", "Baseline mean, dropouts"), ("difference", "Difference"),
               ("hedges_g", "Hedges g"), ("g_ci_low", "g CI low"), ("g_ci_high", "g CI high"),
               ("p", "Welch p"),
               ("change_n_completers", "Completers with an end-of-training score"),
               ("change_n_dropouts", "Dropouts with an end-of-training score"),
               ("change_mean_completers", "Change pre to post, completers (improvement +)"),
               ("change_mean_dropouts", "Change pre to post, dropouts (improvement +)"),
               ("change_difference", "Change difference"),
               ("change_difference_ci_low", "Change difference CI low"),
               ("change_difference_ci_high", "Change difference CI high"),
               ("change_hedges_g", "Change Hedges g"), ("change_g_ci_low", "Change g CI low"),
               ("change_g_ci_high", "Change g CI high"), ("change_p", "Change Welch p"),
               ("suppressed", "Not shown")]
    filename = common.slug("attrition-bias", scale["scale_id"], wt) + ".csv"
    if not scale.get("measured_before") or wt == "pre":
        return Chart(title=title, empty="Choose a scale measured before training and a later "
                     "'to' wave to check attrition bias.", columns=columns, filename=filename)
    overall = attrition_bias(app_ctx.db, scale_id=scale["scale_id"], wave_to=wt, by=(),
                             filters=f)
    rows = attrition_bias(app_ctx.db, scale_id=scale["scale_id"], wave_to=wt,
                          by=("format",), filters=f)
    full = [{"group": "All matching cohorts", **r} for r in overall] + [
        {"group": label("format", r["format"]), **r} for r in rows]
    records = [{k: r.get(k) for k, _ in columns} for r in full]
    shown = [r for r in records if not r["suppressed"] and r["hedges_g"] is not None]
    if not shown:
        return Chart(title=title, empty=common.too_few("comparison", m),
                     records=records, columns=columns, filename=filename)
    ylab = [f"{r['group']} ({r['attrition_pct']:.0f}% lost)" for r in shown]
    fig = Figure(_g_trace(shown, ylab, "", "Baseline", "circle", OKABE_ITO["blue"],
                          "completers started higher"))
    changed = [(r, y) for r, y in zip(shown, ylab, strict=True)
               if r["change_hedges_g"] is not None]
    if changed:
        fig.add_trace(_g_trace([r for r, _ in changed], [y for _, y in changed], "change_",
                               "Change pre to post", "diamond", OKABE_ITO["vermillion"],
                               "completers improved more"))
        fig.update_layout(scattermode="group")
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.add_vrect(x0=-0.2, x1=0.2, fillcolor="#eee", opacity=0.6, line_width=0, layer="below")
    fig.update_xaxes(title="Hedges g (positive: completers started higher, or improved more)")
    fig.update_yaxes(autorange="reversed", type="category")
    figure_layout(fig, height=120 + 50 * len(shown), legend=bool(changed))
    hidden = [r["group"] for r in records if r["suppressed"]]
    hidden_change = [r["group"] for r in full
                     if not r["suppressed"] and r.get("change_suppressed")]
    notes = [f"Not shown ({common.hidden_reason(m)}): {', '.join(hidden)}."] \
        if hidden else []
    if hidden_change:
        notes.append(f"Change by the end of training not shown ({common.hidden_reason(m)}): "
                     f"{', '.join(hidden_change)}.")
    notes.append("Shaded band: |g| < 0.2, a baseline difference between completers and "
                 "dropouts conventionally read as negligible; it says how alike they started, "
                 "not whether they changed alike.")
    verdict = bias_verdict(full[0], months)
    first = shown[0]
    return Chart(title=title,
                 subtitle=f"n = {first['n_completers'] + first['n_dropouts']:,} people who "
                          "answered before training and were due the later survey",
                 figure=fig, records=records, columns=columns, notes=notes, filename=filename,
                 extra=html.P(verdict, className="verdict", **{"data-testid": "attrition-verdict"})
                 if verdict else None)


def _g_trace(rows: list[dict], ylab: list[str], prefix: str, name: str, symbol: str,
             colour: str, positive: str) -> dict:
    """One comparison's Hedges g with its CI per group (``prefix``: "" for the baseline,
    "change_" for the pre->post change)."""
    g, low, high = (f"{prefix}hedges_g", f"{prefix}g_ci_low", f"{prefix}g_ci_high")
    return Scatter(
        x=[r[g] for r in rows], y=ylab, mode="markers", name=name, orientation="h",
        marker={"size": 11, "color": colour, "symbol": symbol},
        error_x={"type": "data", "symmetric": False,
                 "array": [r[high] - r[g] for r in rows],
                 "arrayminus": [r[g] - r[low] for r in rows]},
        customdata=[[r[f"{prefix}n_completers"], r[f"{prefix}n_dropouts"],
                     fmt_p(r[f"{prefix}p"]), fmt(r[f"{prefix}difference"])] for r in rows],
        hovertemplate=f"%{{y}}<br>{name}: g = %{{x:.2f}}; difference %{{customdata[3]}} "
                      "points<br>%{customdata[0]:,} completers, %{customdata[1]:,} dropouts; "
                      f"Welch p %{{customdata[2]}}<br>positive: {positive}"
                      "<extra></extra>",
    )


def build_model(app_ctx, state) -> Chart:
    """The Trends page's chart of the wave model against the completers, for everyone
    together, beside the attrition check: the completers' change against the model's
    estimate for everyone, and the tipping point (its notes)."""
    from dashboard.pages import trends  # the one place the model's chart and words are put

    chart = trends.build_model(app_ctx, {**state, "by": "all"})
    scale = common.scale_info(app_ctx, state)
    return dataclasses.replace(
        chart, title=f"{scale['name']}: does the change last for everyone, or only for those "
                     f"who answered? ({common.units(scale)}, 95% CI)",
        filename=common.slug("attrition-model", scale["scale_id"]) + ".csv")


CHARTS = (
    ChartSpec(
        "attrition-funnel", "Response funnel by format",
        "Of the people who answered before training, the share who answered each later "
        "survey. Only cohorts whose survey was already due (end of training plus the "
        "follow-up months, up to the last date in the data) count.",
        build_funnel),
    ChartSpec(
        "attrition-bias",
        "Attrition-bias check: did completers start, or change, differently?",
        "Baseline (pre-training) score of people who answered the later wave minus those who "
        "did not, and for a follow-up wave their change from before to the end of training "
        "(improvement positive): Hedges g with 95% CI and Welch's t test. Near 0 = dropouts "
        "started out, or had changed, like completers; alike baselines alone do not show "
        "that the completers' later figures describe everyone.",
        build_bias),
    ChartSpec(
        "attrition-model", "Every wave modelled vs completers only",
        "A model that uses every score of everyone (Trends page) against the change of those "
        "who answered both surveys, at the last wave, and how much worse than modelled those "
        "who did not answer would have to be for that change to vanish.",
        build_model),
)
