"""Evidence: published studies pooled, our programmes against them, the gap map, tiers."""

from __future__ import annotations

from dash import html

from dashboard.components import Chart, with_design_note
from dashboard.figures import Figure, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout
from dashboard.style import OKABE_ITO, SUPPRESSED_COLOUR, TIER_COLOURS, figure_layout, fmt, label
from schemas.contract import AUDIENCES
from warehouse.evidence import evidence, gap_map, pooled_evidence, program_evidence

KEY, PATH, NAME = "evidence", "/evidence", "Evidence"


def layout(app_ctx) -> html.Div:
    return page_layout(
        "Evidence",
        with_design_note(
            "How do our programmes' results compare with published studies, and where is "
            "evidence missing?"), CHARTS)


def build_forest(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    m = app_ctx.min_cell
    studies = [s for s in evidence(app_ctx.db)]
    pooled = pooled_evidence(app_ctx.db)
    progs = program_evidence(app_ctx.db, scale_id=scale["scale_id"],
                             filters=common.filters(app_ctx, state))
    title = "Effect sizes: published studies, pooled estimate and our programmes"
    columns = [("kind", "Source"), ("label", "Study / programme"), ("domain", "Outcome domain"),
               ("n", "n"), ("es", "Effect size"), ("ci_low", "95% CI low"),
               ("ci_high", "95% CI high"), ("tier", "Tier"), ("suppressed", "Not shown")]
    records = []
    for s in studies:
        records.append({"kind": "Study" + (" (synthetic)" if s["synthetic"] else ""),
                        "label": s["citation"], "domain": s["outcome_domain"], "n": s["n"],
                        "es": s["es"], "ci_low": s["es_ci_low"], "ci_high": s["es_ci_high"],
                        "tier": s["tier"], "suppressed": False})
    if pooled:
        records.append({"kind": "Pooled (REML)", "label": f"All studies (k = {pooled['k']})",
                        "domain": "all", "n": None, "es": pooled["mu"],
                        "ci_low": pooled["ci_low"], "ci_high": pooled["ci_high"],
                        "tier": None, "suppressed": False})
    for p in progs:
        records.append({"kind": "Our programme", "label": p["program_name"],
                        "domain": scale["domain"], "n": p.get("n_pairs"), "es": p.get("g"),
                        "ci_low": p.get("g_ci_low"), "ci_high": p.get("g_ci_high"),
                        "tier": p.get("tier"), "suppressed": p["suppressed"]})
    filename = common.slug("evidence-forest", scale["scale_id"]) + ".csv"
    plotted = [r for r in records if r["es"] is not None and not r["suppressed"]]
    if not plotted:
        return Chart(title=title, empty="No studies or programmes with an effect size to show.",
                     records=records, columns=columns, filename=filename)
    fig = Figure()
    ylabels = []

    def add(rows, name, colour, symbol, size):
        if not rows:
            return
        ys = [f"{r['label'][:60]} (n = {fmt(r['n'], 0) if r['n'] else '–'})" for r in rows]
        ylabels.extend(ys)
        fig.add_trace(Scatter(
            x=[r["es"] for r in rows], y=ys, mode="markers", name=name,
            marker={"color": colour, "symbol": symbol, "size": size},
            error_x={"type": "data", "symmetric": False,
                     "array": [r["ci_high"] - r["es"] for r in rows],
                     "arrayminus": [r["es"] - r["ci_low"] for r in rows], "color": colour},
            customdata=[[r["domain"], r["ci_low"], r["ci_high"]] for r in rows],
            hovertemplate="%{y}<br>%{customdata[0]}: %{x:.2f} (95% CI %{customdata[1]:.2f} to "
                          "%{customdata[2]:.2f})<extra></extra>",
        ))

    add([r for r in plotted if r["kind"].startswith("Study")], "Published study", "#444",
        "square", 9)
    if pooled:
        y = f"Pooled, random effects (k = {pooled['k']}, I² = {pooled['i2']:.0f}%)"
        ylabels.append(y)
        fig.add_trace(Scatter(
            x=[pooled["ci_low"], pooled["mu"], pooled["ci_high"], pooled["mu"],
               pooled["ci_low"]],
            y=[y, y, y, y, y], mode="lines", fill="toself", name="Pooled estimate (95% CI)",
            line={"color": OKABE_ITO["black"], "width": 6},
            hovertemplate=f"Pooled g = {pooled['mu']:.2f} (95% CI {pooled['ci_low']:.2f} to "
                          f"{pooled['ci_high']:.2f}); prediction interval "
                          f"{pooled['pi_low']:.2f} to {pooled['pi_high']:.2f}<extra></extra>",
        ))
        fig.add_vrect(x0=pooled["pi_low"], x1=pooled["pi_high"], fillcolor=OKABE_ITO["sky_blue"],
                      opacity=0.15, line_width=0, layer="below")
        fig.add_vline(x=pooled["mu"], line_dash="dot", line_color=OKABE_ITO["black"])
    add([r for r in plotted if r["kind"] == "Our programme"],
        f"Our programme ({scale['domain']}, pre → post)", OKABE_ITO["vermillion"], "circle", 11)
    fig.add_vline(x=0, line_color="#555", line_width=1)
    fig.update_yaxes(autorange="reversed", type="category", categoryorder="array",
                     categoryarray=ylabels)
    fig.update_xaxes(title="Standardised mean<br>difference / change<br>(positive = improvement)")
    figure_layout(fig, height=140 + 24 * len(ylabels))
    hidden = [r["label"] for r in records if r["suppressed"]]
    notes = []
    if pooled:
        notes.append(f"Pooled estimate {pooled['mu']:.2f} (95% CI {pooled['ci_low']:.2f} to "
                     f"{pooled['ci_high']:.2f}); 95% prediction interval {pooled['pi_low']:.2f} "
                     f"to {pooled['pi_high']:.2f} (shaded); τ² = {pooled['tau2']:.3f}, "
                     f"I² = {pooled['i2']:.0f}%.")
    if any(s["synthetic"] for s in studies):
        notes.append("Studies marked synthetic are demo data, not real publications.")
    if hidden:
        notes.append(f"Programmes not shown ({common.hidden_reason(m)}): "
                     f"{', '.join(hidden)}.")
    k = pooled["k"] if pooled else 0
    return Chart(title=title, subtitle=f"k = {k} studies; our programmes on {scale['name']}",
                 figure=fig, records=records, columns=columns, notes=notes, filename=filename)


def build_gap(app_ctx, state) -> Chart:
    m = app_ctx.min_cell
    rows = gap_map(app_ctx.db, filters=common.filters(app_ctx, state))
    domains = list(dict.fromkeys(s["domain"] for s in app_ctx.options()["scales"]))
    for r in rows:
        if r["domain"] not in domains and r["domain"]:
            domains.append(r["domain"])
    audiences = list(AUDIENCES) + ([None] if any(r["audience"] is None for r in rows) else [])
    title = "Evidence-and-gap map: audience × outcome domain"
    columns = [("audience", "Audience"), ("domain", "Outcome domain"), ("source", "Source"),
               ("count", "Cohorts / studies"), ("n", "People"), ("tier", "Tier"),
               ("tier_label", "Tier label")]
    records = [{**r, "audience": label("audience", r["audience"]) if r["audience"]
                else "Any audience"} for r in rows]
    filename = "evidence-gap-map.csv"
    ylab = {a: label("audience", a) if a else "Any audience" for a in audiences}
    fig = Figure()
    filled = {(r["audience"], r["domain"]) for r in rows}
    gaps = [(a, d) for a in audiences for d in domains if (a, d) not in filled]
    if gaps:
        fig.add_trace(Scatter(
            x=[d for _, d in gaps], y=[ylab[a] for a, _ in gaps], mode="markers",
            marker={"symbol": "x-thin", "size": 14, "line": {"width": 2,
                                                             "color": SUPPRESSED_COLOUR}},
            name="Gap: no cohorts or studies",
            hovertemplate="%{y} · %{x}: gap (no evidence)<extra></extra>",
        ))
    biggest = max([r["count"] for r in rows] + [1])
    for source, symbol in (("Our cohorts", "circle"), ("Published studies", "diamond")):
        part = [r for r in rows if r["source"] == source]
        if not part:
            continue
        fig.add_trace(Scatter(
            x=[r["domain"] for r in part], y=[ylab[r["audience"]] for r in part],
            mode="markers", name=source,
            marker={"symbol": symbol, "size": [14 + 36 * (r["count"] / biggest) ** 0.5
                                               for r in part],
                    "color": [TIER_COLOURS[r["tier"]] for r in part],
                    "line": {"color": "#333", "width": 1}},
            customdata=[[r["count"], r["n"], r["tier"], r["tier_label"]] for r in part],
            hovertemplate="%{y} · %{x}<br>" + source + ": %{customdata[0]:,} (n = "
                          "%{customdata[1]:,})<br>tier %{customdata[2]} (%{customdata[3]})"
                          "<extra></extra>",
            xaxis="x", offsetgroup=source,
        ))
    # Tier legend (colour key) as invisible markers.
    for tier, colour in enumerate(TIER_COLOURS):
        fig.add_trace(Scatter(x=[None], y=[None], mode="markers", name=f"Tier {tier}",
                                 marker={"color": colour, "size": 12, "line": {"width": 1}}))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=domains, side="top")
    fig.update_yaxes(type="category", categoryorder="array",
                     categoryarray=[ylab[a] for a in audiences], autorange="reversed")
    figure_layout(fig, height=520)
    n_gaps = len(gaps)
    return Chart(title=title,
                 subtitle=f"{len(rows)} filled cells; {n_gaps} gaps (no cohorts with at least "
                          f"{m} matched pairs and no studies)",
                 figure=fig, records=records, columns=columns, filename=filename,
                 notes=["Circles: our cohorts; diamonds: published studies. Local tiers use "
                        "the matched pairs in the cell only (attrition and follow-up are rated "
                        "per programme below)."])


def build_tiers(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    progs = program_evidence(app_ctx.db, scale_id=scale["scale_id"],
                             filters=common.filters(app_ctx, state))
    title = f"Local evidence tier per programme ({scale['name']}, pre → post)"
    columns = [("program", "Programme id"), ("program_name", "Programme"),
               ("n_pairs", "Matched pairs"), ("attrition_pct", "Attrition % (post)"),
               ("followup_months", "Longest follow-up (months)"), ("tier", "Tier"),
               ("tier_label", "Tier label"), ("reasons_text", "Reasons"),
               ("suppressed", "Not shown")]
    records = [{**p, "reasons_text": " ".join(p.get("reasons") or [])} for p in progs]
    records = [{k: r.get(k) for k, _ in columns} for r in records]
    filename = common.slug("evidence-tiers", scale["scale_id"]) + ".csv"
    if not progs:
        return Chart(title=title, empty="No cohorts match these filters.", columns=columns,
                     filename=filename)
    items = []
    for p in progs:
        if p["suppressed"]:
            items.append(html.Li(className="tier-item suppressed", children=[
                html.Strong(p["program_name"]),
                ": tier not shown."]))
            continue
        items.append(html.Li(className="tier-item", children=[
            html.Span(f"Tier {p['tier']}", className=f"tier-badge tier-{p['tier']}"),
            html.Strong(f" {p['program_name']} "),
            html.Span(f"({p['tier_label']}; n = {p['n_pairs']:,} matched pairs, attrition "
                      f"{fmt(p['attrition_pct'], 0)}%, follow-up "
                      f"{fmt(p['followup_months'], 0) if p['followup_months'] else 'none'} "
                      "months)"),
            html.Ul([html.Li(reason) for reason in p["reasons"]], className="reasons"),
        ]))
    return Chart(title=title, subtitle=f"{len(progs)} programmes match the filters",
                 extra=html.Ul(items, className="tier-list"), records=records,
                 columns=columns, filename=filename)


CHARTS = (
    ChartSpec(
        "evidence-forest", "Published studies and our programmes (effect sizes)",
        "Studies: standardised mean difference yi with 95% CI (from yi and vi, or converted "
        "from the reported g and CI or pre/post means). Diamond: random-effects pooled "
        "estimate (REML) with its 95% CI; band: 95% prediction interval for a new study. Our "
        "programmes: g (SMCR) pre → post on the chosen scale, same axis: change within the "
        "same people, where most studies compare groups, so the two are not the same "
        "quantity.",
        build_forest),
    ChartSpec(
        "evidence-gap", "Evidence-and-gap map: audience × outcome domain",
        "Bubble size = number of our cohorts (pre → post, enough matched pairs) or of "
        "published studies; colour = evidence tier (0-5, stats.tiers). Empty cells are gaps.",
        build_gap),
    ChartSpec(
        "evidence-tiers", "Our programmes' local evidence tier",
        "Tier rules from stats.tiers (EEF padlocks / CEBC style): design, matched pre/post "
        "pairs on the chosen scale, attrition by the end of training and the longest "
        "follow-up with enough matched pairs. Rates how far the data can be trusted, not how "
        "large the effect is.",
        build_tiers),
)
