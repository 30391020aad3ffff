"""The data dictionary: the tables and views of the database researchers query, with their
comments and their columns' (the documentation lives in the database, written by ingest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warehouse.connection import ATTACH_AS, Database, Query, cached_query

SQL_DICTIONARY_OBJECTS = """
SELECT table_name AS name, 'table' AS kind, comment FROM duckdb_tables()
WHERE database_name = ? AND schema_name = 'main'
UNION ALL
SELECT view_name, 'view', comment FROM duckdb_views()
WHERE database_name = ? AND schema_name = 'main' AND NOT internal
ORDER BY kind, name
"""
SQL_DICTIONARY_COLUMNS = """
SELECT table_name, column_name, data_type, comment, column_index
FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main'
ORDER BY table_name, column_index
"""


def data_dictionary(db: Database | Path | str) -> list[dict[str, Any]]:
    """Tables and views of the public schema with their comments, and their columns."""

    def compute(q: Query) -> list[dict[str, Any]]:
        objects = q.fetch_dicts(SQL_DICTIONARY_OBJECTS, [ATTACH_AS, ATTACH_AS])
        columns: dict[str, list[dict]] = {}
        for col in q.fetch_dicts(SQL_DICTIONARY_COLUMNS, [ATTACH_AS]):
            columns.setdefault(col["table_name"], []).append(
                {"column": col["column_name"], "type": col["data_type"],
                 "comment": col["comment"] or ""}
            )
        return [{**o, "comment": o["comment"] or "", "columns": columns.get(o["name"], [])}
                for o in objects]

    return cached_query(db, "dictionary", (), compute)
