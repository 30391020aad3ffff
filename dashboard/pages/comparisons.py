"""Comparisons, dose and cost: what the trained arm gained over its comparison or waitlist arm
(``warehouse.comparison.compare_arms``), what goes with larger change (contact hours,
supervision, format, audience: ``warehouse.dose.dose_response``) and what the training cost
per participant and per outcome (``warehouse.cost.cost``).

The words are the analysis layer's: the design reason of a comparison, the reason a
programme is left out, the dose caveat and the reason a cost figure is not given are shown as
those modules write them. The comparison and the dose model are not published to sponsors
yet (their figures have no disclosure control), so a sponsor sees that said on their cards;
the cost figures are published (disclosure-controlled by ``warehouse.cost``).
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.components import Chart, with_design_note
from dashboard.figures import Bar, Figure, Scatter, make_subplots
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import (
    DIMENSION_LABELS,
    OKABE_ITO,
    colour_for,
    figure_layout,
    fmt,
    fmt_ci,
    label,
)
from warehouse.comparison import compare_arms, comparison_design
from warehouse.cost import cost
from warehouse.dose import HOURS, INTERCEPT, SUPERVISION, dose_response
from warehouse.errors import NOT_PUBLISHED

KEY, PATH, NAME = "comparisons", "/comparisons", "Comparisons, dose and cost"

CURRENCY = "in the sponsors' currency"  # the data record amounts, not which currency
NOT_PUBLISHED_TEXT = (f"These figures are {NOT_PUBLISHED}: they are shown to evaluators and "
                      "researchers until they have disclosure control.")
NO_ARMS = (
    "No programme here has both an intervention and a comparison arm, so no effect of the "
    "training can be estimated. To add one, list the programme's comparison or waitlist "
    "cohorts in cohorts.csv with the arm column set to comparison or waitlist (they name the "
    "programme they are compared with), surveyed on the same waves, and ingest again."
)
LABEL_WIDTH = 22  # characters per line of a programme's name on the axis (390 px screens)


def layout(app_ctx) -> html.Div:
    return page_layout(
        NAME,
        with_design_note(
            "What a comparison arm, the hours of training and the cost can and cannot say. A "
            "comparison or waitlist arm estimates what the training added only when the two "
            "arms were alike before training and few people dropped out of either; contact "
            "hours and supervision show what goes with larger change, an association, not an "
            "effect; cost uses the cost per participant recorded for each cohort."),
        CHARTS)


def wrap(text: str, width: int = LABEL_WIDTH) -> str:
    """A long axis label broken into lines of at most ``width`` characters (at word breaks),
    so that it leaves the plot room on a narrow screen."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _height(rows: int, per_row: int, base: int = 150) -> int:
    return base + per_row * rows


def _interval_error(rows: list[dict], estimate: str, low: str, high: str) -> dict[str, Any]:
    return {"type": "data", "symmetric": False, "thickness": 1.5,
            "array": [0 if r[high] is None else r[high] - r[estimate] for r in rows],
            "arrayminus": [0 if r[low] is None else r[estimate] - r[low] for r in rows]}


# Trained vs comparison cohorts ---------------------------------------------------------------

ARM_COLUMNS = [
    ("programme", "Programme"), ("comparison_arms", "Arm compared"),
    ("n_intervention", "Matched pairs, intervention"),
    ("n_comparison", "Matched pairs, comparison"),
    ("n_cohorts_intervention", "Cohorts, intervention"),
    ("n_cohorts_comparison", "Cohorts, comparison"),
    ("ancova", "ANCOVA effect"), ("ancova_se", "ANCOVA SE (CR1)"),
    ("ancova_ci_low", "ANCOVA CI low"), ("ancova_ci_high", "ANCOVA CI high"),
    ("ancova_p", "ANCOVA p"),
    ("did", "Difference in differences"), ("did_se", "DiD SE (CR1)"),
    ("did_ci_low", "DiD CI low"), ("did_ci_high", "DiD CI high"), ("did_p", "DiD p"),
    ("baseline_g", "Baseline difference, Hedges g"),
    ("baseline_equivalence", "Baseline equivalence (WWC v5.0)"),
    ("assigned_intervention", "Scored at baseline, intervention (cohorts due)"),
    ("assigned_comparison", "Scored at baseline, comparison (cohorts due)"),
    ("attrition_intervention", "Attrition %, intervention"),
    ("attrition_comparison", "Attrition %, comparison"),
    ("attrition_overall", "Attrition % overall"),
    ("attrition_differential", "Differential attrition, % points"),
    ("attrition_max_differential", "Largest low differential at this overall rate, % points"),
    ("attrition_standard", "Attrition (WWC standard)"), ("attrition_boundary", "WWC boundary"),
    ("counts_as_comparison", "Counts as a comparison-group design"),
    ("design_reason", "Why"), ("suppressed", "Not shown"),
]
ARM_SERIES = (  # (key, legend name, colour, symbol): colour-blind safe, told apart by shape
    ("ancova", "ANCOVA (adjusted for the baseline score)", OKABE_ITO["blue"], "circle"),
    ("did", "Difference in differences", OKABE_ITO["vermillion"], "diamond"),
)


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def arm_record(p: dict[str, Any]) -> dict[str, Any]:
    """One programme of ``compare_arms`` as a table row (attrition in percent)."""
    out: dict[str, Any] = {"programme": p["program_name"],
                           "comparison_arms": ", ".join(p["comparison_arms"] or []),
                           "suppressed": p["suppressed"]}
    for kind in ("ancova", "did"):
        figures = p.get(kind) or {}
        out[kind] = figures.get("estimate")
        for key in ("se", "ci_low", "ci_high", "p"):
            out[f"{kind}_{key}"] = figures.get(key)
    for key in ("n_intervention", "n_comparison", "n_cohorts_intervention",
                "n_cohorts_comparison", "baseline_g", "baseline_equivalence",
                "assigned_intervention", "assigned_comparison", "attrition_standard",
                "attrition_boundary", "counts_as_comparison", "design_reason"):
        out[key] = p.get(key)
    for key in ("attrition_intervention", "attrition_comparison", "attrition_overall",
                "attrition_differential", "attrition_max_differential"):
        out[key] = _pct(p.get(key))
    if p["suppressed"]:
        out["design_reason"] = p["design_reason"]
    return out


def _left_out_notes(left_out: list[dict[str, Any]]) -> list[str]:
    """One note per reason, naming the programmes left out for it."""
    by_reason: dict[str, list[str]] = {}
    for p in left_out:
        by_reason.setdefault(p["reason"], []).append(p["program_name"])
    return [f"Not compared ({reason}): {', '.join(names)}." for reason, names in
            by_reason.items()]


def build_arms(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    wf, wt = common.check_waves(app_ctx, state)
    f = common.filters(app_ctx, state)
    title = (f"{scale['name']}: intervention minus comparison arm, {label('wave', wf)} → "
             f"{label('wave', wt)} ({common.units(scale)}, improvement positive, 95% CI)")
    filename = common.slug("comparisons-arms", scale["scale_id"], wf, wt) + ".csv"
    if f.published:
        return Chart(title=title, empty=NOT_PUBLISHED_TEXT, columns=ARM_COLUMNS,
                     filename=filename)
    if not scale.get("measured_before"):
        return Chart(title=title, empty="This scale is not measured before training, so the "
                     "arms have no baseline to be compared on.", columns=ARM_COLUMNS,
                     filename=filename)
    result = compare_arms(app_ctx.db, scale["scale_id"], wt, wave_from=wf, filters=f)
    records = [arm_record(p) for p in result["programs"]]
    notes = _left_out_notes(result["left_out"])
    if not result["programs"]:
        return Chart(title=title, empty=NO_ARMS, columns=ARM_COLUMNS, notes=notes,
                     filename=filename)
    shown = [p for p in result["programs"] if not p["suppressed"]]
    hidden = [p for p in result["programs"] if p["suppressed"]]
    notes = [f"{p['program_name']}: not shown ({p['reason']})." for p in hidden] + notes
    if not shown:
        return Chart(title=title, empty=common.too_few("comparison", app_ctx.min_cell),
                     records=records, columns=ARM_COLUMNS, notes=notes, filename=filename)
    ylab = [wrap(p["program_name"]) for p in shown]
    fig = Figure()
    for key, name, colour, symbol in ARM_SERIES:
        rows = [p[key] for p in shown]
        fig.add_trace(Scatter(
            x=[r["estimate"] for r in rows], y=ylab, mode="markers", name=name,
            orientation="h", marker={"size": 11, "color": colour, "symbol": symbol},
            error_x=_interval_error(rows, "estimate", "ci_low", "ci_high"),
            customdata=[[fmt_ci(r["ci_low"], r["ci_high"]), p["n_intervention"],
                         p["n_comparison"]] for r, p in zip(rows, shown, strict=True)],
            hovertemplate=f"%{{y}}<br>{name}: %{{x:+.2f}} points (95% CI "
                          "%{customdata[0]})<br>%{customdata[1]:,} intervention and "
                          "%{customdata[2]:,} comparison matched pairs<extra></extra>",
        ))
    fig.update_layout(scattermode="group")
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.update_xaxes(title="Intervention minus comparison<br>(points; + favours the training)")
    fig.update_yaxes(autorange="reversed", type="category")
    figure_layout(fig, height=_height(len(shown), 80))
    pairs = sum(p["n_intervention"] + p["n_comparison"] for p in shown)
    cohorts = sum(p["n_cohorts_intervention"] + p["n_cohorts_comparison"] for p in shown)
    sentences = [f"{p['program_name']}: {comparison_design(p)[1]}" for p in shown]
    return Chart(
        title=title,
        subtitle=f"n = {pairs:,} matched pairs in {cohorts:,} cohorts of {len(shown)} "
                 "programme(s) with both arms",
        figure=fig, records=records, columns=ARM_COLUMNS, notes=notes, filename=filename,
        extra=html.Ul([html.Li(s) for s in sentences], className="design-reasons",
                      **{"data-testid": "comparison-design"}))


# What goes with larger change ----------------------------------------------------------------

DOSE_COLUMNS = [("label", "Term"), ("term", "Term in the model"),
                ("estimate", "Change associated (points)"), ("se", "SE (CR1)"),
                ("ci_low", "CI low"), ("ci_high", "CI high")]
DOSE_KINDS = {  # legend name and colour of each kind of term
    "dose": ("Contact hours and supervision", OKABE_ITO["blue"]),
    "format": ("Format", OKABE_ITO["orange"]),
    "audience": ("Audience", OKABE_ITO["bluish_green"]),
}


def term_kind(term: str) -> str:
    return term.split("[", 1)[0] if "[" in term else "dose"


def term_label(term: str, reference: dict[str, Any], *, short: bool = False) -> str:
    """A regression term in words: 'log contact hours (per e-fold)', 'with supervision',
    'Format: Degree (vs Workshop)' (``short``: without the reference, which the chart's
    notes state once)."""
    if term == HOURS:
        return "log contact hours (per e-fold)"
    if term == SUPERVISION:
        return "with supervision"
    if term == INTERCEPT:
        return "intercept (the reference groups, at 1 contact hour, without supervision)"
    name, level = term.removesuffix("]").split("[", 1)
    words = f"{DIMENSION_LABELS.get(name, name)}: {label(name, level)}"
    return words if short else f"{words} (vs {label(name, reference.get(name))})"


def build_dose(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    wf, wt = common.check_waves(app_ctx, state)
    f = common.filters(app_ctx, state)
    title = (f"{scale['name']}: change {label('wave', wf)} → {label('wave', wt)} associated "
             f"with each term ({common.units(scale)}, improvement positive, 95% CI)")
    filename = common.slug("comparisons-dose", scale["scale_id"], wf, wt) + ".csv"
    if f.published:
        return Chart(title=title, empty=NOT_PUBLISHED_TEXT, columns=DOSE_COLUMNS,
                     filename=filename)
    result = dose_response(app_ctx.db, scale["scale_id"], wf, wt, filters=f)
    reference = result["reference"]
    records = [{"label": term_label(c["term"], reference), **c}
               for c in result["coefficients"]]
    plotted = [r for r in records if r["term"] != INTERCEPT]
    axis = {r["term"]: wrap(term_label(r["term"], reference, short=True), 20) for r in plotted}
    fig = Figure()
    for kind, (name, colour) in DOSE_KINDS.items():
        rows = [r for r in plotted if term_kind(r["term"]) == kind]
        if not rows:
            continue
        fig.add_trace(Scatter(
            x=[r["estimate"] for r in rows], y=[axis[r["term"]] for r in rows],
            mode="markers", name=name, orientation="h",
            marker={"size": 10, "color": colour, "symbol": "circle"},
            error_x=_interval_error(rows, "estimate", "ci_low", "ci_high"),
            customdata=[[fmt_ci(r["ci_low"], r["ci_high"]), fmt(r["se"], 3), r["label"]]
                        for r in rows],
            hovertemplate="%{customdata[2]}<br>%{x:+.3f} points (95% CI %{customdata[0]}; SE "
                          "%{customdata[1]})<extra></extra>",
        ))
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.update_xaxes(title="Change associated<br>(points, improvement +)")
    fig.update_yaxes(autorange="reversed", type="category", categoryorder="array",
                     categoryarray=[axis[r["term"]] for r in plotted])
    figure_layout(fig, height=_height(len(plotted), 44))
    notes = [f"Compared with the format {label('format', reference.get('format'))} and the "
             f"audience {label('audience', reference.get('audience'))}; the hours slope is "
             "per e-fold of contact hours (about 0.69 of it per doubling)."]
    notes += [f"Not estimated: {d['term']} ({d['reason']})." for d in result["dropped_terms"]]
    left = result["left_out"]
    if left["n_pairs"]:
        notes.append(f"Left out: {left['n_pairs']:,} matched pairs in {left['n_cohorts']:,} "
                     f"cohorts ({left['reason']}).")
    return Chart(
        title=title,
        subtitle=f"n = {result['n_pairs']:,} matched pairs in {result['n_cohorts']:,} cohorts",
        figure=fig, records=records, columns=DOSE_COLUMNS, notes=notes, filename=filename,
        extra=html.P(result["caveat"], className="verdict", **{"data-testid": "dose-caveat"}))


# Cost ------------------------------------------------------------------------------------------

COST_FIGURES = (  # (field, the subplot's title); the first has no interval (it is exact)
    ("cost_per_participant", "Per participant"),
    ("cost_per_matched_participant", "Per matched participant"),
    ("cost_per_reliably_improved", "Per person reliably improved"),
    ("cost_per_tenth_sd", "Per tenth of an SD of change"),
)
COST_COLUMNS = [
    ("grouping", "Grouping"), ("group", "Group"), ("people", "People (known cost)"),
    ("n_pairs", "Matched pairs (known cost)"), ("cohorts", "Cohorts"),
    ("cohorts_without_cost", "Cohorts without a known cost"),
    ("pct_reliable_improved", "% reliably improved"), ("g", "g, pre to post"),
    ("total_cost", f"Total cost ({CURRENCY})"),
    ("cost_per_participant", "Cost per participant"),
    *[(f"{name}{end}", f"Cost {title.split(' (')[0].lower()}{part}")
      for name, title in COST_FIGURES[1:]
      for end, part in (("", ""), ("_ci_low", ", CI low"), ("_ci_high", ", CI high"))],
    ("reasons", "Why a figure is not given"), ("suppressed", "Not shown"),
]
GROUPINGS = (("format", "Format"), ("program", "Programme"))


def _reasons(group: dict[str, Any]) -> str | None:
    parts = [f"{name.replace('_', ' ')}: {why}" for name, why in (group["reasons"] or {}).items()]
    return "; ".join(parts) or None


def cost_record(by: str, group: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One group of ``warehouse.cost.cost`` as a table row: every field, reasons in words."""
    code = group[by]
    shown = names.get(code, code) if by == "program" else label(by, code)
    return {"grouping": dict(GROUPINGS)[by], "group": shown, "_code": code,
            **{k: group[k] for k, _ in COST_COLUMNS[2:] if k != "reasons"},
            "reasons": _reasons(group)}


def cost_figure(shown: list[dict[str, Any]]) -> Figure:
    """One row of horizontal bars per cost figure (``COST_FIGURES``), a bar per format with
    its 95% CI and its amount written past the interval; a format without the figure says so
    where its bar would be (the reason is in the notes and the table)."""
    fig = make_subplots(rows=len(COST_FIGURES), vertical_spacing=0.08,
                        subplot_titles=tuple(t for _, t in COST_FIGURES))
    for annotation in fig.layout["annotations"]:  # titles from the right: narrow screens
        annotation.update(x=1, xanchor="right", font={"size": 14})
    ylab = [wrap(r["group"], 16) for r in shown]
    axis = dict(zip((r["group"] for r in shown), ylab, strict=True))
    for row, (name, sub) in enumerate(COST_FIGURES, start=1):
        given = [r for r in shown if r[name] is not None]
        low, high = (f"{name}_ci_low", f"{name}_ci_high") if row > 1 else (name, name)
        ends = [r[name] if r.get(high) is None else r[high] for r in given]
        fig.add_trace(Bar(
            x=[r[name] for r in given], y=[axis[r["group"]] for r in given], orientation="h",
            name=sub, showlegend=False,
            marker_color=[colour_for("format", r["_code"]) for r in given],
            error_x={**_interval_error(given, name, low, high), "color": "#333"},
            customdata=[[r["group"], fmt_ci(r.get(low), r.get(high), 0) if row > 1
                         else "exact", r["people"], r["n_pairs"]] for r in given],
            hovertemplate=f"%{{customdata[0]}} · {sub}: %{{x:,.0f}} (95% CI "
                          "%{customdata[1]}); %{customdata[2]:,} people, %{customdata[3]:,} "
                          "matched pairs<extra></extra>",
        ), row=row, col=1)
        fig.add_trace(Scatter(  # the amount, written past the interval's upper end
            x=ends, y=[axis[r["group"]] for r in given], mode="text",
            text=[fmt(r[name], 0) for r in given], textposition="middle right",
            showlegend=False, hoverinfo="skip"), row=row, col=1)
        missing = [r for r in shown if r[name] is None]
        if missing:
            fig.add_trace(Scatter(
                x=[0] * len(missing), y=[axis[r["group"]] for r in missing], mode="text",
                text=["not given (see notes)"] * len(missing), textposition="middle right",
                showlegend=False, hovertext=[r["reasons"] for r in missing],
                hoverinfo="text"), row=row, col=1)
        fig.update_yaxes(type="category", categoryorder="array", categoryarray=ylab,
                         autorange="reversed", row=row, col=1)
        fig.update_xaxes(range=[0, 1.45 * max(ends, default=1)], row=row, col=1)
    fig.update_xaxes(title=f"Cost<br>({CURRENCY})", row=len(COST_FIGURES), col=1)
    return figure_layout(fig, height=_height(len(COST_FIGURES) * len(shown), 48, base=280),
                         legend=False)


def build_cost(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    f = common.filters(app_ctx, state)
    m = app_ctx.min_cell
    title = (f"{scale['name']}: what the training cost by format, per participant and per "
             f"outcome, {label('wave', 'pre')} → {label('wave', 'post')} ({CURRENCY}, 95% "
             "bootstrap CI)")
    filename = common.slug("comparisons-cost", scale["scale_id"]) + ".csv"
    names = app_ctx.options()["programs"]
    results = {by: cost(app_ctx.db, scale_id=scale["scale_id"], by=by, filters=f)
               for by, _ in GROUPINGS}
    records = [cost_record(by, g, names) for by, _ in GROUPINGS for g in results[by]["groups"]]
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    formats = [r for r in records if r["grouping"] == "Format"]
    shown = [r for r in formats if not r["suppressed"] and r["cost_per_participant"] is not None]
    if not formats:
        return Chart(title=title, empty="No cohorts match these filters.", columns=COST_COLUMNS,
                     filename=filename)
    if not shown:
        return Chart(title=title, empty=common.too_few("cost", m) if all(
            r["suppressed"] for r in formats) else "No cohort of these formats has a known "
            "cost per participant.", records=public, columns=COST_COLUMNS, filename=filename)
    fig = cost_figure(shown)
    notes = [f"{r['group']}: {r['reasons']}." for r in formats
             if not r["suppressed"] and r["reasons"]]
    hidden = [r["group"] for r in records if r["suppressed"]]
    if hidden:
        notes.append(f"Not shown ({common.hidden_reason(m)}): {', '.join(hidden)}.")
    unknown = sum(r["cohorts_without_cost"] or 0 for r in formats if not r["suppressed"])
    if unknown:
        notes.append(f"{unknown:,} cohort(s) without a known cost are left out of the cost.")
    notes.append("The table also lists every programme. Per participant is exact (total cost "
                 "over the people); the other figures have a percentile bootstrap CI over "
                 "cohorts.")
    people = sum(r["people"] or 0 for r in shown)
    pairs = sum(r["n_pairs"] or 0 for r in shown)
    cohorts = sum((r["cohorts"] or 0) - (r["cohorts_without_cost"] or 0) for r in shown)
    return Chart(title=title,
                 subtitle=f"n = {people:,} people, {pairs:,} matched pairs, in {cohorts:,} "
                          "cohorts with a known cost"
                          + ("" if not f.published else " (published figures, rounded)"),
                 figure=fig, records=public, columns=COST_COLUMNS, notes=notes,
                 filename=filename)


CHARTS = (
    ChartSpec(
        "comparisons-arms", "Trained vs comparison cohorts",
        "Per programme with an intervention and a comparison or waitlist arm: ANCOVA (the "
        "later score regressed on the baseline score and the arm) and the difference in "
        "differences (the intervention arm's mean change minus the comparison arm's), in "
        "scale points with improvement positive, with 95% CIs from CR1 standard errors "
        "clustered by cohort (t on cohorts − 1 df). Baseline equivalence and attrition as the "
        "What Works Clearinghouse judges them (Procedures and Standards Handbook v5.0): "
        "baseline |g| ≤ 0.05 satisfied, ≤ 0.25 only with the ANCOVA's adjustment; overall "
        "and differential attrition against the cautious boundary.",
        build_arms),
    ChartSpec(
        "comparisons-dose", "What goes with larger change",
        "Each matched pair's change (improvement positive) regressed on log contact hours, "
        "supervision, format and audience (the first format and audience present are the "
        "reference), with 95% CIs from CR1 standard errors clustered by cohort (t on "
        "cohorts − 1 df). Associations, not effects.",
        build_dose),
    ChartSpec(
        "comparisons-cost", "Cost",
        "From each cohort's recorded cost per participant: total cost over the people (any "
        "response) and over the matched pairs, and the cost per participant over the share "
        "reliably improved and over g / 0.1 (the Outcomes pages' figures), by format; 95% "
        "percentile bootstrap CIs resampling cohorts (2000 resamples). The “Compare groups "
        "by” filter does not apply here.",
        build_cost),
)
