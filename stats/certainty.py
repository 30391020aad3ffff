"""Certainty of the evidence per outcome domain, in the GRADE manner.

GRADE (Guyatt et al. 2011, J Clin Epidemiol 64, the GRADE series; Schünemann et al. 2013,
*GRADE Handbook*) rates how sure a reader can be of a pooled estimate: the body of evidence
starts *high* when it is mostly randomised and *low* when it is mostly observational, and is
rated down one level for each serious concern (two for a very serious one) among risk of bias,
inconsistency, imprecision and publication bias. The levels are high, moderate, low and very
low. Indirectness and the reasons for rating up are judgements about the question, not figures
in the evidence table, so they are left to the reader.

``domain_certainty`` applies the rules below to one domain's studies and their pooled estimate
and says each of the four verdicts in words. The thresholds are named constants with their
sources; every figure it needs is in the evidence table or the pooled estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

LEVELS = ("very low", "low", "moderate", "high")
# GRADE Handbook 5.1 (Schünemann et al. 2013): randomised evidence starts high, observational
# low; "mostly" is more than this share of the pooled weight.
RANDOMISED_SHARE_TO_START_HIGH = 0.5
# GRADE 4 (Guyatt et al. 2011, J Clin Epidemiol 64:407): rate down when most of the weight
# comes from studies at high risk of bias; when most of it is unassessed, say so.
HIGH_RISK_SHARE_SERIOUS = 0.5
UNASSESSED_SHARE = 0.5
# GRADE 7 (Guyatt et al. 2011, J Clin Epidemiol 64:1294) with Higgins et al. 2003 (BMJ
# 327:557): I² of 50% substantial, 75% considerable heterogeneity.
I2_SERIOUS = 50.0
I2_VERY_SERIOUS = 75.0
# GRADE 6 (Guyatt et al. 2011, J Clin Epidemiol 64:1283): the rule-of-thumb optimal
# information size for a continuous outcome, 400 people (an SMD of 0.2).
OPTIMAL_INFORMATION_SIZE = 400
# GRADE 5 (Guyatt et al. 2011, J Clin Epidemiol 64:1277) and Egger et al. 1997 (BMJ 315:629):
# a small-study test at p < 0.10, only with at least 10 studies (Sterne et al. 2011, BMJ
# 343:d4002).
SMALL_STUDY_P = 0.10
MIN_STUDIES_FOR_SMALL_STUDY_TEST = 10
_Z = 1.959963984540054  # the 97.5th normal percentile, for a single study's 95% CI


@dataclass(frozen=True)
class Concern:
    """One GRADE domain's verdict: ``verdict`` is not serious, serious, very serious, not
    assessed or not assessable; ``levels_down`` what it costs (0, 1 or 2)."""

    name: str
    verdict: str
    levels_down: int
    reason: str

    def sentence(self) -> str:
        down = {0: "not rated down", 1: "rated down one level", 2: "rated down two levels"}
        return f"{self.name}: {self.verdict} ({down[self.levels_down]}): {self.reason}."


@dataclass(frozen=True)
class DomainCertainty:
    """A domain's certainty: where it started, the four concerns and the level reached."""

    level: str
    start: str
    start_reason: str
    concerns: tuple[Concern, ...]
    k: int
    total_n: int

    @property
    def reasons(self) -> tuple[str, ...]:
        """The rating in words: the start, then each of the four concerns with its verdict."""
        return (f"Starts {self.start}: {self.start_reason}.",
                *(c.sentence() for c in self.concerns),
                f"Certainty: {self.level}.")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, with the reasons."""
        return {**asdict(self), "reasons": list(self.reasons)}


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _field(study: Mapping[str, Any], *names: str) -> float | None:
    """The first of ``names`` the study gives as a number (the warehouse's es/es_vi, or the
    file's yi/vi)."""
    for name in names:
        value = _number(study.get(name))
        if value is not None:
            return value
    return None


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _crosses_zero(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and low <= 0 <= high


def _interval(low: float, high: float) -> str:
    return f"{low:.2f} to {high:.2f}"


def _risk_of_bias(weights: list[float], levels: list[str | None]) -> Concern:
    total = sum(weights)
    high = sum(w for w, r in zip(weights, levels, strict=True) if r == "high") / total
    unknown = sum(w for w, r in zip(weights, levels, strict=True) if r is None) / total
    name = "Risk of bias"
    if high >= HIGH_RISK_SHARE_SERIOUS:
        return Concern(name, "serious", 1, f"{_pct(high)} of the weight is from studies at "
                       f"high risk of bias (at least {_pct(HIGH_RISK_SHARE_SERIOUS)})")
    if unknown > UNASSESSED_SHARE:
        return Concern(name, "not assessed", 0, f"risk of bias is not reported for "
                       f"{_pct(unknown)} of the weight, so it cannot be judged")
    return Concern(name, "not serious", 0, f"{_pct(high)} of the weight is from studies at "
                   f"high risk of bias")


def _inconsistency(pooled: Mapping[str, Any] | None, k: int) -> Concern:
    name = "Inconsistency"
    if pooled is None or k < 2:
        return Concern(name, "not assessable", 0, "one study cannot disagree with another")
    i2 = _number(pooled.get("i2")) or 0.0
    ci = (_number(pooled.get("ci_low")), _number(pooled.get("ci_high")))
    pi = (_number(pooled.get("pi_low")), _number(pooled.get("pi_high")))
    pi_only = _crosses_zero(*pi) and not _crosses_zero(*ci)
    if i2 >= I2_VERY_SERIOUS:
        return Concern(name, "very serious", 2, f"I² is {i2:.0f}% (at least "
                       f"{I2_VERY_SERIOUS:.0f}%): the studies disagree considerably")
    if i2 >= I2_SERIOUS or pi_only:
        why = [f"I² is {i2:.0f}% (at least {I2_SERIOUS:.0f}%)"] if i2 >= I2_SERIOUS else []
        if pi_only:
            why.append(f"the 95% prediction interval ({_interval(*pi)}) includes no effect "
                       "while the confidence interval does not")
        return Concern(name, "serious", 1, "; ".join(why))
    pi_words = (f"; the 95% prediction interval is {_interval(*pi)}"
                if pi[0] is not None and pi[1] is not None else "")
    return Concern(name, "not serious", 0, f"I² is {i2:.0f}%{pi_words}")


def _imprecision(ci: tuple[float, float], total_n: int) -> Concern:
    wide = _crosses_zero(*ci)
    small = total_n < OPTIMAL_INFORMATION_SIZE
    parts = [
        f"the 95% CI ({_interval(*ci)}) {'includes' if wide else 'excludes'} no effect",
        f"{total_n} people in all, {'below' if small else 'at least'} the optimal "
        f"information size of {OPTIMAL_INFORMATION_SIZE}",
    ]
    verdict, down = {2: ("very serious", 2), 1: ("serious", 1), 0: ("not serious", 0)}[
        wide + small]
    return Concern("Imprecision", verdict, down, "; ".join(parts))


def _publication_bias(k: int, small_study_p: float | None) -> Concern:
    name = "Publication bias"
    if k < MIN_STUDIES_FOR_SMALL_STUDY_TEST:
        return Concern(name, "not assessable", 0, f"{k} studies, fewer than the "
                       f"{MIN_STUDIES_FOR_SMALL_STUDY_TEST} a small-study test needs")
    p = _number(small_study_p)
    if p is None:
        return Concern(name, "not assessed", 0, "no small-study (Egger) test was given")
    if p < SMALL_STUDY_P:
        return Concern(name, "serious", 1, f"Egger's test of small-study effects has "
                       f"p = {p:.3f} (below {SMALL_STUDY_P:g}): small studies show larger "
                       "effects")
    return Concern(name, "not serious", 0, f"Egger's test of small-study effects has "
                   f"p = {p:.3f} (not below {SMALL_STUDY_P:g})")


def domain_certainty(
    studies: Sequence[Mapping[str, Any]],
    pooled: Mapping[str, Any] | None,
    small_study_p: float | None = None,
) -> DomainCertainty:
    """GRADE certainty of one outcome domain's evidence, with the reasons in words.

    ``studies``: the domain's studies, each with ``design``, ``n``, ``risk_of_bias`` (low,
    some_concerns, high or None) and its effect size and variance (``es``/``es_vi`` as the
    warehouse gives them, or ``yi``/``vi``); studies without a variance are not pooled and
    are left out. ``pooled``: the random-effects estimate of those studies
    (``stats.meta.MetaResult.as_dict()``: ``tau2``, ``i2``, ``ci_low``, ``ci_high``,
    ``pi_low``, ``pi_high``), or None for a single study. ``small_study_p``: Egger's test p,
    if one was run. Weights are the random-effects weights 1/(vi + tau²) (Borenstein et al.
    2009, eq. 12.2). Raises ValueError when no study has an effect size.
    """
    pooled_studies = [s for s in studies if _field(s, "es_vi", "vi")]
    if not pooled_studies:
        raise ValueError("no study with an effect size and its variance")
    tau2 = (_number(pooled.get("tau2")) if pooled is not None else None) or 0.0
    weights = [1 / (_field(s, "es_vi", "vi") + tau2) for s in pooled_studies]
    k, total_n = len(pooled_studies), int(sum(int(s["n"]) for s in pooled_studies))
    randomised = sum(w for w, s in zip(weights, pooled_studies, strict=True)
                     if s.get("design") == "randomised") / sum(weights)
    start = "high" if randomised > RANDOMISED_SHARE_TO_START_HIGH else "low"
    start_reason = (f"{_pct(randomised)} of the weight is from randomised studies "
                    f"({'more' if start == 'high' else 'not more'} than "
                    f"{_pct(RANDOMISED_SHARE_TO_START_HIGH)})")
    if pooled is not None:
        ci = (_number(pooled["ci_low"]), _number(pooled["ci_high"]))
    else:
        (only,) = pooled_studies
        es, se = _field(only, "es", "yi"), math.sqrt(_field(only, "es_vi", "vi"))
        ci = (es - _Z * se, es + _Z * se)  # Borenstein et al. 2009, eq. 4.3 (one study)
    concerns = (
        _risk_of_bias(weights, [s.get("risk_of_bias") or None for s in pooled_studies]),
        _inconsistency(pooled, k),
        _imprecision(ci, total_n),
        _publication_bias(k, small_study_p),
    )
    index = max(0, LEVELS.index(start) - sum(c.levels_down for c in concerns))
    return DomainCertainty(LEVELS[index], start, start_reason, concerns, k, total_n)
