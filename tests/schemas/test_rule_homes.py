"""Every rule a user can read in the quarantine is either a check of a Pandera model, or is
listed with the place that checks it; never both, never neither."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.instrument import parse_instrument
from schemas.rules import RULES
from schemas.tables import (
    CHECKED_OUTSIDE_THE_MODELS,
    EvidenceModel,
    ProgramsModel,
    cohorts_schema,
    items_schema,
    responses_schema,
)

REPO = Path(__file__).resolve().parents[2]
INSTRUMENT = parse_instrument(
    {"scales": [{"id": "S", "name": "S", "domain": "D", "level": 1, "items": ["S_1", "S_2"],
                 "min": 1, "max": 5, "reverse": [], "higher_is_better": True}]}
)  # fmt: skip


def _check_names() -> set[str]:
    schemas = [
        ProgramsModel.to_schema(),
        cohorts_schema([]),
        responses_schema([]),
        items_schema(INSTRUMENT),
        EvidenceModel.to_schema(),
    ]
    names = set()
    for schema in schemas:
        names |= {check.name for check in schema.checks}
        for column in schema.columns.values():
            names |= {check.name for check in column.checks}
    return names


def test_every_rule_is_a_model_check_or_says_where_it_is_checked():
    in_models = _check_names()
    elsewhere = set(CHECKED_OUTSIDE_THE_MODELS)
    assert in_models & elsewhere == set()
    assert in_models | elsewhere == set(RULES)


def test_every_place_named_for_a_rule_exists_and_holds_the_function_named():
    for rule, where in CHECKED_OUTSIDE_THE_MODELS.items():
        places = re.findall(r"(\w+/\w+\.py)(?: \(([\w.]+)\))?", where)
        assert places, (rule, where)
        for path, function in places:
            source = (REPO / path).read_text()
            if function:
                name = function.rsplit(".", 1)[-1]
                assert re.search(rf"\b(def|class) {name}\b", source), (rule, where)
