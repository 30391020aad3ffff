"""Evidence tiers: every rule boundary, design caps and the reasons given, for a programme's
own data (evidence_tier) and for a published study with its own ratings (study_tier)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stats.tiers import DESIGNS, TIER_RULES, evidence_tier, study_tier

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


def test_methods_md_study_tier_table_is_the_tier_rules_study_requirements():
    methods = (Path(__file__).resolve().parents[2] / "stats" / "METHODS.md").read_text()
    table = methods.split("<!-- study-tier-table:start")[1].split(
        "<!-- study-tier-table:end -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    expected = [f"| {r['tier']} | {r['label']} | {r['studies']} |" for r in TIER_RULES]
    assert rows[1:] == expected


# The largest study of the shipped evidence library: randomised, 263 analysed.
WELL_RUN = {"attrition_pct": 12, "followup_months": 12, "risk_of_bias": "low",
            "independent": True}


def test_large_randomised_low_risk_study_with_a_year_of_follow_up_reaches_the_top_tier():
    result = study_tier(RANDOMISED, 263, **WELL_RUN)
    assert (result.tier, result.label) == (5, "Strong")
    assert not result.provisional and result.not_checked == ()
    assert result.reasons[-1] == "Meets every requirement of the top tier."


def test_high_risk_of_bias_caps_a_study_at_tier_2_and_says_why():
    result = study_tier(RANDOMISED, 263, **{**WELL_RUN, "risk_of_bias": "high"})
    assert (result.tier, result.label) == (2, "Limited")
    assert any(r.startswith("A risk of bias rated high caps a study at tier 2 of 5: ")
               and "may owe its result to how it was run" in r for r in result.reasons)
    assert "Tier 3 needs a risk of bias rated low or some concerns; it is rated high." \
        in result.reasons


def test_some_concerns_about_bias_keep_a_study_below_the_top_tier():
    result = study_tier(RANDOMISED, 263, **{**WELL_RUN, "risk_of_bias": "some_concerns"})
    assert result.tier == 4
    assert "Tier 5 needs a risk of bias rated low; it is rated some concerns." in result.reasons


def test_an_evaluation_by_the_developer_is_capped_below_the_top_tier_naming_the_practice():
    result = study_tier(RANDOMISED, 263, **{**WELL_RUN, "independent": False})
    assert result.tier == 4
    cap = next(r for r in result.reasons if r.startswith("Capped at tier 4 of 5"))
    assert "EEF" in cap and "independent evaluat" in cap
    assert "Tier 5 needs an evaluation independent of the developer; this one is not." \
        in result.reasons


def test_missing_attrition_is_reported_as_missing_not_scored_as_the_worst_case():
    result = study_tier(RANDOMISED, 263, **{**WELL_RUN, "attrition_pct": None})
    # evidence_tier reads unknown attrition as failing every tier that limits it (tier 1).
    assert evidence_tier(RANDOMISED, 263, None, 12).tier == 1
    assert result.tier == 5 and result.provisional
    assert result.not_checked == ("attrition",)
    assert result.reasons[0] == ("Tier 5 (Strong), provisional: meets every tier-5 requirement "
                                 "that is reported; attrition could not be checked.")
    assert "Attrition: not reported." in result.reasons


def test_a_study_reporting_only_design_and_n_names_every_figure_it_does_not_report():
    result = study_tier(COMPARISON, 90)
    assert (result.tier, result.provisional) == (4, True)
    assert set(result.not_checked) == {"attrition", "followup_months", "risk_of_bias"}
    for words in ("Attrition: not reported.", "Follow-up: not reported.",
                  "Risk of bias: not assessed."):
        assert words in result.reasons


def test_a_reported_figure_still_fails_its_requirement():
    result = study_tier(RANDOMISED, 263, **{**WELL_RUN, "attrition_pct": 35})
    assert (result.tier, result.provisional) == (3, False)
    assert "Tier 4 needs attrition of at most 30%; it is 35%." in result.reasons


@pytest.mark.parametrize(("n", "expected"), [(100, 5), (99, 4), (50, 4), (49, 3), (9, 0)])
def test_study_tier_applies_the_same_sample_size_boundaries(n, expected):
    assert study_tier(RANDOMISED, n, **WELL_RUN).tier == expected


def test_study_tier_names_participants_analysed_not_matched_pairs():
    result = study_tier(RANDOMISED, 80, **WELL_RUN)
    assert "Tier 5 needs at least 100 participants analysed; has 80." in result.reasons


def test_single_group_study_stays_capped_at_tier_3_whatever_its_ratings():
    assert study_tier(SINGLE, 500, **WELL_RUN).tier == 3


@pytest.mark.parametrize("bad", [{"risk_of_bias": "serious"}, {"attrition_pct": 0.12e3},
                                 {"followup_months": -1}])
def test_study_tier_rejects_values_outside_the_contract(bad):
    with pytest.raises(ValueError):
        study_tier(RANDOMISED, 263, **{**WELL_RUN, **bad})


def test_each_tier_allows_no_worse_risk_of_bias_than_the_one_below():
    order = ["low", "some_concerns", "high"]
    for upper, lower in zip(TIER_RULES[:-1], TIER_RULES[1:], strict=True):
        assert order.index(upper["max_risk_of_bias"]) <= order.index(lower["max_risk_of_bias"])
        assert upper["independent"] >= lower["independent"]
