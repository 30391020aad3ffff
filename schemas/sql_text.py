"""SQL text the project writes itself: string literals for the few statements DuckDB does not
parameterise (ATTACH, COMMENT ON), and quoted identifiers (checked names only)."""

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
