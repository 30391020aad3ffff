"""Trends: change by cohort start quarter, the change from before training at each later
wave (end of training, 3, 6 and 12 months), and that change from the model that uses every
wave beside the completers-only one (``warehouse.models.wave_model``; its two sentences, the
difference at the last wave and the tipping point, are also shown on the Follow-up page
through ``model_sentences``)."""

from __future__ import annotations

from dash import html

from dashboard.components import Chart, with_design_note
from dashboard.figures import Figure, Scatter, make_subplots
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import OKABE_ITO, colour_for, figure_layout, label
from warehouse.models import wave_model
from warehouse.outcomes import group_change

KEY, PATH, NAME = "trends", "/trends", "Trends"

COLUMNS = [("group", "Group"), ("x", "Quarter / wave"), ("n_pairs", "Matched pairs"),
           ("mean_change", "Mean change"), ("ci_low", "Change CI low"),
           ("ci_high", "Change CI high"), ("g", "g"), ("g_ci_low", "g CI low"),
           ("g_ci_high", "g CI high"), ("suppressed", "Not shown")]


def layout(app_ctx) -> html.Div:
    return page_layout(
        "Trends",
        with_design_note(
            "Is the change the same across cohorts, and is it still there at follow-up? Use "
            "“Compare groups by” in the filters to split the lines by audience or format."),
        CHARTS)


def _groups(rows, dim):
    if not dim:
        return {"All matching cohorts": rows}
    out = {}
    for r in rows:
        out.setdefault(r[dim], []).append(r)
    return out


def _band(fig, xs, low, high, colour, row, name):
    fig.add_trace(Scatter(
        x=xs + xs[::-1], y=high + low[::-1], mode="lines", fill="toself", fillcolor=colour,
        opacity=0.18,
        line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=name,
    ), row=row, col=1)


def build_quarter(app_ctx, state) -> Chart:
    wf, wt = common.check_waves(app_ctx, state)
    scale = common.scale_info(app_ctx, state)
    dims = common.by_dims(state)
    m = app_ctx.min_cell
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf, wave_to=wt,
                        by=("cohort_quarter", *dims), filters=common.filters(app_ctx, state),
                        p_adj=False)  # no adjusted p on this page
    title = f"{scale['name']}: change by cohort start quarter, {label('wave', wf)} → " \
            f"{label('wave', wt)}"
    dim = dims[0] if dims else None
    records = [{"group": label(dim, r[dim]) if dim else "All matching cohorts",
                "x": r["cohort_quarter"], **{k: r.get(k) for k, _ in COLUMNS[2:]}}
               for r in rows]
    filename = common.slug("trends-by-quarter", scale["scale_id"], wf, wt, dim) + ".csv"
    shown = [r for r in rows if not r["suppressed"]]
    if not rows:
        return Chart(title=title, empty="No cohorts match these filters.", columns=COLUMNS,
                     filename=filename)
    if not shown:
        return Chart(title=title, empty=common.too_few("quarter", m),
                     records=records, columns=COLUMNS, filename=filename)
    quarters = sorted({r["cohort_quarter"] for r in rows})
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Effect size g", f"Mean change ({common.units(scale)})"))
    groups = _groups(rows, dim)
    for key, group in groups.items():
        colour = colour_for(dim, key, among=tuple(groups)) if dim else OKABE_ITO["blue"]
        name = label(dim, key) if dim else key
        by_q = {r["cohort_quarter"]: r for r in group}
        for row_i, (val, lo, hi) in enumerate((("g", "g_ci_low", "g_ci_high"),
                                               ("mean_change", "ci_low", "ci_high")), start=1):
            pts = [by_q.get(q) for q in quarters]
            ys = [p[val] if p and not p["suppressed"] else None for p in pts]
            ok = [(q, p) for q, p in zip(quarters, pts, strict=True)
                  if p and not p["suppressed"] and p[lo] is not None]
            runs: list[list] = []  # bands only across consecutive quarters, never gaps
            for q, p in ok:
                if runs and quarters.index(q) == quarters.index(runs[-1][-1][0]) + 1:
                    runs[-1].append((q, p))
                else:
                    runs.append([(q, p)])
            for run in runs:
                if len(run) > 1:
                    _band(fig, [q for q, _ in run], [p[lo] for _, p in run],
                          [p[hi] for _, p in run], colour, row_i, name)
            fig.add_trace(Scatter(
                x=quarters, y=ys, mode="lines+markers", name=name, legendgroup=name,
                showlegend=row_i == 1, line={"color": colour, "width": 2},
                marker={"size": 6}, connectgaps=False,
                customdata=[[p["n_pairs"] if p and not p["suppressed"] else None,
                             p[lo] if p and not p["suppressed"] else None,
                             p[hi] if p and not p["suppressed"] else None] for p in pts],
                hovertemplate=name + " %{x}: %{y:.2f} (95% CI %{customdata[1]:.2f} to "
                              "%{customdata[2]:.2f}), n = %{customdata[0]:,}<extra></extra>",
            ), row=row_i, col=1)
    for r in (1, 2):
        fig.add_hline(y=0, line_color="#777", line_width=1, row=r, col=1)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=quarters)
    fig.update_xaxes(title="Quarter the cohort started", row=2, col=1)
    figure_layout(fig, height=560)
    n_sup = sum(1 for r in rows if r["suppressed"])
    n = sum(r["n_pairs"] for r in shown)
    notes = [f"{n_sup} quarter × group point(s) suppressed: {common.hidden_reason(m)}."] \
        if n_sup else []
    return Chart(title=title, subtitle=f"n = {n:,} matched pairs across {len(quarters)} quarters",
                 figure=fig, records=records, columns=COLUMNS, notes=notes, filename=filename)


def build_sustained(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    dims = common.by_dims(state)
    dim = dims[0] if dims else None
    m = app_ctx.min_cell
    waves = [w for w in app_ctx.options()["waves"] if w != "pre"]
    months = {"post": 0, "followup_3m": 3, "followup_6m": 6, "followup_12m": 12}
    title = f"{scale['name']}: change from before training at each later wave " \
            f"({common.units(scale)})"
    filename = common.slug("trends-sustained", scale["scale_id"], dim) + ".csv"
    if not scale.get("measured_before"):
        return Chart(title=title, empty="This scale is not measured before training, so there "
                     "is no change from before training to show.", columns=COLUMNS,
                     filename=filename)
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from="pre",
                        wave_to=tuple(waves), by=("wave_to", *dims),
                        filters=common.filters(app_ctx, state), p_adj=False)
    records = [{"group": label(dim, r[dim]) if dim else "All matching cohorts",
                "x": label("wave", r["wave_to"]), **{k: r.get(k) for k, _ in COLUMNS[2:]}}
               for r in rows]
    shown = [r for r in rows if not r["suppressed"]]
    if not shown:
        return Chart(title=title, empty=common.too_few("figure", m) if rows else
                     "No cohorts match these filters.", records=records, columns=COLUMNS,
                     filename=filename)
    fig = Figure()
    groups = _groups(rows, dim)
    for key, group in groups.items():
        colour = colour_for(dim, key, among=tuple(groups)) if dim else OKABE_ITO["blue"]
        name = label(dim, key) if dim else key
        pts = [r for r in group if not r["suppressed"]]
        pts.sort(key=lambda r: months.get(r["wave_to"], 99))
        fig.add_trace(Scatter(
            x=[months.get(r["wave_to"]) for r in pts], y=[r["mean_change"] for r in pts],
            mode="lines+markers", name=name, line={"color": colour, "width": 2},
            marker={"size": 9},
            error_y={"type": "data", "symmetric": False,
                     "array": [0 if r["no_interval"] else r["ci_high"] - r["mean_change"]
                               for r in pts],
                     "arrayminus": [0 if r["no_interval"] else r["mean_change"] - r["ci_low"]
                                    for r in pts],
                     "thickness": 1.5},
            customdata=[[label("wave", r["wave_to"]), r["n_pairs"], r["g"], r["g_ci_low"],
                         r["g_ci_high"]] for r in pts],
            hovertemplate=name + "<br>%{customdata[0]}: change %{y:+.2f}, g = "
                          "%{customdata[2]:.2f} (95% CI %{customdata[3]:.2f} to "
                          "%{customdata[4]:.2f}), n = %{customdata[1]:,}<extra></extra>",
        ))
    fig.add_hline(y=0, line_color="#777", line_width=1)
    fig.update_xaxes(title="Months after the end of training", tickvals=[0, 3, 6, 12],
                     ticktext=["end", "3", "6", "12"])
    fig.update_yaxes(title="Mean change (improvement +)")
    figure_layout(fig, height=420)
    hidden = [r for r in rows if r["suppressed"]]
    notes = [f"{len(hidden)} point(s) suppressed: {common.hidden_reason(m)}."] if hidden else []
    n_by_wave = {}
    for r in shown:
        n_by_wave[r["wave_to"]] = n_by_wave.get(r["wave_to"], 0) + r["n_pairs"]
    sub = "n = " + ", ".join(f"{n:,} at {label('wave', w).lower()}" for w, n in
                             sorted(n_by_wave.items(), key=lambda t: months.get(t[0], 99)))
    return Chart(title=title, subtitle=sub, figure=fig, records=records, columns=COLUMNS,
                 notes=notes, filename=filename)


MODEL_COLUMNS = [("group", "Group"), ("x", "Wave"), ("estimate", "Estimate"),
                 ("n", "Participants (model) / matched pairs"), ("change", "Change from pre"),
                 ("ci_low", "CI low"), ("ci_high", "CI high"), ("suppressed", "Not shown")]
MODELLED, COMPLETERS = "Every wave modelled", "Completers only"
# Colour-blind-safe (Okabe-Ito) and told apart by the line's dash as well.
MODEL_STYLE = {MODELLED: (OKABE_ITO["blue"], "solid", "circle"),
               COMPLETERS: (OKABE_ITO["vermillion"], "dash", "square")}


def model_for_state(app_ctx, state) -> tuple[dict, dict | None, tuple[str, ...]]:
    """The scale, the wave model for the state's filters and "Compare groups by" grouping
    (None for a scale not measured before training) and that grouping. Cached per database
    snapshot and filters (``cached_query``): a chart redrawn for the same state refits
    nothing."""
    scale = common.scale_info(app_ctx, state)
    dims = common.by_dims(state)
    if not scale.get("measured_before"):
        return scale, None, dims
    return scale, wave_model(app_ctx.db, scale["scale_id"], by=dims,
                             filters=common.filters(app_ctx, state)), dims


def _group_name(dims: tuple[str, ...], group: dict) -> str:
    return label(dims[0], group[dims[0]]) if dims else "All matching cohorts"


def model_sentences(app_ctx, result: dict, dims: tuple[str, ...]) -> list[str]:
    """The sentences under the model's chart, per group: the completers against the model
    at the last wave and the tipping point (both worded by ``warehouse.models``), or that the
    group is not shown."""
    out = []
    for group in result["groups"]:
        prefix = f"{_group_name(dims, group)}: " if dims else ""
        if group["suppressed"]:
            out.append(f"{prefix}not shown ({common.hidden_reason(app_ctx.min_cell)}).")
            continue
        out.append(prefix + group["difference"]["sentence"])
        if group["tipping_point"]:
            out.append(prefix + group["tipping_point"]["sentence"])
    return out


def model_records(result: dict, dims: tuple[str, ...]) -> list[dict]:
    """The table behind the model's chart: per group and later wave, the modelled change and
    the completers' change, each with its n and 95% CI."""
    records = []
    for group in result["groups"]:
        name = _group_name(dims, group)
        if group["suppressed"]:
            records.append({"group": name, "x": None, "estimate": None, "n": None,
                            "change": None, "ci_low": None, "ci_high": None,
                            "suppressed": True})
            continue
        done = {c["wave"]: c for c in group["completers"]}
        for w in group["waves"][1:]:
            c = done.get(w["wave"], {})
            records.append({"group": name, "x": label("wave", w["wave"]), "estimate": MODELLED,
                            "n": group["n_participants"], "change": w["change_from_pre"],
                            "ci_low": w["change_ci_low"], "ci_high": w["change_ci_high"],
                            "suppressed": False})
            records.append({"group": name, "x": label("wave", w["wave"]),
                            "estimate": COMPLETERS, "n": c.get("n_pairs"),
                            "change": c.get("mean_change"), "ci_low": c.get("ci_low"),
                            "ci_high": c.get("ci_high"),
                            "suppressed": c.get("mean_change") is None})
    return records


def build_model(app_ctx, state) -> Chart:
    scale, result, dims = model_for_state(app_ctx, state)
    title = f"{scale['name']}: change from before training at each wave, every wave " \
            f"modelled vs completers only ({common.units(scale)}, 95% CI)"
    filename = common.slug("trends-model", scale["scale_id"], dims[0] if dims else None) + ".csv"
    if result is None:
        return Chart(title=title, empty="This scale is not measured before training, so there "
                     "is no change from before training to show.", columns=MODEL_COLUMNS,
                     filename=filename)
    records = model_records(result, dims)
    shown = [g for g in result["groups"] if not g["suppressed"]]
    fig = make_subplots(rows=len(shown), shared_xaxes=True,
                        vertical_spacing=0.16 if len(shown) > 1 else 0.0,
                        subplot_titles=tuple(_group_name(dims, g) for g in shown) if dims else ())
    for row, group in enumerate(shown, start=1):
        name = _group_name(dims, group)
        done = {c["wave"]: c for c in group["completers"]}
        waves = group["waves"][1:]
        series = {
            MODELLED: [(w["wave"], w["change_from_pre"], w["change_ci_low"], w["change_ci_high"],
                        group["n_participants"]) for w in waves],
            COMPLETERS: [(w["wave"], done[w["wave"]]["mean_change"], done[w["wave"]]["ci_low"],
                          done[w["wave"]]["ci_high"], done[w["wave"]]["n_pairs"])
                         for w in waves if done.get(w["wave"], {}).get("mean_change") is not None],
        }
        for kind, pts in series.items():
            colour, dash, symbol = MODEL_STYLE[kind]
            xs = [label("wave", p[0]) for p in pts]
            fig.add_trace(Scatter(
                x=xs, y=[p[1] for p in pts], mode="lines+markers", name=kind, legendgroup=kind,
                showlegend=row == 1, line={"color": colour, "width": 2, "dash": dash},
                marker={"size": 8, "symbol": symbol},
                error_y={"type": "data", "symmetric": False, "thickness": 1.5,
                         "array": [0 if p[3] is None else p[3] - p[1] for p in pts],
                         "arrayminus": [0 if p[2] is None else p[1] - p[2] for p in pts]},
                customdata=[[p[2], p[3], p[4]] for p in pts],
                hovertemplate=f"{name} · {kind}<br>%{{x}}: change %{{y:+.2f}} (95% CI "
                              "%{customdata[0]:.2f} to %{customdata[1]:.2f}), n = "
                              "%{customdata[2]:,}<extra></extra>",
            ), row=row, col=1)
        fig.add_hline(y=0, line_color="#777", line_width=1, row=row, col=1)
    # Every panel names its waves: on a phone the panels are read one screen at a time.
    fig.update_xaxes(type="category", showticklabels=True)
    fig.update_yaxes(title="Change<br>(improvement +)")
    figure_layout(fig, height=220 + 230 * len(shown))
    last = shown[0]["waves"][-1]["wave"]
    pairs = sum((next((c["n_pairs"] for c in g["completers"] if c["wave"] == last), 0) or 0)
                for g in shown)
    sub = f"n = {sum(g['n_participants'] for g in shown):,} participants modelled; " \
          f"{pairs:,} matched pairs at {label('wave', last).lower()}"
    return Chart(title=title, subtitle=sub, figure=fig, records=records, columns=MODEL_COLUMNS,
                 notes=model_sentences(app_ctx, result, dims), filename=filename)


CHARTS = (
    ChartSpec(
        "trends-quarter", "Change by cohort start quarter",
        "Per quarter in which cohorts started: effect size g (top) and mean change (bottom) of "
        "matched pairs with 95% CI bands. Quarters not shown are gaps in the line.",
        build_quarter),
    ChartSpec(
        "trends-sustained", "Change from before training at each later wave",
        "Mean change from the pre-training survey to the end of training and to each "
        "follow-up, in the people who answered both (so each point may describe different "
        "people). 95% CI from the paired t distribution.",
        build_sustained),
    ChartSpec(
        "trends-model", "Change from before training at each wave: every wave modelled vs "
        "completers only",
        "Blue: a linear mixed model of every score of everyone (a random intercept per "
        "participant, fitted by REML), which stays unbiased when who drops out depends on what "
        "they reported earlier; 95% Wald CIs. Vermillion, dashed: the matched pairs of those "
        "who answered both surveys, as in the chart above. The tipping point says how much "
        "worse than modelled those who did not answer the last wave would have to be for its "
        "change to vanish.",
        build_model),
)
