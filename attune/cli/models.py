"""`attune model`: the model that uses every wave (a linear mixed model per scale), beside the
completers-only change, for scripts and researchers.

Reads through the analysis layer (``warehouse.models``), which loads DuckDB and scipy, so the
command imports it when it runs, not at start-up.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from attune.cli.shared import DbOption, fail, require_database, stdout
from warehouse.errors import CannotShow

commands = typer.Typer()

MODEL_GROUPINGS = ("format", "audience", "supervision")
MODEL_FIELDS = ("scale", "by", "n_participants", "n_observations", "waves", "fixed_effects",
                "participant_sd", "residual_sd", "minus_two_reml_ll", "completers",
                "tipping_point", "groups")


@commands.command()
def model(
    db: DbOption = None,
    scale: Annotated[str, typer.Option("--scale", help="The scale to model, e.g. CONF.")] = ...,
    by: Annotated[
        str | None,
        typer.Option(help=f"Model each group separately in one fit: {', '.join(MODEL_GROUPINGS)}."),
    ] = None,
    min_cell: Annotated[
        int | None,
        typer.Option("--min-cell", help="Minimum cell size: groups with fewer participants are "
                     "left out of the fit and shown as not shown (default $ATTUNE_MIN_CELL, "
                     "else 11)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The mean at every wave and the change from pre, from a model that uses every wave.

    A linear mixed model of the scale's score on the wave (pre the reference), times the --by
    group if any, with a random intercept per participant within a cohort, fitted by REML. It uses
    every score of everyone, so unlike the completers-only change (matched pairs, printed
    beside it) it stays unbiased when who drops out depends on what they showed at earlier
    waves (missing at random). 95% CIs are Wald intervals from the fixed effects' covariance.
    Change is signed so that improvement is positive.

    tipping_point: how many scale points worse than modelled those who did not answer the
    last wave would have to be for its change from pre to vanish (a delta adjustment of the
    point estimate). The exact figures, for the trusted roles (sponsors see the model's
    published figures on the dashboard).

    --json gives {scale, by, n_participants, n_observations, waves, fixed_effects,
    participant_sd, residual_sd, minus_two_reml_ll, completers, tipping_point, groups};
    with --by, one entry of groups (each with its waves, completers and tipping_point) per
    group. Exit codes: 0 done; 2 usage error, or the model cannot be shown (the reason is
    printed).
    """
    # The analysis layer loads DuckDB and scipy: only when modelling
    from warehouse.connection import Database
    from warehouse.models import wave_model

    if by is not None and by not in MODEL_GROUPINGS:
        raise fail(f"unknown --by {by}; use {', '.join(MODEL_GROUPINGS)}")
    database = Database(require_database(db), min_cell_size=min_cell, changes_only=True)
    groupings = (by,) if by else ()
    try:
        result = wave_model(database, scale, by=groupings)
    except CannotShow as error:
        raise fail(str(error)) from None
    if as_json:
        stdout.print_json(json.dumps({k: result.get(k) for k in MODEL_FIELDS}, default=str))
        return
    for group in result["groups"]:
        _print_group(result["scale"], groupings, group)
    stdout.print(f"{result['n_participants']} participants, {result['n_observations']} "
                 f"scores; participant SD {result['participant_sd']:.3f}, residual SD "
                 f"{result['residual_sd']:.3f}.")


def _print_group(scale: str, groupings: tuple[str, ...], group: dict[str, Any]) -> None:
    label = ", ".join(f"{b} {group[b]}" for b in groupings)
    if group["suppressed"]:
        stdout.print(f"{label}: not shown (too few participants).")
        return
    pairs = {row["wave"]: row for row in group["completers"]}
    table = Table(title=f"{scale}{': ' + label if label else ''}: every wave, modelled "
                        "(95% CI), beside completers only")
    for column in ("wave", "mean", "95% CI", "change from pre", "95% CI ", "completers' change",
                   "matched pairs"):
        table.add_column(column, justify="left" if column == "wave" else "right")
    for row in group["waves"]:
        done = pairs.get(row["wave"], {})
        table.add_row(
            row["wave"], f"{row['mean']:.2f}", f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]",
            f"{row['change_from_pre']:+.2f}",
            "" if row["change_ci_low"] is None
            else f"[{row['change_ci_low']:+.2f}, {row['change_ci_high']:+.2f}]",
            "" if done.get("mean_change") is None else f"{done['mean_change']:+.2f}",
            "" if done.get("n_pairs") is None else str(done["n_pairs"]),
        )
    stdout.print(table)
    if group["tipping_point"]:
        stdout.print(group["tipping_point"]["sentence"])
