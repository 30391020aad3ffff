"""Synthetic evidence studies: labelled as such, enough of them in two domains for a funnel
plot, with effects and variances that fit n, and study ratings that follow the design, some
left blank on purpose."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from etl.table_file import read_evidence_file
from schemas.contract import (
    AUDIENCES,
    EVIDENCE_REQUIRED_COLUMNS,
    FORMATS,
    RISK_OF_BIAS,
)
from synthetic.evidence import make_evidence
from synthetic.world import WorldError, _check
from tests.synthetic.helpers import read_csv


def test_evidence_studies_are_all_labelled_synthetic(clean, world):
    result, _ = clean
    evidence = read_csv(result.evidence_path)
    assert set(EVIDENCE_REQUIRED_COLUMNS) <= set(evidence.columns)
    assert len(evidence) == sum(world.evidence.domain_studies.values()) == result.evidence_studies
    assert evidence.study_id.is_unique
    assert evidence.citation.str.startswith("Synthetic demo study").all()
    assert evidence.citation.str.contains("(not a real publication)", regex=False).all()
    assert (evidence.synthetic == "true").all()
    assert set(evidence.design) == {"single_group_pre_post", "comparison_group", "randomised"}
    assert set(evidence.audience) <= set(AUDIENCES) and set(evidence.format) <= set(FORMATS)
    domains = {scale.domain for scale in world.instrument.scales}
    assert set(evidence.outcome_domain) <= domains
    n, yi, vi = (evidence[c].astype(float) for c in ("n", "yi", "vi"))
    band = world.evidence.effect_band
    assert yi.between(band.min, band.max).all()
    # Variance consistent with n: at least 1/n (pre-post) and at most 4/n + yi^2/(2n) (groups).
    assert (vi >= 1 / n - 1e-4).all() and (vi <= 4 / n + yi**2 / (2 * n) + 1e-4).all()


def test_two_domains_have_at_least_ten_studies_and_the_others_fewer(clean):
    evidence = read_csv(clean[0].evidence_path)
    counts = evidence.outcome_domain.value_counts()
    assert (counts >= 10).sum() == 2
    assert counts.sort_values().iloc[:-2].max() < 10
    assert len(counts) >= 4  # some evidence in most domains, so the gap map has cells


def test_every_study_rating_column_is_written_with_a_mix_and_some_blanks(clean):
    evidence = read_csv(clean[0].evidence_path)
    assert list(evidence.columns)[-4:] == [
        "attrition", "followup_months", "risk_of_bias", "independent"]
    risks = evidence.risk_of_bias
    assert set(risks) - {""} == set(RISK_OF_BIAS)  # every level, and
    assert (risks == "").any()  # some not assessed
    for column in ("attrition", "followup_months", "independent"):
        blank = (evidence[column] == "").mean()
        assert 0 < blank < 0.5, column  # reported for most, missing for some on purpose
    assert set(evidence.independent) == {"true", "false", ""}
    attrition = pd.to_numeric(evidence.attrition[evidence.attrition != ""])
    assert attrition.between(0, 100).all() and attrition.max() > 1  # a percentage
    assert (pd.to_numeric(evidence.followup_months[evidence.followup_months != ""]) >= 0).all()


def test_randomised_studies_rate_better_than_single_group_ones(clean):
    evidence = read_csv(clean[0].evidence_path)
    by_design = evidence.groupby("design").risk_of_bias
    low = by_design.apply(lambda r: (r == "low").mean())
    high = by_design.apply(lambda r: (r == "high").mean())
    assert low["randomised"] > low["single_group_pre_post"]
    assert high["single_group_pre_post"] > high["randomised"]


def test_small_studies_show_larger_effects_in_the_small_study_bias_domain(world):
    # Many studies of one design in that domain, so the asymmetry is the plan's, not a sample's.
    bias = world.evidence.small_study_bias
    design = dataclasses.replace(world.evidence.designs["comparison_group"], studies=300)
    # (A wide band: the plausible band redraws the largest effects, which hides some of it.)
    wide = dataclasses.replace(world.evidence.effect_band, min=-5.0, max=5.0)
    plan = dataclasses.replace(world.evidence, domain_studies={bias.domain: 300},
                               designs={"comparison_group": design}, effect_band=wide)

    def egger_slope(plan) -> float:
        frame = make_evidence(np.random.default_rng(3), dataclasses.replace(world, evidence=plan))
        return np.polyfit(np.sqrt(frame.vi.astype(float)), frame.yi.astype(float), 1)[0]

    with_bias = egger_slope(plan)
    without = egger_slope(dataclasses.replace(plan, small_study_bias=None))
    # (vi grows with yi^2, so even unbiased studies lean a little: compare the two.)
    assert with_bias - without == pytest.approx(bias.per_se, abs=0.6)


def test_the_generated_evidence_file_passes_the_contract(clean):
    checked = read_evidence_file(clean[0].evidence_path)
    assert checked.validated.quarantine.empty
    assert checked.validated.keep.all()


def test_domain_studies_must_add_up_to_the_designs(world):
    plan = dataclasses.replace(world.evidence, domain_studies={"Confidence": 1})
    with pytest.raises(WorldError, match="add up"):
        _check(dataclasses.replace(world, evidence=plan), "world.yaml")
