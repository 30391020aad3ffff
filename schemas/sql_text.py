"""SQL text the project writes itself: string literals for the few statements DuckDB does not
parameterise (ATTACH, COMMENT ON)."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A SQL string literal: the value in single quotes, each quote doubled (SQL-92 5.3)."""
    return "'" + value.replace("'", "''") + "'"
