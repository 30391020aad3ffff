"""Synthetic evidence studies for evidence.csv, each labelled as not a real publication."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from schemas.contract import AUDIENCES, FORMATS, SINGLE_GROUP_PRE_POST
from synthetic.world import World

AUDIENCE_IDS: tuple[str, ...] = tuple(AUDIENCES)
FORMAT_IDS: tuple[str, ...] = tuple(FORMATS)


def sampling_variance_base(design: str, n: int) -> float:
    """Large-sample variance of a standardised mean difference before its yi^2 term: 1/n for a
    pre-post design with r = 0.5, 4/n for two equal groups (Borenstein et al. 2009, eq. 4.20
    and 4.28)."""
    return 1 / n if design == SINGLE_GROUP_PRE_POST else 4 / n


def make_evidence(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """The studies, designs shuffled, outcome domains taken in turn; yi is kept in the world's
    plausible band and vi follows from n and yi."""
    plan = world.evidence
    designs = np.array(
        [name for name, design in plan.designs.items() for _ in range(design.studies)]
    )
    designs = designs[rng.permutation(designs.size)]
    domains = list(plan.domain_effect)
    band = plan.effect_band
    records = []
    for index, design_name in enumerate(designs.tolist(), start=1):
        design = plan.designs[design_name]
        domain = domains[(index - 1) % len(domains)]
        n = int(rng.integers(design.n.min, design.n.max + 1))
        true = rng.normal(plan.domain_effect[domain] + design.effect_shift, plan.true_effect_sd)
        base = sampling_variance_base(design_name, n)
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
            }
        )
    return pd.DataFrame.from_records(records)
