"""Data quality: ingest runs, quarantine, missing items, flags and reliability."""

from __future__ import annotations

from dash import html

from dashboard import access
from dashboard.components import Chart, data_table
from dashboard.figures import Bar, Figure, Heatmap, Scatter
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import GREY, OKABE_ITO, SHORT_WAVE, figure_layout, label
from schemas.contract import WAVE_ORDER
from warehouse.quality import (
    ingest_runs,
    item_missingness,
    linkage_rates,
    quarantine_by_rule,
    quarantine_rows,
    reliability_by_wave,
    response_flags,
)

KEY, PATH, NAME = "quality", "/quality", "Data quality"
NOT_ASKED_COLOUR = GREY  # the missingness map's cells of a scale not asked at that wave
NOT_ASKED_WORDS = "grey = scale not asked at that wave"
FILTERS = False  # no filter applies here: the frame shows no panel
# The whole database (every sponsor's rows) and the quarantine: not for sponsors.
ROLES = ("admin", "evaluator", "researcher")


def layout(app_ctx) -> html.Div:
    return page_layout(
        "Data quality",
        "What was loaded, what was set aside and why, and how complete and consistent the "
        "answers are. This page covers the whole database (filters do not apply).", CHARTS)


def in_wave_order(waves) -> list[str]:
    """The distinct waves, in the contract's order (pre, post, then the follow-ups)."""
    return sorted(set(waves), key=lambda w: (WAVE_ORDER.get(w, len(WAVE_ORDER)), w))


def build_runs(app_ctx, state) -> Chart:
    rows = ingest_runs(app_ctx.db)
    columns = [("finished_at", "Finished (UTC)"), ("run_id", "Run"), ("source", "File"),
               ("kind", "Kind"), ("status", "Status"), ("rows_read", "Read"),
               ("rows_loaded", "Loaded"), ("rows_quarantined", "Quarantined"),
               ("rows_skipped", "Skipped"), ("rows_replaced", "Replaced"),
               ("encoding", "Encoding"), ("message", "Message")]
    records = [{k: (str(r[k]) if k == "finished_at" else r.get(k)) for k, _ in columns}
               for r in rows]
    if not rows:
        return Chart(title="Ingest runs", empty="Nothing has been ingested yet.",
                     columns=columns, filename="ingest-runs.csv")
    loaded = sum(r["rows_loaded"] for r in rows if r["kind"] == "responses")
    quarantined = sum(r["rows_quarantined"] for r in rows)
    return Chart(
        title="Ingest runs: files read, rows loaded and quarantined",
        subtitle=f"{len(rows)} file loads; {loaded:,} response rows loaded, {quarantined:,} "
                 "rows quarantined",
        extra=html.Div(data_table(columns, records, table_id="ingest-runs-table"),
                       className="table-scroll"),
        records=records, columns=columns, filename="ingest-runs.csv")


def build_quarantine(app_ctx, state) -> Chart:
    rows = quarantine_by_rule(app_ctx.db)
    columns = [("rule", "Rule"), ("n_rows", "Rows"), ("example_reason", "Example reason")]
    title = "Quarantined rows by rule (rows)"
    if not rows:
        return Chart(title=title, empty="No rows were quarantined: every row met the input "
                     "contract.", columns=columns, filename="quarantine-by-rule.csv")
    fig = Figure(Bar(
        y=[r["rule"] for r in rows], x=[r["n_rows"] for r in rows], orientation="h",
        marker_color=OKABE_ITO["vermillion"], text=[r["n_rows"] for r in rows],
        textposition="outside", customdata=[[r["example_reason"]] for r in rows],
        hovertemplate="%{y}: %{x:,} rows<br>e.g. %{customdata[0]}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="Rows quarantined")
    figure_layout(fig, height=120 + 32 * len(rows), legend=False)
    return Chart(title=title, subtitle=f"{len(rows)} rules broken",
                 figure=fig, records=rows, columns=columns, filename="quarantine-by-rule.csv")


def build_rows(app_ctx, state) -> Chart:
    columns = [("source", "File"), ("source_row", "Row"), ("rules", "Rules"),
               ("reasons", "Reasons"), ("raw", "Row as read (JSON)")]
    title = "Quarantined rows"
    if not access.sees_quarantined_rows():
        return Chart(title=title, empty="The quarantined rows themselves are shown to the "
                     "evaluator and admin roles only; counts by rule are above.", columns=columns,
                     filename="quarantined-rows.csv")
    rows = quarantine_rows(app_ctx.db)
    records = [{k: r[k] for k, _ in columns} for r in rows]
    if not rows:
        return Chart(title=title, empty="No rows were quarantined.", columns=columns,
                     filename="quarantined-rows.csv")
    shown = [c for c in columns if c[0] != "raw"]  # the JSON is in the CSV and the table view
    return Chart(title=title, subtitle=f"{len(rows):,} rows (latest 1,000 at most); the rows "
                 "as read (JSON) are in the CSV and the table view",
                 extra=html.Div(data_table(shown, records), className="table-scroll"),
                 records=records, columns=columns, filename="quarantined-rows.csv")


def build_missing(app_ctx, state) -> Chart:
    rows = item_missingness(app_ctx.db)
    columns = [("wave", "Wave"), ("scale_id", "Scale"), ("item_id", "Item"),
               ("responses", "Responses"), ("pct_missing", "% blank")]
    title = "Item missingness by wave (% of responses left blank)"
    if not rows:
        return Chart(title=title, empty="No responses loaded yet.", columns=columns,
                     filename="item-missingness.csv")
    items = list(dict.fromkeys(r["item_id"] for r in rows))
    waves = in_wave_order(r["wave"] for r in rows)
    cell = {(r["item_id"], r["wave"]): r["pct_missing"] for r in rows}
    z = [[cell.get((i, w)) for w in waves] for i in items]
    x = [SHORT_WAVE.get(w, w) for w in waves]
    fig = Figure(Heatmap(
        z=z, y=items, x=x, colorscale=[[0, "#f7fbff"], [1, OKABE_ITO["vermillion"]]], zmin=0,
        colorbar={"title": {"text": "% blank"}, "thickness": 12}, xgap=1, ygap=1,
        hovertemplate="%{y} at %{x}: %{z:.1f}% blank<extra></extra>",
    ))
    # The cells of a scale not asked at a wave, drawn in NOT_ASKED_COLOUR (a mid grey: apart
    # from the white-to-vermillion scale by lightness, so also without colour vision).
    fig.add_trace(Heatmap(
        z=[[1 if v is None else None for v in row] for row in z], y=items, x=x,
        colorscale=[[0, NOT_ASKED_COLOUR], [1, NOT_ASKED_COLOUR]], showscale=False,
        xgap=1, ygap=1, hovertemplate="%{y} at %{x}: scale not asked<extra></extra>",
    ))
    figure_layout(fig, height=120 + 15 * len(items), legend=False)
    # Fixed margins: automargin with many category ticks made Plotly relayout for seconds.
    fig.update_xaxes(type="category", automargin=False, side="top")
    fig.update_yaxes(type="category", automargin=False, autorange="reversed",
                     tickfont={"size": 10})
    fig.update_layout(margin={"l": 80, "r": 20, "t": 40, "b": 20})
    n = max(r["responses"] for r in rows)
    return Chart(title=title, subtitle=f"Up to {n:,} responses per wave; {NOT_ASKED_WORDS}",
                 figure=fig, records=rows, columns=columns, filename="item-missingness.csv")


def build_flags(app_ctx, state) -> Chart:
    rows = response_flags(app_ctx.db)
    columns = [("wave", "Wave"), ("responses", "Responses"),
               ("straightlining", "Straightlining"), ("item_missingness", "Item missingness"),
               ("speeding", "Speeding"), ("mean_missing_share", "Mean share of items blank")]
    title = "Quality flags by wave (% of responses)"
    if not rows:
        return Chart(title=title, empty="No responses loaded yet.", columns=columns,
                     filename="quality-flags.csv")
    fig = Figure()
    for key, name, colour in (("straightlining", "Straightlining", OKABE_ITO["orange"]),
                              ("item_missingness", "Item missingness", OKABE_ITO["blue"]),
                              ("speeding", "Speeding", OKABE_ITO["reddish_purple"])):
        fig.add_trace(Bar(
            x=[label("wave", r["wave"]) for r in rows],
            y=[100.0 * r[key] / r["responses"] for r in rows], name=name, marker_color=colour,
            customdata=[[r[key], r["responses"]] for r in rows],
            hovertemplate=name + " · %{x}: %{y:.1f}% (%{customdata[0]:,} of "
                                 "%{customdata[1]:,})<extra></extra>",
        ))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="% of responses")
    figure_layout(fig, height=360)
    total = sum(r["responses"] for r in rows)
    return Chart(title=title, subtitle=f"n = {total:,} responses", figure=fig, records=rows,
                 columns=columns, filename="quality-flags.csv")


def build_alpha(app_ctx, state) -> Chart:
    m = app_ctx.min_cell
    rows = reliability_by_wave(app_ctx.db)
    columns = [("scale_id", "Scale"), ("scale", "Name"), ("wave", "Wave"), ("k", "Items"),
               ("n", "Complete responses"), ("alpha", "Alpha"), ("ci_low", "CI low"),
               ("ci_high", "CI high"), ("suppressed", "Not shown")]
    title = "Cronbach's alpha by scale and wave (95% CI)"
    shown = [r for r in rows if not r["suppressed"] and r["alpha"] is not None]
    if not shown:
        return Chart(title=title, empty=f"Too few complete responses to show: fewer than {m}.",
                     records=rows, columns=columns, filename="reliability.csv")
    fig = Figure()
    waves = in_wave_order(r["wave"] for r in shown)  # the legend: pre, post, follow-ups
    palette = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "reddish_purple",
                                      "vermillion")]
    for i, w in enumerate(waves):
        part = [r for r in shown if r["wave"] == w]
        fig.add_trace(Scatter(
            x=[r["alpha"] for r in part], y=[r["scale_id"] for r in part], mode="markers",
            orientation="h", name=label("wave", w),
            marker={"size": 10, "color": palette[i % len(palette)]},
            error_x={"type": "data", "symmetric": False,
                     "array": [r["ci_high"] - r["alpha"] for r in part],
                     "arrayminus": [r["alpha"] - r["ci_low"] for r in part]},
            customdata=[[r["scale"], r["n"]] for r in part],
            hovertemplate="%{customdata[0]} · " + label("wave", w) +
                          ": alpha %{x:.2f}, n = %{customdata[1]:,}<extra></extra>",
        ))
    # The 0.7 line behind the points (a shape is drawn above the traces by default), and each
    # wave's point beside the others on its scale's row rather than on top of them.
    fig.add_vline(x=0.7, line_dash="dash", line_color="#777", layer="below")
    fig.update_xaxes(title="Cronbach's alpha")
    fig.update_yaxes(type="category", title="Scale")
    figure_layout(fig, height=380)
    fig.update_layout(scattermode="group", scattergap=0.5)
    return Chart(title=title, subtitle=f"{len(shown)} scale × wave combinations",
                 figure=fig, records=rows, columns=columns, filename="reliability.csv")


def build_linkage(app_ctx, state) -> Chart:
    rows = linkage_rates(app_ctx.db)
    columns = [("cohort_id", "Cohort"), ("wave_from", "From wave"), ("wave_to", "To wave"),
               ("candidates", "Responses to link"), ("exact_matches", "Exact matches"),
               ("fuzzy_matches", "Matches within tolerance"), ("unmatched", "Unmatched"),
               ("match_rate", "Match rate (%)"), ("tolerance", "Tolerance (components)")]
    title = "Linking anonymous waves by self-generated code: match rate per cohort"
    if not rows:
        return Chart(title=title, empty="No export was linked by a self-generated code "
                     "(declared under linking: in a mapping file).", columns=columns,
                     filename="linkage.csv")
    records = [{k: ("suppressed" if r["suppressed"] and r[k] is None else r[k])
                for k, _ in columns} for r in rows]
    hidden = sum(r["suppressed"] for r in rows)
    note = f"; {hidden} cohort(s) with fewer than {app_ctx.min_cell} responses to link not shown" \
        if hidden else ""
    return Chart(title=title, subtitle=f"{len(rows)} cohort × wave pairs{note}",
                 extra=html.Div(data_table(columns, records), className="table-scroll"),
                 records=records, columns=columns, filename="linkage.csv")


CHARTS = (
    ChartSpec(
        "quality-runs", "Ingest runs: files read, rows loaded and quarantined",
        "One row per input file per ingest run (table ingest_runs). For files that were not "
        "refused, rows read = rows loaded + rows quarantined + rows skipped (left out on "
        "purpose; the message says why).",
        build_runs),
    ChartSpec(
        "quality-linkage", "Linking anonymous waves: match rate per cohort",
        "Codes built from the components declared in the mapping; a match within tolerance "
        "differs in at most that many components and is unique in the cohort "
        "(docs/import.md).",
        build_linkage),
    ChartSpec(
        "quality-quarantine", "Quarantined rows by rule",
        "Rows that broke a rule of the input contract were set aside, not loaded. A row that "
        "broke two rules counts under both.",
        build_quarantine),
    ChartSpec(
        "quality-rows", "Quarantined rows",
        "The rows as read (participant codes replaced by their keyed hash), latest 1,000. "
        "Visible to the evaluator and admin roles only.",
        build_rows),
    ChartSpec(
        "quality-missing", "Item missingness by wave (% of responses left blank)",
        "Share of responses at each wave that left the item blank, for scales asked at that "
        "wave.",
        build_missing),
    ChartSpec(
        "quality-flags", "Quality flags by wave (% of responses)",
        "Straightlining: the same answer to every item of a scale with reverse-keyed items. "
        "Missingness: more than 20% of items blank. Speeding: under 2 seconds per item (where "
        "durations exist).",
        build_flags),
    ChartSpec(
        "quality-alpha", "Internal consistency: Cronbach's alpha by scale and wave",
        "Cronbach's alpha on complete responses with the Feldt 95% CI (stats.reliability). "
        "0.7 or more is usually considered acceptable.",
        build_alpha),
)
