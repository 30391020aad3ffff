"""The report's PDF: the HTML file printed by Debian's Chromium, headless, as it is installed
(``apt-get install chromium``; never a downloaded browser). Chromium prints what the HTML
says: page size and margins from its ``@page`` rule, the header and footer from its
page-margin boxes (``--no-pdf-header-footer`` turns Chromium's own off), and it makes no
request to any host (background networking, component updates and sync are off, and the
report holds nothing to fetch).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_VARIABLE = "ATTUNE_CHROMIUM"  # another Chromium binary, e.g. on a system without Debian's
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", "--hide-scrollbars")
TIMEOUT_SECONDS = 120


class PdfUnavailable(RuntimeError):
    """Chromium is missing or failed to print: the text says which, and what to install;
    ``written`` lists the report's files written before it (set by ``files.write_report``)."""

    written: list = []


def chromium() -> str:
    """The Chromium binary to print with: ``$ATTUNE_CHROMIUM``, else Debian's."""
    binary = os.environ.get(CHROMIUM_VARIABLE) or CHROMIUM
    found = shutil.which(binary)
    if found is None:
        raise PdfUnavailable(
            f"cannot make a PDF: no Chromium at {binary} (install Debian's package: "
            f"`apt-get install chromium`, or set ${CHROMIUM_VARIABLE}); the HTML report needs "
            "nothing else")
    return found


def print_pdf(html_file: Path, pdf_file: Path) -> Path:
    """Print ``html_file`` to ``pdf_file`` (written whole or not at all)."""
    binary = chromium()
    pdf_file = Path(pdf_file)
    partial = pdf_file.with_name(pdf_file.name + ".part")
    with tempfile.TemporaryDirectory(prefix="attune-chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}",
                   f"--print-to-pdf={partial}", Path(html_file).resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS, check=False,
                                  env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise PdfUnavailable(f"Chromium did not finish printing {html_file} within "
                                 f"{TIMEOUT_SECONDS} s") from None
    if done.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise PdfUnavailable(f"Chromium failed to print {html_file} (exit {done.returncode}): "
                             + " / ".join(tail))
    os.replace(partial, pdf_file)
    return pdf_file
