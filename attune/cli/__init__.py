"""The `attune` command: generate demo data, ingest survey exports, summarise, serve.

One module per command group, each adding its commands to ``app`` here:

* ``data``: `generate`, `ingest`, `mapping init`;
* ``serving``: `serve`, `demo` (the only module that starts the Dash app);
* ``analysis``: `summarize` (of a database or a Parquet lake), `pool`;
* ``lake``: `export --lake` (the Parquet lake other engines read);
* ``models``: `model` (the mixed model that uses every wave);
* ``dose``: `dose` (what goes with larger change: contact hours and supervision);
* ``cost``: `cost` (cost per participant, matched pair, person improved, tenth of an SD);
* ``compare``: `compare` (intervention against comparison arm: ANCOVA, DiD, WWC checks);
* ``accounts``: `users add | list | remove | passwd | unlock`, `tokens add | list | revoke`;
* ``share``: `share --sponsor ID`, `share list | revoke` (share links);
* ``report``: `report --sponsor ID | --all-sponsors --out DIR` (outcomes reports as files);
* ``shared``: the consoles, exit codes, --db option and progress bar they share.

Start-up stays light (typer and rich): each command imports the heavy libraries it needs
(pandas, DuckDB, scipy, Dash) when it runs, so `attune --help` answers at once.
"""

from __future__ import annotations

import sys

import typer

from attune.cli import (
    accounts,
    analysis,
    compare,
    cost,
    data,
    dose,
    lake,
    models,
    report,
    serving,
    share,
)

app = typer.Typer(
    help=(
        "Attune turns anonymised pre/post/follow-up survey exports of attachment-based training "
        "into trustworthy evidence: a documented DuckDB file and a dashboard."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (data, serving, analysis, lake, models, dose, cost, compare, report, accounts,
              share):
    app.add_typer(group.commands)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app(prog_name="attune"))
