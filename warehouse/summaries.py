"""The in-memory summaries ("cubes") every chart is a ``GROUP BY`` over, built once per
database file.

Built into the in-memory catalog of the analysis layer's connection (the database file is
attached read-only as ``attune``): sums, sums of squares and reliable-change counts of matched
pairs per scale, wave pair, cohort and audience (``pair_cube``); the same pairs per bin of
improvement (``hist_cube``); the baseline scores of completers and dropouts, with the
pre->post change of those scored at post (``baseline_cube``); respondents per wave pattern
(``people_cube``); the wave model's sums per pattern of scored waves (``model_cube``); and
one row per cohort (``cohort_dim``). A filter change then reads a few
thousand summary rows instead of the 1M-row ``paired_scores`` view (see ``bench/``).
Their scale, wave and audience columns are ENUM codes (``sql/codes.sql``): every chart
filters and groups by them, several times faster than by strings.

What a matched pair, an improvement and a cohort's quarter are comes from the macros of
``schemas/views.sql``, created here from that file: the researchers' views and these
summaries share one definition (``tests/warehouse/test_agreement.py`` checks the numbers).
The statements are in ``warehouse/sql/``; their ``{placeholders}`` are filled only with wave
positions, scale positions and checked identifiers generated here, never with user input.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from schemas.contract import DEFAULT_ARM, IDENTIFIER
from schemas.sql_text import quote_identifier
from stats.reliability import Alpha, cronbach_alpha_from_variances
from stats.reliable_change import reliable_change_threshold
from warehouse.cell_key import RECORD_KEY_SQL
from warehouse.errors import DatabaseUnavailable
from warehouse.sqltext import analysis_definitions, statement

HIST_BIN_WIDTH = 0.5  # scale points; edges at +-0.25 give every bin the same number of values
# The baseline cube's pre -> post change ({post}: the post wave's position): the matched pair
# and improvement of schemas/views.sql, as in pair_cube.
POST_CHANGE_SQL = ("CASE WHEN is_matched_pair(0, {post}, ps.s0, ps.s{post}) "
                   "THEN improvement(ps.s0, ps.s{post}, m.higher_is_better) END")
# memory.person with its integer key, the table's rowid (sql/person.sql), as pidx.
SQL_PERSON_KEYED = ("CREATE OR REPLACE VIEW memory.person_keyed AS "
                    "SELECT rowid::INTEGER AS pidx, * FROM memory.person")
# Whether person_waves holds one row per person (no two responses of a person at one wave).
SQL_SAME_COUNT = ("SELECT (SELECT count(*) FROM memory.person_waves) = "
                  "(SELECT count(*) FROM memory.person)")
# A cohort's provider, from a pooled lake's cohort_providers (schemas/linkage.sql) when the
# database has that table; NULL otherwise (a provider's own database made before it).
SQL_HAS_PROVIDERS = ("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'attune' "
                     "AND table_name = 'cohort_providers'")
PROVIDER_JOIN = {True: ("cp.provider", "LEFT JOIN attune.cohort_providers AS cp USING (cohort_id)"),
                 False: ("NULL::VARCHAR", "")}


@dataclass
class ScaleInfo:
    """One scale of the instrument, with the reliability and threshold the summaries use."""

    scale_id: str
    name: str
    domain: str
    level: int
    level_name: str
    n_items: int
    min_value: float
    max_value: float
    higher_is_better: bool
    reliability: float | None
    items: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    sd_pre: float | None = None
    reliability_used: float | None = None
    reliability_source: str = ""
    threshold: float | None = None

    def complete(self, own: list[tuple[str, bool]], sd_pre: float | None,
                 baseline_alpha: Callable[[], float | None]) -> ScaleInfo:
        """The scale with its items, pre-training SD, the reliability in use (declared, else
        ``baseline_alpha()``: the engine's Cronbach alpha at baseline) and the threshold of
        reliable change that follows: one rule for the database and the lake alike."""
        self.items = tuple(i for i, _ in own)
        self.reverse = tuple(i for i, rev in own if rev)
        self.sd_pre = sd_pre
        if self.reliability is not None:
            self.reliability_used, self.reliability_source = self.reliability, "declared"
        else:
            alpha = baseline_alpha()
            if alpha is not None and math.isfinite(alpha):
                self.reliability_used = alpha
                self.reliability_source = "baseline Cronbach alpha"
        if self.sd_pre is not None and self.reliability_used is not None:
            threshold = reliable_change_threshold(self.sd_pre, self.reliability_used)
            self.threshold = threshold if math.isfinite(threshold) else None
        return self


Waves = list[tuple[str, int, int | None]]  # (wave, position, months_after_end)


def read_waves(con: duckdb.DuckDBPyConnection) -> Waves:
    """The waves of the attached database in time order."""
    waves = [tuple(row) for row in con.execute(statement("waves")).fetchall()]
    for wave, _, _ in waves:
        if not IDENTIFIER.match(wave):
            raise DatabaseUnavailable(f"unexpected wave code {wave!r}")
    return waves


def read_cutoff(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The last completion date in the data (which follow-ups were due by then)."""
    return con.execute(statement("cutoff"), [DEFAULT_ARM]).fetchall()[0][0]


def build_summaries(
    con: duckdb.DuckDBPyConnection,
    waves: Waves,
    cutoff: dt.date | None,
    *,
    disclosure_key: str,
    changes_only: bool = False,
) -> dict[str, ScaleInfo]:
    """Build every summary table in ``con``'s in-memory catalog; the scales they cover.

    ``disclosure_key`` makes the record keys whose sums the summaries keep for disclosure
    control (``warehouse.cell_key``).

    ``changes_only`` builds only what paired change needs (``cohort_dim``, ``pair_cube``), for
    one-shot command-line use.
    """
    for definition in analysis_definitions():
        con.execute(definition)
    positions = [pos for _, pos, _ in waves]
    code = {pos: wave for wave, pos, _ in waves}
    provider, provider_join = PROVIDER_JOIN[con.execute(SQL_HAS_PROVIDERS).fetchall()[0][0] > 0]
    con.execute(statement("cohort_dim").format(provider=provider, provider_join=provider_join))
    con.execute(statement("cohort_eligible"), [cutoff or dt.date(1900, 1, 1)])
    scales = load_scales(con)

    con.execute(statement("scale_meta"))
    if scales:
        con.executemany(
            "INSERT INTO memory.scale_meta VALUES (?, ?, ?, ?)",
            [[sx, info.scale_id, info.higher_is_better,
              info.threshold if info.threshold is not None else float("inf")]
             for sx, info in enumerate(scales.values())],
        )
    con.execute(statement("codes"))
    record_key = RECORD_KEY_SQL.format(identity="g.participant_id || ':' || g.cohort_id")
    con.execute(statement("person").format(record_key=record_key), [disclosure_key])
    con.execute(SQL_PERSON_KEYED)
    scale_ids = list(scales)  # the sx order of scale_meta; ids are checked identifiers
    con.execute(statement("response_scores").format(score_cols=", ".join(
        f"r.{quote_identifier('score_' + scale_id)} AS x{sx}"
        for sx, scale_id in enumerate(scale_ids)
    )))
    _person_waves(con, positions, len(scale_ids))
    con.execute("DROP TABLE memory.response_scores")
    pairs = [(i, j) for i in positions for j in positions if j > i]
    if pairs:
        parts = [statement("pair_cube_part").format(i=i, j=j, wf=code[i], wt=code[j],
                                                    half=HIST_BIN_WIDTH / 2,
                                                    width=HIST_BIN_WIDTH)
                 for i, j in pairs]
        con.execute(statement("by_scale").format(table="pair_bins",
                                                 parts=" UNION ALL ".join(parts)))
        con.execute(statement("pair_cube"))
    if positions:  # the wave model's patterns (warehouse/models.py; `attune model` too)
        con.execute(statement("model_cube").format(
            audience="coalesce(" + ", ".join(f"CASE WHEN ps.s{p} IS NOT NULL THEN ps.a{p} END"
                                             for p in positions) + ")",
            mask=" + ".join(f"(CASE WHEN ps.s{p} IS NOT NULL THEN {1 << p} ELSE 0 END)"
                            for p in positions),
            sums=", ".join(f"sum(ps.s{p}) AS s{p}" for p in positions),
            products=", ".join(f"sum(ps.s{a} * ps.s{b}) AS ss{a}_{b}"
                               for i, a in enumerate(positions) for b in positions[i:])))
    if not changes_only:
        _build_the_rest(con, positions, code, pairs)
    for scratch in ("VIEW memory.person_scale", "TABLE memory.person_waves",
                    "VIEW memory.person_keyed",
                    "TABLE memory.person", "TABLE IF EXISTS memory.pair_bins"):
        con.execute(f"DROP {scratch}")
    return scales


def _person_waves(con, positions: list[int], n_scales: int) -> None:
    """``memory.person_waves``: one row per person with their audience and every scale's score
    at each wave, side by side; and ``memory.person_scale``, the view of it with one row per
    person and scale they were scored on, which the summaries read. Built by joins on the
    integer key, or, should a person have two responses at one wave (a database ingest did not
    write), by grouping each person's responses."""
    a_cols = ", ".join(f"a{p}" for p in positions)
    con.execute(statement("person_waves").format(
        a_cols=", ".join(f"w{p}.audience AS a{p}" for p in positions),
        x_cols=", ".join(f"w{p}.x{sx} AS x{sx}_{p}" for sx in range(n_scales) for p in positions),
        joins="\n".join(f"LEFT JOIN (SELECT * FROM memory.response_scores WHERE position = {p}) "
                        f"AS w{p} USING (pidx)" for p in positions)))
    if not con.execute(SQL_SAME_COUNT).fetchall()[0][0]:
        con.execute(statement("person_waves_grouped").format(
            a_cols=", ".join(f"max(audience) FILTER (WHERE position = {p}) AS a{p}"
                             for p in positions),
            x_cols=", ".join(f"max(x{sx}) FILTER (WHERE position = {p}) AS x{sx}_{p}"
                             for sx in range(n_scales) for p in positions)))
    parts = [statement("person_scale_wide_part").format(
        sx=sx, a_cols=a_cols, s_cols=", ".join(f"x{sx}_{p} AS s{p}" for p in positions),
        scored=" OR ".join(f"x{sx}_{p} IS NOT NULL" for p in positions))
        for sx in range(n_scales)]
    con.execute("CREATE OR REPLACE VIEW memory.person_scale AS " + " UNION ALL ".join(parts))


def _build_the_rest(con, positions: list[int], code: dict[int, str],
                    pairs: list[tuple[int, int]]) -> None:
    """The summaries beyond paired change: histogram, baseline and people."""
    if pairs:
        con.execute(statement("hist_cube"))
    first = positions[0] if positions else 0
    scored_mask = " + ".join(
        f"(CASE WHEN s{p} IS NOT NULL THEN {1 << p} ELSE 0 END)" for p in positions
    )
    if first == 0:
        post = next((p for p in positions if code[p] == "post" and p > 0), None)
        change = "NULL::DOUBLE" if post is None else POST_CHANGE_SQL.format(post=post)
        con.execute(statement("baseline_cube").format(scored_mask=scored_mask or "0",
                                                      change=change))
    con.execute(statement("people_cube").format(
        audience_list=", ".join(f"p.a{p}" for p in positions) or "NULL"
    ))


def load_scales(con: duckdb.DuckDBPyConnection) -> dict[str, ScaleInfo]:
    """The scales with their items, pre-training SD, reliability in use and threshold."""
    items: dict[str, list[tuple[str, bool]]] = {}
    for scale_id, item, reverse in con.execute(statement("scale_items")).fetchall():
        items.setdefault(scale_id, []).append((item, bool(reverse)))
    sd_pre = {row[0]: row[1]
              for row in con.execute(statement("pre_sd"), [DEFAULT_ARM]).fetchall()}
    scales: dict[str, ScaleInfo] = {}
    for row in con.execute(statement("scales")).fetchall():
        info = ScaleInfo(*row)

        def alpha(info=info):
            found = scale_alpha(con, info, "pre", arm=DEFAULT_ARM)
            return None if found is None else found.alpha

        info.complete(items.get(info.scale_id, []), sd_pre.get(info.scale_id), alpha)
        scales[info.scale_id] = info
    return scales


def scale_alpha(
    con: duckdb.DuckDBPyConnection, info: ScaleInfo, wave: str, arm: str | None = None
) -> Alpha | None:
    """Cronbach's alpha of a scale at one wave (listwise complete responses), via stats; of
    the cohorts of one ``arm`` only (the threshold's alpha: the people trained), or of all."""
    if len(info.items) < 2:
        return None
    cols = [quote_identifier(i) for i in info.items]
    keyed = [
        f"({info.min_value + info.max_value} - {c})" if item in info.reverse else c
        for item, c in zip(info.items, cols, strict=True)
    ]
    sql = (
        "SELECT count(*), "
        + " + ".join(f"coalesce(var_samp({c}), 0)" for c in cols)
        + ", var_samp("
        + " + ".join(keyed)
        + ") FROM attune.responses WHERE wave = ? AND "
        + " AND ".join(f"{c} IS NOT NULL" for c in cols)
        + " AND (?::VARCHAR IS NULL OR cohort_id IN "
        "(SELECT cohort_id FROM attune.cohorts WHERE arm = ?))"
    )
    n, sum_var, total_var = con.execute(sql, [wave, arm, arm]).fetchall()[0]
    if not n or total_var is None:
        return None
    return cronbach_alpha_from_variances(n, len(cols), sum_var or 0.0, total_var)
