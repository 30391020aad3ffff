"""`attune mapping init`: draft a mapping file from an export, for the user to complete.

Matches what it can and leaves everything else as a commented TODO:
- platform columns by their meaning, whatever the layout calls them (Qualtrics `RecordedDate`,
  SPSS `Duration__in_seconds_`, SurveyMonkey `End Date`, REDCap `*_timestamp`): the completion
  date and duration are mapped; response ids (`ResponseId`, legacy `V1`, `Respondent ID`) are
  never proposed as the participant code, since a response id differs at every wave;
- column names or question texts that name an item, a matrix question whose text names a
  scale and whose statements are as many as its items, and the participant code, audience,
  years of experience and cohort by their words ("check it");
- columns that identify people (a question asking for a ZIP code, names, e-mail addresses)
  go under `drop:` with the reason, and are never proposed as the participant code;
- value maps from SPSS value labels and answer labels (etl/draft_values.py);
- for a run of columns still to decide that share a prefix or are all text entries, one
  commented `drop:` pattern (`"Q30_*"`, `"*_TEXT"`) instead of a line per column.
A draft with TODOs left is refused by `attune ingest` with the list of what is still unmapped,
never loaded half-right.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from etl.delimited import RAGGED_COLUMN
from etl.draft_values import guess, short, value_lines, yaml_text
from etl.mapping import CANONICAL_COLUMNS
from etl.platforms import LEGACY_COLUMN, Export, read_export
from etl.privacy import identifier_like
from schemas.contract import AUDIENCES, WAVES
from schemas.instrument import Instrument

CANONICAL_WORDS = [
    (r"participant.*code|your code|identification code|\bcode\b", "participant_code"),
    (r"years?.*experience|experience.*years", "years_experience"),
    (r"profession|role|audience|occupation|work as|job", "audience"),
    (r"cohort|course date|which group", "cohort_id"),
]
TEXT_ENTRY = re.compile(r"(^|[_.])TEXT$", re.IGNORECASE)
TEXT_QUESTION = re.compile(r"-\s*text$", re.IGNORECASE)
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x85\u2028\u2029]")
NUMBERED = re.compile(r"^(.+?[_.])\d+(?:[_.]\d+)*$")
RESPONSE_ID = "a response id: it differs at every wave, so it is never the participant code"
# Platform columns by their name squashed to letters and digits (SPSS writes "Duration (in
# seconds)" as Duration__in_seconds_, SurveyMonkey's SPSS export writes respondent_id):
# (what the column is for the draft, how the draft's comments name it).
ROLES = {
    "responseid": ("id", "response id"),
    "respondentid": ("id", "response id"),
    "recordeddate": ("recorded", "recorded date"),
    "enddate": ("ended", "end date"),
    "datemodified": ("ended", "end date"),
    "startdate": ("started", "start date"),
    "datecreated": ("started", "start date"),
    "durationinseconds": ("duration", "duration"),
    "duration": ("duration", "duration"),
    "status": ("meta", "response status"),
    "progress": ("meta", "progress"),
    "finished": ("meta", "finished flag"),
    "responseset": ("meta", "response set"),
    "externalreference": ("meta", "external reference"),
    "externaldatareference": ("meta", "external reference"),
    "distributionchannel": ("meta", "distribution channel"),
    "userlanguage": ("meta", "language"),
    "collectorid": ("meta", "collector id"),
}


def _squash(name: str) -> str:
    """CONF_01, conf1, Conf-1 -> conf1."""
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    return re.sub(r"0+(\d)", r"\1", name)


def _role(export: Export, column: str) -> tuple[str, str] | None:
    """What a platform column is, from its name (legacy `V1`..: from its SPSS label)."""
    if export.format not in ("qualtrics", "spss", "surveymonkey"):
        return None
    name = column
    if LEGACY_COLUMN.match(column):  # SPSS keeps a legacy name's meaning in its label
        if export.format == "qualtrics" and column == "V1":
            return ROLES["responseid"]
        name = export.questions.get(column, "")
    return ROLES.get(re.sub(r"[^a-z0-9]", "", name.lower()))


def _identifier_reason(export: Export, column: str) -> str | None:
    """Why a column identifies people (so it goes under drop:, never mapped), or None."""
    values = export.table.column(column).combine_chunks()
    return identifier_like(column, export.questions.get(column), values)


def _is_text_entry(column: str, question: str) -> bool:
    return bool(TEXT_ENTRY.search(column) or TEXT_QUESTION.search(question.strip()))


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


@dataclass
class Matched:
    """What the draft found for an export's columns."""

    targets: dict[str, str]  # source -> canonical column or item
    why: dict[str, str]  # source -> why it was matched, where it is a guess
    drops: dict[str, str]  # source -> why it is left out
    todo: list[str]  # columns still to map or to drop, in file order
    text_entries: list[str]  # those of them that are text entries


def match_columns(export: Export, names: list[str], instrument: Instrument | None) -> Matched:
    """Match an export's columns to canonical columns and items, and find those to leave out."""
    personal = export.personal_columns()
    items = list(instrument.items) if instrument else []
    by_squash = {_squash(item): item for item in items}
    targets: dict[str, str] = {}  # source -> target
    why: dict[str, str] = {}
    drops: dict[str, str] = {}  # source -> why it is left out

    def assign(source: str, target: str, reason: str = "") -> bool:
        if source not in targets and target not in targets.values():
            targets[source] = target
            if reason:
                why[source] = reason
            return True
        return False

    # Platform columns with a known meaning, whatever the layout names them.
    roles = {name: _role(export, name) for name in names if name not in personal}
    roles = {name: role for name, role in roles.items() if role}
    completion = ["recorded", "ended"] + (["started"] if export.format == "surveymonkey" else [])
    for kind in completion:
        column = next((name for name, role in roles.items() if role[0] == kind), None)
        if column is not None and assign(column, "completed_at"):
            break
    for name, (kind, _) in roles.items():
        if kind == "duration" and assign(name, "duration_seconds"):
            break
    for name, (kind, what) in roles.items():
        if name not in targets and not export.is_metadata(name):
            drops[name] = RESPONSE_ID if kind == "id" else f"platform metadata ({what})"
    longitudinal = False
    if export.format == "redcap":
        for column in names:
            if column.endswith("_timestamp") or column == "Survey Timestamp":
                assign(column, "completed_at")
        for column in ("redcap_event_name", "Event Name"):
            if column in names:
                longitudinal = assign(column, "wave")
    candidates = [
        column
        for column in names
        if column not in personal
        and column not in roles
        and column not in targets
        and not export.is_metadata(column)
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
    # The rest: what identifies people is left out (a question asking for a ZIP code is no
    # participant code); text entries stay to decide; the others are guessed by their words.
    text_entries = []
    for column in [c for c in candidates if c not in targets]:
        question = export.questions.get(column, "")
        reason = _identifier_reason(export, column)
        if reason:
            drops[column] = reason
        elif _is_text_entry(column, question):
            text_entries.append(column)
        elif target := guess(CANONICAL_WORDS, f"{column} {question}"):
            assign(column, target, "guessed from the question; check it")
    for column in ("record_id", "Record ID"):
        if column in names and longitudinal:
            assign(column, "participant_code", "the REDCap record, the same at every event")
    todo = [c for c in candidates if c not in targets and c not in drops]
    return Matched(targets, why, drops, todo, text_entries)


def draft_mapping(
    path: Path, data: bytes, instrument: Instrument | None, format: str = "auto"
) -> str:
    """The drafted mapping file's text (YAML, every open decision a commented line)."""
    export = read_export(path, data, format)
    names = [name for name in export.table.column_names if name != RAGGED_COLUMN]
    personal = export.personal_columns()
    found = match_columns(export, names, instrument)
    targets, why, todo = found.targets, found.why, found.todo

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
        note = "  # " + short(question) if question and question != column else ""
        if column in targets:
            extra = f"  # {why[column]}" if column in why and not note else note
            lines.append(f"  {yaml_text(column)}: {yaml_text(targets[column])}{extra}")
        elif column in todo:
            lines.append(f"  # {yaml_text(column)}: TODO{note}")
    if personal:
        lines.append(f"  # dropped automatically as personal data: {', '.join(personal)}")

    values = value_lines(export, targets, instrument)
    lines += ["", "values:                      # per canonical column or item (glob allowed)"]
    lines += values or ["  {}"]
    if not values:
        lines[-2:] = ["", "values: {}                   # per canonical column or item"]
    lines += ["", *_drop_lines(names, found.drops, todo, found.text_entries)]
    lines += [
        "",
        "# linking:                   # self-generated codes instead of a participant code",
        "#   components: [COLUMN_1, COLUMN_2, COLUMN_3, COLUMN_4]",
        "#   tolerance: 1             # components allowed to differ (unique matches only)",
        "",
    ]
    # A question text or label that holds a line break must not end a comment early.
    return "\n".join(LINE_BREAK.sub(" ", line) for line in lines)


def _members(columns: list[str]) -> str:
    shown = columns if len(columns) <= 4 else [columns[0], "...", columns[-1]]
    return ", ".join(shown)


def _patterns(columns: list[str]) -> dict[str, list[str]]:
    """Prefix patterns (`"Q30_*"`) of columns numbered alike (Q30_1, Q30_2, ...): two or more."""
    groups: dict[str, list[str]] = {}
    for column in columns:
        match = NUMBERED.match(column)
        if match:
            groups.setdefault(f"{match.group(1)}*", []).append(column)
    return {pattern: group for pattern, group in groups.items() if len(group) > 1}


def _drop_lines(
    names: list[str], drops: dict[str, str], todo: list[str], text_entries: list[str]
) -> list[str]:
    """`drop:`: the columns left out with their reasons (several numbered alike and all left
    out: one pattern), then, commented, a pattern for each run of columns still TODO that
    share a prefix or are all text entries, so that one uncommented line leaves them all out.
    A pattern is written only where it matches nothing but its columns and columns left out
    anyway, so that uncommenting it never leaves out a column that is mapped or to decide."""
    open_ = set(todo)

    def exact(pattern: str, members: list[str]) -> bool:
        return all(
            name in members or name in drops for name in names if fnmatch.fnmatchcase(name, pattern)
        )

    active: list[str] = []
    covered: set[str] = set()
    for pattern, group in _patterns(list(drops)).items():
        if exact(pattern, group):
            reasons = list(dict.fromkeys(drops[column] for column in group))
            reason = reasons[0] + (f" (and {len(reasons) - 1} other)" if len(reasons) > 1 else "")
            active.append(f"  - {yaml_text(pattern)}   # {len(group)} columns: {reason}")
            covered |= set(group)
    for column, reason in drops.items():
        if column not in covered:
            active.append(f"  - {yaml_text(column)}   # {reason}")
    proposed: list[str] = []
    texts = [column for column in text_entries if column in open_]
    if len(texts) > 1 and all(column.endswith("_TEXT") for column in texts):
        if exact("*_TEXT", texts):
            proposed.append(
                f"  # - {yaml_text('*_TEXT')}   # {len(texts)} text-entry columns still TODO "
                f"(free text is never stored): {_members(texts)}"
            )
    for pattern, group in _patterns(todo).items():
        if exact(pattern, group):
            proposed.append(
                f"  # - {yaml_text(pattern)}   # {len(group)} columns still TODO: {_members(group)}"
            )
    if not active and not proposed:
        return ["drop: []                     # columns to leave out on purpose"]
    if proposed:
        proposed.insert(0, "  # uncomment a pattern to leave out all its columns:")
    return ["drop:                        # columns to leave out on purpose", *active, *proposed]
