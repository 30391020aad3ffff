"""Outcomes (for sponsors): headline numbers with plain-language sentences."""

from __future__ import annotations

from dash import html

from dashboard import access
from dashboard.components import Chart, with_design_note
from dashboard.figures import Figure, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.report_download import download_links
from dashboard.style import (
    OKABE_ITO,
    SUPPRESSED_TEXT,
    figure_layout,
    fmt,
    fmt_pct,
    fmt_pct_ci,
    label,
)
from warehouse.catalog import cohort_count
from warehouse.followup import people
from warehouse.outcomes import change_family, group_change
from warehouse.plain_words import change_sentence

KEY, PATH, NAME = "overview", "/", "Outcomes"


def layout(app_ctx) -> html.Div:
    page = page_layout(
        "Outcomes",
        with_design_note(
            "Scores before and after training in the cohorts matching the filters. Every "
            "number compares the same people at both surveys (matched pairs)."), CHARTS)
    page.children.insert(2, download_links(app_ctx))  # after the lead: the outcomes report
    return page


def _sentence(row: dict, scale: dict, wf: str, wt: str) -> str:
    if access.is_sponsor():  # plain words for sponsors (warehouse.plain_words); evaluators: g
        return change_sentence(row, scale, wf, wt)
    raw = (row["mean_to"] or 0) - (row["mean_from"] or 0)
    verb = "rose" if raw > 0 else "fell" if raw < 0 else "did not change"
    better = row["mean_change"] is not None and row["mean_change"] > 0
    quality = "an improvement" if better else "a worsening"
    return (
        f"{scale['name']} {verb} by {abs(raw):.2f} points on a "
        f"{scale['min_value']:g}–{scale['max_value']:g} scale ({quality}) from "
        f"{label('wave', wf).lower()} to {label('wave', wt).lower()}: "
        f"g = {fmt(row['g'])}, 95% CI {fmt(row['g_ci_low'])} to {fmt(row['g_ci_high'])}, "
        f"n = {row['n_pairs']:,} matched pairs."
    )


def _card(title: str, value: str, detail: str, testid: str) -> html.Div:
    return html.Div(className="stat-card", **{"data-testid": testid}, children=[
        html.P(title, className="stat-title"),
        html.P(value, className="stat-value"),
        html.P(detail, className="stat-detail"),
    ])


def build_headline(app_ctx, state) -> Chart:
    wf, wt = common.check_waves(app_ctx, state)
    f = common.filters(app_ctx, state)
    m = app_ctx.min_cell
    everyone = people(app_ctx.db, filters=f)
    n_cohorts = cohort_count(app_ctx.db, f)
    if not everyone:
        return Chart(title="Headline results", empty="No cohorts match these filters.",
                     filename="overview-headline.csv")
    who = everyone[0]
    scale = common.scale_info(app_ctx, state)
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wf, wave_to=wt,
                        by=(), filters=f)
    main = rows[0] if rows else None
    cards = [_card("People trained", common_n(who["n_people"], m),
                   f"in {n_cohorts:,} cohorts matching the filters", "card-people")]
    if main and not main["suppressed"]:
        share_ci = fmt_pct_ci(main["pct_reliable_improved_ci_low"],
                              main["pct_reliable_improved_ci_high"])
        cards += [
            _card("Matched pairs", f"{main['n_pairs']:,}",
                  f"answered {scale['name'].lower()} both {label('wave', wf).lower()} and "
                  f"{label('wave', wt).lower()}", "card-pairs"),
            _card("Reliably improved", fmt_pct(main["pct_reliable_improved"]),
                  f"95% CI {share_ci}; changed by more than "
                  f"{fmt(main['reliable_threshold'])} points (measurement error); "
                  f"{fmt_pct(main['pct_reliable_deteriorated'])} reliably worsened",
                  "card-reliable"),
            _card("Effect size g", fmt(main["g"]),
                  f"95% CI {fmt(main['g_ci_low'])} to {fmt(main['g_ci_high'])}", "card-g"),
        ]
    else:
        cards.append(_card("Matched pairs", SUPPRESSED_TEXT,
                           common.too_few("figure", m), "card-pairs"))
    sentences = []
    records = []
    # One multiplicity family: every scale shown here (warehouse.outcomes.change_family).
    family = change_family(app_ctx.db, wave_from=wf, wave_to=wt, by=(), filters=f)
    for s in app_ctx.options()["scales"]:
        got = [row for row in family if row["scale_id"] == s["scale_id"]]
        if not got:
            continue
        r = got[0]
        rec = {"domain": s["domain"], "scale": s["name"], **{k: r[k] for k in (
            "n_pairs", "mean_from", "mean_to", "mean_change", "ci_low", "ci_high", "g",
            "g_ci_low", "g_ci_high", "pct_reliable_improved", "pct_reliable_improved_ci_low",
            "pct_reliable_improved_ci_high", "p_adj", "suppressed")}}
        records.append(rec)
        if r["suppressed"]:
            sentences.append(html.Li(f"{s['name']}: {SUPPRESSED_TEXT}.", className="suppressed"))
        else:
            sentences.append(html.Li(_sentence(r, s, wf, wt)))
    extra = html.Div([
        html.Div(cards, className="stat-grid"),
        html.H3("In plain words", className="h3"),
        html.Ul(sentences, className="sentences", **{"data-testid": "sentences"}),
    ])
    columns = [("domain", "Domain"), ("scale", "Scale"), ("n_pairs", "Matched pairs"),
               ("mean_from", "Mean before"), ("mean_to", "Mean after"),
               ("mean_change", "Mean change (improvement +)"), ("ci_low", "Change CI low"),
               ("ci_high", "Change CI high"), ("g", "g"), ("g_ci_low", "g CI low"),
               ("g_ci_high", "g CI high"), ("pct_reliable_improved", "% reliably improved"),
               ("pct_reliable_improved_ci_low", "% reliably improved, 95% CI low"),
               ("pct_reliable_improved_ci_high", "% reliably improved, 95% CI high"),
               ("p_adj", common.p_adj_label(sum(r["p_adj"] is not None for r in family),
                                             "scales of this table")), ("suppressed", "Not shown")]
    return Chart(
        title=f"Headline results: {label('wave', wf)} → {label('wave', wt)}",
        subtitle=f"{common_n(who['n_people'], m)} people in {n_cohorts:,} cohorts; "
                 f"{f.describe()}",
        extra=extra, records=records, columns=columns,
        filename=common.slug("overview-headline", wf, wt) + ".csv",
    )


def common_n(n, m) -> str:
    return SUPPRESSED_TEXT if n is None else f"{n:,}"


def build_effects(app_ctx, state) -> Chart:
    wf, wt = common.check_waves(app_ctx, state)
    f = common.filters(app_ctx, state)
    m = app_ctx.min_cell
    records, suppressed = [], []
    family = change_family(app_ctx.db, wave_from=wf, wave_to=wt, by=(), filters=f)
    for s in app_ctx.options()["scales"]:
        got = [row for row in family if row["scale_id"] == s["scale_id"]]
        if not got:
            continue
        r = got[0]
        if r["suppressed"] or r["g"] is None:
            suppressed.append(s["name"])
            continue
        records.append({"domain": s["domain"], "scale": s["name"], "n_pairs": r["n_pairs"],
                        "g": r["g"], "g_ci_low": r["g_ci_low"], "g_ci_high": r["g_ci_high"],
                        "mean_change": r["mean_change"], "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"]})
    title = f"Effect size by outcome domain, {label('wave', wf)} → {label('wave', wt)} (g, 95% CI)"
    notes = [f"Not shown ({common.hidden_reason(m)}): {', '.join(suppressed)}."] \
        if suppressed else []
    columns = [("domain", "Domain"), ("scale", "Scale"), ("n_pairs", "Matched pairs"),
               ("g", "g"), ("g_ci_low", "g CI low"), ("g_ci_high", "g CI high"),
               ("mean_change", "Mean change"), ("ci_low", "Change CI low"),
               ("ci_high", "Change CI high")]
    filename = common.slug("overview-effects", wf, wt) + ".csv"
    if not records:
        return Chart(title=title, empty=common.too_few("figure", m), notes=notes,
                     columns=columns, filename=filename)
    labels = [f"{r['domain']} (n = {r['n_pairs']:,})" for r in records]
    fig = Figure(Scatter(
        x=[r["g"] for r in records], y=labels, mode="markers",
        marker={"size": 12, "color": OKABE_ITO["blue"]},
        error_x={"type": "data", "symmetric": False,
                 "array": [r["g_ci_high"] - r["g"] for r in records],
                 "arrayminus": [r["g"] - r["g_ci_low"] for r in records],
                 "color": OKABE_ITO["blue"], "thickness": 2},
        customdata=[[r["scale"], r["g_ci_low"], r["g_ci_high"], r["n_pairs"]] for r in records],
        hovertemplate="%{customdata[0]}<br>g = %{x:.2f} (95% CI %{customdata[1]:.2f} to "
                      "%{customdata[2]:.2f})<br>n = %{customdata[3]:,}<extra></extra>",
        name="g",
    ))
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.update_xaxes(title="Standardised mean change g (positive = improvement)")
    fig.update_yaxes(autorange="reversed")
    figure_layout(fig, height=80 + 45 * len(records), legend=False)
    total = max(r["n_pairs"] for r in records)
    return Chart(title=title, subtitle=f"Matched pairs per scale up to n = {total:,}",
                 figure=fig, records=records, columns=columns, notes=notes, filename=filename)


CHARTS = (
    ChartSpec(
        "overview-headline", "Headline results",
        "Participants are counted once per cohort. Change = mean of each person's change; 95% "
        "CI from the paired t distribution; g = standardised mean change (change divided by "
        "the pre-training SD, small-sample corrected; metafor SMCR) with its 95% CI. Reliable "
        "improvement: change larger than 1.96 × the standard error of a difference (Jacobson "
        "& Truax), with its 95% Wilson interval. p adjusted by Benjamini-Hochberg over the "
        "scales of the table.",
        build_headline),
    ChartSpec(
        "overview-effects", "Effect size by outcome domain (g, 95% CI)",
        "One point per scale: standardised mean change g with its 95% CI; positive = "
        "improvement (burnout is reversed).",
        build_effects),
)
