"""Writing reports to files: what `attune report` and the dashboard's download both call.

``write_report`` gathers one sponsor's published figures, renders the HTML and, when asked,
prints the PDF from it; files are named by sponsor and period
(``attune-report-SP01-2024-01-01_2025-12-31.html``) and each is written whole or not at all
(a ``.part`` file renamed into place), so a scheduled job never leaves half a report.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from reports.content import Report, gather, report_name
from reports.html import render
from reports.pdf import PdfUnavailable, print_pdf
from warehouse.connection import Database, as_database

FORMATS = ("html", "pdf")


def _write_text(path: Path, text: str) -> Path:
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def write_report(db: Database | Path | str, sponsor: str, out_dir: Path, *,
                 formats: tuple[str, ...] = FORMATS, date_from: str | None = None,
                 date_to: str | None = None, scales: tuple[str, ...] = (),
                 produced: dt.date | None = None) -> tuple[Report, list[Path]]:
    """One sponsor's report in ``out_dir`` in each of ``formats``; the report and the files
    written. The PDF is printed from the HTML file, which is written first either way (and
    removed again when only the PDF was asked for). ``PdfUnavailable`` when the PDF cannot be
    printed; its ``written`` lists the files written all the same."""
    report = gather(as_database(db), sponsor, date_from=date_from, date_to=date_to,
                    scales=scales, produced=produced)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = _write_text(out_dir / report_name(sponsor, report.period_slug, "html"),
                            render(report))
    written = [html_path] if "html" in formats else []
    try:
        if "pdf" in formats:
            written.append(print_pdf(html_path, out_dir / report_name(
                sponsor, report.period_slug, "pdf")))
    except PdfUnavailable as missing:
        missing.written = written  # what was written before the PDF failed
        raise
    finally:
        if "html" not in formats:
            html_path.unlink(missing_ok=True)
    return report, written
