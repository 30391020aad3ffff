"""Evidence: the published studies pooled per outcome domain (never across domains), how far
each domain's evidence can be trusted, and our programmes beside them but not on their axis.

A reader chooses an outcome domain on the page (``DOMAIN_ID``, radio buttons: usable by
keyboard and readable on a phone); it follows the domain of the scale chosen in the filters
until the reader picks another, and returns to it when the filters change. The domain's
forest, funnel, moderator and study-tier cards are drawn for it (``DOMAIN_CHARTS``); the
certainty card lists every domain, the gap map and the programmes' tiers are domain-free.

Our programmes' pre -> post change (g, a standardised mean change on the pre-training SD) is a
within-person change, not the between-group effect most studies report: it is drawn in a
separate, labelled panel on its own axis. A programme whose comparison arm counts as a
comparison-group design (``warehouse.comparison``) has a between-group effect, the ANCOVA
estimate over the pre-training SD, which may share the studies' axis. Synthetic demo studies
say "(synthetic)" in their labels, hovers, tables and downloads.
"""

from __future__ import annotations

import sys
from typing import Any

from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.components import Chart, chart_outputs, data_table, render, with_design_note
from dashboard.figures import Figure, Scatter
from dashboard.pages import common
from dashboard.pages.charts import ChartSpec, page_layout, safe_build
from dashboard.pages.evidence_figures import (
    BETWEEN_NAME,
    LOCAL_PANEL_TITLE,
    bubble_figure,
    forest_figure,
    funnel_figure,
    synthetic_label,
)
from dashboard.style import SUPPRESSED_COLOUR, TIER_COLOURS, figure_layout, fmt, fmt_ci, fmt_p
from dashboard.style import label as code_label
from schemas.contract import AUDIENCES
from stats.bias import MIN_STUDIES_FOR_BIAS, funnel_contours
from stats.metareg import bubble_points, moderator_analysis
from warehouse.comparison import compare_arms
from warehouse.errors import CannotShow
from warehouse.evidence import domain_evidence, evidence, gap_map, program_evidence

KEY, PATH, NAME = "evidence", "/evidence", "Evidence"
DOMAIN_ID = "evidence-domain"
MODERATOR = "year"  # the bubble plot's numeric moderator
SUBGROUP = "design"  # the subgroup analysis's study column
NOT_REPORTED = "not reported"
OBSERVATIONAL = ("Moderator and subgroup analyses are observational comparisons across "
                 "studies: studies differ in many ways at once, so a difference here does not "
                 "show what causes a larger effect.")
SYNTHETIC_NOTE = "Studies marked (synthetic) are demo data, not real publications."


def _chooser(options: list[dict[str, str]], value: str | None) -> html.Fieldset:
    return html.Fieldset(className="card domain-chooser", children=[
        html.Legend("Outcome domain: studies are pooled within one domain, never across"),
        dcc.RadioItems(id=DOMAIN_ID, options=options, value=value, inline=True,
                       className="domain-options", inputClassName="domain-input",
                       labelClassName="domain-label"),
    ])


def _page(chooser: html.Fieldset) -> html.Div:
    page = page_layout("Evidence", with_design_note(
        "How strong is the published evidence in each outcome domain, how do our programmes "
        "sit beside it, and where is evidence missing?"), CHARTS)
    page.children.insert(2, chooser)
    return page


def layout(app_ctx) -> html.Div:
    """The page without data: the chooser's domains come with the first state."""
    return _page(_chooser([], None))


def register(app, app_ctx) -> None:
    """The domain chooser: follows the filters' scale when they change, and redraws the
    domain's cards when the reader picks a domain."""
    page = sys.modules[__name__]

    @app.callback(Output(DOMAIN_ID, "options"), Output(DOMAIN_ID, "value"),
                  Input("state", "data"), State(DOMAIN_ID, "value"))
    def follow_scale(state, current):
        if not state:
            raise PreventUpdate
        try:
            default = chosen_domain(app_ctx, {k: v for k, v in state.items() if k != "domain"})
        except CannotShow:
            raise PreventUpdate from None
        return (domain_options(app_ctx),
                no_update if default == current else default)

    outputs = [Output(o.component_id, o.component_property, allow_duplicate=True)
               for spec in DOMAIN_CHARTS for o in chart_outputs(spec.id)]

    @app.callback(*outputs, Input(DOMAIN_ID, "value"), State("state", "data"),
                  prevent_initial_call=True)
    def choose_domain(domain, state):
        if not state or not domain:
            raise PreventUpdate
        chosen = {**state, "domain": domain}
        return tuple(value for spec in DOMAIN_CHARTS
                     for value in render(spec.id, safe_build(page, spec, app_ctx, chosen)))


# --- the chosen domain ---------------------------------------------------------------------

def domain_options(app_ctx) -> list[dict[str, str]]:
    """The chooser's choices: every outcome domain of the library, with its k."""
    return [{"label": f"{e['domain']} (k = {e['k']})", "value": e["domain"]}
            for e in domain_evidence(app_ctx.db)]


def chosen_domain(app_ctx, state: dict[str, Any]) -> str:
    """The domain the state names (``domain``), else the chosen scale's (which may have no
    studies), else the library's first."""
    names = [e["domain"] for e in domain_evidence(app_ctx.db)]
    if state.get("domain") in names:
        return state["domain"]
    scale = next((s for s in app_ctx.options()["scales"]
                  if s["scale_id"] == state.get("scale")), None)
    if scale:  # even one without studies: its programmes are still shown, in its domain
        return scale["domain"]
    if not names:
        raise CannotShow("The evidence library has no studies.")
    return names[0]


def _context(app_ctx, state: dict[str, Any]) -> tuple[dict, list[dict], dict | None]:
    """(domain entry, its studies with effect sizes and labels, the scale of ours that
    measures it: the chosen one if it does, else the first that does, else None)."""
    domain = chosen_domain(app_ctx, state)
    entry = next((e for e in domain_evidence(app_ctx.db) if e["domain"] == domain),
                 {"domain": domain, "k": 0, "pooled": None, "bias": None, "certainty": None,
                  "reason": f"The evidence library has no study of {domain}."})
    studies = [{**s, "label": synthetic_label(s["citation"], s["synthetic"]),
                "ci_low": s["es_ci_low"], "ci_high": s["es_ci_high"]}
               for s in evidence(app_ctx.db) if s["outcome_domain"] == domain
               and s["es"] is not None]
    scales = [s for s in app_ctx.options()["scales"] if s["domain"] == domain]
    scale = next((s for s in scales if s["scale_id"] == state.get("scale")),
                 scales[0] if scales else None)
    return entry, studies, scale


def _between(app_ctx, state, scale, progs) -> list[dict[str, Any]]:
    """Our programmes with a comparison arm that counts as a comparison-group design: the
    ANCOVA effect (scale points) over the programme's pre-training SD, a between-group SMD."""
    sd = {p["program"]: p.get("sd_from") for p in progs if not p["suppressed"]}
    try:
        result = compare_arms(app_ctx.db, scale["scale_id"], "post",
                              filters=common.filters(app_ctx, state))
    except CannotShow:  # not published to sponsors yet
        return []
    out = []
    for p in result["programs"]:
        s = sd.get(p["program_id"])
        if p["suppressed"] or not p.get("counts_as_comparison") or not s:
            continue
        a = p["ancova"]
        out.append({"label": f"{p['program_name']} vs its comparison arm", "n":
                    p["n_intervention"] + p["n_comparison"], "es": a["estimate"] / s,
                    "ci_low": a["ci_low"] / s, "ci_high": a["ci_high"] / s})
    return out


FOREST_COLUMNS = [("kind", "Source"), ("label", "Study / programme"),
                  ("domain", "Outcome domain"), ("design", "Design"), ("n", "n"),
                  ("es", "Effect size"), ("ci_low", "95% CI low"), ("ci_high", "95% CI high"),
                  ("quantity", "Quantity"), ("tier", "Tier"), ("synthetic", "Synthetic"),
                  ("suppressed", "Not shown")]


def build_forest(app_ctx, state) -> Chart:
    entry, studies, scale = _context(app_ctx, state)
    domain, pooled, m = entry["domain"], entry["pooled"], app_ctx.min_cell
    progs = (program_evidence(app_ctx.db, scale_id=scale["scale_id"],
                              filters=common.filters(app_ctx, state)) if scale else [])
    between = _between(app_ctx, state, scale, progs) if scale else []
    records = [{"kind": "Study (synthetic)" if s["synthetic"] else "Study", "label": s["label"],
                "domain": domain, "design": s["design"], "n": s["n"], "es": s["es"],
                "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                "quantity": "within-person change" if s["design"] == "single_group_pre_post"
                else "between-group difference", "tier": s["tier"],
                "synthetic": s["synthetic"], "suppressed": False} for s in studies]
    if pooled:
        records.append({"kind": "Pooled (REML)", "label": f"{domain} studies (k = "
                        f"{pooled['k']}); prediction interval "
                        f"{fmt_ci(pooled['pi_low'], pooled['pi_high'])}", "domain": domain,
                        "es": pooled["mu"], "ci_low": pooled["ci_low"],
                        "ci_high": pooled["ci_high"], "quantity": "pooled effect",
                        "synthetic": any(s["synthetic"] for s in studies),
                        "suppressed": False})
    records += [{"kind": BETWEEN_NAME, "domain": domain, "design": "comparison_group",
                 "quantity": "between-group difference (ANCOVA / pre-training SD)",
                 "synthetic": False, "suppressed": False, **b} for b in between]
    shown = [p for p in progs if not p["suppressed"] and p.get("g") is not None]
    records += [{"kind": "Our programme", "label": p["program_name"], "domain": domain,
                 "design": p.get("design"), "n": p.get("n_pairs"), "es": p.get("g"),
                 "ci_low": p.get("g_ci_low"), "ci_high": p.get("g_ci_high"),
                 "quantity": None if p["suppressed"] else "within-person change (g, SMCR)",
                 "tier": p.get("tier"),
                 "synthetic": False, "suppressed": p["suppressed"]} for p in progs]
    title = f"{domain}: published studies and their pooled estimate"
    filename = common.slug("evidence-forest", domain) + ".csv"
    if not studies:
        return Chart(title=title, empty=f"No study of {domain} in the library has an effect "
                     "size: choose another outcome domain above.",
                     records=records, columns=FOREST_COLUMNS, filename=filename)
    local = [{"label": p["program_name"], "n": p["n_pairs"], "es": p["g"],
              "ci_low": p["g_ci_low"], "ci_high": p["g_ci_high"]} for p in shown]
    fig = forest_figure(domain, studies, pooled, local, between,
                        scale["name"] if scale else None)
    notes = [f"{LOCAL_PANEL_TITLE}: before-and-after change in the same people on "
             f"{scale['name'] if scale else 'no scale of ours'}, drawn on its own axis; most "
             "studies compare groups, a different quantity."]
    if pooled:
        ci = fmt_ci(pooled["ci_low"], pooled["ci_high"])
        notes.append(f"Pooled {fmt(pooled['mu'])} (95% CI {ci}); 95% prediction interval "
                     f"{fmt_ci(pooled['pi_low'], pooled['pi_high'])}; τ² = "
                     f"{fmt(pooled['tau2'], 3)}, I² = {fmt(pooled['i2'], 0)}%.")
    else:
        notes.append(entry["reason"])
    if entry.get("mixes_designs"):
        notes.append(entry["note"])
    if between:
        notes.append("Red diamonds: our programmes whose comparison arm counts as a "
                     "comparison-group design, converted to a between-group effect (ANCOVA "
                     "estimate over the trained arm's pre-training SD), so they share the axis.")
    if any(s["synthetic"] for s in studies):
        notes.append(SYNTHETIC_NOTE)
    hidden = [p["program_name"] for p in progs if p["suppressed"]]
    if hidden:
        notes.append(f"Programmes not shown ({common.hidden_reason(m)}): {', '.join(hidden)}.")
    return Chart(title=title, subtitle=f"k = {len(studies)} studies; {len(shown)} of our "
                 f"programmes in the separate panel", figure=fig, records=records,
                 columns=FOREST_COLUMNS, notes=notes, filename=filename)


def _bias_words(bias: dict[str, Any], labels: dict[Any, str]) -> list[str]:
    eg, ec, rk, tf = (bias["egger"], bias["egger_classical"], bias["rank_test"],
                      bias["trim_and_fill"])
    cook = max(bias["cooks_distance"], key=lambda c: c["value"])
    loo = sorted(bias["leave_one_out"], key=lambda r: r["estimate"])
    side = {"left": "left (smaller effects)", "right": "right (larger effects)"}
    return [
        f"Egger's regression test (random effects, SE as moderator): z = {fmt(eg['z'])}, "
        f"p = {fmt_p(eg['p'])}; the estimate for a study of infinite size is "
        f"{fmt(eg['limit_estimate'])} (95% CI {fmt_ci(eg['limit_ci_low'], eg['limit_ci_high'])}).",
        f"Egger's classical test (weighted linear regression): t = {fmt(ec['t'])} on "
        f"{ec['df']} df, p = {fmt_p(ec['p'])}.",
        f"Begg and Mazumdar's rank correlation test: Kendall's τ = {fmt(rk['tau'])}, "
        f"p = {fmt_p(rk['p'])}.",
        (f"Trim-and-fill adds {tf['k0']} studies on the {side.get(tf['side'], tf['side'])} "
         f"side (drawn hollow); the adjusted estimate is {fmt(tf['estimate'])} (95% CI "
         f"{fmt_ci(tf['ci_low'], tf['ci_high'])})." if tf["k0"] else
         "Trim-and-fill finds no missing studies: the funnel is not asymmetric enough."),
        f"Most influential study (Cook's distance {fmt(cook['value'])}): "
        f"{labels.get(cook['study_id'], cook['study_id'])}.",
        f"Leaving one study out, the pooled estimate ranges from {fmt(loo[0]['estimate'])} "
        f"(without {labels.get(loo[0]['study_id'], loo[0]['study_id'])}) to "
        f"{fmt(loo[-1]['estimate'])} (without "
        f"{labels.get(loo[-1]['study_id'], loo[-1]['study_id'])}).",
    ]


def build_bias(app_ctx, state) -> Chart:
    entry, studies, _ = _context(app_ctx, state)
    domain, k, bias = entry["domain"], entry["k"], entry["bias"]
    title = f"{domain}: small-study bias and influence (k = {k} studies)"
    columns = [("kind", "Point"), ("label", "Study"), ("es", "Effect size"), ("se", "SE"),
               ("cooks", "Cook's distance"), ("loo", "Pooled without it"),
               ("synthetic", "Synthetic")]
    filename = common.slug("evidence-bias", domain) + ".csv"
    if bias is None:
        enough = [e["domain"] for e in domain_evidence(app_ctx.db)
                  if e["k"] >= MIN_STUDIES_FOR_BIAS]
        return Chart(title=title, columns=columns, filename=filename, empty=(
            f"Funnel plot, small-study tests and influence are assessed with at least "
            f"{MIN_STUDIES_FOR_BIAS} studies (Sterne et al. 2011); this domain has k = {k}. "
            + (f"Domains with enough studies: {', '.join(enough)}." if enough else "")))
    labels = {s["study_id"]: s["label"] for s in studies}
    cooks = {c["study_id"]: c["value"] for c in bias["cooks_distance"]}
    loo = {r["study_id"]: r["estimate"] for r in bias["leave_one_out"]}
    tf = bias["trim_and_fill"]
    records = [{"kind": "observed", "label": s["label"], "es": s["es"], "se": s["es_vi"] ** .5,
                "cooks": cooks.get(s["study_id"]), "loo": loo.get(s["study_id"]),
                "synthetic": s["synthetic"]} for s in studies]
    records += [{"kind": "filled by trim-and-fill (imputed)", "label": "imputed study",
                 "es": y, "se": v ** .5, "synthetic": None}
                for y, v in zip(tf["filled_yi"], tf["filled_vi"], strict=True)]
    se_max = 1.1 * max(r["se"] for r in records)
    fig = funnel_figure(studies, entry["pooled"], tf, funnel_contours(se_max))
    words = _bias_words(bias, labels)
    notes = ["Shaded: the regions where a study's effect is not significant at the 10%, 5% "
             "and 1% levels around 0 (contour-enhanced funnel, Peters et al. 2008); studies "
             "missing from the lighter regions point to publication bias."]
    if any(s["synthetic"] for s in studies):
        notes.append(SYNTHETIC_NOTE)
    return Chart(title=title, subtitle=f"k = {k} studies, {tf['k0']} filled", figure=fig,
                 records=records, columns=columns, filename=filename, notes=notes,
                 extra=html.Ul([html.Li(w) for w in words], className="bias-results"))


def build_moderators(app_ctx, state) -> Chart:
    entry, studies, _ = _context(app_ctx, state)
    domain = entry["domain"]
    title = f"{domain}: effect size by {MODERATOR} and by {SUBGROUP}"
    columns = [("label", "Study"), (MODERATOR, MODERATOR.capitalize()), ("es", "Effect size"),
               ("weight", "Weight (%)"), ("synthetic", "Synthetic")]
    filename = common.slug("evidence-moderators", domain) + ".csv"
    full = next((e for e in domain_evidence(app_ctx.db, mods=(MODERATOR,), subgroup=SUBGROUP)
                 if e["domain"] == domain), {})
    used = [s for s in studies if s.get(MODERATOR) is not None]
    try:
        fit = moderator_analysis([s["es"] for s in used], [s["es_vi"] for s in used],
                                 {MODERATOR: [s[MODERATOR] for s in used]}, [MODERATOR])
        points = bubble_points([s["es"] for s in used], [s["es_vi"] for s in used],
                               [s[MODERATOR] for s in used], fit)
    except (ValueError, RuntimeError, ArithmeticError) as error:
        return Chart(title=title, columns=columns, filename=filename, empty=(
            f"No meta-regression on {MODERATOR} for {domain} (k = {len(used)}): "
            f"{str(error).rstrip('.')}."))
    records = [{"label": s["label"], MODERATOR: s[MODERATOR], "es": s["es"], "weight": w,
                "synthetic": s["synthetic"]} for s, w in zip(used, points.weight, strict=True)]
    fig = bubble_figure(points, [s["label"] for s in used], MODERATOR)
    mr = full.get("meta_regression")
    extra = []
    if mr:
        extra += [html.H3("Meta-regression on " + MODERATOR), data_table(
            [("term", "Term"), ("estimate", "Estimate"), ("ci", "95% CI"), ("p", "p")],
            [{"term": c["term"], "estimate": fmt(c["estimate"], 3),
              "ci": fmt_ci(c["ci_low"], c["ci_high"], 3), "p": fmt_p(c["p"])}
             for c in mr["coefficients"]]),
            html.P(f"Test of the moderator QM = {fmt(mr['qm'])} on {mr['qm_df']} df, p = "
                   f"{fmt_p(mr['qm_p'])}; residual heterogeneity QE = {fmt(mr['qe'])} on "
                   f"{mr['qe_df']} df, p = {fmt_p(mr['qe_p'])}; τ² = {fmt(mr['tau2'], 3)}; "
                   f"R² = {fmt(mr['r2'], 0) if mr['r2'] is None else fmt(100 * mr['r2'], 0)}%"
                   " (share of the heterogeneity the moderator accounts for).")]
    if full.get("subgroups"):
        extra += [html.H3(f"Subgroups by {SUBGROUP}"), data_table(
            [("level", SUBGROUP.capitalize()), ("k", "k"), ("estimate", "Pooled"),
             ("ci", "95% CI")],
            [{"level": g["level"], "k": g["k"], "estimate": fmt(g["estimate"]),
              "ci": fmt_ci(g["ci_low"], g["ci_high"])} for g in full["subgroups"]]),
            html.P(f"Test for subgroup differences: Q = {fmt(full['q_between'])} on "
                   f"{full['q_between_df']} df, p = {fmt_p(full['q_between_p'])}: "
                   + ("the subgroups differ more than chance would explain."
                      if full["q_between_p"] < 0.05 else
                      "no evidence that the subgroups differ."))]
    elif full.get("subgroup_reason"):
        extra.append(html.P(f"No subgroup analysis by {SUBGROUP}: {full['subgroup_reason']}."))
    notes = [OBSERVATIONAL] + ([SYNTHETIC_NOTE] if any(s["synthetic"] for s in used) else [])
    return Chart(title=title, subtitle=f"k = {len(used)} studies; point area ∝ weight",
                 figure=fig, records=records, columns=columns, filename=filename, notes=notes,
                 extra=html.Div(extra, className="moderator-results"))


def _reported(value: Any, unit: str = "") -> str:
    if value is None:
        return NOT_REPORTED
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{fmt(value, 0)}{unit}"


def build_study_tiers(app_ctx, state) -> Chart:
    entry, studies, _ = _context(app_ctx, state)
    domain = entry["domain"]
    rows = [{**s, "label": synthetic_label(s["citation"], s["synthetic"])}
            for s in evidence(app_ctx.db) if s["outcome_domain"] == domain]
    columns = [("label", "Study"), ("design", "Design"), ("n", "n"),
               ("attrition", "Attrition %"), ("followup", "Follow-up (months)"),
               ("risk_of_bias", "Risk of bias"), ("independent", "Independent"),
               ("tier", "Tier"), ("tier_label", "Tier label"), ("provisional", "Provisional"),
               ("reasons", "Reasons"), ("synthetic", "Synthetic")]
    records = [{"label": s["label"], "design": s["design"], "n": s["n"],
                "attrition": _reported(s["attrition"]),
                "followup": _reported(s["followup_months"]),
                "risk_of_bias": s["risk_of_bias"] or NOT_REPORTED,
                "independent": _reported(s["independent"]), "tier": s["tier"],
                "tier_label": s["tier_label"], "provisional": s["tier_provisional"],
                "reasons": " ".join(s["tier_reasons"]), "synthetic": s["synthetic"]}
               for s in rows]
    items = [html.Li(className="tier-item", children=[
        html.Span(f"Tier {r['tier']}", className=f"tier-badge tier-{r['tier']}"),
        html.Span(f" {r['label']} ", className="study-name"),
        html.Span(f"({r['tier_label']}{', provisional' if r['provisional'] else ''}; "
                  f"{r['design']}, n = {r['n']:,}; attrition {r['attrition']}, follow-up "
                  f"{r['followup']}, risk of bias {r['risk_of_bias']}, independent "
                  f"{r['independent']})"),
        html.Ul([html.Li(x) for x in s["tier_reasons"]], className="reasons"),
    ]) for r, s in zip(records, rows, strict=True)]
    if not rows:
        return Chart(title=f"{domain}: study tiers", columns=columns,
                     empty=f"The evidence library has no study of {domain}.")
    return Chart(title=f"{domain}: study tiers (k = {len(rows)} studies)",
                 subtitle="Design, size, attrition, follow-up, risk of bias, independence",
                 extra=html.Ul(items, className="tier-list"), records=records,
                 columns=columns, filename=common.slug("evidence-study-tiers", domain) + ".csv",
                 notes=[SYNTHETIC_NOTE] if any(s["synthetic"] for s in rows) else [])


CONCERNS = ("Risk of bias", "Inconsistency", "Imprecision", "Publication bias")


def build_certainty(app_ctx, state) -> Chart:
    columns = [("domain", "Outcome domain"), ("k", "k"), ("level", "Certainty"),
               ("start", "Starts"), ("start_reason", "Why it starts there")]
    columns += [(c, c) for c in CONCERNS]
    records, items = [], []
    for e in domain_evidence(app_ctx.db):
        c = e["certainty"]
        if c is None:
            records.append({"domain": e["domain"], "k": e["k"], "level": "not rated",
                            "start_reason": e["reason"]})
            items.append(html.Li([html.Strong(e["domain"]), f": not rated ({e['reason']})"]))
            continue
        concerns = {x["name"]: x for x in c["concerns"]}
        row = {"domain": e["domain"], "k": e["k"], "level": c["level"], "start": c["start"],
               "start_reason": c["start_reason"]}
        row |= {n: f"{concerns[n]['verdict']}: {concerns[n]['reason']}" for n in CONCERNS
                if n in concerns}
        records.append(row)
        items.append(html.Li(className="certainty-item", children=[
            html.Span(c["level"], className="certainty-badge certainty-"
                      + c["level"].replace(" ", "-")),
            html.Strong(f" {e['domain']} (k = {e['k']})"),
            html.Ul([html.Li(r) for r in c["reasons"]], className="reasons")]))
    return Chart(title="Certainty of the evidence per outcome domain (GRADE)",
                 subtitle=f"{len(records)} domains; high, moderate, low or very low",
                 extra=html.Ul(items, className="tier-list certainty-list"), records=records,
                 columns=columns, filename="evidence-certainty.csv",
                 notes=["Each domain starts high when most of its weight is from randomised "
                        "studies, low otherwise, and is rated down for risk of bias, "
                        "inconsistency, imprecision and publication bias (stats.certainty)."])


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
               ("tier_label", "Tier label"), ("synthetic", "Synthetic")]
    records = [{**r, "audience": code_label("audience", r["audience"]) if r["audience"]
                else "Any audience"} for r in rows]
    ylab = {a: code_label("audience", a) if a else "Any audience" for a in audiences}
    fig = Figure()
    filled = {(r["audience"], r["domain"]) for r in rows}
    gaps = [(a, d) for a in audiences for d in domains if (a, d) not in filled]
    if gaps:
        fig.add_trace(Scatter(
            x=[d for _, d in gaps], y=[ylab[a] for a, _ in gaps], mode="markers",
            marker={"symbol": "x-thin", "size": 14, "line": {"width": 2,
                                                             "color": SUPPRESSED_COLOUR}},
            name="Gap: no cohorts or studies",
            hovertemplate="%{y} · %{x}: gap (no evidence)<extra></extra>"))
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
            customdata=[[r["count"], r["n"], r["tier"], r["tier_label"],
                         " (synthetic)" if r["synthetic"] else ""] for r in part],
            hovertemplate="%{y} · %{x}<br>" + source + "%{customdata[4]}: %{customdata[0]:,} "
                          "(n = %{customdata[1]:,})<br>tier %{customdata[2]} "
                          "(%{customdata[3]})<extra></extra>",
            offsetgroup=source))
    for tier, colour in enumerate(TIER_COLOURS):  # the tier colour key
        fig.add_trace(Scatter(x=[None], y=[None], mode="markers", name=f"Tier {tier}",
                              marker={"color": colour, "size": 12, "line": {"width": 1}}))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=domains, side="top")
    fig.update_yaxes(type="category", categoryorder="array",
                     categoryarray=[ylab[a] for a in audiences], autorange="reversed")
    figure_layout(fig, height=520)
    # The domains label the top axis, so the legend goes below the plot, clear of them.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.04, "x": 0},
                      margin={"b": 90})
    return Chart(title=title,
                 subtitle=f"{len(rows)} filled cells; {len(gaps)} gaps (no cohorts with at "
                          f"least {m} matched pairs and no studies)",
                 figure=fig, records=records, columns=columns, filename="evidence-gap-map.csv",
                 notes=["Circles: our cohorts; diamonds: published studies. Local tiers use "
                        "the matched pairs in the cell only (attrition and follow-up are rated "
                        "per programme below).", SYNTHETIC_NOTE])


def build_tiers(app_ctx, state) -> Chart:
    scale = common.scale_info(app_ctx, state)
    progs = program_evidence(app_ctx.db, scale_id=scale["scale_id"],
                             filters=common.filters(app_ctx, state))
    title = f"Local evidence tier per programme ({scale['name']}, pre → post)"
    columns = [("program", "Programme id"), ("program_name", "Programme"),
               ("design", "Design rated"), ("n_pairs", "Matched pairs"),
               ("attrition_pct", "Attrition % (post)"),
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
                html.Strong(p["program_name"]), ": tier not shown."]))
            continue
        followup = fmt(p["followup_months"], 0) if p["followup_months"] else "none"
        attrition = (NOT_REPORTED if p["attrition_pct"] is None
                     else f"{fmt(p['attrition_pct'], 0)}%")
        items.append(html.Li(className="tier-item", children=[
            html.Span(f"Tier {p['tier']}", className=f"tier-badge tier-{p['tier']}"),
            html.Strong(f" {p['program_name']} "),
            html.Span(f"({p['tier_label']}; n = {p['n_pairs']:,} matched pairs, attrition "
                      f"{attrition}, follow-up {followup} months)"),
            html.Ul([html.Li(reason) for reason in p["reasons"]], className="reasons"),
        ]))
    return Chart(title=title, subtitle=f"{len(progs)} programmes match the filters",
                 extra=html.Ul(items, className="tier-list"), records=records,
                 columns=columns, filename=filename)


FOREST = ChartSpec(
    "evidence-forest", "Published studies of one outcome domain, pooled",
    "Studies: standardised mean difference with 95% CI (from yi and vi, or converted from the "
    "reported g and CI or pre/post means). Diamond: random-effects pooled estimate (REML) of "
    "this domain's studies only, with its 95% CI; dotted line: 95% prediction interval for a "
    "new study. Separate panel, own axis: our programmes' g (SMCR) pre → post on the chosen "
    "scale, a within-person change, not the between-group effect of most studies.",
    build_forest)
BIAS = ChartSpec(
    "evidence-bias", "Small-study bias and influence",
    "metafor equivalents: regtest (random effects and lm), ranktest, trimfill (L0 estimator), "
    "leave1out and cooks.distance (stats.bias). Assessed from 10 studies (Sterne et al. 2011).",
    build_bias)
MODERATORS = ChartSpec(
    "evidence-moderators", "Moderators: meta-regression and subgroups",
    "Mixed-effects meta-regression (REML, metafor rma(mods = ~ year)) with the 95% CI of the "
    "line; subgroups pooled separately with the Q test for subgroup differences "
    "(stats.metareg). Observational comparisons across studies.",
    build_moderators)
STUDY_TIERS = ChartSpec(
    "evidence-study-tiers", "Study tiers",
    "Tier rules from stats.tiers: design, n, attrition, follow-up, risk of bias and "
    "independence; a figure the study does not report makes its tier provisional.",
    build_study_tiers)
DOMAIN_CHARTS = (FOREST, BIAS, MODERATORS, STUDY_TIERS)

CHARTS = (
    *DOMAIN_CHARTS,
    ChartSpec(
        "evidence-certainty", "Certainty of the evidence per outcome domain",
        "GRADE (Guyatt et al. 2011) as stats.certainty applies it to a domain's pooled "
        "studies: the starting level from the designs' weights, then four reasons to rate "
        "down, each in words.",
        build_certainty),
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
