"""Label inference, played as SP1's sponsor: what a hidden cell says about itself.

Issue 12 told small cells from cells hidden to protect them by their labels ("fewer than 11"
against "protects a small group"), and integer programming over the margins then pinned
both. A hidden cell must say only "not shown": no size ("< 11", "fewer than 11", "too few"),
no reason, no figure, wherever it appears: a page's text and empty states, a chart's hovers
and labels, the table and CSV behind it, the ZIP, the API. The page-wide rule, said once
and the same for every hidden cell (``pages.common.hidden_reason``), and the noise sentence
tell nothing about any one cell and are left out of the search.
"""

from __future__ import annotations

import json
import re

from dashboard.pages import common
from warehouse.cell_key import NOISE_SENTENCE

# What would tell a hidden cell's size or why it is hidden.
TELLING = {  # by what it gives away
    "a size": re.compile(r"fewer than \d+|<\s*\d+(?![\d.])|<\s*min", re.IGNORECASE),
    "too few": re.compile(r"too few", re.IGNORECASE),
    "a reason": re.compile(r"small group|protect|complementary|primary", re.IGNORECASE),
}
# The keys of a hidden record that may hold something: what the record is about.
ABOUT = {"audience", "format", "delivery", "program", "program_name", "supervision",
         "cohort_quarter", "group", "x", "wave", "wave_to", "wave_from", "scale_id", "scale",
         "domain", "kind", "label", "source", "bin", "suppressed", "shown", "grouping"}


def _where_cells_are(outputs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The outputs that show cells (charts, downloads, the API), not the pages that only
    state the rule."""
    return [(where, text) for where, text in outputs
            if " chart " in where or where.endswith(" zip") or " api " in where]


def _phrase(text: str, match: re.Match) -> str:
    """The text (a JSON string, a CSV cell) the match is in."""
    ends = '"\n,'
    start = max(text.rfind(c, 0, match.start()) for c in ends) + 1
    stops = [i for i in (text.find(c, match.end()) for c in ends) if i >= 0]
    return text[start:min(stops, default=len(text))].strip()


def test_hidden_cells_say_only_not_shown_in_texts_tables_hovers_and_csvs(sponsor_outputs,
                                                                        sponsor):
    general = common.hidden_reason(sponsor.db.min_cell_size)
    found: dict[str, set[str]] = {}  # what was said -> where
    for where, text in _where_cells_are(sponsor_outputs):
        text = text.replace(general, "").replace(NOISE_SENTENCE, "")
        for pattern in TELLING.values():
            for match in pattern.finditer(text):
                found.setdefault(_phrase(text, match), set()).add(where.split(" ", 2)[-1])
    assert not found, "hidden cells say more than 'not shown':\n" + "\n".join(
        f"{phrase!r} in {len(places)} output(s), e.g. {sorted(places)[0]}"
        for phrase, places in found.items())


def _hidden_records(value):
    """Every record (dict) in a JSON value that is marked hidden."""
    if isinstance(value, dict):
        if value.get("suppressed") is True or value.get("shown") is False:
            yield value
        for v in value.values():
            yield from _hidden_records(v)
    elif isinstance(value, list):
        for v in value:
            yield from _hidden_records(v)


def test_hidden_records_carry_no_figure_and_no_reason(sponsor_outputs):
    seen, telling = 0, []
    for where, text in _where_cells_are(sponsor_outputs):
        if where.endswith(" zip"):
            continue  # CSV text: the records behind it are the chart's data, checked here
        for record in _hidden_records(json.loads(text)):
            seen += 1
            extra = {k: v for k, v in record.items()
                     if k not in ABOUT and v not in (None, "", [], False)}
            if extra:
                telling.append((where, extra))
    assert seen > 50, "the states hide cells of every kind"
    assert not telling, f"hidden records that say something: {telling[:5]}"
