"""The outcomes report as one self-contained HTML page: CSS inline, figures inline SVG, no script,
system fonts, no request to any host, so it opens offline, mails as one file and prints the
same everywhere.

Page 1 is the summary in plain words (``warehouse.plain_words``: no statistical shorthand),
then the detail for readers who want it. Print: A4 or US Letter portrait with 20 mm side
margins (170 mm of content), every figure and table kept whole (``break-inside: avoid``),
and the page margins carry the sponsor, the period, the filters, the design statement, the
date produced and the page number (CSS page-margin boxes).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from typing import Any

from reports import svg
from reports.content import NOT_REPORTED, Report, reliability_words, wave_label
from warehouse.cell_key import NOISE_SENTENCE
from warehouse.plain_words import (
    DESIGN_STATEMENT,
    HIDDEN_RULE,
    SUPPRESSED_TEXT,
    change_sentence,
    design_words,
    share_sentence,
)

STYLE = files("reports").joinpath("report.css").read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (for the page-margin boxes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _num(value: Any, decimals: int = 2) -> str:
    return SUPPRESSED_TEXT if value is None else f"{value:,.{decimals}f}"


def _count(value: Any) -> str:
    return SUPPRESSED_TEXT if value is None else f"{value:,}"


def _interval(low: Any, high: Any, decimals: int = 2) -> str:
    if low is None or high is None:
        return ""
    return f"{low:,.{decimals}f} to {high:,.{decimals}f}"


def _table(head: list[str], rows: list[list[str]], caption: str = "", keep: bool = True
           ) -> str:
    """A table; ``keep`` keeps it on one page (for the short ones)."""
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f'<table{" class=keep" if keep else ""}>{cap}<thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _p(text: str, cls: str = "") -> str:
    return f'<p{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>{escape(text)}</p>'


def _figure(svg_text: str, caption: str) -> str:
    return f'<figure class="keep">{svg_text}<figcaption>{escape(caption)}</figcaption></figure>'


def _summary(r: Report) -> str:
    changed = [change_sentence(o["row"], o["scale"]) for o in r.outcomes]
    people = r.flow[0]["n"] if r.flow else None
    pairs = [o["row"]["n_pairs"] for o in r.outcomes if not o["row"].get("suppressed")]
    how_many = (f"{_count(people)} people in {r.n_cohorts:,} cohorts answered at least one "
                "survey" + (f"; up to {max(pairs):,} of them answered both before training "
                            "and at the end of training" if pairs else "") + ".")
    shares = [f"{o['scale']['name']}: {s}" for o in r.outcomes
              if (s := share_sentence(o["row"]))]
    sure = ("Each change comes with its likely range: the span the true average change "
            "very probably lies in, given how many people answered and how much their "
            "changes varied. A range that stays on one side of no change means the change "
            "very probably happened.")
    programmes = ", ".join(p["name"] for p in r.programmes) or NOT_REPORTED
    items = "".join(f"<li>{escape(s)}</li>" for s in changed) or \
        f"<li>{escape(SUPPRESSED_TEXT)}</li>"
    return (
        '<section class="summary" id="summary">'
        f"<h1>Outcomes report: {escape(r.sponsor)}</h1>"
        f'<p class="lead">{escape(r.period_text[:1].upper() + r.period_text[1:])}; produced '
        f"{r.produced.isoformat()}.</p>"
        f"<h2>What changed</h2><ul>{items}</ul>"
        f"<h2>For how many</h2>{_p(how_many)}{_p('Programmes: ' + programmes + '.')}"
        f"<h2>How sure we are</h2>{_p(sure)}{''.join(_p(s) for s in shares[:1])}"
        f"<h2>What this design can and cannot say</h2>"
        f"{_p(design_words(r.comparison['exists']))}"
        f"{_p(HIDDEN_RULE, 'rule')}"
        "</section>"
    )


def _flow(r: Report) -> str:
    steps = [{"label": wave_label(f["wave"]), "n": f["n"]} for f in r.flow]
    first = r.flow[0]["n"] if r.flow else None
    rows = [[wave_label(f["wave"]), _count(f["n"]),
             "" if f["n"] is None or not first else f"{100 * f['n'] / first:.0f}%"]
            for f in r.flow]
    programmes = [[p["name"], p["format"], p["delivery"]] for p in r.programmes]
    return (
        '<section id="flow"><h2>Who took part</h2>'
        + _p(f"{r.n_cohorts:,} cohorts; people are counted once per cohort.")
        + _figure(svg.flow_bars(steps, "Participant flow"),
                  "People who answered any survey, then the people who answered each survey.")
        + _table(["Survey", "People who answered", "Share of all"], rows)
        + _table(["Programme", "Format", "Delivery"], programmes, "Programmes in this report")
        + "</section>")


def _measured(r: Report) -> str:
    rows = [[s["name"], s["domain"], str(s["n_items"]),
             f"{s['min_value']:g}\u2013{s['max_value']:g}",
             "higher" if s["higher_is_better"] else "lower", reliability_words(s)]
            for s in r.scales]
    return ('<section id="measured"><h2>What was measured</h2>'
            + _table(["Scale", "Outcome domain", "Items", "Range", "Better is",
                      "Reliability"], rows) + "</section>")


def _change(r: Report) -> str:
    chart_rows, rows = [], []
    for o in r.outcomes:
        row, scale = o["row"], o["scale"]
        hidden = row.get("suppressed") or row.get("g") is None
        chart_rows.append({"label": f"{scale['name']}" + ("" if hidden else
                                                           f" (n = {row['n_pairs']:,})"),
                           "estimate": None if hidden else row["g"],
                           "low": None if hidden else row.get("g_ci_low"),
                           "high": None if hidden else row.get("g_ci_high"),
                           "text": None if hidden else f"{row['g']:.2f}"})
        if row.get("suppressed"):
            rows.append([scale["name"], *[SUPPRESSED_TEXT] * 6])
            continue
        rows.append([scale["name"], _count(row["n_pairs"]), _num(row["mean_from"]),
                     _num(row["mean_to"]),
                     f"{_num(row['mean_change'])} ({_interval(row['ci_low'], row['ci_high'])})",
                     f"{_num(row['g'])} ({_interval(row['g_ci_low'], row['g_ci_high'])})",
                     _num(row.get("pct_reliable_improved"), 0) + "%"
                     if row.get("pct_reliable_improved") is not None else NOT_REPORTED])
    if not r.outcomes:
        return '<section id="change"><h2>Change per outcome</h2>' + _p(SUPPRESSED_TEXT) + \
            "</section>"
    return (
        '<section id="change"><h2>Change per outcome, before training to the end of '
        "training</h2>"
        + _figure(svg.interval_chart(chart_rows, "Standardised change per outcome",
                                     "standardised change g (positive = improvement), with "
                                     "its 95% confidence interval"),
                  "One row per outcome: the standardised mean change (change divided by the "
                  "spread of scores before training) with its 95% confidence interval; "
                  "right of the line is improvement.")
        + _table(["Outcome", "Matched pairs", "Mean before", "Mean after",
                  "Change, improvement + (95% CI)", "g (95% CI)", "Reliably improved"], rows)
        + "</section>")


def _followup(r: Report) -> str:
    parts = []
    for f in r.followup:
        scale, model = f["scale"], f["model"]
        if model is None:
            parts.append(f"<h3>{escape(scale['name'])}</h3>" + _p(SUPPRESSED_TEXT))
            continue
        done = {c["wave"]: c for c in model.get("completers", [])}
        points = [{"label": wave_label(w["wave"]), "estimate": w["change_from_pre"],
                   "low": w["change_ci_low"], "high": w["change_ci_high"],
                   "completers": done.get(w["wave"], {}).get("mean_change")}
                  for w in model["waves"][1:]]
        sentences = [model["difference"]["sentence"]] if model.get("difference") else []
        if model.get("tipping_point"):
            sentences.append(model["tipping_point"]["sentence"])
        parts.append(
            f"<h3>{escape(scale['name'])}</h3>"
            + _figure(svg.followup_chart(points, f"{scale['name']}: change at each survey",
                                         "change from before (points)"),
                      f"{scale['name']}: change from before training in scale points "
                      "(improvement positive), from a model that uses every survey answered, "
                      "with its 95% confidence interval; hollow: those who answered that "
                      "survey only.")
            + "".join(_p(s) for s in sentences))
    body = "".join(parts) or _p(NOT_REPORTED)
    return f'<section id="followup"><h2>Follow-up: is the change still there?</h2>{body}</section>'


def _comparison(r: Report) -> str:
    c = r.comparison
    if not c["exists"]:
        text = ("None of the programmes in this report has a comparison or waitlist group, so "
                "there are no comparison results.")
    elif not c["shown"]:
        text = (f"Some programmes in this report also surveyed a {' and a '.join(c['arms'])} "
                "group. The comparison results are not published in sponsor reports yet.")
    else:  # pragma: no cover - compare_arms publishes nothing yet
        text = "Comparison results: see the dashboard's Comparisons page."
    return f'<section id="comparison" class="keep"><h2>Comparison group</h2>{_p(text)}</section>'


def _cost(r: Report) -> str:
    if r.cost is None:
        return ('<section id="cost" class="keep"><h2>Cost</h2>'
                + _p(f"Cost: {NOT_REPORTED} (no cohort in this report has a known cost).")
                + "</section>")
    names = {p["program"]: p["name"] for p in r.programmes}
    rows = []
    for g in r.cost["groups"]:
        name = names.get(g["program"], g["program"])
        if g.get("suppressed"):
            rows.append([name, *[SUPPRESSED_TEXT] * 4])
            continue
        ci = _interval(g.get("cost_per_matched_participant_ci_low"),
                       g.get("cost_per_matched_participant_ci_high"), 0)
        rows.append([name, _count(g.get("people")), _num(g.get("total_cost"), 0),
                     _num(g.get("cost_per_participant"), 0),
                     _num(g.get("cost_per_matched_participant"), 0) + (f" ({ci})" if ci else "")])
    return ('<section id="cost" class="keep"><h2>Cost</h2>'
            + _table(["Programme", "People", "Total cost", "Per participant",
                      "Per matched participant (95% interval)"], rows,
                     f"From each cohort's cost per participant; intervals from "
                     f"{r.cost['resamples']:,} resamples of cohorts.")
            + "</section>")


def _evidence(r: Report) -> str:
    tiers = [[t["name"], f"{t['tier']} of 5: {t['label']}" if t["shown"] else SUPPRESSED_TEXT,
              (t["design"] or "").replace("_", " ") if t["shown"] else ""] for t in r.tiers]
    lit = []
    for e in r.literature:
        p = e["pooled"]
        label = e["domain"] + (" (synthetic)" if e["synthetic"] else "")
        if p is None:
            lit.append([label, str(e["k"]), NOT_REPORTED, ""])
            continue
        lit.append([label, str(e["k"]),
                    f"{p['mu']:.2f} ({_interval(p['ci_low'], p['ci_high'])})",
                    _interval(p.get("pi_low"), p.get("pi_high"))])
    scale = r.tiers[0]["scale"] if r.tiers else ""
    return ('<section id="evidence"><h2>Evidence tier and the literature</h2>'
            + _table(["Programme", "Local evidence tier", "Design"], tiers,
                     f"Rated on {scale}, before training to the end of training.")
            + _table(["Outcome domain", "Studies", "Pooled effect g (95% CI)",
                      "95% prediction interval"], lit,
                     "Published studies in the evidence library (random-effects, REML), "
                     "never pooled across domains; a within-person change and a "
                     "between-group effect are not comparable one to one.")
            + "</section>")


def _checklist(r: Report) -> str:
    rows = [[number, topic, text] for number, topic, text in r.checklist]
    return ('<section id="checklist"><h2>Reporting checklist (in the manner of TREND)</h2>'
            + _table(["Item", "Topic", "In this report"], rows, keep=False) + "</section>")


def _about(r: Report) -> str:
    return ('<section id="about" class="keep"><h2>About these figures</h2>'
            + _p(HIDDEN_RULE) + _p(NOISE_SENTENCE) + _p(DESIGN_STATEMENT)
            + _p(f"Filters: {r.filters_text}.") + "</section>")


def _page_boxes(r: Report) -> str:
    """The print header and footer, as CSS page-margin boxes."""
    left = f"Attune outcomes report \u00b7 {r.sponsor} \u00b7 {r.period_text}"
    right = f"Filters: {r.filters_text} \u00b7 produced {r.produced.isoformat()}"
    return ("@page { "
            f"@top-left {{ content: {_css_string(left)}; }} "
            f"@top-right {{ content: {_css_string(right)}; }} "
            f"@bottom-left {{ content: {_css_string(DESIGN_STATEMENT)}; }} "
            '@bottom-right { content: "page " counter(page) " of " counter(pages); } }')


def render(r: Report) -> str:
    """The whole report as one HTML document."""
    title = f"Attune outcomes report: {r.sponsor}, {r.period_text}"
    head = (f'<header class="screen-head">{escape(title)} \u00b7 Filters: '
            f"{escape(r.filters_text)} \u00b7 produced {r.produced.isoformat()}</header>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}\n{_page_boxes(r)}</style></head>"
        f"<body>{head}<main>"
        + _summary(r) + _flow(r) + _measured(r) + _change(r) + _followup(r) + _comparison(r)
        + _cost(r) + _evidence(r) + _checklist(r) + _about(r)
        + "</main></body></html>")
