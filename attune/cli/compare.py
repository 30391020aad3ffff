"""`attune compare`: the trained arm against its comparison or waitlist arm, per programme
(ANCOVA and difference in differences, WWC baseline equivalence and attrition), for scripts
and researchers.

Reads through the analysis layer (``warehouse.comparison``), which loads DuckDB, so the
command imports it when it runs, not at start-up.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from attune.cli.shared import DbOption, fail, require_database, split_list, stdout
from warehouse.errors import CannotShow

commands = typer.Typer()

PROGRAM_FIELDS = ("program_id", "n_intervention", "n_comparison", "ancova", "did", "baseline_g",
                  "baseline_equivalence", "attrition_overall", "attrition_differential",
                  "attrition_standard")


@commands.command()
def compare(
    db: DbOption = None,
    scale: Annotated[str, typer.Option("--scale", help="The scale compared, e.g. CONF.")] = ...,
    wave: Annotated[str, typer.Option("--wave", help="The later wave, compared with pre.")]
    = "post",
    program: Annotated[
        str | None,
        typer.Option("--program", help="Only these programmes (comma-separated ids)."),
    ] = None,
    min_cell: Annotated[
        int | None,
        typer.Option("--min-cell", help="Minimum cell size: a programme with an arm of fewer "
                     "matched pairs is listed as not shown (default $ATTUNE_MIN_CELL, else 11)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Intervention against comparison (or waitlist) cohorts, per programme with both arms.

    ANCOVA: the --wave score regressed on the pre score and the arm; DiD: the intervention
    arm's mean change from pre minus the comparison arm's. Both in scale points, signed so
    that improvement is positive, with 95% CIs from CR1 standard errors clustered by cohort.
    Baseline equivalence (WWC Handbook v5.0) is Hedges' g of the matched pairs' pre scores:
    |g| <= 0.05 satisfied, <= 0.25 requires adjustment (the ANCOVA makes it), else not
    equivalent. Attrition: people scored at pre without the later wave, overall and
    differential, against the WWC cautious boundary ("low" or "high"). Exact figures for the
    trusted roles only: not published to sponsors yet.

    --json gives {scale, wave_from, wave_to, boundary, programs, left_out}; each entry of
    programs has program_id, n_intervention, n_comparison, ancova {estimate, se, ci_low,
    ci_high, p}, did {estimate, ci_low, ci_high}, baseline_g, baseline_equivalence,
    attrition_overall, attrition_differential, attrition_standard (and suppressed, reason,
    more counts and design_reason); left_out lists the programmes with one arm only, with the
    reason. Exit codes: 0 done; 2 usage error, or the comparison cannot be shown (the reason
    is printed).
    """
    # The analysis layer loads DuckDB: only when comparing
    from warehouse.comparison import compare_arms
    from warehouse.connection import Database
    from warehouse.filters import Filters

    database = Database(require_database(db), min_cell_size=min_cell)
    filters = Filters(program=split_list(program))
    try:
        result = compare_arms(database, scale, wave, filters=filters)
    except CannotShow as error:
        raise fail(str(error)) from None
    if as_json:
        programs = [{**{k: p[k] for k in PROGRAM_FIELDS}, **p} for p in result["programs"]]
        stdout.print_json(json.dumps({**result, "programs": programs}, default=str))
        return
    if result["programs"]:
        stdout.print(_table(result))
    else:
        stdout.print("No programme here has both an intervention and a comparison arm.")
    for row in result["programs"]:
        if not row["suppressed"]:
            stdout.print(f"{row['program_id']}: the comparison "
                         f"{'counts' if row['counts_as_comparison'] else 'does not count'} "
                         f"for the evidence tier: {row['design_reason']}.")
    for row in result["left_out"]:
        stdout.print(f"{row['program_id']}: not compared ({row['reason']}).")


def _interval(figures: dict[str, Any]) -> str:
    return (f"{figures['estimate']:+.2f} [{figures['ci_low']:+.2f}, "
            f"{figures['ci_high']:+.2f}]")


def _table(result: dict[str, Any]) -> Table:
    from warehouse.comparison import g_words
    table = Table(title=f"{result['scale']}: intervention minus comparison, "
                        f"{result['wave_from']} -> {result['wave_to']} (95% CI, CR1 by cohort)")
    for column in ("programme", "arm compared", "pairs (int / comp)", "ANCOVA", "p", "DiD",
                   "baseline g", "attrition overall / differential"):
        table.add_column(column, justify="left" if column in ("programme", "arm compared")
                         else "right")
    for row in result["programs"]:
        arms = ", ".join(row["comparison_arms"])
        if row["suppressed"]:
            table.add_row(row["program_id"], arms, f"not shown: {row['reason']}", "", "", "",
                          "", "")
            continue
        g = row["baseline_g"]
        attrition = ("unknown" if row["attrition_standard"] is None else
                     f"{100 * row['attrition_overall']:.0f}% / "
                     f"{100 * row['attrition_differential']:.1f} pts "
                     f"({row['attrition_standard']})")
        table.add_row(
            row["program_id"], arms, f"{row['n_intervention']} / {row['n_comparison']}",
            _interval(row["ancova"]), f"{row['ancova']['p']:.3g}", _interval(row["did"]),
            ("" if g is None else f"{g_words(g)} ") + f"({row['baseline_equivalence']})",
            attrition,
        )
    return table
