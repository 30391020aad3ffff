"""The plain-language sentences sponsors read (``warehouse.plain_words``): what changed, by how
much, for how many and how sure, without statistical shorthand, with the direction right for
a scale where lower is better, and "not shown" for a hidden figure."""

from __future__ import annotations

import re

import pytest

from warehouse.catalog import filter_options
from warehouse.filters import SponsorScope, filters_from_state, scope_options
from warehouse.outcomes import change_family
from warehouse.plain_words import change_sentence, share_sentence

JARGON = re.compile(r"\bg\s*=|\bCI\b|95%|\bp\s*[=<]|\bSMD\b|\bd_z\b|effect size", re.IGNORECASE)
CONFIDENCE = {"name": "Confidence", "min_value": 1.0, "max_value": 5.0, "higher_is_better": True}
BURNOUT = {"name": "Burnout", "min_value": 1.0, "max_value": 5.0, "higher_is_better": False}


def _row(before: float, after: float, low: float | None, high: float | None,
         higher_is_better: bool = True, n: int = 340) -> dict:
    sign = 1 if higher_is_better else -1
    return {"n_pairs": n, "mean_from": before, "mean_to": after,
            "mean_change": sign * (after - before), "ci_low": low, "ci_high": high,
            "suppressed": False}


def test_sponsor_sentences_on_the_demo_name_the_change_and_people_without_jargon(demo_db):
    options = filter_options(demo_db)
    filters = filters_from_state({}, options, SponsorScope.of("SP01", options))
    scales = {s["scale_id"]: s for s in scope_options(options, SponsorScope.of("SP01", options))
              ["scales"]}
    rows = change_family(demo_db, by=(), filters=filters)
    sentences = [change_sentence(r, scales[r["scale_id"]]) for r in rows]
    assert len(sentences) == 5
    for sentence, row in zip(sentences, rows, strict=True):
        assert not JARGON.search(sentence), sentence
        assert f"among {row['n_pairs']:,} people" in sentence
        assert "likely range" in sentence


def test_a_rise_whose_range_stays_above_zero_very_probably_rose():
    sentence = change_sentence(_row(3.0, 3.4, 0.3, 0.5), CONFIDENCE)
    assert sentence.startswith("Confidence rose by 0.40 points on a 1–5 scale among 340 people")
    assert "(an improvement)" in sentence
    assert sentence.endswith("the likely range of the rise is 0.30 to 0.50 points, so it very "
                             "probably rose.")


def test_a_worsening_on_a_higher_is_better_scale_says_it_fell_and_is_a_worsening():
    sentence = change_sentence(_row(3.4, 3.1, -0.45, -0.15), CONFIDENCE)
    assert sentence.startswith("Confidence fell by 0.30 points")
    assert "(a worsening)" in sentence
    assert "the likely range of the fall is 0.15 to 0.45 points, so it very probably fell" \
        in sentence
    assert "improvement" not in sentence


def test_falling_burnout_is_an_improvement_and_rising_burnout_a_worsening():
    fell = change_sentence(_row(3.0, 2.8, 0.1, 0.3, higher_is_better=False), BURNOUT)
    assert fell.startswith("Burnout fell by 0.20 points")
    assert "(an improvement, as lower is better)" in fell
    assert "so it very probably fell" in fell
    rose = change_sentence(_row(2.8, 3.0, -0.3, -0.1, higher_is_better=False), BURNOUT)
    assert rose.startswith("Burnout rose by 0.20 points")
    assert "(a worsening, as lower is better)" in rose
    assert "the likely range of the rise is 0.10 to 0.30 points, so it very probably rose" \
        in rose


def test_a_range_across_no_change_says_it_may_not_have_changed():
    sentence = change_sentence(_row(3.0, 3.05, -0.1, 0.2), CONFIDENCE)
    assert "the likely range runs from a fall of 0.10 to a rise of 0.20 points, so it may not " \
        "have changed at all" in sentence
    assert "very probably" not in sentence


@pytest.mark.parametrize("row", [{"suppressed": True, "n_pairs": None, "mean_change": None},
                                 {"suppressed": False, "n_pairs": 12, "mean_change": None}])
def test_a_hidden_figure_says_only_not_shown(row):
    assert change_sentence(row, CONFIDENCE) == "Confidence: not shown."
    assert share_sentence({**row, "pct_reliable_improved": None}) is None


def test_later_waves_are_named_in_words():
    sentence = change_sentence(_row(3.0, 3.4, 0.3, 0.5), CONFIDENCE, "pre", "followup_12m")
    assert "answered both before training and 12 months after training" in sentence


def test_share_reliably_improved_in_words():
    assert share_sentence({"pct_reliable_improved": 23.0}) == (
        "About 1 in 4 people (23%) improved by more than the scale's measurement error alone "
        "would explain.")
