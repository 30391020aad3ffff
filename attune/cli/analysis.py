"""The numbers, for scripts and researchers: `attune summarize` (paired change per group, the
dashboard's own figures) and `attune pool` (a random-effects meta-analysis of evidence).

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
    """
    # The analysis layer's queries load DuckDB and scipy: only when summarising
    from warehouse.catalog import scales
    from warehouse.connection import Database
    from warehouse.outcomes import change_family, group_change

    database = Database(require_database(db), changes_only=True)
    groupings = split_list(by)
    unknown = [name for name in groupings if name not in GROUPINGS]
    if unknown:
        raise fail(f"unknown --by {', '.join(unknown)}; use {', '.join(GROUPINGS)}")
    known_scales = [row["scale_id"] for row in scales(database)]
    if scale is not None and scale not in known_scales:
        raise fail(f"unknown --scale {scale}; known: {', '.join(known_scales)}")
    floor = min_cell if min_cell is not None else settings.min_cell_size()
    options = {
        "wave_from": wave_from,
        "wave_to": wave_to,
        "by": groupings,
        "filters": Filters(
            audience=split_list(audience),
            format=split_list(program_format),
            sponsor=split_list(sponsor),
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


@dataclass
class Studies:
    """The effect sizes to pool, (yi, vi) per study; how many studies have no usable one
    (``skipped``); and the rows of an evidence file set aside as `attune ingest` sets them
    aside (``quarantined``: each with its source_row, rules and reasons)."""

    yi: list[float]
    vi: list[float]
    skipped: int
    quarantined: list[dict] = field(default_factory=list)


def _studies_in_file(path: Path, domain: str | None) -> Studies:
    """The studies of an evidence file, read and checked by ingest's evidence contract."""
    # etl loads pandas, pandera and pyarrow: only when pooling a file
    from etl.table_file import read_evidence_file

    if not path.exists():
        raise fail(f"no such file: {path}")
    try:
        validated = read_evidence_file(path).validated
    except FileRejected as refusal:
        raise fail(f"{path}: refused, as `attune ingest` would refuse it: {refusal}") from None
    valid = validated.valid
    if domain is not None:
        valid = valid[valid["outcome_domain"] == domain]
    pairs = list(zip(valid["yi"].tolist(), valid["vi"].tolist(), strict=True))
    usable = [(y, v) for y, v in pairs if math.isfinite(y) and math.isfinite(v) and v > 0]
    quarantined = [
        {"source_row": int(row), "rules": list(rules), "reasons": reasons}
        for row, rules, reasons in zip(
            validated.quarantine["source_row"], validated.quarantine["rules"],
            validated.quarantine["reasons"], strict=True,
        )
    ]
    return Studies([y for y, _ in usable], [v for _, v in usable], len(pairs) - len(usable),
                   quarantined)


def _studies_in_database(db: Path | None, domain: str | None) -> Studies:
    """The studies of the loaded ``evidence`` table (ingest has checked them already)."""
    from warehouse.evidence import evidence  # DuckDB and scipy: only when pooling

    studies = [
        study
        for study in evidence(require_database(db))
        if domain is None or study["outcome_domain"] == domain
    ]
    usable = [study for study in studies if study["es"] is not None]
    return Studies([study["es"] for study in usable], [study["es_vi"] for study in usable],
                   len(studies) - len(usable))


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
            "--hksj", help="Hartung-Knapp-Sidik-Jonkman adjustment (t-based CI and test)."
        ),
    ] = False,
    domain: Annotated[
        str | None, typer.Option(help="Pool only studies of this outcome domain, e.g. Confidence.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Pool an evidence table with a random-effects meta-analysis (metafor's conventions).

    Prints k, the estimate mu with its SE, 95% CI and test (z, or t with --hksj), tau^2,
    I^2 (percent), H^2, Cochran's Q with its p, and the 95% prediction interval. Rows of the
    file that `attune ingest` would quarantine are listed with their reasons (under
    "quarantined" with --json) and left out.

    Exit codes: 0 pooled every row; 1 pooled, with rows quarantined; 2 usage error (no such
    file, a file ingest would refuse, fewer than 2 studies to pool).
    """
    from stats.meta import METHODS, meta_analysis  # scipy: only when pooling

    method = method.upper()
    if method not in METHODS:
        raise fail(f"--method must be one of {', '.join(METHODS)}")
    if evidence_csv is not None:
        studies = _studies_in_file(evidence_csv, domain)
    else:
        studies = _studies_in_database(db, domain)
    if len(studies.yi) < 2:
        if studies.quarantined:
            console.print(_quarantine_table(studies.quarantined))
        raise fail(f"pooling needs at least 2 studies with effect sizes, got {len(studies.yi)}")
    result = meta_analysis(studies.yi, studies.vi, method=method, hksj=hksj).as_dict()
    exit_code = EXIT_ROWS_SET_ASIDE if studies.quarantined else 0
    if as_json:
        stdout.print_json(json.dumps(
            {key: result[key] for key in POOL_FIELDS}
            | {"skipped": studies.skipped, "quarantined": studies.quarantined}
        ))
        raise typer.Exit(exit_code)
    table = Table(title=f"Random-effects meta-analysis ({method}{' + HKSJ' if hksj else ''})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key in POOL_FIELDS:
        value = result[key]
        if value is None:
            continue
        table.add_row(key, value if isinstance(value, str) else f"{value:.4g}")
    stdout.print(table)
    if studies.skipped:
        stdout.print(f"{studies.skipped} row(s) without a usable effect size were left out.")
    if studies.quarantined:
        stdout.print(_quarantine_table(studies.quarantined))
    raise typer.Exit(exit_code)
