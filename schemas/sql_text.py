"""SQL text the project writes itself: string literals for the few statements DuckDB does not
parameterise (ATTACH, COMMENT ON), quoted identifiers (checked names only), and the
``scale_scores`` view's branch, which the database (``etl.load``) and the lake
(``warehouse.lake``) both build their view from."""

from __future__ import annotations

from schemas.contract import IDENTIFIER


def sql_string(value: str) -> str:
    """A SQL string literal: the value in single quotes, each quote doubled (SQL-92 5.3)."""
    return "'" + value.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """``name`` double-quoted for SQL, refused unless it is a plain identifier."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain identifier")
    return f'"{name}"'


# One scale's rows of the long ``scale_scores`` view ({scale}: a checked scale id; {responses}:
# the responses table, qualified where it needs to be). The response's audience and completion
# date come along, so the researchers' views built on it need not join responses again.
SCALE_SCORES_BRANCH = (
    "SELECT participant_id, cohort_id, wave, '{scale}' AS scale_id, score_{scale} AS score, "
    "answered_{scale} AS items_answered, audience, completed_at FROM {responses} "
    "WHERE answered_{scale} > 0"
)
