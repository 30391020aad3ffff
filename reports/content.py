"""What an outcomes report says: one sponsor's published figures, gathered from the analysis
layer exactly as the dashboard gathers them for that sponsor signed in.

``gather(db, sponsor, ...)`` builds the sponsor's ``Filters`` the one way a sponsor's are
built (``warehouse.filters.filters_from_state`` with the sponsor's ``SponsorScope``: their
sponsor id fixed, their programmes only, ``published=True``, so disclosure control applies)
and asks the warehouse for each section: who took part (``followup.people``), what was
measured (the published catalogue of scales), the change per outcome
(``outcomes.change_family``), follow-up from the model that uses every wave
(``models.wave_model``), the comparison arm (``comparison.compare_arms``, which refuses
published filters: the report then says the results are not published, it never asks for
exact figures), cost (``cost.cost``), the programmes' evidence tiers
(``evidence.program_evidence``) and the literature beside them (``evidence.domain_evidence``).
No figure of another sponsor can reach it: every query is narrowed by the same filters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.contract import DELIVERIES, FORMATS, WAVES
from warehouse.catalog import cohort_count, filter_options
from warehouse.comparison import compare_arms
from warehouse.connection import Database, as_database
from warehouse.cost import cost
from warehouse.errors import CannotShow
from warehouse.evidence import domain_evidence, evidence, program_evidence
from warehouse.filters import SponsorScope, filters_from_state, iso_date, scope_options
from warehouse.followup import people
from warehouse.models import wave_model
from warehouse.outcomes import change_family

COMPARISON_ARMS = ("waitlist", "comparison")
NOT_REPORTED = "not reported"


class ReportRefused(ValueError):
    """The report cannot be made as asked (an unknown sponsor, scale or date): the text says
    what was wrong and what is allowed."""


@dataclass
class Report:
    """Everything one report shows, as plain values (figures already published)."""

    sponsor: str
    date_from: str | None
    date_to: str | None
    produced: dt.date
    filters_text: str
    scales: list[dict[str, Any]]  # the published catalogue entries reported on
    programmes: list[dict[str, Any]]  # program, name, format, delivery
    n_cohorts: int
    quarters: list[str]  # the cohort start quarters in the report, first to last
    flow: list[dict[str, Any]]  # wave, n (None: not shown), the first entry: everyone
    outcomes: list[dict[str, Any]]  # scale, row (published change row) per scale
    followup: list[dict[str, Any]]  # scale, model (published) or None, reason
    comparison: dict[str, Any]  # exists, shown, text
    cost: dict[str, Any] | None  # scale, groups (by programme), or None: no cost known
    tiers: list[dict[str, Any]]  # per programme: program, name, tier, label, design, shown
    literature: list[dict[str, Any]]  # per outcome domain reported: k, pooled or None
    checklist: list[tuple[str, str, str]] = field(default_factory=list)  # id, item, text

    @property
    def period_slug(self) -> str:
        """The period as the file name gives it: ``2024-01-01_2025-12-31``, ``all-cohorts``."""
        if not self.date_from and not self.date_to:
            return "all-cohorts"
        return f"{self.date_from or 'start'}_{self.date_to or 'end'}"

    @property
    def period_text(self) -> str:
        if self.date_from or self.date_to:
            return (f"cohorts starting {self.date_from or 'at any date'} to "
                    f"{self.date_to or 'the latest'}")
        if self.quarters and self.quarters[0] == self.quarters[-1]:
            return f"all cohorts (starting in {self.quarters[0]})"
        if self.quarters:
            return f"all cohorts (starting {self.quarters[0]} to {self.quarters[-1]})"
        return "all cohorts"


def wave_label(wave: str | None) -> str:
    """A wave as a table or chart names it: "Before training", "End of training", "3 months
    after"; None is everyone who answered any survey."""
    if wave is None:
        return "Answered any survey"
    months = WAVES.get(wave)
    if months is None:
        return "Before training"
    return "End of training" if months == 0 else f"{months} months after"


def reliability_words(scale: dict[str, Any]) -> str:
    """A scale's reliability in use (published: two decimals) and where it comes from."""
    value = scale.get("reliability_used")
    if value is None:
        return NOT_REPORTED
    source = ("declared in the instrument" if scale.get("reliability_source") == "declared"
              else "Cronbach's alpha before training")
    return f"{value:.2f}, {source}"


def report_name(sponsor: str, period_slug: str, suffix: str) -> str:
    """The file name of one report: ``attune-report-SP01-2024-01-01_2025-12-31.html``."""
    return f"attune-report-{sponsor}-{period_slug}.{suffix}"


def _date(text: str | None, option: str) -> str | None:
    if text in (None, ""):
        return None
    value = iso_date(text)
    if value is None or value != text:
        raise ReportRefused(f"{option} {text!r} is not a date; write it as YYYY-MM-DD")
    return value


def sponsors(db: Database | Path | str) -> list[str]:
    """The sponsor ids that have cohorts in the database (one report each for --all-sponsors)."""
    return list(filter_options(as_database(db))["sponsors"])


def gather(db: Database | Path | str, sponsor: str, *, date_from: str | None = None,
           date_to: str | None = None, scales: tuple[str, ...] = (),
           produced: dt.date | None = None) -> Report:
    """One sponsor's report content, published figures only. ``ReportRefused`` for a sponsor
    without cohorts, a scale not in the instrument or a date that is not ``YYYY-MM-DD``."""
    database = as_database(db)
    options = filter_options(database)
    if sponsor not in options["sponsors"]:
        raise ReportRefused(f"no sponsor {sponsor!r} has cohorts in the database; sponsors: "
                            f"{', '.join(options['sponsors']) or 'none'}")
    date_from, date_to = _date(date_from, "--from"), _date(date_to, "--to")
    if date_from and date_to and date_from > date_to:
        raise ReportRefused(f"--from {date_from} is after --to {date_to}")
    scope = SponsorScope.of(sponsor, options)
    filters = filters_from_state({"start": date_from, "end": date_to}, options, scope)
    published = scope_options(options, scope)
    known = {s["scale_id"]: s for s in published["scales"]}
    unknown = [s for s in scales if s not in known]
    if unknown:
        raise ReportRefused(f"unknown scale {', '.join(unknown)}; scales: {', '.join(known)}")
    chosen = [known[s] for s in scales] if scales else list(known.values())
    report = Report(
        sponsor=sponsor, date_from=date_from, date_to=date_to,
        produced=produced or dt.date.today(), filters_text=_filters_text(filters),
        scales=chosen, programmes=_programmes(database, filters, published["programs"]),
        n_cohorts=cohort_count(database, filters),
        quarters=[r["cohort_quarter"] for r in people(database, by=("cohort_quarter",),
                                                      filters=filters)],
        flow=_flow(database, filters), outcomes=_outcomes(database, filters, chosen),
        followup=[_followup(database, filters, s) for s in chosen if s["measured_before"]],
        comparison=_comparison(database, filters, chosen),
        cost=_cost(database, filters, chosen),
        tiers=_tiers(database, filters, chosen, published["programs"]),
        literature=_literature(database, chosen),
    )
    from reports.checklist import checklist  # the checklist reads the gathered figures

    report.checklist = checklist(report)
    return report


def _filters_text(filters: Any) -> str:
    """The filters in words, without the sponsor's own id (said in the title)."""
    text = filters.describe()
    return "; ".join(p for p in text.split("; ") if not p.startswith("sponsor:")) or \
        "no other filters"


def _programmes(db: Database, filters: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = people(db, by=("program", "format", "delivery"), filters=filters)
    return [{"program": r["program"], "name": names.get(r["program"], r["program"]),
             "format": FORMATS.get(r["format"], r["format"]),
             "delivery": DELIVERIES.get(r["delivery"], r["delivery"])} for r in rows]


def _flow(db: Database, filters: Any) -> list[dict[str, Any]]:
    """Everyone who answered any survey, then the people who answered each wave."""
    rows = people(db, filters=filters)
    if not rows:
        return []
    row = rows[0]
    flow = [{"wave": None, "n": None if row["suppressed"] else row["n_people"]}]
    flow += [{"wave": w, "n": None if row["suppressed"] else row.get(f"n_{w}")} for w in WAVES]
    return flow


def _outcomes(db: Database, filters: Any, chosen: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    family = change_family(db, wave_from="pre", wave_to="post", by=(), filters=filters)
    rows = {r["scale_id"]: r for r in family}
    out = []
    for scale in chosen:
        if not scale["measured_before"]:
            continue
        row = rows.get(scale["scale_id"]) or {"suppressed": True}
        out.append({"scale": scale, "row": row})
    return out


def _followup(db: Database, filters: Any, scale: dict[str, Any]) -> dict[str, Any]:
    try:
        model = wave_model(db, scale["scale_id"], filters=filters)
    except CannotShow:
        return {"scale": scale, "model": None}
    shown = model["groups"] and not model["groups"][0]["suppressed"]
    return {"scale": scale, "model": model if shown else None}


def _comparison(db: Database, filters: Any, chosen: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the sponsor's programmes have a comparison or waitlist arm, and its results
    where they are published (today they are not: ``compare_arms`` refuses published
    filters, and the report says so rather than asking for exact figures)."""
    arms = [a for a in COMPARISON_ARMS
            if cohort_count(db, dataclasses.replace(filters, arm=a)) > 0]
    if not arms:
        return {"exists": False, "shown": False, "arms": []}
    measured = [s for s in chosen if s["measured_before"]]
    try:
        result = compare_arms(db, measured[0]["scale_id"], filters=filters) if measured else None
    except CannotShow:
        result = None
    return {"exists": True, "shown": result is not None, "arms": arms, "result": result}


def _cost(db: Database, filters: Any, chosen: list[dict[str, Any]]) -> dict[str, Any] | None:
    measured = [s for s in chosen if s["measured_before"]]
    if not measured:
        return None
    scale = measured[0]
    try:
        result = cost(db, scale_id=scale["scale_id"], by="program", filters=filters)
    except CannotShow:
        return None
    groups = [g for g in result["groups"] if g.get("total_cost") is not None
              or g.get("suppressed")]
    if not any(g.get("total_cost") is not None for g in groups):
        return None
    return {"scale": scale, "groups": groups, "resamples": result["resamples"]}


def _tiers(db: Database, filters: Any, chosen: list[dict[str, Any]],
           names: dict[str, str]) -> list[dict[str, Any]]:
    measured = [s for s in chosen if s["measured_before"]]
    if not measured:
        return []
    rows = program_evidence(db, scale_id=measured[0]["scale_id"], filters=filters)
    return [{"program": r["program"], "name": names.get(r["program"], r["program"]),
             "shown": not r["suppressed"], "tier": r.get("tier"),
             "label": r.get("tier_label"), "design": r.get("design"),
             "scale": measured[0]["name"]} for r in rows]


def _literature(db: Database, chosen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evidence library pooled per outcome domain of the scales reported (the published
    studies, not the sponsor's data)."""
    domains = list(dict.fromkeys(s["domain"] for s in chosen))
    entries = {e["domain"]: e for e in domain_evidence(db)}
    studies = evidence(db)
    out = []
    for domain in domains:
        entry = entries.get(domain)
        own = [st for st in studies if st.get("outcome_domain") == domain]
        out.append({"domain": domain, "k": entry["k"] if entry else 0,
                    "pooled": entry["pooled"] if entry else None,
                    "designs": entry["designs"] if entry else [],
                    "synthetic": bool(own) and all(st.get("synthetic") for st in own)})
    return out
