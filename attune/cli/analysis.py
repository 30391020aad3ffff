"""The numbers, for scripts and researchers: `attune summarize` (paired change per group, the
dashboard's own figures) and `attune pool` (a random-effects meta-analysis of evidence, per
outcome domain, with small-study bias, meta-regression and subgroups on request).

Both read through the Dash-free analysis layer (``warehouse``) and ``stats``; `pool FILE`
reads and checks the file through ``etl.table_file``, as `attune ingest` does. Those load
DuckDB, scipy and pandas, so each command imports them when it runs, not at start-up.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from attune.cli.shared import (
    EXIT_ROWS_SET_ASIDE,
    DbOption,
    console,
    fail,
    require_database,
    split_list,
    stdout,
)
from etl.refusal import FileRejected
from schemas import settings
from warehouse.cell_key import NOISE_SENTENCE
from warehouse.csv_cells import neutralise
from warehouse.errors import CannotShow
from warehouse.filters import Filters

commands = typer.Typer()

# The columns of `summarize --json` and `--csv`, after the grouping columns.
SUMMARY_FIELDS = (
    "scale_id",
    "wave_from",
    "wave_to",
    "n_pairs",
    "mean_from",
    "mean_to",
    "mean_change",
    "ci_low",
    "ci_high",
    "t",
    "p",
    "p_adj",
    "d_z",
    "d_z_ci_low",
    "d_z_ci_high",
    "g_av",
    "pct_reliable_improved",
    "suppressed",
)
GROUPINGS = (
    "audience",
    "format",
    "delivery",
    "sponsor",
    "program",
    "supervision",
    "cohort_quarter",
    "provider",  # a lake, and the database `serve --lake` copies it to, pool providers
)


@commands.command()
def summarize(
    db: DbOption = None,
    by: Annotated[
        str,
        typer.Option(help=f"Comma-separated groupings: {', '.join(GROUPINGS)}; empty = overall."),
    ] = "audience,format",
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale",
            help="Show only this scale, e.g. CONF (p_adj is unchanged). Default: every scale.",
        ),
    ] = None,
    wave_from: Annotated[str, typer.Option("--from", help="Earlier wave.")] = "pre",
    wave_to: Annotated[str, typer.Option("--to", help="Later wave.")] = "post",
    sponsor: Annotated[
        str | None, typer.Option(help="Only cohorts of these sponsors (comma-separated ids).")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="Only these audiences.")] = None,
    program_format: Annotated[
        str | None, typer.Option("--format", help="Only these programme formats.")
    ] = None,
    min_cell: Annotated[
        int | None,
        typer.Option(
            "--min-cell",
            help="Minimum cell size: groups with fewer matched pairs show no statistics "
            "(default $ATTUNE_MIN_CELL, else 11).",
        ),
    ] = None,
    published: Annotated[
        bool,
        typer.Option(
            "--published",
            help="The figures as they are published (to a sponsor, in a report): with "
            "disclosure control, i.e. a little noise fixed by who is in each group, and "
            "rounding. Without it: the exact figures, for the trusted roles only.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list of groups).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    lake: Annotated[
        Path | None,
        typer.Option("--lake", help="Read a Parquet lake (`attune export --lake`) instead of "
                     "--db: every provider in it, pooled."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="With --lake: the engine that computes the sums, duckdb "
                          "or spark (needs Java, and a Python with pyspark named by "
                          "ATTUNE_SPARK_PYTHON).")
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option("--spark-master", help="With --engine spark: the cluster, e.g. "
                     "spark://host:7077. Default: Spark on this machine (local[1])."),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="Only these providers (comma-separated) of a lake, or "
                                 "of the database `attune serve --lake` pooled it into.")
    ] = None,
) -> None:
    """Paired change between two waves per group: the dashboard's numbers, for scripts.

    One row per group with n_pairs, the means, the mean change with its 95% CI, paired t, p,
    Benjamini-Hochberg p_adj, d_z with its 95% CI, g_av and the share reliably improved.
    p_adj is taken over one family, as on the dashboard: every shown group of every scale for
    the two waves; --scale only chooses which rows are printed. Change is signed so that
    improvement is positive. Groups with fewer matched pairs than the minimum cell size, and
    groups from which one could be worked out, come back "not shown", with no statistics at
    all. Anything that leaves the trusted roles should be made with --published (the figures
    a sponsor sees on the dashboard).

    With --lake the sums are computed by --engine from the lake's files and the statistics by
    the same functions, so the answers equal --db's on the same data; suppression applies to
    the pooled providers' groups.
    """
    groupings = split_list(by)
    unknown = [name for name in groupings if name not in GROUPINGS]
    if unknown:
        raise fail(f"unknown --by {', '.join(unknown)}; use {', '.join(GROUPINGS)}")
    if lake is None and (engine != "duckdb" or spark_master):
        raise fail("--engine and --spark-master read a lake: give --lake DIR")
    floor = min_cell if min_cell is not None else settings.min_cell_size()
    if lake is not None:
        rows = _lake_rows(lake, engine, spark_master, split_list(provider), scale, groupings,
                          wave_from, wave_to, Filters(
                              audience=split_list(audience), format=split_list(program_format),
                              sponsor=split_list(sponsor), published=published), floor)
        _print_rows(rows, groupings, floor, wave_from, wave_to, published, as_json, as_csv)
        return
    # The analysis layer's queries load DuckDB and scipy: only when summarising
    from warehouse.catalog import scales
    from warehouse.connection import Database
    from warehouse.outcomes import change_family, group_change

    database = Database(require_database(db), changes_only=True)
    known_scales = [row["scale_id"] for row in scales(database)]
    if scale is not None and scale not in known_scales:
        raise fail(f"unknown --scale {scale}; known: {', '.join(known_scales)}")
    options = {
        "wave_from": wave_from,
        "wave_to": wave_to,
        "by": groupings,
        "filters": Filters(
            audience=split_list(audience),
            format=split_list(program_format),
            sponsor=split_list(sponsor),
            provider=split_list(provider),
            published=published,
        ),
        "min_cell_size": floor,
    }
    try:  # both carry the family's p_adj: one scale's rows, or every scale's
        rows = group_change(database, scale_id=scale, **options) if scale else change_family(
            database, **options
        )
    except CannotShow as error:
        raise fail(str(error)) from None
    _print_rows(rows, groupings, floor, wave_from, wave_to, published, as_json, as_csv)


def _lake_rows(lake: Path, engine: str, spark_master: str | None, providers: tuple[str, ...],
               scale: str | None, groupings: tuple[str, ...], wave_from: str, wave_to: str,
               filters: Filters, floor: int) -> list[dict]:
    """`summarize --lake`: the family of every scale from the lake, the rows of ``scale``."""
    # DuckDB (and Spark, when asked for): only when summarising a lake
    from schemas.lake import LakeError
    from warehouse.lake import ENGINES, lake_change_family

    if engine not in ENGINES:
        raise fail(f"unknown --engine {engine}; use {', '.join(ENGINES)}")
    try:
        rows = lake_change_family(lake, engine=engine, wave_from=wave_from, wave_to=wave_to,
                                  by=groupings, filters=filters, providers=providers,
                                  min_cell_size=floor, spark_master=spark_master)
    except (LakeError, CannotShow) as error:
        raise fail(str(error)) from None
    known = list(dict.fromkeys(row["scale_id"] for row in rows))
    if scale is not None and scale not in known:
        raise fail(f"unknown --scale {scale}; known: {', '.join(known)}")
    return [row for row in rows if scale is None or row["scale_id"] == scale]


def _print_rows(rows, groupings, floor, wave_from, wave_to, published, as_json, as_csv) -> None:
    """The groups as JSON, CSV or a table."""
    fields = [*groupings, *SUMMARY_FIELDS]
    rows = [{field: row.get(field) for field in fields} for row in rows]
    if as_json:
        stdout.print_json(json.dumps(rows, default=str))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: neutralise(value) for key, value in row.items()})
    else:
        _print_summary(rows, groupings, floor, wave_from, wave_to)
        if published:
            stdout.print(NOISE_SENTENCE)


SUMMARY_COLUMNS = ("scale_id", "n_pairs", "mean_from", "mean_to", "mean_change", "95% CI",
                   "p_adj", "d_z", "g_av", "% reliably improved")


def _print_summary(rows, groupings, floor, wave_from, wave_to) -> None:
    """The groups as a table, suppressed ones marked, with the figures rounded for reading."""
    table = Table(
        title=f"Paired change {wave_from} -> {wave_to} (improvement positive; 95% CI)",
        caption=f"Groups with fewer than {floor} matched pairs, and groups from which one "
                "could be worked out, are not shown.",
    )
    shown = [*groupings, *SUMMARY_COLUMNS]
    for column in shown:
        table.add_column(column, justify="left" if column in (*groupings, "scale_id") else "right")
    for row in rows:
        labels = [str(row[name]) for name in groupings] + [row["scale_id"]]
        if row["suppressed"]:
            table.add_row(
                *labels, "not shown", *[""] * (len(shown) - len(labels) - 1)
            )
            continue
        table.add_row(
            *labels,
            str(row["n_pairs"]),
            f"{row['mean_from']:.2f}",
            f"{row['mean_to']:.2f}",
            f"{row['mean_change']:+.2f}",
            _interval(row),
            _number(row["p_adj"], ".3g"),
            _number(row["d_z"], ".2f"),
            _number(row["g_av"], ".2f"),
            _number(row["pct_reliable_improved"], ".0f", "%"),
        )
    stdout.print(table)


def _number(value: float | None, spec: str, unit: str = "") -> str:
    """A figure as printed; a dash where the group has none (e.g. no spread in its changes)."""
    return "-" if value is None else f"{value:{spec}}{unit}"


def _interval(row: dict) -> str:
    if row["ci_low"] is None:
        return "-"
    return f"{row['ci_low']:+.2f} to {row['ci_high']:+.2f}"


# The pooled estimate's fields in `pool --json` and the printed table, in this order.
POOL_FIELDS = (
    "k",
    "method",
    "mu",
    "se",
    "ci_low",
    "ci_high",
    "z",
    "t",
    "p",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_p",
    "pi_low",
    "pi_high",
)
# The small-study bias and influence analyses `pool --bias` adds, each under its name.
BIAS_KEYS = ("egger", "egger_classical", "rank_test", "trim_and_fill", "leave_one_out",
             "cooks_distance")
# --mods and --subgroup fit metafor's rma() with these tau^2 estimators (no Paule-Mandel).
MODERATOR_METHODS = ("REML", "DL", "FE")


@dataclass
class Studies:
    """The studies to pool, as rows of the ``evidence`` table (``study_id``,
    ``outcome_domain``, ``design``, ``n``, the effect size ``es`` and its variance ``es_vi``,
    None when the row gives no usable one, and the study columns), and the rows of an
    evidence file set aside as `attune ingest` sets them aside (``quarantined``: each with
    its source_row, rules and reasons)."""

    rows: list[dict]
    quarantined: list[dict] = field(default_factory=list)


def _plain(value):
    """A cell of a validated file as the database gives it: missing -> None, numpy -> Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    try:
        return None if value != value else value  # pandas.NA and NaT are not equal to themselves
    except TypeError:
        return None


def _studies_in_file(path: Path) -> Studies:
    """The studies of an evidence file, read and checked by ingest's evidence contract."""
    # etl loads pandas, pandera and pyarrow: only when pooling a file
    from etl.table_file import read_evidence_file

    if not path.exists():
        raise fail(f"no such file: {path}")
    try:
        validated = read_evidence_file(path).validated
    except FileRejected as refusal:
        raise fail(f"{path}: refused, as `attune ingest` would refuse it: {refusal}") from None
    rows = []
    for record in validated.valid.to_dict("records"):
        row = {key: _plain(value) for key, value in record.items()}
        usable = row["yi"] is not None and row["vi"] is not None and math.isfinite(
            row["yi"]) and math.isfinite(row["vi"]) and row["vi"] > 0
        row["es"], row["es_vi"] = (row["yi"], row["vi"]) if usable else (None, None)
        rows.append(row)
    quarantined = [
        {"source_row": int(row), "rules": list(rules), "reasons": reasons}
        for row, rules, reasons in zip(
            validated.quarantine["source_row"], validated.quarantine["rules"],
            validated.quarantine["reasons"], strict=True,
        )
    ]
    return Studies(rows, quarantined)


def _studies_in_database(db: Path | None) -> Studies:
    """The studies of the loaded ``evidence`` table (ingest has checked them already)."""
    from warehouse.evidence import evidence  # DuckDB and scipy: only when pooling

    return Studies(evidence(require_database(db)))


def _quarantine_table(rows: list[dict]) -> Table:
    table = Table(title="Rows set aside, as `attune ingest` quarantines them (not pooled)")
    for column in ("row", "rules", "reasons"):
        table.add_column(column, justify="right" if column == "row" else "left")
    for row in rows:
        # (reasons quote the file's values: shown as text, never as rich markup)
        table.add_row(str(row["source_row"]), ", ".join(row["rules"]), Text(row["reasons"]))
    return table


@commands.command()
def pool(
    evidence_csv: Annotated[
        Path | None,
        typer.Argument(
            help="An evidence file (evidence.csv in the input format: yi and vi, or what "
            "gives them), checked as `attune ingest` checks it. Without it, the loaded "
            "`evidence` table of --db is pooled."
        ),
    ] = None,
    db: DbOption = None,
    method: Annotated[
        str, typer.Option(help="tau^2 estimator: REML (default), DL, PM, or FE (fixed effect).")
    ] = "REML",
    hksj: Annotated[
        bool,
        typer.Option(
            "--hksj", help="Hartung-Knapp-Sidik-Jonkman adjustment (t-based CI and test; "
            "Knapp-Hartung for --mods)."
        ),
    ] = False,
    domain: Annotated[
        str | None,
        typer.Option(help="Pool only this outcome domain, e.g. Confidence. Default: each "
                     "domain on its own (never across domains)."),
    ] = None,
    design: Annotated[
        str | None,
        typer.Option(help="Pool only studies of this design (randomised, comparison_group, "
                     "single_group_pre_post)."),
    ] = None,
    bias: Annotated[
        bool,
        typer.Option("--bias", help="Small-study bias and influence: Egger's test (both "
                     "forms), the rank test, trim-and-fill, leave-one-out and Cook's "
                     "distances; only for a domain with at least 10 studies."),
    ] = False,
    mods: Annotated[
        str | None,
        typer.Option("--mods", help="Meta-regression on these study columns, comma-separated "
                     "(e.g. year,design): numbers as they are, text as categories."),
    ] = None,
    subgroup: Annotated[
        str | None,
        typer.Option("--subgroup", help="Pool each level of this study column (e.g. design) "
                     "separately and test whether the levels differ."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Pool an evidence table per outcome domain with a random-effects meta-analysis
    (metafor's conventions); studies of different domains are never pooled together.

    Prints, per domain, k, the estimate mu with its SE, 95% CI and test (z, or t with
    --hksj), tau^2, I^2 (percent), H^2, Cochran's Q with its p, and the 95% prediction
    interval; with --bias, --mods, --subgroup the analyses they name. Rows of the file that
    `attune ingest` would quarantine are listed with their reasons (under "quarantined" with
    --json) and left out. JSON: one domain's keys at the top level (with --domain, or when
    the studies are of one domain), else {"domains": [one object per domain], "skipped",
    "quarantined"}.

    Exit codes: 0 pooled every row; 1 pooled, with rows quarantined; 2 usage error (no such
    file, a file ingest would refuse, an unknown column, fewer than 2 studies to pool).
    """
    from stats.meta import METHODS  # scipy: only when pooling
    from warehouse.evidence import MODERATOR_COLUMNS, pool_domains

    method = method.upper()
    if method not in METHODS:
        raise fail(f"--method must be one of {', '.join(METHODS)}")
    moderators = split_list(mods)
    for option, names in (("--mods", moderators), ("--subgroup", (subgroup or "",))):
        unknown = [name for name in names if name and name not in MODERATOR_COLUMNS]
        if unknown:
            raise fail(f"unknown {option} column(s) {', '.join(unknown)}; the evidence "
                       f"columns available are: {', '.join(MODERATOR_COLUMNS)}")
    if (moderators or subgroup) and method not in MODERATOR_METHODS:
        raise fail(f"--mods and --subgroup take --method {', '.join(MODERATOR_METHODS)}")
    studies = _studies_in_file(evidence_csv) if evidence_csv is not None else (
        _studies_in_database(db))
    rows = [r for r in studies.rows if domain is None or r["outcome_domain"] == domain]
    entries = pool_domains(rows, method=method, hksj=hksj, design=design, mods=moderators,
                           subgroup=subgroup)
    if not any(entry["pooled"] for entry in entries):
        if studies.quarantined:
            console.print(_quarantine_table(studies.quarantined))
        most = max((entry["k"] for entry in entries), default=0)
        known = sorted({r["outcome_domain"] for r in studies.rows})
        raise fail(f"pooling needs at least 2 studies with effect sizes, got {most}"
                   + ("" if entries else f"; the outcome domains are {', '.join(known)}"))
    exit_code = EXIT_ROWS_SET_ASIDE if studies.quarantined else 0
    shown = {"bias": bias, "mods": bool(moderators), "subgroup": bool(subgroup)}
    if as_json:
        results = [_domain_json(entry, **shown) for entry in entries]
        quarantine = {"quarantined": studies.quarantined}
        if len(results) == 1:
            stdout.print_json(json.dumps(results[0] | quarantine))
        else:
            skipped = sum(entry["skipped"] for entry in entries)
            stdout.print_json(json.dumps({"domains": results, "skipped": skipped} | quarantine))
        raise typer.Exit(exit_code)
    for entry in entries:
        _print_domain(entry, method, hksj, **shown)
    if studies.quarantined:
        stdout.print(_quarantine_table(studies.quarantined))
    raise typer.Exit(exit_code)


def _domain_json(entry: dict, *, bias: bool, mods: bool, subgroup: bool) -> dict:
    """One domain as `pool --json` prints it: the pooled estimate's fields (None when the
    domain has too few studies, with ``reason``) and the analyses asked for."""
    pooled = entry["pooled"] or {}
    certainty = entry["certainty"]
    out = {"domain": entry["domain"]} | {key: pooled.get(key) for key in POOL_FIELDS} | {
        "k": entry["k"], "reason": entry["reason"], "studies": entry["studies"],
        "skipped": entry["skipped"], "designs": entry["designs"], "note": entry["note"],
        "certainty": None if certainty is None else {
            "level": certainty["level"], "reasons": certainty["reasons"]},
    }
    if bias:
        analyses = entry["bias"] or {}
        out |= {key: analyses.get(key) for key in BIAS_KEYS} | {
            "bias_reason": entry["bias_reason"]}
    if mods:
        out |= {key: entry[key] for key in ("meta_regression", "meta_regression_reason")}
    if subgroup:
        out |= {key: entry[key] for key in ("subgroups", "q_between", "q_between_df",
                                              "q_between_p", "subgroup_reason")}
    return out


def _print_domain(entry: dict, method: str, hksj: bool, *, bias: bool, mods: bool,
                  subgroup: bool) -> None:
    """One domain's pooled estimate as a table, then the analyses asked for."""
    name = entry["domain"]
    if entry["pooled"] is None:
        stdout.print(Text(f"{name}: {entry['reason']}"))
        return
    table = Table(title=f"{name}: random-effects meta-analysis "
                        f"({method}{' + HKSJ' if hksj else ''})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key in POOL_FIELDS:
        value = entry["pooled"][key]
        if value is not None:
            table.add_row(key, value if isinstance(value, str) else f"{value:.4g}")
    stdout.print(table)
    if entry["skipped"]:
        stdout.print(f"{entry['skipped']} row(s) without a usable effect size were left out.")
    if entry["mixes_designs"]:
        stdout.print(Text(entry["note"]))
    if entry["certainty"] is not None:
        stdout.print(f"Certainty of the evidence (GRADE): {entry['certainty']['level']}.")
    if bias:
        _print_bias(entry)
    if mods:
        _print_meta_regression(entry)
    if subgroup:
        _print_subgroups(entry)


def _print_bias(entry: dict) -> None:
    analyses = entry["bias"]
    if analyses is None:
        stdout.print(Text(entry["bias_reason"]))
        return
    egger, classical = analyses["egger"], analyses["egger_classical"]
    rank, filled = analyses["rank_test"], analyses["trim_and_fill"]
    cooks = max(analyses["cooks_distance"], key=lambda row: row["value"])
    table = Table(title=f"{entry['domain']}: small-study bias and influence")
    table.add_column("analysis")
    table.add_column("result")
    table.add_row("Egger's test (mixed-effects)",
                  f"z = {egger['z']:.3f}, p = {egger['p']:.3g}; limit estimate "
                  f"{egger['limit_estimate']:.3f} ({egger['limit_ci_low']:.3f} to "
                  f"{egger['limit_ci_high']:.3f})")
    table.add_row("Egger's test (classical)",
                  f"t({classical['df']}) = {classical['t']:.3f}, p = {classical['p']:.3g}")
    table.add_row("Rank test (Begg)", f"tau = {rank['tau']:.3f}, p = {rank['p']:.3g}")
    table.add_row("Trim-and-fill", f"{filled['k0']} filled on the {filled['side']}; estimate "
                  f"{filled['estimate']:.3f} (SE {filled['se']:.3f}), tau^2 "
                  f"{filled['tau2']:.4g}")
    table.add_row("Largest Cook's distance", Text(f"study {cooks['study_id']}: "
                                                  f"{cooks['value']:.3f}"))
    stdout.print(table)


def _print_meta_regression(entry: dict) -> None:
    fit = entry["meta_regression"]
    if fit is None:
        stdout.print(Text(f"{entry['domain']}: no meta-regression: "
                          f"{entry['meta_regression_reason']}"))
        return
    table = Table(title=f"{entry['domain']}: meta-regression (k = {fit['k']})",
                  caption=f"QM({fit['qm_df']}) = {fit['qm']:.4g}, p = {fit['qm_p']:.3g}; "
                          f"QE({fit['qe_df']}) = {fit['qe']:.4g}, p = {fit['qe_p']:.3g}; "
                          f"tau^2 = {fit['tau2']:.4g}; R^2 = {_number(fit['r2'], '.1f', '%')}")
    for column in ("term", "estimate", "se", "95% CI"):
        table.add_column(column, justify="left" if column == "term" else "right")
    for coef in fit["coefficients"]:
        table.add_row(Text(coef["term"]), f"{coef['estimate']:.4g}", f"{coef['se']:.4g}",
                      f"{coef['ci_low']:.4g} to {coef['ci_high']:.4g}")
    stdout.print(table)


def _print_subgroups(entry: dict) -> None:
    if entry["subgroups"] is None:
        stdout.print(Text(f"{entry['domain']}: no subgroup analysis: "
                          f"{entry['subgroup_reason']}"))
        return
    table = Table(title=f"{entry['domain']}: subgroups",
                  caption=f"Test of subgroup differences: Q({entry['q_between_df']}) = "
                          f"{entry['q_between']:.4g}, p = {entry['q_between_p']:.3g}")
    for column in ("level", "k", "estimate", "se", "95% CI"):
        table.add_column(column, justify="left" if column == "level" else "right")
    for group in entry["subgroups"]:
        table.add_row(Text(group["level"]), str(group["k"]), f"{group['estimate']:.4g}",
                      f"{group['se']:.4g}", f"{group['ci_low']:.4g} to {group['ci_high']:.4g}")
    stdout.print(table)
