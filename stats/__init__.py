"""Attune's statistics: pure functions, no I/O, no DuckDB, no Dash.

Every function takes numbers or arrays and returns numbers or frozen dataclasses (each with
``as_dict()``). Formulas, sources and the choices made are documented in ``stats/METHODS.md``.
"""

from __future__ import annotations

from .attrition import (
    AttritionBias,
    FunnelStep,
    attrition_bias,
    attrition_bias_from_moments,
    attrition_funnel,
)
from .bootstrap import BootstrapCI, cluster_bootstrap_ci, ratio_bootstrap_ci
from .comparison import (
    ArmEffect,
    AttritionStandard,
    BaselineEquivalence,
    ancova,
    ancova_from_cohort_sums,
    attrition_standard,
    baseline_equivalence,
    baseline_equivalence_from_moments,
    did_from_cohort_sums,
    difference_in_differences,
)
from .meta import (
    METHODS,
    MetaResult,
    log_risk_ratio,
    meta_analysis,
    smcr_from_prepost,
    smd_from_ci,
    study_effect_size,
    to_yi_vi,
)
from .mixed import MixedFit, Pattern, fit_reml
from .multiplicity import benjamini_hochberg
from .paired import (
    PairedChange,
    hedges_j,
    paired_change,
    paired_change_from_moments,
    wilcoxon_p_from_ranks,
)
from .regression import Coefficient, RegressionFit, ols, ols_from_cluster_sums
from .reliability import Alpha, cronbach_alpha, cronbach_alpha_from_variances
from .reliable_change import (
    ReliableChangeShares,
    classify_reliable_change,
    rci,
    reliable_change_threshold,
    s_diff,
)
from .tiers import DESIGNS, TIER_RULES, EvidenceTier, evidence_tier

__all__ = [
    "MixedFit",
    "Pattern",
    "fit_reml",
    "BootstrapCI",
    "cluster_bootstrap_ci",
    "ratio_bootstrap_ci",
    "ArmEffect",
    "AttritionStandard",
    "BaselineEquivalence",
    "ancova",
    "ancova_from_cohort_sums",
    "attrition_standard",
    "baseline_equivalence",
    "baseline_equivalence_from_moments",
    "did_from_cohort_sums",
    "difference_in_differences",
    "Coefficient",
    "RegressionFit",
    "ols",
    "ols_from_cluster_sums",
    "DESIGNS",
    "METHODS",
    "TIER_RULES",
    "Alpha",
    "AttritionBias",
    "EvidenceTier",
    "FunnelStep",
    "MetaResult",
    "PairedChange",
    "ReliableChangeShares",
    "attrition_bias",
    "attrition_bias_from_moments",
    "attrition_funnel",
    "benjamini_hochberg",
    "classify_reliable_change",
    "cronbach_alpha",
    "cronbach_alpha_from_variances",
    "evidence_tier",
    "hedges_j",
    "log_risk_ratio",
    "meta_analysis",
    "paired_change",
    "paired_change_from_moments",
    "rci",
    "reliable_change_threshold",
    "s_diff",
    "smcr_from_prepost",
    "smd_from_ci",
    "study_effect_size",
    "to_yi_vi",
    "wilcoxon_p_from_ranks",
]
