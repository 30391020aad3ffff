"""The `values:` section of a drafted mapping (`attune mapping init`, etl/draft.py).

Value maps are drafted from what the export says about its answers:
- SPSS value labels of items: label -> answer, where the labelled codes cover the scale's
  range. Labels of a known agreement or frequency scale are placed by the scale (so a file
  coding 1 = "Strongly agree" still loads "Strongly agree" as the top answer: a reversed coding
  is undone, not copied); other labels keep their codes when those run over the whole range.
  Labelled codes outside the range (99 = "No answer") read as not answered. Anything else is a
  commented TODO.
- Choice-text answers of items (a Qualtrics or REDCap labelled export): the common agreement
  and frequency scales of the scale's length.
- Audience and wave: each value found (and each labelled code) with a guessed canonical value,
  the value label as a comment.
The maps are keyed by labels, which `etl.mapping` applies to SPSS codes through the file's
value labels, so the drafted map and the codes in the file cannot disagree silently.
"""

from __future__ import annotations

import json
import re

import pyarrow.compute as pc

from etl.platforms import Export
from etl.value_maps import NUMBER, value_key
from schemas.contract import AUDIENCES, WAVES
from schemas.instrument import Instrument, Scale

PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~"}
MAX_VALUES = 40

LIKERT = [
    [
        "strongly disagree",
        "disagree",
        "neither agree nor disagree",
        "agree",
        "strongly agree",
    ],
    ["strongly disagree", "disagree", "neither", "agree", "strongly agree"],
    ["strongly disagree", "disagree", "neutral", "agree", "strongly agree"],
    ["strongly disagree", "disagree", "agree", "strongly agree"],
    ["never", "rarely", "sometimes", "often", "always"],
    ["never", "rarely", "sometimes", "often", "very often"],
    ["not at all", "a little", "somewhat", "quite a bit", "very much"],
]
AUDIENCE_WORDS = [
    (r"therap|counsel|psycho|mental|social work", "mental_health"),
    (r"teach|educat|school|early years|lecturer", "educator"),
    (r"\bhr\b|human resources|people team", "hr"),
    (r"nurs|doctor|health|medic|midwi|gp\b", "healthcare"),
    (r"coach", "coach"),
    (r"other", "other"),
]
WAVE_WORDS = [
    (r"12|twelve|year", "followup_12m"),
    (r"\b6\b|six|6m|6_m", "followup_6m"),
    (r"\b3\b|three|3m|3_m", "followup_3m"),
    (r"pre|baseline|before|intake", "pre"),
    (r"post|after|end", "post"),
]


def yaml_text(text: object) -> str:
    """A YAML scalar for a name or label: plain where YAML reads it back as the same text."""
    text = str(text)
    if PLAIN.match(text) and text.lower() not in YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def distinct(export: Export, column: str) -> list[str]:
    values = pc.unique(export.table.column(column).drop_null()).to_pylist()
    values = [value for value in values if str(value).strip()]
    return sorted(values, key=lambda value: str(value))[:MAX_VALUES]


def guess(words: list[tuple[str, str]], text: str) -> str | None:
    for pattern, target in words:
        if re.search(pattern, text.lower()):
            return target
    return None


def _common_prefix(items: tuple[str, ...]) -> str:
    prefix = items[0]
    for item in items[1:]:
        while not item.startswith(prefix):
            prefix = prefix[:-1]
    return prefix if len(items) > 1 and len(prefix) >= 2 else ""


def _code(text: str) -> float | None:
    return float(text) if NUMBER.match(text.strip()) else None


def label_entries(
    labels: dict[str, str], scale: Scale
) -> tuple[list[tuple[str, str | None, str]], str]:
    """A value map for one item from its value labels: (label, answer or None for TODO,
    comment) lines, and a note on how they were found."""
    low, high = int(scale.min), int(scale.max)
    points = high - low + 1
    inside: dict[int, str] = {}
    outside: dict[str, str] = {}
    for code, label in labels.items():
        number = _code(code)
        if number is not None and number.is_integer() and low <= number <= high:
            inside[int(number)] = label
        else:
            outside[code] = label
    keys = [value_key(label) for label in inside.values()]
    unique = len(set(keys)) == len(keys) and not set(keys) & {
        value_key(label) for label in outside.values()
    }
    complete = unique and sorted(inside) == list(range(low, high + 1))
    known = next((options for options in LIKERT if set(keys) == set(options)), None)
    entries: list[tuple[str, str | None, str]] = []
    if complete and known and len(known) == points:
        for code, label in sorted(inside.items()):
            answer = low + known.index(value_key(label))
            entries.append((label, str(answer), f"code {code} in the file"))
        note = "from the SPSS value labels"
        if any(entry[1] != str(code) for code, entry in zip(sorted(inside), entries, strict=True)):
            note += f"; the file's codes run another way ({low} = {inside[low]})"
    elif complete:
        for code, label in sorted(inside.items()):
            entries.append((label, str(code), f"code {code} in the file"))
        note = "from the SPSS value labels, as coded in the file: check the direction"
    else:
        for code, label in sorted(inside.items()):
            entries.append((label, None, f"code {code} in the file; a number {low}-{high}"))
        note = f"the SPSS value labels do not cover {low}-{high} once each: complete them"
    for code, label in sorted(outside.items()):
        if value_key(label) not in {value_key(entry[0]) for entry in entries}:
            entries.append((label, "null", f"code {code} is outside {low}-{high}: not answered"))
    return entries, note


def _entry_lines(pattern: str, entries, note: str) -> list[str]:
    lines = [f"  {yaml_text(pattern)}:   # {note}"]
    for label, answer, comment in entries:
        if answer is None:
            lines.append(f"    # {yaml_text(label)}: TODO   # {comment}")
        else:
            lines.append(f"    {yaml_text(label)}: {answer}   # {comment}")
    return lines


def _scale_lines(export: Export, targets: dict[str, str], scale: Scale) -> list[str]:
    sources = {column: target for column, target in targets.items() if target in scale.items}
    prefix = _common_prefix(scale.items)
    pattern = f"{prefix}*" if prefix else scale.items[0]
    labelled = {
        target: label_entries(export.value_labels[column], scale)
        for column, target in sources.items()
        if export.value_labels.get(column)
    }
    if labelled:
        drafts = list(labelled.values())
        maps = [{value_key(label): answer for label, answer, _ in draft[0]} for draft in drafts]
        if all(each == maps[0] for each in maps):
            return _entry_lines(pattern, *drafts[0])
        lines = []  # items labelled differently: one map per item
        for target, (entries, note) in labelled.items():
            lines += _entry_lines(target, entries, note)
        return lines
    observed: set[str] = set()
    for column in sources:
        observed |= {str(value) for value in distinct(export, column) if not NUMBER.match(value)}
    if not observed:
        return []
    points = int(scale.max - scale.min + 1)
    keys = {value_key(value): value for value in observed}
    scale_list = next(
        (options for options in LIKERT if len(options) == points and set(keys) <= set(options)),
        None,
    )
    lines = [f"  {yaml_text(pattern)}:"]
    if scale_list:
        for position, option in enumerate(scale_list):
            label = keys.get(option, option.capitalize())
            lines.append(f"    {yaml_text(label)}: {int(scale.min) + position}")
    else:
        for value in sorted(observed):
            lines.append(f"    # {yaml_text(value)}: TODO   # a number {scale.min:g}-{scale.max:g}")
    return lines


def value_lines(
    export: Export, targets: dict[str, str], instrument: Instrument | None
) -> list[str]:
    """The entries of `values:` for the mapped columns (source -> target)."""
    lines: list[str] = []
    for column, target in targets.items():
        if target not in ("audience", "wave"):
            continue
        words = AUDIENCE_WORDS if target == "audience" else WAVE_WORDS
        labels = export.value_labels.get(column, {})
        observed = distinct(export, column)
        vocabulary = WAVES if target == "wave" else AUDIENCES
        if all(value in vocabulary for value in observed):
            continue
        values = observed + [code for code in labels if code not in observed]
        lines.append(f"  {target}:")
        for value in values:
            label = labels.get(str(value), "")
            found = guess(words, label or str(value))
            comment = f"  # {short(label, 50)}" if label else ""
            if found:
                lines.append(f"    {yaml_text(value)}: {found}{comment}")
            else:
                lines.append(f"    # {yaml_text(value)}: TODO{comment}")
    for scale in instrument.scales if instrument else ():
        lines += _scale_lines(export, targets, scale)
    return lines
