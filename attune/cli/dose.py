"""`attune dose`: what goes with larger change (contact hours, supervision), adjusted for
format and audience, for scripts and researchers.

Reads through the analysis layer (``warehouse.dose``), which loads DuckDB, so the command
imports it when it runs, not at start-up.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from attune.cli.shared import DbOption, fail, require_database, stdout
from warehouse.errors import CannotShow

commands = typer.Typer()

DOSE_FIELDS = ("scale", "wave_from", "wave_to", "n_pairs", "n_cohorts", "coefficients",
               "reference", "dropped_terms", "left_out", "caveat")


@commands.command()
def dose(
    db: DbOption = None,
    scale: Annotated[str, typer.Option("--scale", help="The scale whose change is regressed, "
                                       "e.g. CONF.")] = ...,
    wave_from: Annotated[str, typer.Option("--wave-from", help="Earlier wave.")] = "pre",
    wave_to: Annotated[str, typer.Option("--wave-to", help="Later wave.")] = "post",
    min_cell: Annotated[
        int | None,
        typer.Option("--min-cell", help="Minimum cell size: fewer matched pairs than this and "
                     "nothing is shown (default $ATTUNE_MIN_CELL, else 11)."),
    ] = None,
    published: Annotated[
        bool,
        typer.Option("--published", help="The figures as published to a sponsor: refused for "
                     "now, this model has no disclosure control yet."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What goes with larger change: contact hours and supervision, adjusted for format and
    audience.

    Each matched pair's change (improvement positive) is regressed on log contact hours,
    supervision (0/1), format and audience dummies (the first format and audience present, in
    the contract's order, are the reference); 95% CIs use cluster-robust (CR1) SEs by cohort
    with t on cohorts − 1 df. These are associations, not effects: programmes that differ in
    hours also differ in other ways. Programmes without recorded contact hours are left out
    and counted; terms without variation are dropped and named. The exact figures, for the
    trusted roles only: the model is not published to sponsors yet (--published is refused).

    --json gives {scale, wave_from, wave_to, n_pairs, n_cohorts, coefficients: [{term,
    estimate, se, ci_low, ci_high}], reference: {format, audience}, dropped_terms: [{term,
    reason}], left_out: {n_pairs, n_cohorts, reason}, caveat}. Exit codes: 0 done; 2 usage
    error, or the regression cannot be shown (the reason is printed).
    """
    # The analysis layer loads DuckDB: only when regressing
    from warehouse.connection import Database
    from warehouse.dose import dose_response
    from warehouse.filters import Filters

    database = Database(require_database(db), min_cell_size=min_cell, changes_only=True)
    try:
        result = dose_response(database, scale, wave_from=wave_from, wave_to=wave_to,
                               filters=Filters(published=published))
    except CannotShow as error:
        raise fail(str(error)) from None
    if as_json:
        stdout.print_json(json.dumps({k: result[k] for k in DOSE_FIELDS}))
        return
    table = Table(title=f"{scale}, change {wave_from} -> {wave_to} (improvement positive): "
                        "what goes with larger change (95% CI, CR1 by cohort)")
    for column in ("term", "estimate", "95% CI", "SE"):
        table.add_column(column, justify="left" if column == "term" else "right")
    for c in result["coefficients"]:  # escape: a term such as format[degree] is not markup
        interval = ("" if c["ci_low"] is None
                    else f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]")
        se = "" if c["se"] is None else f"{c['se']:.3f}"
        table.add_row(escape(c["term"]), f"{c['estimate']:+.3f}", interval, se)
    stdout.print(table)
    reference = result["reference"]
    stdout.print(f"{result['n_pairs']} matched pairs in {result['n_cohorts']} cohorts; "
                 f"compared with format {reference['format']} and audience "
                 f"{reference['audience']}.")
    for term in result["dropped_terms"]:
        stdout.print(escape(f"Not estimated: {term['term']} ({term['reason']})."))
    left = result["left_out"]
    if left["n_pairs"]:
        stdout.print(f"Left out: {left['n_pairs']} pairs in {left['n_cohorts']} cohorts "
                     f"({left['reason']}).")
    stdout.print(result["caveat"])
