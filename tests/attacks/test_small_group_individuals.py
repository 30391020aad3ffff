"""Recovering individuals from a small group's mean and CI half-width, played as SP1's
sponsor through the JSON API.

Issue 12 recovered two people's changes from a group of two: its mean gives their sum, its
SD (read off the CI half-width, t x SD / sqrt(n)) their sum of squares, and the two solve a
quadratic. A group of two is never shown, but two windows one two-person cohort apart give
the same two sums by subtraction. The attacker knows each window's true number of pairs; the
control runs the attack on a trusted role's exact figures, where it finds both people.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from scipy.stats import t as student_t

from tests.attacks.attack_data import OWN, SCALES, AttackData, Cohort
from tests.attacks.playing import Viewer, dashboard_state, sides
from warehouse.outcomes import group_change

EXACT = 1e-6


def _sums(group: dict, n_true: int) -> tuple[float, float]:
    """The sum and sum of squares of a group's changes as the attacker reads them: the SD
    from the CI half-width (computed with the published count, as the page does), then the
    moments with the true count."""
    n_shown = group["n_pairs"]
    half = (group["ci_high"] - group["ci_low"]) / 2
    sd = half * math.sqrt(n_shown) / student_t.ppf(0.975, n_shown - 1)
    mean = group["mean_change"]
    return n_true * mean, (n_true - 1) * sd**2 + n_true * mean**2


Fetch = Callable[[dict[str, str], str], "dict[str, Any] | None"]


def through_the_api(viewer: Viewer, **extra: Any) -> Fetch:
    def fetch(window: dict[str, str], scale_id: str) -> dict[str, Any] | None:
        groups = viewer.api("outcomes", scale=scale_id, **window, **extra)["groups"]
        return groups[0] if groups and groups[0]["shown"] else None

    return fetch


def from_the_analysis_layer(viewer: Viewer, database) -> Fetch:
    """The same groups (as the API computes them) from a database opened with another
    disclosure key, with the viewer's own filters."""

    def fetch(window: dict[str, str], scale_id: str) -> dict[str, Any] | None:
        rows = group_change(database, scale_id=scale_id, by=(), p_adj=False,
                            filters=viewer.filters(dashboard_state(**window)))
        return rows[0] if rows and not rows[0]["suppressed"] else None

    return fetch


def _two_people(fetch: Fetch, attack: AttackData, cohort: Cohort):
    """Per scale and side: the attacker's two changes and the true two, each sorted."""
    own = [p for p in attack.people if p.cohort.sponsor == OWN]
    for side in sides(cohort):
        for scale in SCALES:
            groups = [fetch(window, scale.scale_id) for window in (side.with_it, side.without)]
            if not all(g is not None and g["ci_low"] is not None for g in groups):
                continue
            inside = [p for p in own if side.holds(p.cohort)]
            n_with = attack.truth(scale.scale_id, inside).n
            truth = attack.truth(scale.scale_id, [p for p in inside if p.cohort == cohort])
            (s1, q1), (s2, q2) = (_sums(groups[0], n_with),
                                  _sums(groups[1], n_with - truth.n))
            s, q = s1 - s2, q1 - q2
            spread = math.sqrt(max(2 * q - s * s, 0.0))
            yield scale, sorted(((s - spread) / 2, (s + spread) / 2)), sorted(truth.changes)


def _two_person_cohorts(attack: AttackData) -> list[Cohort]:
    return [c for c in attack.own_cohorts()
            if len([p for p in attack.people if p.cohort == c]) == 2]


def test_two_person_cohorts_changes_are_not_recovered_from_mean_and_ci_half_width(
        sponsor, evaluator, attack, keyed_databases):
    """Judged over the fixed key (through the API) and eight more (one draw of the noise
    decides little with four people). Measured: the attacker misses the people's changes by
    a median 0.34 (k = 4), 0.42 (k = 6) and 0.33 (k = 8) points over 72 estimates each; with
    the fixed key alone 0.35, 0.42 and 0.14 over 8."""
    errors = {s.scale_id: [] for s in SCALES}
    cohorts = _two_person_cohorts(attack)
    assert len(cohorts) == 2
    fetches = [through_the_api(sponsor),
               *(from_the_analysis_layer(sponsor, db) for db in keyed_databases)]
    for cohort, fetch in itertools.product(cohorts, fetches):
        for scale, guess, true in _two_people(fetch, attack, cohort):
            errors[scale.scale_id] += [g - t for g, t in zip(guess, true, strict=True)]
    for cohort in cohorts:  # the control: exact figures give both people
        for scale, guess, true in _two_people(through_the_api(evaluator, sponsor=OWN), attack,
                                              cohort):
            assert guess == pytest.approx(true, abs=EXACT), (cohort.cohort_id, scale)
    for scale in SCALES:
        found = errors[scale.scale_id]
        assert len(found) >= 4 * len(fetches), f"{scale.scale_id}: both cohorts attacked"
        assert min(abs(e) for e in found) > EXACT, f"{scale.scale_id}: a change recovered"
        median = statistics.median(abs(e) for e in found)
        assert median >= scale.step, (
            f"{scale.scale_id} ({scale.k} items): median error {median:.3f} is under one "
            f"answer step ({scale.step:.3f})")
