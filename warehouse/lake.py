"""Reading the Parquet lake (``schemas.lake``): DuckDB views over the manifest's files, and
paired change computed in an engine from the lake (`attune summarize --lake`).

* ``attach_lake(con, lake)`` creates, in a DuckDB connection, one view per lake table under
  the database's own name (``responses``, ``cohorts``, ...; in ``schema``, e.g. ``attune``
  for the summaries' statements) over exactly the files the manifest lists, so a reader sees
  one published version, plus ``scale_scores`` and the researchers' views of
  ``schemas/views.sql`` over them.
* ``lake_change_family`` is `attune summarize`'s ``change_family`` on a lake: the engine
  (DuckDB here, Spark in ``warehouse.spark_moments``, imported only when asked for) runs the
  moments query ``sql/lake_moments.sql`` and the threshold's inputs (``lake_pre_sd``,
  ``lake_alpha``); the statistics, suppression and multiplicity family are
  ``warehouse.outcomes.change_family_from_sums``, the database's own step. So the answers
  equal `attune summarize --db` on the same data.

Every name placed into SQL text is a checked identifier (scale and item ids, the grouping and
filter whitelists below) or a path the manifest lists (checked by ``schemas.lake``); values are
bound as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from schemas.contract import DEFAULT_ARM
from schemas.lake import (
    LAKE_TABLES,
    LakeError,
    check_version,
    read_manifest,
    table_select,
)
from schemas.sql_text import SCALE_SCORES_BRANCH, quote_identifier
from stats.reliability import cronbach_alpha_from_variances
from warehouse.cell_key import RECORD_KEY_SQL, load_or_create_key
from warehouse.errors import CannotShow
from warehouse.filters import DATA_FILTERS, DATE_RANGE, MULTI, Filters
from warehouse.outcomes import SumsScope, change_family_from_sums
from warehouse.sqltext import analysis_definitions, statement
from warehouse.summaries import ScaleInfo

ENGINES = ("duckdb", "spark")
SQL_SCALES = ("SELECT DISTINCT scale_id, name, domain, level, level_name, n_items, min_value, "
              "max_value, higher_is_better, reliability FROM scales")
SQL_ITEMS = "SELECT DISTINCT scale_id, item_id, position, reverse_keyed FROM scale_items"
SQL_WAVES = "SELECT DISTINCT wave, position, months_after_end FROM waves"
SQL_PROVIDERS = "SELECT DISTINCT provider FROM scales"

# `summarize --by` on a lake: the database's groupings, and the provider.
LAKE_GROUP_COLUMNS: dict[str, str] = {
    "audience": "p.audience",
    "format": "g.format",
    "delivery": "g.delivery",
    "sponsor": "c.sponsor_id",
    "program": "c.program_id",
    "supervision": "c.supervision",
    "cohort_quarter": "concat(CAST(year(c.start_date) AS STRING), '-Q', "
                      "CAST(quarter(c.start_date) AS STRING))",
    "provider": "p.provider",
}
# The filters of warehouse.filters (by FilterSpec name) and their column in lake_moments.
LAKE_FILTER_COLUMNS: dict[str, str] = {
    "audience": "p.audience", "format": "g.format", "delivery": "g.delivery",
    "sponsor": "c.sponsor_id", "program": "c.program_id", "dates": "c.start_date",
    "supervision": "c.supervision", "arm": "c.arm", "provider": "p.provider",
}
# A pair's identity in its record key (warehouse.cell_key): with several providers pooled,
# their ids qualified as the served copy's are (schemas.lake.PROVIDER_IDS), so that
# `summarize --lake` and the dashboard of `serve --lake` publish the same figures.
# The identity is these columns joined by ':' (each engine writes the concatenation its way).
PAIR_IDENTITY = {False: ("p.participant_id", "p.cohort_id"),
                 True: ("p.provider", "p.participant_id", "p.provider", "p.cohort_id")}


def duckdb_record_key(pooled: bool) -> str:
    """A pair's record key in DuckDB's SQL, the disclosure key its one parameter."""
    return RECORD_KEY_SQL.format(identity=" || ':' || ".join(PAIR_IDENTITY[pooled]))


class Engine(Protocol):
    """What the lake's queries need of an engine: rows of a parameterised query, the scales'
    direction and threshold as the table ``scale_meta``, and the SQL of a record key."""

    record_key: str

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def scale_meta(self, rows: list[tuple[str, bool, float | None]]) -> None: ...

    def close(self) -> None: ...


def lake_manifest(lake: Path) -> dict[str, Any]:
    """The lake's manifest, checked; ``LakeError`` when the folder holds no lake."""
    manifest = read_manifest(Path(lake))
    if manifest is None:
        raise LakeError(f"{lake}: no lake here (no _manifest.json); run `attune export "
                        "--lake` first")
    check_version(manifest, Path(lake))
    return manifest


def chosen_providers(manifest: dict[str, Any], providers: Sequence[str] = ()) -> tuple[str, ...]:
    """The providers to read (all when none are named); an unknown one is ``LakeError``."""
    present = sorted(manifest.get("providers", {}))
    unknown = [p for p in providers if p not in present]
    if unknown:
        raise LakeError(f"no provider {', '.join(unknown)} in the lake; it holds: "
                        f"{', '.join(present) or 'none'}")
    return tuple(providers) or tuple(present)


def attach_lake(con: duckdb.DuckDBPyConnection, lake: Path | str, *, schema: str = "main",
                providers: Sequence[str] = (), qualify_ids: bool | None = None
                ) -> dict[str, Any]:
    """Create in ``con`` a view per lake table over the files the manifest lists (of the
    named providers, else all), in ``schema`` (created if needed), with ``scale_scores`` and
    the views of ``schemas/views.sql``; returns the manifest read.

    Each table keeps its columns and gains ``provider`` (and ``responses`` its partition
    columns ``sponsor`` and ``cohort_year``). With several providers (``qualify_ids`` None)
    their participant, cohort and programme ids are qualified as ``provider:id``, so the
    database's own SQL (the views, ``warehouse.summaries``) never joins one provider's rows
    to another's, and the instrument's tables hold each row once. A read-only, locked-down
    connection must be allowed to read the lake's folder (``SET allowed_directories``)
    before this is called.
    """
    lake = Path(lake).resolve()
    manifest = lake_manifest(lake)
    chosen = chosen_providers(manifest, providers)
    qualify = len(chosen) > 1 if qualify_ids is None else qualify_ids
    name = quote_identifier(schema)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
    for table in LAKE_TABLES:
        body = table_select(lake, manifest, table.name, chosen, qualify)
        con.execute(f"CREATE OR REPLACE VIEW {name}.{table.name} AS {body}")
    scale_ids = [row[0] for row in con.execute(
        f"SELECT DISTINCT scale_id FROM {name}.scales ORDER BY scale_id").fetchall()]
    branches = [SCALE_SCORES_BRANCH.format(scale=quote_identifier(s).strip('"'),
                                           responses=f"{name}.responses") for s in scale_ids]
    if branches:
        con.execute(f"CREATE OR REPLACE VIEW {name}.scale_scores AS " + " UNION ALL ".join(
            branches))
    _researchers_views(con, schema)
    return manifest


def _researchers_views(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The macros and views of schemas/views.sql, created in ``schema``."""
    from importlib import resources

    text = resources.files("schemas").joinpath("views.sql").read_text("utf-8")
    previous = con.execute("SELECT current_schema()").fetchall()[0][0]
    con.execute(f"USE {quote_identifier(schema)}")
    try:
        for definition in analysis_definitions():
            con.execute(definition)
        for sql in con.extract_statements(text):
            query = sql.query.strip()
            # A statement may open with comment lines: what follows them says what it is.
            code = "\n".join(line for line in query.splitlines()
                             if not line.lstrip().startswith("--")).strip()
            if code.upper().startswith("CREATE OR REPLACE VIEW"):
                con.execute(query)
    finally:
        con.execute(f"USE {quote_identifier(previous)}")


class DuckDBEngine:
    """The lake's queries in an in-memory DuckDB over the manifest's files."""

    def __init__(self, lake: Path, providers: tuple[str, ...], *, threads: int = 2):
        self.record_key = duckdb_record_key(len(providers) > 1)
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET threads = {int(threads)}")
        attach_lake(self.con, lake, providers=providers, qualify_ids=False)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self.con.execute(sql, list(params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def scale_meta(self, rows: list[tuple[str, bool, float | None]]) -> None:
        self.con.execute("CREATE OR REPLACE TEMP TABLE scale_meta (scale_id VARCHAR, "
                         "higher_is_better BOOLEAN, threshold DOUBLE)")
        if rows:
            self.con.executemany("INSERT INTO scale_meta VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self.con.close()


def open_engine(engine: str, lake: Path, providers: tuple[str, ...],
                spark_master: str | None = None) -> Engine:
    """The engine named (``ENGINES``); Spark's module is imported only here, when asked for."""
    if engine == "duckdb":
        return DuckDBEngine(lake, providers)
    if engine == "spark":
        from warehouse.spark_moments import SparkEngine

        return SparkEngine(lake, providers, master=spark_master)
    raise LakeError(f"unknown engine {engine!r}; use {', '.join(ENGINES)}")


def _scores_sql(scale_ids: Sequence[str]) -> str:
    return " UNION ALL ".join(statement("lake_scores").format(
        scale=quote_identifier(s).strip('"')) for s in scale_ids)


@dataclass
class LakeInstrument:
    """The lake's scales (in the instrument's order, with their thresholds) and waves."""

    scales: dict[str, ScaleInfo]
    waves: list[tuple[str, int, int | None]]

    def position(self, wave: str) -> int:
        for code, position, _ in self.waves:
            if code == wave:
                return position
        raise CannotShow(f"There is no wave {wave!r} in this lake.")


def _one_each(rows: list[dict[str, Any]], key: str, what: str) -> None:
    seen: set[Any] = set()
    for row in rows:
        if row[key] in seen:
            raise LakeError(f"the providers' {what} differ on {row[key]}: pool only providers "
                            "that use one instrument")
        seen.add(row[key])


def read_instrument(engine: Engine) -> LakeInstrument:
    """Scales, items, waves and each scale's reliable-change threshold, as
    ``warehouse.summaries.load_scales`` gives them for a database: the pre-training SD and,
    without a declared reliability, the baseline Cronbach alpha, computed in the engine over
    the pooled providers' people trained."""
    rows = engine.rows(SQL_SCALES)
    _one_each(rows, "scale_id", "scales")
    rows.sort(key=lambda r: (r["level"], r["scale_id"]))
    items: dict[str, list[tuple[str, bool]]] = {}
    item_rows = sorted(engine.rows(SQL_ITEMS), key=lambda r: (r["scale_id"], r["position"]))
    _one_each(item_rows, "item_id", "scale items")
    for row in item_rows:
        items.setdefault(row["scale_id"], []).append((row["item_id"], bool(row["reverse_keyed"])))
    waves = sorted(((r["wave"], int(r["position"]), r["months_after_end"])
                    for r in engine.rows(SQL_WAVES)), key=lambda w: w[1])
    _one_each([{"wave": w} for w, _, _ in waves], "wave", "waves")
    scale_ids = [r["scale_id"] for r in rows]
    sd_pre = {}
    if scale_ids:
        sd_pre = {r["scale_id"]: r["sd_pre"] for r in engine.rows(
            statement("lake_pre_sd").format(scores=_scores_sql(scale_ids)), [DEFAULT_ARM])}
    scales: dict[str, ScaleInfo] = {}
    for row in rows:
        info = ScaleInfo(**row)
        info.complete(items.get(info.scale_id, []), sd_pre.get(info.scale_id),
                      lambda info=info: _baseline_alpha(engine, info))
        scales[info.scale_id] = info
    return LakeInstrument(scales, waves)


def _baseline_alpha(engine: Engine, info: ScaleInfo) -> float | None:
    """``warehouse.summaries.scale_alpha`` at pre for the people trained, in the engine."""
    if len(info.items) < 2:
        return None
    cols = [f"r.{quote_identifier(i).strip(chr(34))}" for i in info.items]
    keyed = [f"(CAST({float(info.min_value + info.max_value)!r} AS DOUBLE) - {c})"
             if item in info.reverse else c for item, c in zip(info.items, cols, strict=True)]
    sql = statement("lake_alpha").format(
        item_variances=" + ".join(f"coalesce(var_samp({c}), 0)" for c in cols),
        keyed_total=" + ".join(keyed),
        complete=" AND ".join(f"{c} IS NOT NULL" for c in cols))
    row = engine.rows(sql, ["pre", DEFAULT_ARM])[0]
    if not row["n"] or row["total_var"] is None:
        return None
    return cronbach_alpha_from_variances(int(row["n"]), len(cols), row["sum_var"] or 0.0,
                                         row["total_var"]).alpha


def _where(filters: Filters) -> tuple[str, list[Any]]:
    """The lake's WHERE clause of ``filters`` (warehouse.filters' specs), values bound."""
    parts, params = [], []
    for spec in DATA_FILTERS:
        column = LAKE_FILTER_COLUMNS[spec.name]
        values = [getattr(filters, name) for name in spec.field_names]
        if spec.kind == MULTI:
            if values[0]:
                parts.append(f"{column} IN ({', '.join('?' for _ in values[0])})")
                params.extend(values[0])
        elif spec.kind == DATE_RANGE:
            for operator, value in zip((">=", "<="), values, strict=True):
                if value is not None:
                    parts.append(f"{column} {operator} ?")
                    params.append(value)
        elif values[0] is not None:
            parts.append(f"{column} = ?")
            params.append(values[0])
    return " AND ".join(parts) or "TRUE", params


def lake_moments(engine: Engine, instrument: LakeInstrument, *, wave_from: str, wave_to: str,
                 by: Sequence[str], filters: Filters) -> dict[str, list[dict[str, Any]]]:
    """The matched-pair sums per group of every scale for one wave pair, by scale (in the
    instrument's order), computed in the engine by ``sql/lake_moments.sql``."""
    unknown = [b for b in by if b not in LAKE_GROUP_COLUMNS]
    if unknown:
        raise CannotShow(f"cannot group by {', '.join(unknown)}")
    if instrument.position(wave_to) <= instrument.position(wave_from):
        raise CannotShow(f"Choose a later wave than {wave_from!r} to compare with: "
                         f"{wave_to!r} does not come after it.")
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in instrument.scales}
    if not out:
        return out
    engine.scale_meta([(s, info.higher_is_better, info.threshold)
                       for s, info in instrument.scales.items()])
    where, params = _where(filters)
    key_params = [load_or_create_key()] if filters.published else []
    sql = statement("lake_moments").format(
        scores=_scores_sql(list(instrument.scales)),
        group_select="".join(f"{LAKE_GROUP_COLUMNS[b]} AS {b}, " for b in by),
        group_by="".join(f"{LAKE_GROUP_COLUMNS[b]}, " for b in by),
        key_sum=f"CAST(sum({engine.record_key}) AS BIGINT)" if filters.published
        else "CAST(0 AS BIGINT)",
        where=where)
    for row in engine.rows(sql, [wave_from, wave_to, *key_params, *params]):
        out[row["scale_id"]].append(row)
    return out


def lake_change_family(
    lake: Path | str,
    *,
    engine: str = "duckdb",
    wave_from: str = "pre",
    wave_to: str = "post",
    by: Sequence[str] = ("audience", "format"),
    filters: Filters | None = None,
    providers: Sequence[str] = (),
    min_cell_size: int = 11,
    spark_master: str | None = None,
) -> list[dict[str, Any]]:
    """``warehouse.outcomes.change_family`` on a lake: the moments in ``engine``, the
    statistics, suppression (on the pooled data) and family of ``change_family_from_sums``.
    ``providers`` restricts to those providers' files (all when empty)."""
    lake = Path(lake).resolve()
    chosen = chosen_providers(lake_manifest(lake), providers)
    filters = filters or Filters()
    running = open_engine(engine, lake, chosen, spark_master)
    try:
        instrument = read_instrument(running)
        sums = lake_moments(running, instrument, wave_from=wave_from, wave_to=wave_to, by=by,
                            filters=filters)
    finally:
        running.close()
    scope = SumsScope(instrument.scales, filters, int(min_cell_size))
    return change_family_from_sums(sums, scope, wave_from=wave_from, wave_to=wave_to, by=by)
