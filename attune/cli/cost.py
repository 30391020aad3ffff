"""`attune cost`: what training cost per participant, per matched pair, per person reliably
improved and per tenth of an SD of change, by format or programme, for evaluators' scripts.

Reads through the analysis layer (``warehouse.cost``), which loads DuckDB, so the command
imports it when it runs, not at start-up.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from attune.cli.shared import DbOption, fail, require_database, stdout
from warehouse.errors import CannotShow

commands = typer.Typer()

COST_GROUPINGS = ("format", "program")
SEED, RESAMPLES = 1, 2000  # as warehouse.cost.SEED and RESAMPLES (checked by the tests)
COST_FIELDS = ("people", "n_pairs", "total_cost", "cost_per_participant",
               "cost_per_matched_participant", "cost_per_matched_participant_ci_low",
               "cost_per_matched_participant_ci_high", "cost_per_reliably_improved",
               "cost_per_reliably_improved_ci_low", "cost_per_reliably_improved_ci_high",
               "cost_per_tenth_sd", "cost_per_tenth_sd_ci_low", "cost_per_tenth_sd_ci_high",
               "cohorts", "cohorts_without_cost", "g", "pct_reliable_improved", "suppressed",
               "reasons")


@commands.command()
def cost(
    db: DbOption = None,
    scale: Annotated[str, typer.Option("--scale", help="The outcome scale, e.g. CONF.")] = ...,
    by: Annotated[
        str, typer.Option(help=f"One row per {' or '.join(COST_GROUPINGS)}.")
    ] = "format",
    seed: Annotated[
        int, typer.Option(help="Seed of the bootstrap's draws (numpy PCG64); the same seed "
                          "gives the same intervals.")
    ] = SEED,
    min_cell: Annotated[
        int | None,
        typer.Option("--min-cell", help="Minimum cell size: groups with fewer people are not "
                     "shown (default $ATTUNE_MIN_CELL, else 11)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cost per participant, per matched pair, per person reliably improved and per tenth of
    an SD of pre -> post change, per format or programme.

    From each cohort's cost_per_participant: total cost = the sum over cohorts of cost per
    participant x people (anyone with a response); cost_per_participant = total cost /
    people; cost_per_matched_participant = total cost / matched pre -> post pairs;
    cost_per_reliably_improved = cost per participant / the share of matched pairs reliably
    improved; cost_per_tenth_sd = cost per participant / (g / 0.1), g the standardised mean
    change of the Outcomes pages. Cohorts of unknown cost are left out of the cost and
    counted (cohorts_without_cost). A ratio with no improvement to pay for (g <= 0, no one
    reliably improved) is not given, and reasons says why for every figure not given.

    95% CIs: percentile bootstrap (Efron & Tibshirani 1993) resampling whole cohorts, 2000
    resamples, seed 1 unless --seed; none for a group with fewer than 2 cohorts of known
    cost. Exact figures for the trusted roles.

    --json gives {seed, resamples, groups: [{<by>, people, n_pairs, total_cost,
    cost_per_participant, cost_per_matched_participant, cost_per_reliably_improved,
    cost_per_tenth_sd, each of the last three with _ci_low and _ci_high, cohorts,
    cohorts_without_cost, g, pct_reliable_improved, suppressed, reasons}]}. Exit codes: 0
    done; 2 usage error, or the figures cannot be shown (the reason is printed).
    """
    from warehouse.connection import Database
    from warehouse.cost import cost as cost_figures

    if by not in COST_GROUPINGS:
        raise fail(f"unknown --by {by}; use {', '.join(COST_GROUPINGS)}")
    database = Database(require_database(db), min_cell_size=min_cell)
    try:
        result = cost_figures(database, scale_id=scale, by=by, seed=seed, resamples=RESAMPLES)
    except CannotShow as error:
        raise fail(str(error)) from None
    groups = [{by: g[by], **{k: g[k] for k in COST_FIELDS}} for g in result["groups"]]
    if as_json:
        stdout.print_json(json.dumps({"seed": result["seed"], "resamples": result["resamples"],
                                      "groups": groups}, default=str))
        return
    _print(scale, by, groups, result)


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.0f}"


def _interval(group: dict[str, Any], name: str) -> str:
    low, high = group[f"{name}_ci_low"], group[f"{name}_ci_high"]
    if low is None and high is None:
        return ""
    return f"[{_money(low) or '?'}, {_money(high) or 'unbounded'}]"


def _print(scale: str, by: str, groups: list[dict[str, Any]], result: dict[str, Any]) -> None:
    table = Table(title=f"{scale}: cost by {by} (95% bootstrap CI over cohorts, "
                        f"{result['resamples']} resamples, seed {result['seed']})")
    for column in (by, "people", "pairs", "total cost", "per participant", "per matched pair",
                   "95% CI", "per reliably improved", "95% CI ", "per 0.1 SD", "95% CI  "):
        table.add_column(column, justify="left" if column == by else "right")
    notes = []
    for g in groups:
        if g["suppressed"]:
            table.add_row(str(g[by]), *["not shown"] + [""] * 9)
            continue
        table.add_row(
            str(g[by]), "" if g["people"] is None else str(g["people"]),
            "" if g["n_pairs"] is None else str(g["n_pairs"]), _money(g["total_cost"]),
            _money(g["cost_per_participant"]), _money(g["cost_per_matched_participant"]),
            _interval(g, "cost_per_matched_participant"),
            _money(g["cost_per_reliably_improved"]), _interval(g, "cost_per_reliably_improved"),
            _money(g["cost_per_tenth_sd"]), _interval(g, "cost_per_tenth_sd"))
        notes.extend(f"{g[by]}: {name.replace('_', ' ')}: {why}"
                     for name, why in g["reasons"].items())
        if g["cohorts_without_cost"]:
            notes.append(f"{g[by]}: {g['cohorts_without_cost']} of {g['cohorts']} cohorts have "
                         "no known cost and are left out of the cost.")
    stdout.print(table)
    for note in notes:
        stdout.print(note)
