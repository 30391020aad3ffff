"""What a console statement may read, decided on DuckDB's own parse tree, never on the text.

``dashboard.console`` lets only SELECT statements through (the statement type DuckDB's parser
reports); this module decides what such a statement may *read*, on the tree DuckDB serialises
for it (``json_serialize_sql``). An allow-list, not a list of dangerous functions:

* **Sources**: the tables and views of the database (the data dictionary's
  ``SQL_DICTIONARY_OBJECTS``), plain or qualified with the database's own catalog and schema;
  the common table expressions the statement defines, where they are in scope (a CTE body sees
  the CTEs before it, a recursive one itself too, as DuckDB binds them); the row generators
  ``ROW_GENERATORS``; ``DESCRIBE``/``SUMMARIZE``/``SHOW`` of those; and the catalog listings
  ``SHOW TABLES``, ``SHOW ALL TABLES``, ``SHOW SCHEMAS``, ``SHOW DATABASES``. Everything else
  (system views and table functions such as ``duckdb_settings()``, ``duckdb_databases()`` or
  ``query_table()``, files, other catalogs, ``SHOW <setting>``) is refused with a message
  naming what is allowed: that is where the server's paths and user name would show.
* **Functions**: the built-in scalar, aggregate and window functions compute on their
  arguments, except ``SERVER_FUNCTIONS``, which report the server itself (its settings, its
  address, its log, the plan of SQL given as text). A macro is checked by its body, so a
  system macro that reads a catalog function (``pg_get_viewdef`` reads ``duckdb_views()``)
  is refused like the function.
* **Protected tables**: ``quarantine``, and every view whose bound plan reads it, only for the
  roles that see quarantined rows (``dashboard.access.QUARANTINE_ROLES``, decided by the
  caller). For the other roles the name is refused wherever it appears: quoted, qualified, in a
  subquery, in a CTE body, or as a CTE's own name.

A second, independent check (``check_plan``) binds the statement (``json_serialize_plan``, so
views, macros and ``query_table`` are expanded by DuckDB itself) and refuses a plan that scans
a protected table, whatever the parse tree looked like.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from warehouse.connection import ATTACH_AS
from warehouse.dictionary import SQL_DICTIONARY_OBJECTS

PROTECTED_TABLES = frozenset({"quarantine"})
ROW_GENERATORS = ("range", "generate_series", "unnest")
SHOW_LISTINGS = frozenset({"tables", "databases", "schemas", "__show_tables_expanded"})
# Functions that report the server instead of computing on the data.
SERVER_FUNCTIONS = frozenset({
    "current_setting", "getenv",                       # settings (paths) and the environment
    "inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port",
    "write_log", "parse_duckdb_log_message",           # the server's log
    "json_serialize_plan",                             # binds SQL given as text, unchecked
})
# (catalog, schema) qualifiers that name the database's own tables: `attune.responses` parses
# as schema `attune`, which DuckDB resolves to the catalog.
OWN_QUALIFIERS = frozenset({(), ("main",), (ATTACH_AS,), (ATTACH_AS, "main")})
MACRO_DEPTH = 4  # macros that call macros: deeper than this is refused, not followed

SQL_SERIALIZE = "SELECT json_serialize_sql(?)"
SQL_PLAN = "SELECT json_serialize_plan(?)"
SQL_MACROS = """
SELECT lower(function_name), macro_definition FROM duckdb_functions()
WHERE function_type = 'macro' AND macro_definition IS NOT NULL
"""
SQL_READ_VIEW = "SELECT * FROM {catalog}.main.{view}"  # identifiers from the database itself

MSG_QUARANTINE = ("the quarantined rows are shown to evaluators and admins only: this statement "
                  "reads the quarantine table (the data quality page shows the counts per rule)")
ALLOWED = (f"the console reads the database's tables and views (SHOW TABLES lists them; the "
           f"data dictionary describes them) and {', '.join(g + '()' for g in ROW_GENERATORS)}")


class NotAllowed(Exception):
    """The statement reads something the console does not allow; ``str()`` says what."""


@dataclass(frozen=True)
class Readable:
    """What the database offers a console statement: its sources (lower-case names of its
    tables and views), which of them are protected (the protected tables and the views that
    read them), and the bodies of the macros any statement may call."""

    sources: frozenset[str]
    protected: frozenset[str]
    macros: dict[str, tuple[str, ...]]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _json(con: duckdb.DuckDBPyConnection, sql: str, text: str) -> dict[str, Any]:
    return json.loads(con.execute(sql, [text]).fetchall()[0][0])


def scanned_tables(con: duckdb.DuckDBPyConnection, sql: str) -> set[str] | None:
    """The database tables the bound plan of ``sql`` scans (lower case), or None when DuckDB
    cannot serialise its plan (e.g. a PIVOT without an IN list)."""
    plan = _json(con, SQL_PLAN, sql)
    if plan.get("error"):
        return None
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("catalog", "")).lower() == ATTACH_AS and "table" in node:
                found.add(str(node["table"]).lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan)
    return found


def readable(con: duckdb.DuckDBPyConnection) -> Readable:
    """The sources, protected views and macros of the database attached to ``con``."""
    objects = con.execute(SQL_DICTIONARY_OBJECTS, [ATTACH_AS, ATTACH_AS]).fetchall()
    sources = frozenset(name.lower() for name, _kind, _comment in objects)
    protected = set(PROTECTED_TABLES)
    for name, kind, _comment in objects:
        if kind == "view":
            read = scanned_tables(con, SQL_READ_VIEW.format(catalog=_quoted(ATTACH_AS),
                                                            view=_quoted(name)))
            # A view whose plan cannot be read might read anything: protect it.
            if read is None or read & PROTECTED_TABLES:
                protected.add(name.lower())
    macros: dict[str, tuple[str, ...]] = {}
    for name, body in con.execute(SQL_MACROS).fetchall():
        macros[name] = (*macros.get(name, ()), body)
    return Readable(sources=sources, protected=frozenset(protected), macros=macros)


def check_reads(con: duckdb.DuckDBPyConnection, sql: str, offer: Readable, *,
                sees_quarantine: bool) -> None:
    """Raise ``NotAllowed`` unless the one SELECT statement ``sql`` reads only what
    ``offer`` allows (its protected sources only when ``sees_quarantine``)."""
    _Walk(con, offer, sees_quarantine).statement(sql)


def check_plan(con: duckdb.DuckDBPyConnection, sql: str, offer: Readable, *,
               sees_quarantine: bool) -> None:
    """The second check: raise ``NotAllowed`` when the bound plan of ``sql`` scans a protected
    table and the role may not see quarantined rows."""
    if sees_quarantine:
        return
    scanned = scanned_tables(con, sql)
    if scanned and scanned & offer.protected:
        raise NotAllowed(MSG_QUARANTINE)


class _Walk:
    """One walk over a statement's parse tree, keeping the CTE names in scope."""

    def __init__(self, con: duckdb.DuckDBPyConnection, offer: Readable,
                 sees_quarantine: bool):
        self.con = con
        self.offer = offer
        self.protected = frozenset() if sees_quarantine else offer.protected
        self.macros_checked: set[str] = set()
        self.depth = 0

    def statement(self, sql: str) -> None:
        tree = _json(self.con, SQL_SERIALIZE, sql)
        if tree.get("error"):
            raise NotAllowed("the console runs only statements whose structure it can check, "
                             f"and DuckDB cannot show this one's ({tree.get('error_message')}); "
                             "a PIVOT needs an explicit IN list")
        for statement in tree["statements"]:
            self.walk(statement["node"], frozenset())

    def walk(self, node: Any, ctes: frozenset[str]) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, ctes)
            return
        if not isinstance(node, dict):
            return
        if "cte_map" in node:  # a query node: its CTEs are in scope in its whole body
            ctes = self.common_table_expressions(node["cte_map"], ctes)
        if node.get("type") == "RECURSIVE_CTE_NODE":
            ctes = ctes | {str(node.get("cte_name", "")).lower()}
        if _is_table_reference(node):
            self.table_reference(node, ctes)
        elif "function_name" in node:
            self.function(node)
        for key, value in node.items():
            if key != "cte_map":
                self.walk(value, ctes)

    def common_table_expressions(self, cte_map: dict, outer: frozenset[str]) -> frozenset[str]:
        visible = set(outer)
        for entry in cte_map.get("map", []):
            name = str(entry["key"]).lower()
            if name in self.protected:
                raise NotAllowed(MSG_QUARANTINE)
            self.walk(entry["value"], frozenset(visible))  # sees the CTEs before it only
            visible.add(name)
        return frozenset(visible)

    def table_reference(self, ref: dict, ctes: frozenset[str]) -> None:
        kind = ref["type"]
        if kind == "BASE_TABLE":
            self.base_table(_qualified(ref), ctes)
        elif kind == "TABLE_FUNCTION":
            function = ref.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            qualifier = tuple(str(function.get(k) or "").lower() for k in ("catalog", "schema"))
            if name not in ROW_GENERATORS or qualifier not in {("", ""), ("system", "main"),
                                                               ("", "main")}:
                raise NotAllowed(f"{name}() is not allowed: {ALLOWED}; no system, catalog or "
                                 "file functions")
        elif kind == "SHOW_REF":
            self.show(ref, ctes)
        elif kind not in ("JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY", "PIVOT"):
            raise NotAllowed(f"a {kind.lower()} source is not allowed: {ALLOWED}")

    def base_table(self, parts: tuple[str, ...], ctes: frozenset[str]) -> None:
        name = parts[-1]
        if name in self.protected:
            raise NotAllowed(MSG_QUARANTINE)
        if len(parts) == 1 and name in ctes:
            return
        if parts[:-1] in OWN_QUALIFIERS and name in self.offer.sources:
            return
        raise NotAllowed(f"{'.'.join(parts)} is not one of the database's tables or views: "
                         f"{ALLOWED}; no system tables, settings or files")

    def show(self, ref: dict, ctes: frozenset[str]) -> None:
        kind = ref.get("show_type")
        name = str(ref.get("table_name") or "").strip('"').lower()
        if kind == "SHOW_SPECIAL":
            if name not in SHOW_LISTINGS:
                raise NotAllowed(f"SHOW {name} is not allowed: the console shows the database's "
                                 "tables (SHOW TABLES, SHOW ALL TABLES, DESCRIBE name), not its "
                                 "settings")
        elif kind in ("DESCRIBE", "SUMMARY", "SHOW"):
            if name:  # DESCRIBE or SHOW name: a source like any other (SHOW setting is not)
                self.base_table(_qualified(ref), ctes)
        else:
            raise NotAllowed(f"SHOW ({kind}) is not allowed: use SHOW TABLES or DESCRIBE name")

    def function(self, function: dict) -> None:
        name = str(function["function_name"]).lower()
        if name in SERVER_FUNCTIONS:
            raise NotAllowed(f"{name}() reports the server, not the data, and is not allowed: "
                             "the console computes on the database's tables and views only")
        bodies = self.offer.macros.get(name, ())
        if not bodies or name in self.macros_checked:
            return
        if self.depth >= MACRO_DEPTH:
            raise NotAllowed(f"{name}() is not allowed: its macros nest too deeply to check")
        self.macros_checked.add(name)
        self.depth += 1
        try:
            for body in bodies:
                self.statement("SELECT " + body)
        except NotAllowed as error:
            raise NotAllowed(f"{name}() is a macro that reads what the console does not allow "
                             f"({error})") from None
        finally:
            self.depth -= 1


def _is_table_reference(node: dict) -> bool:
    """Table references carry a type, an alias and a sample; expressions carry a class, and
    query nodes' types end in _NODE."""
    kind = node.get("type")
    return (isinstance(kind, str) and "class" not in node and "alias" in node
            and "sample" in node and not kind.endswith("_NODE"))


def _qualified(ref: dict) -> tuple[str, ...]:
    """(catalog, schema, name) as written, lower case, without the parts not written."""
    path = (ref.get("qualified_name") or {}).get("path") or [
        ref.get("catalog_name"), ref.get("schema_name"), ref.get("table_name")]
    parts = tuple(str(p).strip('"').lower() for p in path if p)
    if not parts:
        return ("",)
    return parts if len(parts) <= 3 else ("<too many parts>", *parts)
