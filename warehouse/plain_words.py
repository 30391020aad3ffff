"""Published figures in plain words, for readers who do not read statistics first: a sponsor's
Outcomes page and the first page of an outcomes report.

The sentences say what changed, by how much, for how many people and how sure we are, with no
statistical shorthand: no effect-size letters, no "CI", no p. How sure: the 95% interval of
the mean change is "the likely range"; when it lies wholly on one side of no change, the
change "very probably" happened; when it spans no change, it "may not have changed at all".
A hidden figure says only "not shown", never why.

Dash-free, so the dashboard, the reports and the command line word figures the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.contract import WAVES

# What a hidden figure says: never why it is hidden (a small group, or one that would give a
# small group away), which would itself tell something (docs/security.md).
SUPPRESSED_TEXT = "not shown"
# What a single-group pre/post design can and cannot show: said once on every page, printout
# and report that shows change.
DESIGN_STATEMENT = (
    "Before-and-after change in the same people; without a comparison group it cannot show "
    "what caused the change."
)
# The rule for hidden figures, said once per report or page for sponsors: no size, no reason
# per figure (tests/attacks/test_label_inference.py lists the words that would tell).
HIDDEN_RULE = ("Figures for groups of only a few people, and for groups from which such a "
               "figure could be worked out, are never shown; in their place the report says "
               f"\u201c{SUPPRESSED_TEXT}\u201d.")


def wave_words(wave: str) -> str:
    """A wave as a sentence names it: "before training", "the end of training", "12 months
    after training" (from the contract's months after the end of training)."""
    months = WAVES.get(wave)
    if months is None:
        return "before training"
    if months == 0:
        return "the end of training"
    return f"{months} month{'' if months == 1 else 's'} after training"


def _at(wave: str) -> str:
    """A wave after "answered": "before training", "at the end of training"."""
    return "at the end of training" if WAVES.get(wave) == 0 else wave_words(wave)


def points(value: float) -> str:
    """Scale points as a reader reads them: two decimals, no sign."""
    return f"{abs(value):.2f}"


def scale_range(scale: Mapping[str, Any]) -> str:
    """ "a 1-5 scale" from the scale's catalogue entry."""
    return f"a {scale['min_value']:g}\u2013{scale['max_value']:g} scale"


def _verb(raw: float) -> str:
    return "rose" if raw > 0 else "fell" if raw < 0 else "did not change"


def likely_range(low: float | None, high: float | None, higher_is_better: bool) -> str | None:
    """The 95% interval of an improvement-signed change, worded in the scale's own direction
    (a rise or a fall of the score), and how sure that makes us; None without an interval."""
    if low is None or high is None:
        return None
    # improvement-signed -> the score's direction: a lower-is-better scale improves by falling
    raw_low, raw_high = (low, high) if higher_is_better else (-high, -low)
    if raw_low > 0:
        return (f"the likely range of the rise is {points(raw_low)} to {points(raw_high)} "
                "points, so it very probably rose")
    if raw_high < 0:
        return (f"the likely range of the fall is {points(raw_high)} to {points(raw_low)} "
                "points, so it very probably fell")
    return (f"the likely range runs from a fall of {points(raw_low)} to a rise of "
            f"{points(raw_high)} points, so it may not have changed at all")


def change_sentence(row: Mapping[str, Any], scale: Mapping[str, Any], wave_from: str = "pre",
                    wave_to: str = "post") -> str:
    """One published change row (``warehouse.outcomes`` keys: ``n_pairs, mean_from, mean_to,
    mean_change, ci_low, ci_high, suppressed``) in words, e.g. "Confidence rose by 0.36
    points on a 1-5 scale among 446 people who answered both before training and at the
    end of training, an improvement; the likely range of the rise is 0.31 to 0.41 points, so it very
    probably rose." A hidden row: "Confidence: not shown."."""
    name = scale["name"]
    if row.get("suppressed") or row.get("mean_change") is None:
        return f"{name}: {SUPPRESSED_TEXT}."
    raw = (row["mean_to"] or 0.0) - (row["mean_from"] or 0.0)
    verb = _verb(round(raw, 2))
    who = (f"on {scale_range(scale)} among {row['n_pairs']:,} people who answered both "
           f"{_at(wave_from)} and {_at(wave_to)}")
    higher_is_better = scale.get("higher_is_better", True)
    if verb == "did not change":
        head = f"{name} did not change on average {who}"
    else:
        quality = "an improvement" if row["mean_change"] > 0 else "a worsening"
        lower = "" if higher_is_better else ", as lower is better"
        head = f"{name} {verb} by {points(raw)} points {who} ({quality}{lower})"
    sure = likely_range(row.get("ci_low"), row.get("ci_high"), higher_is_better)
    return head + (f"; {sure}." if sure else
                   "; everyone changed alike, so there is no range to give.")


def share_sentence(row: Mapping[str, Any]) -> str | None:
    """The share of people whose change was larger than measurement error alone would
    explain, in words ("About 1 in 4 people (23%) improved by more than ..."); None when the
    figure is not given."""
    share = row.get("pct_reliable_improved")
    if row.get("suppressed") or share is None:
        return None
    one_in = round(100 / share) if share > 0 else None
    about = f"About 1 in {one_in} people ({share:.0f}%)" if one_in and 2 <= one_in <= 20 \
        else f"{share:.0f}% of people"
    return (f"{about} improved by more than the scale's measurement error alone would "
            "explain.")


def design_words(has_comparison: bool) -> str:
    """What the design can and cannot say, in plain words."""
    if has_comparison:
        return ("Some programmes also surveyed a comparison or waitlist group, reported "
                "apart. The change in the trained people alone shows how much scores "
                "changed, not how much of that change the training caused.")
    return ("These figures compare the same people before and after training. They show how "
            "much scores changed, not how much of that change the training caused: scores "
            "can also move with time, with expectations or because people who start low "
            "tend to score higher next time.")
