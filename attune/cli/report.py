"""`attune report`: outcomes reports as files, one sponsor's published figures as a
self-contained HTML file and a PDF printed from it (``reports``), for one sponsor or, for a
scheduled job, every sponsor.

Reads through the analysis layer, which loads DuckDB, so the command imports it when it runs,
not at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from attune.cli.shared import DbOption, console, fail, progress_bar, require_database, split_list

commands = typer.Typer()

FORMATS = ("html", "pdf")
EXIT_NO_PDF = 4  # the HTML was written but no PDF could be printed (Chromium missing or failed)


@commands.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder the reports are written to "
                                      "(created if missing).")],
    db: DbOption = None,
    sponsor: Annotated[str | None, typer.Option("--sponsor", help="The sponsor id, e.g. SP01.")
                       ] = None,
    all_sponsors: Annotated[bool, typer.Option("--all-sponsors", help="One report per sponsor "
                                               "with cohorts (for a scheduled job).")] = False,
    date_from: Annotated[str | None, typer.Option("--from", help="First cohort start date, "
                                                  "YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last cohort start date, "
                                                "YYYY-MM-DD.")] = None,
    scale: Annotated[list[str] | None, typer.Option("--scale", help="Report on this scale "
                                                    "only; repeat for more (default: all).")
                     ] = None,
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf.")
                       ] = "html,pdf",
    min_cell: Annotated[
        int | None,
        typer.Option("--min-cell", help="Minimum cell size (default $ATTUNE_MIN_CELL, else "
                     "11)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the files written as JSON.")
                       ] = False,
) -> None:
    """Write outcomes reports: a sponsor's published figures as a self-contained HTML file (no
    request to any host) and a PDF printed from it by Debian's Chromium (/usr/bin/chromium, or
    $ATTUNE_CHROMIUM).

    Page 1 is a summary in plain words; then who took part, what was measured, the change
    per outcome with intervals, follow-up from the model that uses every wave, the comparison
    arm, cost, the programmes' evidence tiers beside the literature, and a TREND-style
    reporting checklist. Figures are published ones only, exactly as the sponsor sees them
    signed in: small groups are not shown, never another sponsor's numbers.

    Files are named by sponsor and period: attune-report-SP01-2024-01-01_2025-12-31.html
    (--from/--to are cohort start dates), attune-report-SP01-all-cohorts.pdf without them.
    --all-sponsors writes one report per sponsor, with a progress bar on stderr. --json
    prints {"files": [...]} on stdout.

    Exit codes: 0 done; 2 usage error (an unknown sponsor, scale, format or date; no
    database); 4 the HTML was written but the PDF could not be printed (Chromium is missing or
    failed; the reason is printed).
    """
    from reports.content import ReportRefused, sponsors
    from reports.files import write_report
    from reports.pdf import PdfUnavailable
    from warehouse.connection import Database

    chosen = split_list(formats)
    wrong = [f for f in chosen if f not in FORMATS]
    if wrong or not chosen:
        raise fail(f"unknown --format {', '.join(wrong) or repr(formats)}; use html, pdf or "
                   "both")
    if all_sponsors == (sponsor is not None):
        raise fail("give either --sponsor ID or --all-sponsors")
    database = Database(require_database(db), min_cell_size=min_cell)
    names = sponsors(database) if all_sponsors else [sponsor]
    written: list[str] = []
    no_pdf: str | None = None
    with progress_bar() as progress:
        task = progress.add_task("writing reports", total=len(names))
        for name in names:
            progress.update(task, description=f"report for {name}")
            try:
                _, files = write_report(database, name, out, formats=tuple(chosen),
                                        date_from=date_from, date_to=date_to,
                                        scales=tuple(scale or ()))
            except ReportRefused as refused:
                raise fail(str(refused)) from None
            except PdfUnavailable as missing:
                no_pdf, files = str(missing), missing.written
            written.extend(str(p) for p in files)
            progress.advance(task)
    if as_json:
        print(json.dumps({"files": written}))
    else:
        for path in written:
            console.print(f"wrote {path}")
    if no_pdf:
        raise fail(no_pdf, EXIT_NO_PDF)
