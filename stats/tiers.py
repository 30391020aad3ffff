"""Local evidence tier (0-5 "padlocks") for a programme's own outcome data.

Modelled on the Education Endowment Foundation's security padlocks and the California
Evidence-Based Clearinghouse (CEBC) ratings: how far can a reader trust that the change
seen in this programme's data reflects the programme? The tier depends only on the design,
the number of matched pre/post pairs, attrition and the length of follow-up. It rates the
strength of the evidence, not the size of the effect.

``study_tier`` rates a published study with the same rules and the study's own ratings:
attrition, follow-up, overall risk of bias (RoB 2 / ROBINS-I) and whether the evaluation was
independent of the developer (each rule's ``max_risk_of_bias`` and ``independent``). A figure
a study does not report is named as not reported and the tier is marked provisional, never
scored as the worst case.

``TIER_RULES`` is the single source of the rules: ``evidence_tier`` and ``study_tier`` apply
it and the README and dashboard render it as a table, so the table and the logic cannot drift
apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from schemas.contract import EVIDENCE_DESIGNS as DESIGNS
from schemas.contract import RISK_OF_BIAS

# Why each design cannot reach higher, shown when it limits the tier.
_DESIGN_CAPS = {
    "single_group_pre_post": (
        3,
        "without a comparison group, change cannot be separated from time, "
        "regression to the mean or expectations",
    ),
    "comparison_group": (4, "without randomisation the groups may differ in ways not measured"),
    "randomised": (5, ""),
}


def _rule(
    tier: int,
    label: str,
    designs: tuple[str, ...],
    min_matched_n: int,
    max_attrition_pct: float | None,
    min_followup_months: float | None,
    requirements: str,
    max_risk_of_bias: str = "high",
    independent: bool = False,
    studies: str = "",
) -> dict[str, Any]:
    return {
        "tier": tier,
        "label": label,
        "requirements": requirements,
        "designs": designs,
        "min_matched_n": min_matched_n,
        "max_attrition_pct": max_attrition_pct,
        "min_followup_months": min_followup_months,
        # Published studies only (``study_tier``): the worst overall risk of bias allowed and
        # whether the evaluation must be independent of the developer; ``studies`` in words.
        "max_risk_of_bias": max_risk_of_bias,
        "independent": independent,
        "studies": studies or "Any risk of bias; independence not needed.",
    }


_ALL = tuple(DESIGNS)

# Highest first. Each tier's thresholds are at least as strict as the tier below, so the
# tier is the highest row whose every requirement is met. Boundaries are inclusive.
TIER_RULES: list[dict[str, Any]] = [
    _rule(5, "Strong", ("randomised",), 100, 20, 12,
          "Randomised design; at least 100 matched pre/post pairs; attrition at most 20%; "
          "follow-up at least 12 months after the end of training.",
          "low", True,
          "Low risk of bias; evaluated independently of the developer."),
    _rule(4, "Good", ("comparison_group", "randomised"), 50, 30, 6,
          "Comparison group or randomised design; at least 50 matched pairs; "
          "attrition at most 30%; follow-up at least 6 months.",
          "some_concerns", False, "Low risk of bias or some concerns."),
    _rule(3, "Moderate", _ALL, 30, 40, 3,
          "Any design, including single-group pre/post (its highest tier); at least 30 "
          "matched pairs; attrition at most 40%; follow-up at least 3 months.",
          "some_concerns", False, "Low risk of bias or some concerns."),
    _rule(2, "Limited", _ALL, 20, 50, None,
          "Any design; at least 20 matched pairs; attrition at most 50%; no follow-up needed."),
    _rule(1, "Very limited", _ALL, 10, None, None,
          "Any recorded design; at least 10 matched pairs (attrition may be high or unknown)."),
    _rule(0, "Insufficient", (), 0, None, None,
          "Design not recorded, or fewer than 10 matched pairs: too little to judge."),
]  # fmt: skip


@dataclass(frozen=True)
class EvidenceTier:
    """A programme's tier (0-5), its label and the plain-language reasons for it."""

    tier: int
    label: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (reasons as a tuple of sentences)."""
        return asdict(self)


def _known(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _unmet(
    rule: dict[str, Any],
    design: str,
    matched_n: int | None,
    attrition_pct: float | None,
    followup_months: float | None,
    figures: bool = True,
    unit: str = "matched pairs",
) -> list[str]:
    """Plain-language list of the rule's requirements this programme does not meet (with
    the programme's own figures, unless ``figures`` is False); ``unit`` names what n counts."""
    tier = rule["tier"]
    gaps = []
    if design not in rule["designs"]:
        needed = " or ".join(DESIGNS[d] for d in rule["designs"])
        gaps.append(f"Tier {tier} needs a {needed} design; this is {DESIGNS[design]}.")
    if not _known(matched_n) or matched_n < rule["min_matched_n"]:
        has = (f"has {matched_n}" if figures else "it has fewer") if _known(matched_n) \
            else "the number is unknown"
        gaps.append(f"Tier {tier} needs at least {rule['min_matched_n']} {unit}; {has}.")
    limit = rule["max_attrition_pct"]
    if limit is not None and (not _known(attrition_pct) or attrition_pct > limit):
        has = (f"it is {attrition_pct:g}%" if figures else "it is higher") \
            if _known(attrition_pct) else "it is not reported"
        gaps.append(f"Tier {tier} needs attrition of at most {limit:g}%; {has}.")
    months = rule["min_followup_months"]
    if months is not None and (not _known(followup_months) or followup_months < months):
        has = (
            f"the longest is {followup_months:g} months"
            if _known(followup_months) and followup_months > 0
            else "there is none"
        )
        gaps.append(f"Tier {tier} needs follow-up of at least {months:g} months; {has}.")
    return gaps


def evidence_tier(
    design: str | None,
    matched_n: int | None,
    attrition_pct: float | None,
    followup_months: float | None,
    *,
    figures: bool = True,
) -> EvidenceTier:
    """Rate a programme's local evidence 0-5 and explain the rating in plain words.

    ``figures=False`` words the reasons without the programme's own matched pairs and
    attrition (for published ratings, decided on exact figures that are not shown).

    ``attrition_pct`` is a percentage (0-100) of baseline respondents without the later
    wave; ``followup_months`` is the time from the end of training to the last wave with
    data (None or 0: no follow-up). Unknown values (None/NaN) fail requirements that need
    them. Raises ValueError for impossible values (negative counts, attrition above 100%).
    """
    for name, value, upper in (
        ("matched_n", matched_n, None),
        ("attrition_pct", attrition_pct, 100),
        ("followup_months", followup_months, None),
    ):
        if _known(value) and (value < 0 or (upper is not None and value > upper)):
            raise ValueError(f"{name} out of range: {value!r}")

    bottom = TIER_RULES[-1]
    if design not in DESIGNS:
        reason = (
            f"Design {design!r} is not recorded as one of: {', '.join(DESIGNS)}."
            if design
            else "The study design is not recorded."
        )
        return EvidenceTier(bottom["tier"], bottom["label"], (reason,))

    attained = next(
        rule
        for rule in TIER_RULES
        if rule["tier"] == 0 or not _unmet(rule, design, matched_n, attrition_pct, followup_months)
    )
    tier = attained["tier"]
    if tier == 0:
        reasons = [f"Tier 0 ({attained['label']}): {attained['requirements']}"]
    else:
        reasons = [
            f"Tier {tier} ({attained['label']}): meets every tier-{tier} requirement. "
            f"{attained['requirements']}"
        ]
    cap, why = _DESIGN_CAPS[design]
    if cap < TIER_RULES[0]["tier"]:
        reasons.append(
            f"A {DESIGNS[design]} design is capped at tier {cap} of {TIER_RULES[0]['tier']}: {why}."
        )
    if tier < TIER_RULES[0]["tier"]:
        above = next(rule for rule in TIER_RULES if rule["tier"] == tier + 1)
        reasons.extend(_unmet(above, design, matched_n, attrition_pct, followup_months,
                              figures))
    else:
        reasons.append("Meets every requirement of the top tier.")
    return EvidenceTier(tier, attained["label"], tuple(reasons))


# Published studies: the same rules, with the study's own ratings. Risk-of-bias levels from
# best to worst (RoB 2, Sterne et al. 2019; ROBINS-I's serious and critical entered as high).
RISK_ORDER = tuple(RISK_OF_BIAS)
_RISK_CAP_WHY = {
    "some_concerns": "with some concerns about bias the result may be partly explained by "
    "how the study was run, so it cannot be strong evidence",
    "high": "a study at high risk of bias (RoB 2 / ROBINS-I) may owe its result to how it was "
    "run rather than to the programme, so it counts at most as limited evidence",
}
_INDEPENDENCE_WHY = (
    "an evaluation run by the programme's developer cannot reach the top tier: the EEF has its "
    "trials run by independent evaluators, and clearinghouses such as Blueprints ask for an "
    "independent evaluation for their top rating, because developer-led evaluations report "
    "larger effects (Wolf et al. 2020)"
)
# What each study-level figure is called when it is not reported.
_NOT_REPORTED = {
    "attrition": "Attrition: not reported",
    "followup_months": "Follow-up: not reported",
    "risk_of_bias": "Risk of bias: not assessed",
    "independent": "Independence from the developer: not reported",
}


@dataclass(frozen=True)
class StudyTier(EvidenceTier):
    """A published study's tier with the requirements that could not be checked.

    ``provisional`` is True when the tier reached needs a figure the study does not report:
    ``not_checked`` names those figures, and the tier holds if they meet its requirements."""

    provisional: bool = False
    not_checked: tuple[str, ...] = ()


def _risk_rank(level: str) -> int:
    return RISK_ORDER.index(level)


def _study_gaps(
    rule: dict[str, Any],
    design: str,
    n: int | None,
    attrition: float | None,
    followup: float | None,
    risk_of_bias: str | None,
    independent: bool | None,
) -> tuple[list[str], list[str]]:
    """(requirements of ``rule`` the study fails, in words; the study figures the rule needs
    that are not reported). A figure not reported is never a failure."""
    known = dict(rule)
    unknown = []
    if rule["max_attrition_pct"] is not None and not _known(attrition):
        known["max_attrition_pct"] = None
        unknown.append("attrition")
    if rule["min_followup_months"] is not None and not _known(followup):
        known["min_followup_months"] = None
        unknown.append("followup_months")
    gaps = _unmet(known, design, n, attrition, followup, unit="participants analysed")
    tier, worst = rule["tier"], rule["max_risk_of_bias"]
    if _risk_rank(worst) < len(RISK_ORDER) - 1:
        if risk_of_bias is None:
            unknown.append("risk_of_bias")
        elif _risk_rank(risk_of_bias) > _risk_rank(worst):
            allowed = " or ".join(RISK_OF_BIAS[r] for r in RISK_ORDER[: _risk_rank(worst) + 1])
            gaps.append(f"Tier {tier} needs a risk of bias rated {allowed}; it is rated "
                        f"{RISK_OF_BIAS[risk_of_bias]}.")
    if rule["independent"]:
        if independent is None:
            unknown.append("independent")
        elif not independent:
            gaps.append(f"Tier {tier} needs an evaluation independent of the developer; "
                        "this one is not.")
    return gaps, unknown


def study_tier(
    design: str | None,
    n: int | None,
    *,
    attrition_pct: float | None = None,
    followup_months: float | None = None,
    risk_of_bias: str | None = None,
    independent: bool | None = None,
) -> StudyTier:
    """Rate a published study 0-5 with ``TIER_RULES`` and its own ratings, in plain words.

    ``n`` is the participants analysed; ``attrition_pct`` a percentage (0-100);
    ``followup_months`` the months from the end of training to the last outcome;
    ``risk_of_bias`` the overall RoB 2 / ROBINS-I judgement (``RISK_OF_BIAS``);
    ``independent`` whether someone other than the developer evaluated it. Each rule's
    ``max_risk_of_bias`` and ``independent`` apply: a high risk of bias caps the study at
    tier 2, some concerns at tier 4, and an evaluation by the developer at tier 4.

    A figure that is not reported (None/NaN) is listed as such in the reasons and is not
    scored as the worst case: the tier is the highest whose reported requirements are all
    met, marked ``provisional`` with the figures it could not check. Raises ValueError for
    impossible values and for a risk of bias outside ``RISK_OF_BIAS``.
    """
    for name, value, upper in (("n", n, None), ("attrition_pct", attrition_pct, 100),
                               ("followup_months", followup_months, None)):
        if _known(value) and (value < 0 or (upper is not None and value > upper)):
            raise ValueError(f"{name} out of range: {value!r}")
    if risk_of_bias is not None and risk_of_bias not in RISK_OF_BIAS:
        raise ValueError(f"risk_of_bias must be one of {', '.join(RISK_OF_BIAS)}: "
                         f"{risk_of_bias!r}")
    if design not in DESIGNS:
        base = evidence_tier(design, n, attrition_pct, followup_months)
        return StudyTier(base.tier, base.label, base.reasons)
    figures = (design, n, attrition_pct, followup_months, risk_of_bias, independent)
    attained, unknown = next(
        (rule, unknown)
        for rule in TIER_RULES
        for gaps, unknown in [_study_gaps(rule, *figures) if rule["tier"] else ([], [])]
        if not gaps
    )
    tier, label = attained["tier"], attained["label"]
    if tier == 0:
        reasons = [f"Tier 0 ({label}): {attained['requirements']}"]
    elif unknown:
        checked = ", ".join(_NOT_REPORTED[u].split(":")[0].lower() for u in unknown)
        reasons = [f"Tier {tier} ({label}), provisional: meets every tier-{tier} requirement "
                   f"that is reported; {checked} could not be checked."]
    else:
        reasons = [f"Tier {tier} ({label}): meets every tier-{tier} requirement. "
                   f"{attained['requirements']} {attained['studies']}"]
    reasons.extend(f"{_NOT_REPORTED[name]}." for name in _NOT_REPORTED
                   if (name == "attrition" and not _known(attrition_pct))
                   or (name == "followup_months" and not _known(followup_months))
                   or (name == "risk_of_bias" and risk_of_bias is None)
                   or (name == "independent" and independent is None))
    top = TIER_RULES[0]["tier"]
    cap, why = _DESIGN_CAPS[design]
    if cap < top:
        reasons.append(f"A {DESIGNS[design]} design is capped at tier {cap} of {top}: {why}.")
    if risk_of_bias in _RISK_CAP_WHY:
        risk_cap = max(r["tier"] for r in TIER_RULES
                       if _risk_rank(risk_of_bias) <= _risk_rank(r["max_risk_of_bias"]))
        if risk_cap < cap:
            reasons.append(f"A risk of bias rated {RISK_OF_BIAS[risk_of_bias]} caps a study at "
                           f"tier {risk_cap} of {top}: {_RISK_CAP_WHY[risk_of_bias]}.")
    if independent is False and cap == top and risk_of_bias != "high":
        reasons.append(f"Capped at tier {top - 1} of {top}: {_INDEPENDENCE_WHY}.")
    if tier < top:
        above = next(rule for rule in TIER_RULES if rule["tier"] == tier + 1)
        reasons.extend(_study_gaps(above, *figures)[0])
    elif not unknown:
        reasons.append("Meets every requirement of the top tier.")
    not_checked = tuple(unknown) if tier else ()
    return StudyTier(tier, label, tuple(reasons), bool(not_checked), not_checked)
