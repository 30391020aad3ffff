"""Self-generated codes for the linking tests: one mapping, and pre and post participants whose
code components match exactly, within tolerance, ambiguously or not at all."""

from __future__ import annotations

from pathlib import Path

HEADER = "mother,month,street,sibling,cohort_id,wave,completed_at,audience,CONF_01,CONF_02,CONF_03,CONF_04,CONF_05"
MAPPING = """\
format: canonical
linking:
  components: [mother, month, street, sibling]
  tolerance: 1
"""
PRE = [  # mother initial, birth month, first street digit, older siblings
    ("M", "03", "ZQX", "2"),
    ("K", "11", "4", "0"),
    ("S", "7", "9", "1"),
    ("J", "1", "2", "3"),
    ("P", "5", "5", "1"),
    ("P", "5", "5", "2"),  # differs from the one above in one component
    ("L", "9", "8", "0"),
]
POST = [
    ("m", " 3", "zqx", "2"),  # exact after normalising case, blanks and leading zeros
    ("K", "11", "4", "0"),  # exact
    ("S", "8", "9", "1"),  # typo in the month: fuzzy
    ("Ö", "1", "2", "3"),  # 'O' for 'J': fuzzy (accent stripped, one component different)
    ("P", "5", "5", "3"),  # one component from two pre participants: ambiguous, unmatched
    ("X", "10", "8", "0"),  # two components different: unmatched
    ("L", "", "8", "0"),  # a blank component: quarantined
]


def codes_file(path: Path, rows: list[tuple[str, str, str, str]], wave: str, date: str) -> Path:
    """A canonical responses file of cohort C1 whose participants are known only by the
    four code components in ``rows``, all giving the same item answers."""
    lines = [HEADER] + [
        f"{m},{b},{s},{e},C1,{wave},{date},educator,3,3,4,4,2" for m, b, s, e in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
