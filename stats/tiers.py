"""Local evidence tier (0-5 "padlocks") for a programme's own outcome data.

Modelled on the Education Endowment Foundation's security padlocks and the California
Evidence-Based Clearinghouse (CEBC) ratings: how far can a reader trust that the change
seen in this programme's data reflects the programme? The tier depends only on the design,
the number of matched pre/post pairs, attrition and the length of follow-up. It rates the
strength of the evidence, not the size of the effect.

``TIER_RULES`` is the single source of the rules: ``evidence_tier`` applies it and the README
and dashboard render it as a table, so the table and the logic cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from schemas.contract import EVIDENCE_DESIGNS as DESIGNS

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
) -> dict[str, Any]:
    return {
        "tier": tier,
        "label": label,
        "requirements": requirements,
        "designs": designs,
        "min_matched_n": min_matched_n,
        "max_attrition_pct": max_attrition_pct,
        "min_followup_months": min_followup_months,
    }


_ALL = tuple(DESIGNS)

# Highest first. Each tier's thresholds are at least as strict as the tier below, so the
# tier is the highest row whose every requirement is met. Boundaries are inclusive.
TIER_RULES: list[dict[str, Any]] = [
    _rule(5, "Strong", ("randomised",), 100, 20, 12,
          "Randomised design; at least 100 matched pre/post pairs; attrition at most 20%; "
          "follow-up at least 12 months after the end of training."),
    _rule(4, "Good", ("comparison_group", "randomised"), 50, 30, 6,
          "Comparison group or randomised design; at least 50 matched pairs; "
          "attrition at most 30%; follow-up at least 6 months."),
    _rule(3, "Moderate", _ALL, 30, 40, 3,
          "Any design, including single-group pre/post (its highest tier); at least 30 "
          "matched pairs; attrition at most 40%; follow-up at least 3 months."),
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
) -> list[str]:
    """Plain-language list of the rule's requirements this programme does not meet (with
    the programme's own figures, unless ``figures`` is False)."""
    tier = rule["tier"]
    gaps = []
    if design not in rule["designs"]:
        needed = " or ".join(DESIGNS[d] for d in rule["designs"])
        gaps.append(f"Tier {tier} needs a {needed} design; this is {DESIGNS[design]}.")
    if not _known(matched_n) or matched_n < rule["min_matched_n"]:
        has = (f"has {matched_n}" if figures else "it has fewer") if _known(matched_n) \
            else "the number is unknown"
        gaps.append(f"Tier {tier} needs at least {rule['min_matched_n']} matched pairs; {has}.")
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
