"""`attune mapping init`: draft a mapping file from an export, for the user to complete.

Matches what it can (the platform's date and duration columns, column names or question texts
that name an item, a matrix question whose text names a scale and whose statements are as many
as its items, answer labels of common agreement and frequency scales, audiences and waves by
their words) and leaves everything else as a commented TODO. A draft with TODOs left is refused
by `attune ingest` with the list of what is still unmapped, never loaded half-right.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.compute as pc

from etl.mapping import CANONICAL_COLUMNS, NUMBER, value_key
from etl.platforms import Export, read_export
from schemas.contract import AUDIENCES, WAVES
from schemas.instrument import Instrument

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
CANONICAL_WORDS = [
    (r"participant.*code|your code|identification code|\bcode\b", "participant_code"),
    (r"years?.*experience|experience.*years", "years_experience"),
    (r"profession|role|audience|occupation|work as|job", "audience"),
    (r"cohort|course date|which group", "cohort_id"),
]


def _yaml(text: object) -> str:
    text = str(text)
    if PLAIN.match(text) and text.lower() not in YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _squash(name: str) -> str:
    """CONF_01, conf1, Conf-1 -> conf1."""
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    return re.sub(r"0+(\d)", r"\1", name)


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _distinct(export: Export, column: str) -> list[str]:
    values = pc.unique(export.table.column(column).drop_null()).to_pylist()
    values = [value for value in values if str(value).strip()]
    return sorted(values, key=lambda value: str(value))[:MAX_VALUES]


def _guess(words: list[tuple[str, str]], text: str) -> str | None:
    for pattern, target in words:
        if re.search(pattern, text.lower()):
            return target
    return None


def _groups(export: Export, columns: list[str]) -> list[list[str]]:
    """Columns that look like one matrix question: Q5_1, Q5_2, ... or one SurveyMonkey
    question's statements."""
    groups: dict[str, list[str]] = {}
    for column in columns:
        if export.format == "surveymonkey":
            key = export.questions.get(column, column)
        else:
            match = re.match(r"^(.+?)[_.]?(\d+)$", column)
            key = match.group(1) if match else column
        groups.setdefault(key, []).append(column)
    return [group for group in groups.values() if len(group) > 1]


def draft_mapping(
    path: Path, data: bytes, instrument: Instrument | None, format: str = "auto"
) -> str:
    export = read_export(path, data, format)
    names = export.table.column_names
    personal = export.personal_columns()
    items = list(instrument.items) if instrument else []
    by_squash = {_squash(item): item for item in items}
    targets: dict[str, str] = {}  # source -> target
    why: dict[str, str] = {}

    def assign(source: str, target: str, reason: str = "") -> None:
        if source not in targets and target not in targets.values():
            targets[source] = target
            if reason:
                why[source] = reason

    # Platform columns with a known meaning.
    date_columns = {
        "qualtrics": ["RecordedDate", "EndDate"],
        "spss": ["RecordedDate", "EndDate"],
        "surveymonkey": ["End Date", "Start Date"],
        "redcap": [name for name in names if name.endswith("_timestamp")],
    }.get(export.format, [])
    for column in date_columns:
        if column in names:
            assign(column, "completed_at")
            break
    if "Duration (in seconds)" in names:
        assign("Duration (in seconds)", "duration_seconds")
    if export.format == "redcap":
        for column, target in (
            ("record_id", "participant_code"),
            ("Record ID", "participant_code"),
        ):
            if column in names:
                assign(column, target)
        for column in ("redcap_event_name", "Event Name"):
            if column in names:
                assign(column, "wave")
    candidates = [
        column
        for column in names
        if column not in personal and column not in targets and not export.is_metadata(column)
    ]
    # Names and question texts that name an item or a canonical column.
    for column in candidates:
        if column in CANONICAL_COLUMNS:
            assign(column, column)
        elif _squash(column) in by_squash:
            assign(column, by_squash[_squash(column)])
        else:
            text = export.questions.get(column, "")
            named = [item for item in items if re.search(rf"\b{re.escape(item)}\b", text)]
            if len(named) == 1:
                assign(column, named[0], "question text names the item")
    # Matrix questions whose text names a scale and that have as many statements as items.
    if instrument:
        for scale in instrument.scales:
            if any(item in targets.values() for item in scale.items):
                continue
            clues = [scale.id.lower(), scale.name.lower(), scale.domain.lower()]
            for group in _groups(export, [c for c in candidates if c not in targets]):
                text = " ".join(export.questions.get(column, "") for column in group).lower()
                if len(group) == scale.n_items and any(clue in text for clue in clues):
                    for column, item in zip(group, scale.items, strict=True):
                        assign(column, item, f"statement {group.index(column) + 1} of {scale.id}")
                    break
    for column in candidates:
        if column not in targets:
            text = f"{column} {export.questions.get(column, '')}"
            target = _guess(CANONICAL_WORDS, text)
            if target:
                assign(column, target, "guessed from the question; check it")

    lines = [
        f"# Attune mapping drafted by `attune mapping init` from {path.name} "
        f"({export.format} export).",
        "# Complete every TODO (a commented line is a column still to map or to drop), then:",
        f"#   attune ingest {path.name} --mapping THIS_FILE.yaml",
        "# Reference: docs/import.md",
        f"format: {export.format}",
        "",
        "defaults:                    # canonical columns the export does not carry",
    ]
    given = set(targets.values())
    if "wave" not in given:
        lines.append(f"  # wave: TODO               # one of {', '.join(WAVES)} (or --wave)")
    if "cohort_id" not in given:
        lines.append("  # cohort_id: TODO          # the cohort's id in cohorts.csv (or --cohort)")
    if "audience" not in given:
        lines.append(f"  # audience: TODO           # one of {', '.join(AUDIENCES)}")
    if "participant_code" not in given:
        lines.append(
            "  # no participant code found: map the code's column, or declare linking: below"
        )
    if lines[-1].startswith("defaults:"):
        lines[-1] = "defaults: {}"
    lines += ["", "columns:                     # source column -> canonical column or item id"]
    for column in names:
        question = export.questions.get(column, "")
        note = "  # " + _short(question) if question and question != column else ""
        if column in targets:
            extra = f"  # {why[column]}" if column in why and not note else note
            lines.append(f"  {_yaml(column)}: {_yaml(targets[column])}{extra}")
        elif column in candidates:
            lines.append(f"  # {_yaml(column)}: TODO{note}")
    if personal:
        lines.append(f"  # dropped automatically as personal data: {', '.join(personal)}")

    value_lines: list[str] = []
    for column, target in targets.items():
        if target in ("audience", "wave"):
            words = AUDIENCE_WORDS if target == "audience" else WAVE_WORDS
            labels = export.value_labels.get(column, {})
            observed = _distinct(export, column)
            if target == "wave" and all(value in WAVES for value in observed):
                continue
            if target == "audience" and all(value in AUDIENCES for value in observed):
                continue
            value_lines.append(f"  {target}:")
            for value in observed:
                label = labels.get(str(value), "")
                guess = _guess(words, f"{value} {label}")
                comment = f"  # {_short(label, 50)}" if label else ""
                if guess:
                    value_lines.append(f"    {_yaml(value)}: {guess}{comment}")
                else:
                    value_lines.append(f"    # {_yaml(value)}: TODO{comment}")
    if instrument:
        for scale in instrument.scales:
            sources = [column for column, target in targets.items() if target in scale.items]
            observed: set[str] = set()
            for column in sources:
                observed |= {
                    str(value) for value in _distinct(export, column) if not NUMBER.match(value)
                }
            if not observed:
                continue
            points = int(scale.max - scale.min + 1)
            keys = {value_key(value): value for value in observed}
            scale_list = next(
                (
                    options
                    for options in LIKERT
                    if len(options) == points and set(keys) <= set(options)
                ),
                None,
            )
            prefix = _common_prefix(scale.items)
            pattern = f"{prefix}*" if prefix else scale.items[0]
            value_lines.append(f"  {_yaml(pattern)}:")
            if scale_list:
                for position, option in enumerate(scale_list):
                    label = keys.get(option, option.capitalize())
                    value_lines.append(f"    {_yaml(label)}: {int(scale.min) + position}")
            else:
                for value in sorted(observed):
                    value_lines.append(
                        f"    # {_yaml(value)}: TODO   # a number {scale.min:g}-{scale.max:g}"
                    )
    lines += ["", "values:                      # per canonical column or item (glob allowed)"]
    lines += value_lines or ["  {}"]
    if not value_lines:
        lines[-2:] = ["", "values: {}                   # per canonical column or item"]
    lines += [
        "",
        "drop: []                     # columns to leave out on purpose",
        "",
        "# linking:                   # self-generated codes instead of a participant code",
        "#   components: [COLUMN_1, COLUMN_2, COLUMN_3, COLUMN_4]",
        "#   tolerance: 1             # components allowed to differ (unique matches only)",
        "",
    ]
    return "\n".join(lines)


def _common_prefix(items: tuple[str, ...]) -> str:
    prefix = items[0]
    for item in items[1:]:
        while not item.startswith(prefix):
            prefix = prefix[:-1]
    return prefix if len(items) > 1 and len(prefix) >= 2 else ""
