"""The report's reporting checklist, in the manner of TREND (Des Jarlais, Lyles, Crepaz & the
TREND Group 2004, "Improving the reporting quality of nonrandomized evaluations of behavioral
and public health interventions", Am J Public Health 94:361-366): each item is filled from
the gathered figures, or says "not reported" where the data hold nothing for it. Attune never
guesses an item it was not told.

``ITEMS`` declares the items once (TREND's topic, what Attune reports for it); ``checklist``
fills them for one report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reports.content import NOT_REPORTED, reliability_words, wave_label
from warehouse.plain_words import DESIGN_STATEMENT, SUPPRESSED_TEXT

if TYPE_CHECKING:
    from reports.content import Report


def _design(r: Report) -> str:
    if r.comparison["exists"]:
        arms = " and ".join(r.comparison["arms"])
        return (f"Before-and-after survey of the people trained, with a {arms} arm in some "
                "programmes (its results are reported apart).")
    return "Single-group before-and-after survey of the people trained. " + DESIGN_STATEMENT


def _participants(r: Report) -> str:
    first = r.flow[0]["n"] if r.flow else None
    who = SUPPRESSED_TEXT if first is None else f"{first:,}"
    return (f"{who} people in {r.n_cohorts:,} cohorts answered at least one survey "
            f"({r.period_text}). Eligibility criteria: {NOT_REPORTED}.")


def _interventions(r: Report) -> str:
    if not r.programmes:
        return NOT_REPORTED
    return "; ".join(f"{p['name']} ({p['format'].lower()}, {p['delivery'].lower()})"
                     for p in r.programmes) + "."


def _outcomes(r: Report) -> str:
    return "; ".join(f"{s['name']} ({s['n_items']} items, {s['min_value']:g}\u2013"
                     f"{s['max_value']:g}, reliability {reliability_words(s)})"
                     for s in r.scales) + "."


def _sample(r: Report) -> str:
    parts = [f"{o['scale']['name']}: {SUPPRESSED_TEXT}" if o["row"].get("suppressed")
             else f"{o['scale']['name']}: {o['row']['n_pairs']:,}" for o in r.outcomes]
    return ("Matched pairs (answered before and at the end of training): " + "; ".join(parts)
            + ". No sample size was planned in advance: " + NOT_REPORTED + ".") if parts \
        else NOT_REPORTED


def _assignment(r: Report) -> str:
    if r.comparison["exists"]:
        return ("Cohorts were in the training or the " + " or ".join(r.comparison["arms"])
                + " arm; how they were allocated: " + NOT_REPORTED + ".")
    return "No assignment: everyone surveyed was trained (single group)."


def _flow(r: Report) -> str:
    return "; ".join(f"{wave_label(f['wave'])}: "
                     f"{SUPPRESSED_TEXT if f['n'] is None else format(f['n'], ',')}"
                     for f in r.flow) + "." if r.flow else NOT_REPORTED


def _baseline(r: Report) -> str:
    parts = [f"{o['scale']['name']} {o['row']['mean_from']:.2f}" for o in r.outcomes
             if not o["row"].get("suppressed") and o["row"].get("mean_from") is not None]
    return ("Mean score before training: " + "; ".join(parts) + ".") if parts else NOT_REPORTED


def _equivalence(r: Report) -> str:
    if not r.comparison["exists"]:
        return "Not applicable: no comparison group."
    return ("Baseline equivalence of the comparison arm: not published in sponsor reports yet."
            if not r.comparison["shown"] else "Reported in the comparison section.")


def _followup(r: Report) -> str:
    shown = [f["scale"]["name"] for f in r.followup if f["model"] is not None]
    if not shown:
        return NOT_REPORTED
    return ("Change from before training at every later wave from a mixed model that uses "
            "every wave answered (valid when drop-out depends on what was observed): "
            + ", ".join(shown) + ".")


def _evidence(r: Report) -> str:
    tiers = [f"{t['name']}: tier {t['tier']} ({t['label']})" if t["shown"]
             else f"{t['name']}: {SUPPRESSED_TEXT}" for t in r.tiers]
    return ("; ".join(tiers) + ".") if tiers else NOT_REPORTED


def _cost(r: Report) -> str:
    return "Cost per participant by programme, in the cost section." if r.cost else NOT_REPORTED


# (TREND item number, TREND topic, how Attune fills it)
ITEMS: tuple[tuple[str, str, Callable[[Report], str]], ...] = (
    ("1", "Title and abstract: design", _design),
    ("2", "Background: scientific background and rationale", lambda r: NOT_REPORTED),
    ("3", "Participants: eligibility, recruitment, setting", _participants),
    ("4", "Interventions: programmes, format, delivery", _interventions),
    ("5", "Objectives and hypotheses", lambda r: NOT_REPORTED),
    ("6", "Outcomes: measures and their quality", _outcomes),
    ("7", "Sample size", _sample),
    ("8", "Assignment method", _assignment),
    ("9", "Blinding", lambda r: NOT_REPORTED),
    ("10", "Unit of analysis", lambda r: "The person, counted once per cohort; change is "
           "each person's own change between two surveys."),
    ("11", "Statistical methods", lambda r: "Mean of each person's change with its 95% "
           "interval (paired t); standardised mean change (change over the spread before "
           "training, small-sample corrected); figures are published with disclosure "
           "control (small cells not shown, a little noise, rounding)."),
    ("12", "Participant flow", _flow),
    ("13", "Recruitment: periods of recruitment and follow-up", lambda r: r.period_text + "."),
    ("14", "Baseline data", _baseline),
    ("15", "Baseline equivalence", _equivalence),
    ("16", "Numbers analysed", _sample),
    ("17", "Outcomes and estimation", lambda r: "Change per outcome with its 95% interval, "
           "in the change section." if r.outcomes else NOT_REPORTED),
    ("18", "Ancillary analyses: follow-up", _followup),
    ("19", "Adverse events", lambda r: NOT_REPORTED),
    ("20", "Interpretation", lambda r: DESIGN_STATEMENT),
    ("21", "Generalisability", lambda r: NOT_REPORTED),
    ("22", "Overall evidence: programme tiers", _evidence),
    ("22b", "Overall evidence: cost", _cost),
)


def checklist(report: Report) -> list[tuple[str, str, str]]:
    """Every item of ``ITEMS`` with its text for ``report``."""
    return [(number, topic, fill(report)) for number, topic, fill in ITEMS]
