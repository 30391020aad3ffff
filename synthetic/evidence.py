"""Synthetic evidence studies for evidence.csv, each labelled as not a real publication, with
study ratings (risk of bias, attrition, follow-up, independence) that follow the design, some
left blank on purpose, and small-study asymmetry in one domain."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from schemas.contract import AUDIENCES, FORMATS, RISK_OF_BIAS, SINGLE_GROUP_PRE_POST
from synthetic.world import EvidenceDesign, World

AUDIENCE_IDS: tuple[str, ...] = tuple(AUDIENCES)
FORMAT_IDS: tuple[str, ...] = tuple(FORMATS)


def sampling_variance_base(design: str, n: int) -> float:
    """Large-sample variance of a standardised mean difference before its yi^2 term: 1/n for a
    pre-post design with r = 0.5, 4/n for two equal groups (Borenstein et al. 2009, eq. 4.20
    and 4.28)."""
    return 1 / n if design == SINGLE_GROUP_PRE_POST else 4 / n


def _ratings(rng: np.random.Generator, design: EvidenceDesign, blank: dict[str, float]) -> dict:
    """A study's risk of bias, attrition (%), follow-up and independence as evidence.csv
    holds them; each left blank (not reported) with the plan's share."""
    draw = rng.random()
    risk = None
    for level in RISK_OF_BIAS:
        draw -= design.risk_of_bias.get(level, 0.0)
        if draw < 0:
            risk = level
            break
    attrition = int(rng.integers(design.attrition_pct.min, design.attrition_pct.max + 1))
    followup = int(rng.choice(np.array(design.followup_months)))
    independent = "true" if rng.random() < design.independent else "false"
    shown = {name: rng.random() >= blank.get(name, 0.0)
             for name in ("attrition", "followup_months", "independent")}
    return {
        "attrition": attrition if shown["attrition"] else None,
        "followup_months": followup if shown["followup_months"] else None,
        "risk_of_bias": risk,
        "independent": independent if shown["independent"] else None,
    }


def make_evidence(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """The studies: designs and outcome domains each shuffled, as many per domain as the plan
    says; yi is kept in the world's plausible band and vi follows from n and yi. In the
    small-study-bias domain yi moves up by a multiple of its standard error, so small
    studies there show larger effects. Ratings follow the design (``_ratings``)."""
    plan = world.evidence
    designs = np.array(
        [name for name, design in plan.designs.items() for _ in range(design.studies)]
    )
    designs = designs[rng.permutation(designs.size)]
    domains = np.array(
        [domain for domain, count in plan.domain_studies.items() for _ in range(count)]
    )
    domains = domains[rng.permutation(domains.size)]
    band = plan.effect_band
    bias = plan.small_study_bias
    records = []
    for index, (design_name, domain) in enumerate(
        zip(designs.tolist(), domains.tolist(), strict=True), start=1
    ):
        design = plan.designs[design_name]
        n = int(rng.integers(design.n.min, design.n.max + 1))
        true = rng.normal(plan.domain_effect[domain] + design.effect_shift, plan.true_effect_sd)
        base = sampling_variance_base(design_name, n)
        if bias is not None and domain == bias.domain:
            true += bias.per_se * math.sqrt(base)
        yi = true + rng.normal(0.0, math.sqrt(base))
        while not band.min <= yi <= band.max:
            yi = true + rng.normal(0.0, math.sqrt(base))
        vi = base + yi**2 / (2 * n)
        records.append(
            {
                "study_id": f"SYN{index:02d}",
                "citation": f"Synthetic demo study {index:02d} (not a real publication)",
                "year": int(rng.integers(plan.years.min, plan.years.max + 1)),
                "design": design_name,
                "audience": AUDIENCE_IDS[int(rng.integers(0, len(AUDIENCE_IDS)))],
                "format": FORMAT_IDS[int(rng.integers(0, len(FORMAT_IDS)))],
                "outcome_domain": domain,
                "n": n,
                "yi": f"{yi:.3f}",
                "vi": f"{vi:.4f}",
                "synthetic": "true",
                **_ratings(rng, design, plan.not_reported),
            }
        )
    frame = pd.DataFrame.from_records(records)
    frame["attrition"] = frame["attrition"].astype("Int64")
    frame["followup_months"] = frame["followup_months"].astype("Int64")
    return frame
