"""The other sponsor, SP2, never reaches SP1's sponsor: not its id, programme or cohorts, not
one of its figures, and no total that counts its people, in anything SP1's sponsor gets
(every chart, download, page and API answer of the corpus states)."""

from __future__ import annotations

import json
from fractions import Fraction

from tests.attacks.attack_data import OTHER, OWN, PROGRAMS, SCALES
from tests.attacks.solving import COUNT_MOVES
from warehouse.filters import Filters
from warehouse.outcomes import change_family

COMMON = 100  # the largest denominator of a fraction anyone's mean may share by chance


def _other_sponsors_marks(attack, evaluator) -> list[str]:
    """SP2's id, its own programme's id and name, its cohorts' ids, and its exact figures as
    JSON writes them. Scores are means of whole answers, so a group's mean is a fraction;
    one with a small denominator (0.5, 5/12) could be anyone's, and is left out."""
    only_theirs = {c.program_id for c in attack.cohorts if c.sponsor == OTHER} - {
        c.program_id for c in attack.cohorts if c.sponsor == OWN}
    marks = [OTHER, *only_theirs, *(PROGRAMS[p][0] for p in only_theirs),
             *(c.cohort_id for c in attack.cohorts if c.sponsor == OTHER)]
    for by in ((), ("audience",), ("program",)):
        for row in change_family(evaluator.db, by=by, filters=Filters(sponsor=(OTHER,))):
            if not row["suppressed"]:
                marks += [json.dumps(row[k]) for k in ("mean_from", "mean_to", "mean_change")
                          if Fraction(row[k]).limit_denominator(10**6).denominator > COMMON]
    return marks


def test_sp2_never_appears_in_anything_sp1s_sponsor_gets(sponsor_outputs, sponsor, attack,
                                                         evaluator):
    marks = _other_sponsors_marks(attack, evaluator)
    leaks = {(mark, where) for where, text in sponsor_outputs for mark in marks
             if mark in text}
    assert not leaks, f"SP2 in SP1's outputs: {sorted(leaks)[:6]}"
    # The totals are SP1's own: within a count's perturbation of SP1's pairs, far from both.
    for scale in SCALES:
        (group,) = sponsor.api("outcomes", scale=scale.scale_id)["groups"]
        own = attack.truth(scale.scale_id, [p for p in attack.people
                                            if p.cohort.sponsor == OWN]).n
        everyone = attack.truth(scale.scale_id, attack.people).n
        assert abs(group["n_pairs"] - own) <= COUNT_MOVES
        assert abs(group["n_pairs"] - everyone) > 2 * COUNT_MOVES
