"""The database's own data dictionary (the COMMENTs in schemas/ddl.sql) names every value the
contract allows in its coded columns, so a researcher reading it never misses one."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from schemas.contract import AUDIENCES, DELIVERIES, EVIDENCE_DESIGNS, FORMATS, WAVES

DDL = resources.files("schemas").joinpath("ddl.sql").read_text(encoding="utf-8")


def _comment(column: str) -> str:
    (text,) = re.findall(rf"COMMENT ON COLUMN {re.escape(column)} IS '((?:[^']|'')*)';", DDL)
    return text


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("waves.wave", WAVES),
        ("programs.format", FORMATS),
        ("programs.delivery", DELIVERIES),
        ("responses.audience", AUDIENCES),
        ("evidence.design", EVIDENCE_DESIGNS),
    ],
)
def test_comment_of_a_coded_column_names_every_allowed_value(column, values):
    named = set(re.findall(r"[a-z][a-z0-9_]*", _comment(column)))
    assert set(values) <= named, sorted(set(values) - named)
