"""Local evidence tiers: every rule boundary, design caps and the reasons given."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stats.tiers import DESIGNS, TIER_RULES, evidence_tier

SINGLE = "single_group_pre_post"
COMPARISON = "comparison_group"
RANDOMISED = "randomised"


def _rule(tier: int) -> dict:
    return next(rule for rule in TIER_RULES if rule["tier"] == tier)


# (description, design, matched_n, attrition_pct, followup_months, expected tier)
BOUNDARIES = [
    # tier 5: randomised, n >= 100, attrition <= 20%, follow-up >= 12 months
    ("tier 5 exactly at every boundary", RANDOMISED, 100, 20, 12, 5),
    ("one pair short of tier 5", RANDOMISED, 99, 20, 12, 4),
    ("attrition just over 20%", RANDOMISED, 100, 20.1, 12, 4),
    ("follow-up just under 12 months", RANDOMISED, 100, 20, 11.9, 4),
    # tier 4: comparison group or randomised, n >= 50, attrition <= 30%, follow-up >= 6
    ("comparison group at the tier-4 boundaries", COMPARISON, 50, 30, 6, 4),
    ("randomised at the tier-4 boundaries", RANDOMISED, 50, 30, 6, 4),
    ("one pair short of tier 4", COMPARISON, 49, 30, 6, 3),
    ("attrition just over 30%", COMPARISON, 50, 30.1, 6, 3),
    ("follow-up just under 6 months", COMPARISON, 50, 30, 5.9, 3),
    # tier 3: any design, n >= 30, attrition <= 40%, follow-up >= 3 months
    ("single group at the tier-3 boundaries", SINGLE, 30, 40, 3, 3),
    ("one pair short of tier 3", SINGLE, 29, 40, 3, 2),
    ("attrition just over 40%", SINGLE, 30, 40.1, 3, 2),
    ("follow-up just under 3 months", SINGLE, 30, 40, 2.9, 2),
    ("no follow-up wave at all", SINGLE, 30, 40, None, 2),
    # tier 2: any design, n >= 20, attrition <= 50%
    ("tier 2 at its boundaries without follow-up", SINGLE, 20, 50, 0, 2),
    ("one pair short of tier 2", SINGLE, 19, 50, 0, 1),
    ("attrition just over 50%", SINGLE, 20, 50.1, 0, 1),
    ("attrition not reported", COMPARISON, 200, None, 24, 1),
    # tier 1: any recorded design, n >= 10
    ("tier 1 at its boundary", SINGLE, 10, 90, None, 1),
    ("one pair short of tier 1", RANDOMISED, 9, 0, 24, 0),
    ("matched n unknown", RANDOMISED, None, 0, 24, 0),
]


@pytest.mark.parametrize(
    ("description", "design", "n", "attrition", "followup", "expected"), BOUNDARIES
)
def test_each_rule_boundary_is_inclusive(description, design, n, attrition, followup, expected):
    assert evidence_tier(design, n, attrition, followup).tier == expected, description


def test_pre_post_single_group_is_capped_below_top_tier():
    result = evidence_tier(SINGLE, 5000, 0, 60)
    assert result.tier == 3
    assert result.tier < max(rule["tier"] for rule in TIER_RULES)
    assert any("capped at tier 3 of 5" in reason for reason in result.reasons)
    assert any("comparison group or randomised design" in reason for reason in result.reasons)


def test_non_randomised_comparison_group_is_capped_at_tier_4():
    result = evidence_tier(COMPARISON, 5000, 0, 60)
    assert result.tier == 4
    assert any("capped at tier 4 of 5" in reason for reason in result.reasons)


def test_reasons_name_every_unmet_requirement_of_the_next_tier_with_the_numbers():
    result = evidence_tier(COMPARISON, 45, 35, 6)
    assert (result.tier, result.label) == (3, "Moderate")
    assert result.reasons[0].startswith("Tier 3 (Moderate)")
    assert "Tier 4 needs at least 50 matched pairs; has 45." in result.reasons
    assert "Tier 4 needs attrition of at most 30%; it is 35%." in result.reasons
    assert not any("follow-up" in reason and "Tier 4" in reason for reason in result.reasons)


def test_missing_follow_up_is_named_as_the_limit():
    result = evidence_tier(SINGLE, 40, 10, None)
    assert "Tier 3 needs follow-up of at least 3 months; there is none." in result.reasons


def test_top_tier_says_nothing_caps_it():
    result = evidence_tier(RANDOMISED, 150, 10, 18)
    assert result.tier == 5
    assert result.reasons[-1] == "Meets every requirement of the top tier."


@pytest.mark.parametrize("design", [None, "", "case_study"])
def test_unknown_or_missing_design_is_tier_0(design):
    result = evidence_tier(design, 500, 5, 24)
    assert result.tier == 0
    assert len(result.reasons) == 1 and "design" in result.reasons[0].lower()


def test_nan_attrition_counts_as_unknown():
    assert evidence_tier(SINGLE, 40, math.nan, 6).tier == 1


@pytest.mark.parametrize(
    ("n", "attrition", "followup"), [(-1, 10, 6), (40, -5, 6), (40, 101, 6), (40, 10, -1)]
)
def test_impossible_values_are_rejected(n, attrition, followup):
    with pytest.raises(ValueError):
        evidence_tier(SINGLE, n, attrition, followup)


def test_tier_rules_table_has_one_row_per_tier_with_words_for_the_readme():
    assert [rule["tier"] for rule in TIER_RULES] == [5, 4, 3, 2, 1, 0]
    for rule in TIER_RULES:
        assert {"tier", "label", "requirements"} <= set(rule)
        assert rule["requirements"].endswith(".")
        assert set(rule["designs"]) <= set(DESIGNS)


def test_each_tier_is_at_least_as_strict_as_the_one_below():
    for upper, lower in zip(TIER_RULES[:-2], TIER_RULES[1:-1], strict=True):
        assert set(upper["designs"]) <= set(lower["designs"])
        assert upper["min_matched_n"] >= lower["min_matched_n"]
        if lower["max_attrition_pct"] is not None:
            assert upper["max_attrition_pct"] <= lower["max_attrition_pct"]
        if lower["min_followup_months"] is not None:
            assert upper["min_followup_months"] >= lower["min_followup_months"]


def test_single_group_design_is_admitted_only_up_to_tier_3():
    assert max(rule["tier"] for rule in TIER_RULES if SINGLE in rule["designs"]) == 3


def test_evidence_tier_as_dict():
    assert evidence_tier(RANDOMISED, 9, 0, 0).as_dict()["tier"] == 0


def test_methods_md_tier_table_is_the_tier_rules_table():
    methods = (Path(__file__).resolve().parents[2] / "stats" / "METHODS.md").read_text()
    table = methods.split("<!-- tier-table:start")[1].split("<!-- tier-table:end -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    expected = [f"| {r['tier']} | {r['label']} | {r['requirements']} |" for r in TIER_RULES]
    assert rows[1:] == expected
