"""CSV cells that a spreadsheet opens as text: the one formula guard of every CSV Attune
writes (the dashboard's downloads, `attune summarize --csv`, and any report after them).

Text from input files (programme names, sponsor ids, citations) can start like a formula;
Excel, LibreOffice and Google Sheets would run it when the file is opened (CSV injection).
"""

from __future__ import annotations

from typing import Any

# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run: text starting with = + - @ tab or carriage
    return gets a leading apostrophe (OWASP CSV injection). Numbers are left alone, so a
    negative number stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
