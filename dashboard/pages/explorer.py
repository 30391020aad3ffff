"""Outcomes explorer (for evaluators): change by audience x format for one scale."""

from __future__ import annotations

from dash import html

from dashboard import access
from dashboard.components import Chart, with_design_note
from dashboard.figures import Bar, Figure, Heatmap, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import (
    CHANGE_COLOURS,
    FORMAT_COLOURS,
    GREY,
    OKABE_ITO,
    SUPPRESSED_COLOUR,
    figure_layout,
    fmt,
    fmt_pct_ci,
    label,
)
from warehouse.outcomes import change_distribution, family_p_adj, group_change

KEY, PATH, NAME = "explorer", "/explorer", "Outcomes explorer"
DIVERGING = [[0.0, OKABE_ITO["vermillion"]], [0.5, "#f7f7f7"], [1.0, OKABE_ITO["blue"]]]


def layout(app_ctx) -> html.Div:
    return page_layout(
        "Outcomes explorer",
        with_design_note(
            "Change in the chosen scale by audience and programme format. Choose the scale and "
            "the two waves in the filters."), CHARTS)


def _why(min_cell: int) -> str:
    """Why groups are missing, after "not shown": the page-wide rule, in brackets, for
    evaluators and researchers; nothing for a sponsor, who is told only that they are not
    shown (the rule would say that a hidden group is small)."""
    return "" if access.is_sponsor() else f" ({common.hidden_reason(min_cell)})"


def _none_shown(what: str, min_cell: int) -> str:
    """The empty state of a chart whose every group is hidden (see ``_why``)."""
    return "Not shown for these filters." if access.is_sponsor() \
        else common.too_few(what, min_cell)


def _title_bits(app_ctx, state):
    wf, wt = common.check_waves(app_ctx, state)
    scale = common.scale_info(app_ctx, state)
    return wf, wt, scale


BY = ("audience", "format")


def _groups(app_ctx, state):
    wf, wt, scale = _title_bits(app_ctx, state)
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf, wave_to=wt,
                        by=BY, filters=common.filters(app_ctx, state))
    return wf, wt, scale, rows


def _columns(app_ctx, state, rows) -> list[tuple[str, str]]:
    """COLUMNS with the adjusted p headed by its family: how many tests it was adjusted
    over, and whether those are this table's groups or every scale's."""
    wf, wt = common.check_waves(app_ctx, state)
    adjusted = family_p_adj(app_ctx.db, wave_from=wf, wave_to=wt, by=BY,
                            filters=common.filters(app_ctx, state))
    n_family = sum(1 for key in adjusted if key[1] == wt)
    n_table = sum(1 for r in rows if r.get("p_adj") is not None)
    family = ("groups of this table" if n_family == n_table else
              f"audience × format groups of every scale ({n_table:,} in this table)")
    return [(k, common.p_adj_label(n_family, family) if k == "p_adj" else name)
            for k, name in COLUMNS]


COLUMNS = [("audience", "Audience"), ("format", "Format"), ("n_pairs", "Matched pairs"),
           ("mean_from", "Mean before"), ("mean_to", "Mean after"),
           ("mean_change", "Mean change (improvement +)"), ("ci_low", "Change 95% CI low"),
           ("ci_high", "Change 95% CI high"), ("g", "g"), ("g_ci_low", "g CI low"),
           ("g_ci_high", "g CI high"), ("d_z", "d_z"), ("d_z_ci_low", "d_z CI low"),
           ("d_z_ci_high", "d_z CI high"), ("p_adj", "p (Benjamini-Hochberg adjusted)"),
           ("pct_reliable_improved", "% reliably improved"),
           ("pct_reliable_improved_ci_low", "% reliably improved, 95% CI low"),
           ("pct_reliable_improved_ci_high", "% reliably improved, 95% CI high"),
           ("suppressed", "Not shown")]


def _records(rows):
    return [{k: r.get(k) for k, _ in COLUMNS} for r in rows]


def build_dumbbell(app_ctx, state) -> Chart:
    wf, wt, scale, rows = _groups(app_ctx, state)
    m = app_ctx.min_cell
    title = f"{scale['name']}: mean score, {label('wave', wf)} → {label('wave', wt)} " \
            f"({common.units(scale)})"
    filename = common.slug("explorer-means", scale["scale_id"], wf, wt) + ".csv"
    if not rows:
        return Chart(title=title, empty="No cohorts match these filters.", columns=COLUMNS,
                     filename=filename)
    shown = [r for r in rows if not r["suppressed"]]
    hidden = [r for r in rows if r["suppressed"]]
    notes = []
    if hidden:
        notes.append(f"{len(hidden)} audience × format group(s) not shown{_why(m)}: " + ", ".join(
                         f"{label('audience', r['audience'])} · {label('format', r['format'])}"
                         for r in hidden) + ".")
    if not shown:
        return Chart(title=title, empty=_none_shown("group", m),
                     notes=notes, records=_records(rows),
                     columns=_columns(app_ctx, state, rows), filename=filename)
    notes += [f"No 95% CI for {label('audience', r['audience'])} · "
              f"{label('format', r['format'])}: {r['no_interval']}."
              for r in shown if r["no_interval"]]
    sign = 1 if scale["higher_is_better"] else -1
    fig = Figure()
    ylabels = [f"{label('audience', r['audience'])} · {label('format', r['format'])}"
               for r in shown]
    for r, y in zip(shown, ylabels, strict=True):
        fig.add_trace(Scatter(x=[r["mean_from"], r["mean_to"]], y=[y, y], mode="lines",
                                 line={"color": "#bbb", "width": 3}, hoverinfo="skip",
                                 showlegend=False))
    fig.add_trace(Scatter(
        x=[r["mean_from"] for r in shown], y=ylabels, mode="markers", name=label("wave", wf),
        marker={"color": GREY, "size": 10, "symbol": "circle-open", "line": {"width": 2}},
        customdata=[[r["n_pairs"]] for r in shown],
        hovertemplate="%{y}<br>" + label("wave", wf) + ": %{x:.2f}<br>n = %{customdata[0]:,}"
                      "<extra></extra>",
    ))
    for fmt_code in dict.fromkeys(r["format"] for r in shown):
        part = [(r, y) for r, y in zip(shown, ylabels, strict=True) if r["format"] == fmt_code]
        # A group without an interval (no_interval says why) gets a bar of no length.
        lows = [r["mean_to"] if r["no_interval"] else
                r["mean_from"] + sign * (r["ci_low"] if sign > 0 else r["ci_high"])
                for r, _ in part]
        highs = [r["mean_to"] if r["no_interval"] else
                 r["mean_from"] + sign * (r["ci_high"] if sign > 0 else r["ci_low"])
                 for r, _ in part]
        fig.add_trace(Scatter(
            x=[r["mean_to"] for r, _ in part], y=[y for _, y in part], mode="markers",
            name=f"{label('wave', wt)}: {label('format', fmt_code)}",
            marker={"color": FORMAT_COLOURS.get(fmt_code, OKABE_ITO["blue"]), "size": 11},
            error_x={"type": "data", "symmetric": False,
                     "array": [h - r["mean_to"] for (r, _), h in zip(part, highs, strict=True)],
                     "arrayminus": [r["mean_to"] - lo for (r, _), lo in zip(part, lows,
                                                                             strict=True)],
                     "thickness": 1.5},
            customdata=[[r["mean_change"], r["ci_low"], r["ci_high"], r["n_pairs"], r["g"],
                         r["g_ci_low"], r["g_ci_high"]] for r, _ in part],
            hovertemplate="%{y}<br>" + label("wave", wt) + ": %{x:.2f}<br>change "
                          "%{customdata[0]:+.2f} (95% CI %{customdata[1]:.2f} to "
                          "%{customdata[2]:.2f})<br>g = %{customdata[4]:.2f} (95% CI "
                          "%{customdata[5]:.2f} to %{customdata[6]:.2f}), n = "
                          "%{customdata[3]:,}<extra></extra>",
        ))
    fig.update_xaxes(title=f"Mean score ({common.units(scale)})")
    fig.update_yaxes(autorange="reversed", type="category")
    figure_layout(fig, height=max(300, 90 + 26 * len(shown)))
    n = sum(r["n_pairs"] for r in shown)
    return Chart(title=title, subtitle=f"n = {n:,} matched pairs in {len(shown)} groups shown",
                 figure=fig, records=_records(rows),
                     columns=_columns(app_ctx, state, rows), notes=notes,
                 filename=filename)


def _cell_list(audiences: list[str], formats: list[str], text: list[list[str]]) -> html.Ul:
    """The heatmap's narrow form (a phone): one entry per audience, its formats beneath with
    the cell's text (g, interval, n; or why nothing is shown), in the heatmap's order."""
    return html.Ul(className="cell-list", **{"data-testid": "heatmap-list"}, children=[
        html.Li([html.Strong(label("audience", a)), html.Ul([
            html.Li(f"{label('format', f)}: {text[i][j].replace('<br>', ', ')}")
            for j, f in enumerate(formats)])])
        for i, a in enumerate(audiences)])


def build_heatmap(app_ctx, state) -> Chart:
    wf, wt, scale, rows = _groups(app_ctx, state)
    m = app_ctx.min_cell
    title = f"{scale['name']}: effect size g by audience and format, " \
            f"{label('wave', wf)} → {label('wave', wt)}"
    filename = common.slug("explorer-effect-sizes", scale["scale_id"], wf, wt) + ".csv"
    if not rows:
        return Chart(title=title, empty="No cohorts match these filters.", columns=COLUMNS,
                     filename=filename)
    audiences = list(dict.fromkeys(r["audience"] for r in rows))
    formats = list(dict.fromkeys(r["format"] for r in rows))
    formats.sort(key=lambda f: list(FORMAT_COLOURS).index(f) if f in FORMAT_COLOURS else 99)
    cell = {(r["audience"], r["format"]): r for r in rows}
    z, text = [], []
    for a in audiences:
        zrow, trow = [], []
        for f in formats:
            r = cell.get((a, f))
            if r is None:
                zrow.append(None)
                trow.append("no cohorts")
            elif r["suppressed"]:
                zrow.append(None)
                trow.append("not shown")
            else:
                zrow.append(r["g"])
                interval = "no CI" if r["g_ci_low"] is None else \
                    f"95% CI {fmt(r['g_ci_low'])} to {fmt(r['g_ci_high'])}"
                trow.append(f"g = {fmt(r['g'])}<br>{interval}<br>n = {r['n_pairs']:,}")
        z.append(zrow)
        text.append(trow)
    xl = [label("format", f) for f in formats]
    yl = [label("audience", a) for a in audiences]
    shown = [v for row in z for v in row if v is not None]
    bound = max([abs(v) for v in shown] + [0.5])
    fig = Figure(Heatmap(
        z=z, x=xl, y=yl,
        text=[[t if v is not None else "" for t, v in zip(tr, zr, strict=True)]
              for tr, zr in zip(text, z, strict=True)],
        texttemplate="%{text}", textfont={"size": 12},
        colorscale=DIVERGING, zmid=0, zmin=-bound, zmax=bound, xgap=3, ygap=3,
        colorbar={"title": {"text": "g"}, "thickness": 12},
        hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>",
    ))
    # Suppressed and empty cells: grey squares so they read as "not shown", not as zero.
    xs, ys, labels = [], [], []
    for i in range(len(audiences)):
        for j in range(len(formats)):
            if z[i][j] is None:
                xs.append(xl[j])
                ys.append(yl[i])
                labels.append(text[i][j])
    if xs:
        fig.add_trace(Scatter(
            x=xs, y=ys, mode="markers+text", text=labels, textfont={"size": 11, "color": "#333"},
            marker={"symbol": "square", "size": 60, "color": SUPPRESSED_COLOUR, "opacity": 0.45},
            hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>", showlegend=False,
            name="suppressed",
        ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    figure_layout(fig, height=120 + 70 * len(audiences), legend=False)
    n_sup = sum(1 for r in rows if r["suppressed"])
    n = sum(r["n_pairs"] for r in rows if not r["suppressed"])
    notes = [(f"{n_sup} cell(s) not shown." if access.is_sponsor() else
              f"{n_sup} cell(s) suppressed: {common.hidden_reason(m)}.")] if n_sup else []
    return Chart(title=title,
                 subtitle=f"n = {n:,} matched pairs in the cells shown; positive g = improvement",
                 figure=fig, narrow=_cell_list(audiences, formats, text), records=_records(rows),
                     columns=_columns(app_ctx, state, rows), notes=notes,
                 filename=filename)


def build_distribution(app_ctx, state) -> Chart:
    wf, wt, scale = _title_bits(app_ctx, state)
    m = app_ctx.min_cell
    dist = change_distribution(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf,
                               wave_to=wt, filters=common.filters(app_ctx, state))
    title = f"{scale['name']}: individual change, {label('wave', wf)} → {label('wave', wt)} " \
            "(points, improvement +)"
    columns = [("bin", "Change (bin centre, points)"), ("n", "People"),
               ("suppressed", "Not shown")]
    filename = common.slug("explorer-change-distribution", scale["scale_id"], wf, wt) + ".csv"
    if dist["suppressed"]:
        return Chart(title=title, empty=_none_shown("figure", m), columns=columns,
                     filename=filename)
    shown = [b for b in dist["bins"] if not b["suppressed"]]
    hidden = [b for b in dist["bins"] if b["suppressed"]]
    fig = Figure(Bar(
        x=[b["bin"] for b in shown], y=[b["n"] for b in shown], width=dist["bin_width"] * 0.95,
        marker_color=OKABE_ITO["blue"], name="people",
        hovertemplate="change %{x:+.1f}: %{y:,} people<extra></extra>",
    ))
    if hidden:
        fig.add_trace(Scatter(
            x=[b["bin"] for b in hidden], y=[0] * len(hidden), mode="markers",
            marker={"symbol": "triangle-up", "size": 10, "color": SUPPRESSED_COLOUR},
            name="not shown",
            hovertemplate="change %{x:+.1f}: not shown<extra></extra>",
        ))
    threshold = dist["threshold"]
    if threshold:
        for x in (-threshold, threshold):
            fig.add_vline(x=x, line_dash="dash", line_color=OKABE_ITO["vermillion"])
        fig.add_annotation(x=threshold, y=1, yref="paper", text="reliable change",
                           showarrow=False, xanchor="left", font={"size": 11})
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.update_xaxes(title="Individual change (points; positive = improvement)")
    fig.update_yaxes(title="People")
    figure_layout(fig, height=360)
    notes = [(f"{len(hidden)} bin(s) not shown." if access.is_sponsor() else
              f"{len(hidden)} bin(s) not drawn: {common.hidden_reason(m)}.")] if hidden else []
    return Chart(title=title, subtitle=f"n = {dist['n_pairs']:,} matched pairs",
                 figure=fig, records=dist["bins"], columns=columns, notes=notes,
                 filename=filename)


def build_reliable(app_ctx, state) -> Chart:
    wf, wt, scale = _title_bits(app_ctx, state)
    m = app_ctx.min_cell
    dim = "audience" if state.get("by") == "audience" else "format"
    f = common.filters(app_ctx, state)
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf, wave_to=wt,
                        by=(dim,), filters=f, p_adj=False)  # reliable change only
    overall = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf, wave_to=wt,
                           by=(), filters=f, p_adj=False)
    title = f"{scale['name']}: reliable change by {dim}, {label('wave', wf)} → " \
            f"{label('wave', wt)} (% of matched pairs)"
    columns = [("group", dim.capitalize()), ("n_pairs", "Matched pairs"),
               ("pct_reliable_improved", "% reliably improved"),
               ("pct_reliable_improved_ci_low", "% reliably improved, 95% CI low"),
               ("pct_reliable_improved_ci_high", "% reliably improved, 95% CI high"),
               ("pct_no_reliable_change", "% no reliable change"),
               ("pct_reliable_deteriorated", "% reliably worsened"),
               ("reliable_threshold", "Threshold (points)"), ("suppressed", "Not shown")]
    filename = common.slug("explorer-reliable-change", scale["scale_id"], wf, wt, dim) + ".csv"
    records = [{"group": "All matching cohorts", **r} for r in overall] + [
        {"group": label(dim, r[dim]), **r} for r in rows]
    records = [{k: r.get(k) for k, _ in columns} for r in records]
    shown = [r for r in records if not r["suppressed"]]
    if not shown:
        return Chart(title=title, empty=_none_shown("figure", m), columns=columns,
                     records=records, filename=filename)
    if shown[0]["pct_reliable_improved"] is None:
        return Chart(title=title, empty="This scale has no reliable-change threshold (no "
                     "pre-training SD or reliability).", records=records, columns=columns,
                     filename=filename)
    fig = Figure()
    ylab = [f"{r['group']} (n = {r['n_pairs']:,})" for r in shown]
    improved_ci = [" (95% CI " + fmt_pct_ci(r["pct_reliable_improved_ci_low"],
                                            r["pct_reliable_improved_ci_high"], 1) + ")"
                   for r in shown]
    for key, name, colour in (
        ("pct_reliable_improved", "Reliably improved", CHANGE_COLOURS["improved"]),
        ("pct_no_reliable_change", "No reliable change", CHANGE_COLOURS["unchanged"]),
        ("pct_reliable_deteriorated", "Reliably worsened", CHANGE_COLOURS["deteriorated"]),
    ):
        fig.add_trace(Bar(
            y=ylab, x=[r[key] for r in shown], orientation="h", name=name,
            marker_color=colour, text=[f"{r[key]:.0f}%" for r in shown],
            textposition="inside", insidetextanchor="middle",
            customdata=improved_ci if key == "pct_reliable_improved" else [""] * len(shown),
            hovertemplate="%{y}<br>" + name + ": %{x:.1f}%%{customdata}<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="% of matched pairs", range=[0, 100])
    fig.update_yaxes(autorange="reversed", type="category")
    figure_layout(fig, height=120 + 45 * len(shown))
    hidden = [r["group"] for r in records if r["suppressed"]]
    notes = [f"Not shown{_why(m)}: {', '.join(hidden)}."] if hidden else []
    return Chart(title=title,
                 subtitle=f"n = {shown[0]['n_pairs']:,} matched pairs; threshold "
                          f"{fmt(shown[0]['reliable_threshold'])} points",
                 figure=fig, records=records, columns=columns, notes=notes, filename=filename)


CHARTS = (
    ChartSpec(
        "explorer-dumbbell", "Mean score before and after, by audience and format",
        "Dots: mean score of the matched pairs at each wave. The bar on the later dot is the "
        "95% CI of that group's paired change (paired t), one group at a time: it is not a "
        "test between groups (overlapping intervals do not mean no difference) nor adjusted "
        "for the many groups shown; for that, read the Benjamini-Hochberg adjusted p in the "
        "table.",
        build_dumbbell),
    ChartSpec(
        "explorer-heatmap", "Effect size g by audience (rows) and format (columns)",
        "g = standardised mean change (change / pre-training SD, small-sample corrected; "
        "metafor SMCR), with its 95% CI in each cell. Hidden cells are marked "
        "'not shown' and left blank; the table's p values are Benjamini-Hochberg adjusted over "
        "the family its heading names.",
        build_heatmap),
    ChartSpec(
        "explorer-distribution", "Distribution of individual change",
        "Each person's change (later minus earlier score, signed so improvement is positive) "
        "in bins 0.5 points wide. Dashed lines: the reliable-change threshold. Bins not shown "
        "are not drawn (the notes say how many).",
        build_distribution),
    ChartSpec(
        "explorer-reliable", "Reliable change: share improved, unchanged, worsened",
        "Jacobson & Truax reliable change index: change beyond 1.96 × S_diff, where S_diff = "
        "√2 × pre-training SD (all participants) × √(1 − reliability); reliability is the "
        "scale's declared value or its baseline Cronbach alpha. The share reliably improved "
        "has a 95% Wilson score interval (Wilson 1927), in the hover and the table.",
        build_reliable),
)
