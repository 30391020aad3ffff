"""GRADE certainty per outcome domain: where it starts, each of the four reasons to rate down
with its boundary, the levels it reaches, and a worked example through the meta-analysis."""

from __future__ import annotations

import pytest

from stats.certainty import (
    I2_SERIOUS,
    I2_VERY_SERIOUS,
    OPTIMAL_INFORMATION_SIZE,
    domain_certainty,
)
from stats.meta import meta_analysis

# A pooled estimate with nothing to rate down: clear of zero, consistent.
CLEAR = {"tau2": 0.0, "i2": 0.0, "ci_low": 0.3, "ci_high": 0.6, "pi_low": 0.25,
         "pi_high": 0.65}


def _study(design="randomised", n=200, vi=0.02, risk="low", es=0.45):
    return {"design": design, "n": n, "es": es, "es_vi": vi, "risk_of_bias": risk}


def _concern(result, name):
    return next(c for c in result.concerns if c.name == name)


def test_mostly_randomised_evidence_with_no_concern_is_high_certainty():
    result = domain_certainty([_study(), _study(), _study()], CLEAR)
    assert (result.start, result.level) == ("high", "high")
    assert [c.verdict for c in result.concerns] == [
        "not serious", "not serious", "not serious", "not assessable"]


def test_evidence_mostly_observational_by_weight_starts_low():
    # Two randomised studies, but most of the weight is in the large observational one.
    studies = [_study(vi=0.08), _study(vi=0.08), _study("comparison_group", n=900, vi=0.005)]
    result = domain_certainty(studies, CLEAR)
    assert (result.start, result.level) == ("low", "low")
    assert result.reasons[0].startswith("Starts low: 11% of the weight is from randomised")


def test_random_effects_weights_decide_what_is_mostly_randomised():
    studies = [_study(vi=0.01), _study("single_group_pre_post", vi=0.03),
               _study("comparison_group", vi=0.03)]
    assert domain_certainty(studies, {**CLEAR, "tau2": 0.0}).start == "high"  # 60% by 1/vi
    assert domain_certainty(studies, {**CLEAR, "tau2": 0.5}).start == "low"  # ~34%: equal-ish


@pytest.mark.parametrize(
    ("risks", "verdict", "down"),
    [
        (["high", "low", "high", "low"], "serious", 1),  # exactly half the weight
        (["high", "low", "low", "low"], "not serious", 0),
        ([None, None, None, "low"], "not assessed", 0),
        ([None, None, "low", "low"], "not serious", 0),  # half unassessed is not "most"
    ],
)
def test_risk_of_bias_is_serious_when_half_the_weight_is_at_high_risk(risks, verdict, down):
    result = domain_certainty([_study(risk=r) for r in risks], CLEAR)
    concern = _concern(result, "Risk of bias")
    assert (concern.verdict, concern.levels_down) == (verdict, down)
    assert result.level == ("moderate" if down else "high")


def test_unassessed_risk_of_bias_is_said_and_not_rated_down():
    result = domain_certainty([_study(risk=None)] * 3, CLEAR)
    assert "Risk of bias: not assessed (not rated down): risk of bias is not reported for " \
        "100% of the weight" in result.reasons[1]


@pytest.mark.parametrize(
    ("i2", "verdict", "down"),
    [(I2_SERIOUS - 0.1, "not serious", 0), (I2_SERIOUS, "serious", 1),
     (I2_VERY_SERIOUS - 0.1, "serious", 1), (I2_VERY_SERIOUS, "very serious", 2)],
)
def test_inconsistency_steps_at_i2_of_50_and_75_percent(i2, verdict, down):
    concern = _concern(domain_certainty([_study()] * 3, {**CLEAR, "i2": i2}), "Inconsistency")
    assert (concern.verdict, concern.levels_down) == (verdict, down)


def test_a_prediction_interval_through_zero_when_the_ci_is_clear_is_serious_inconsistency():
    pooled = {**CLEAR, "i2": 30.0, "pi_low": -0.1, "pi_high": 1.0}
    concern = _concern(domain_certainty([_study()] * 3, pooled), "Inconsistency")
    assert (concern.verdict, concern.levels_down) == ("serious", 1)
    assert "prediction interval (-0.10 to 1.00) includes no effect" in concern.reason


def test_a_single_study_has_no_inconsistency_to_assess_and_uses_its_own_interval():
    result = domain_certainty([_study(n=500, vi=0.01, es=0.1)], None)
    assert _concern(result, "Inconsistency").verdict == "not assessable"
    imprecision = _concern(result, "Imprecision")
    # 0.1 +- 1.96 * 0.1 includes zero; 500 people are enough.
    assert (imprecision.verdict, imprecision.levels_down) == ("serious", 1)
    assert "(-0.10 to 0.30) includes no effect" in imprecision.reason


@pytest.mark.parametrize(
    ("n_each", "ci", "verdict", "down"),
    [
        (OPTIMAL_INFORMATION_SIZE // 4, (0.3, 0.6), "not serious", 0),  # exactly 400
        (OPTIMAL_INFORMATION_SIZE // 4 - 1, (0.3, 0.6), "serious", 1),  # 396
        (200, (-0.05, 0.6), "serious", 1),
        (50, (-0.05, 0.6), "very serious", 2),
    ],
)
def test_imprecision_counts_a_ci_through_zero_and_fewer_than_400_people(n_each, ci, verdict,
                                                                        down):
    pooled = {**CLEAR, "ci_low": ci[0], "ci_high": ci[1]}
    concern = _concern(domain_certainty([_study(n=n_each)] * 4, pooled), "Imprecision")
    assert (concern.verdict, concern.levels_down) == (verdict, down)


@pytest.mark.parametrize(
    ("k", "p", "verdict", "down"),
    [(9, 0.01, "not assessable", 0), (10, 0.099, "serious", 1), (10, 0.10, "not serious", 0),
     (12, None, "not assessed", 0)],
)
def test_publication_bias_needs_ten_studies_and_egger_p_below_0_10(k, p, verdict, down):
    result = domain_certainty([_study()] * k, CLEAR, small_study_p=p)
    concern = _concern(result, "Publication bias")
    assert (concern.verdict, concern.levels_down) == (verdict, down)


def test_levels_go_no_lower_than_very_low():
    studies = [_study("comparison_group", n=20, risk="high")] * 10
    pooled = {**CLEAR, "i2": 80.0, "ci_low": -0.2, "ci_high": 0.7}
    result = domain_certainty(studies, pooled, small_study_p=0.01)
    assert sum(c.levels_down for c in result.concerns) == 6
    assert (result.start, result.level) == ("low", "very low")


def test_no_study_with_an_effect_size_is_an_error():
    with pytest.raises(ValueError):
        domain_certainty([{"design": "randomised", "n": 50, "es": None, "es_vi": None}], None)


def test_worked_example_through_the_meta_analysis():
    # Five studies of one domain: three randomised (one at high risk of bias), two with a
    # comparison group; 40 + 60 + 80 + 70 + 90 = 340 people. Variances as the library's.
    yi = [0.50, 0.30, 0.45, 0.55, 0.25]
    vi = [0.105, 0.068, 0.051, 0.061, 0.046]
    designs = ["randomised", "randomised", "randomised", "comparison_group", "comparison_group"]
    risks = ["low", "high", "some_concerns", None, "low"]
    ns = [40, 60, 80, 70, 90]
    studies = [{"design": d, "n": n, "yi": y, "vi": v, "risk_of_bias": r}
               for d, n, y, v, r in zip(designs, ns, yi, vi, risks, strict=True)]
    pooled = meta_analysis(yi, vi).as_dict()
    result = domain_certainty(studies, pooled)
    # The studies agree (Q = 1.15 on 4 df), so tau2 is 0 and the weights are 1/vi: the three
    # randomised studies carry 9.5 + 14.7 + 19.6 = 43.8 of 81.9 (53%), so it starts high.
    assert pooled["tau2"] == pytest.approx(0.0, abs=1e-8)
    assert pooled["ci_low"] == pytest.approx(0.1794, abs=5e-5)  # metafor rma(): ci.lb 0.1793749
    assert (result.start, result.k, result.total_n) == ("high", 5, 340)
    assert [(c.name, c.verdict) for c in result.concerns] == [
        ("Risk of bias", "not serious"),  # 14.7 of 81.8 = 18% at high risk
        ("Inconsistency", "not serious"),
        ("Imprecision", "serious"),  # CI clear of zero, but 340 < 400 people
        ("Publication bias", "not assessable"),  # 5 studies
    ]
    assert result.level == "moderate"
    assert result.reasons == (
        "Starts high: 53% of the weight is from randomised studies (more than 50%).",
        "Risk of bias: not serious (not rated down): 18% of the weight is from studies at "
        "high risk of bias.",
        f"Inconsistency: not serious (not rated down): I² is {pooled['i2']:.0f}%; the 95% "
        f"prediction interval is {pooled['pi_low']:.2f} to {pooled['pi_high']:.2f}.",
        f"Imprecision: serious (rated down one level): the 95% CI ({pooled['ci_low']:.2f} to "
        f"{pooled['ci_high']:.2f}) excludes no effect; 340 people in all, below the optimal "
        "information size of 400.",
        "Publication bias: not assessable (not rated down): 5 studies, fewer than the 10 a "
        "small-study test needs.",
        "Certainty: moderate.",
    )
    assert result.as_dict()["reasons"] == list(result.reasons)
