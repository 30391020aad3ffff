"""Writing the dataset: small tables with pandas, responses with pyarrow's CSV writer, and
the invalid rows spliced in at known lines so that a reader can find each one again.

Every file is UTF-8 with plain newlines. Line numbers count as `attune ingest` counts
`source_row`: the header is line 1, the first data row line 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from synthetic.invalid import InvalidRow

RESPONSES_DIR = "responses"
SINGLE_RESPONSES_FILE = "responses.csv"
FIRST_DATA_LINE = 2

_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", eol="\n")


@dataclass(frozen=True)
class ResponsesFile:
    """One responses file to write: its valid rows, and each invalid row with the valid row
    it goes before (invalid rows at the same position keep their order)."""

    path: Path
    table: pa.Table
    invalid: list[tuple[int, InvalidRow]]
    first_valid: int  # position of the file's first valid row among all valid rows

    def invalid_lines(self) -> list[int]:
        """The line of each invalid row, in `invalid` order."""
        return [FIRST_DATA_LINE + position + k for k, (position, _) in enumerate(self.invalid)]

    def valid_line(self, position: int) -> int:
        """The line of the valid row at `position` among all valid rows (it is in this file)."""
        local = position - self.first_valid
        before = sum(1 for placed, _ in self.invalid if placed <= local)
        return FIRST_DATA_LINE + local + before


def write_small_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def plan_responses_files(
    out_dir: Path,
    table: pa.Table,
    row_years: np.ndarray,
    years: list[int],
    invalid: list[InvalidRow],
    single_file: bool,
    appended: tuple[pa.Table, np.ndarray] | None = None,
) -> list[ResponsesFile]:
    """Where every row goes: one file per year of cohort start, or one responses.csv.

    Each invalid row goes before the valid row at its relative place in its year's rows; the
    single file is the year files one after another, with the invalid rows at the same places.
    `appended` (rows in file order and their years: the waitlist cohorts') go after the rows
    of their year's file (or of the single file), so that the other rows and the invalid
    rows keep their lines.
    """
    bounds = np.searchsorted(row_years, years + [years[-1] + 1])
    placed: list[tuple[int, int, InvalidRow]] = []  # year index, position in that year, row
    for row in invalid:
        y = years.index(row.year)
        placed.append((y, int(row.where * (bounds[y + 1] - bounds[y])), row))
    placed.sort(key=lambda entry: (entry[0], entry[1]))  # stable: keeps the order of making
    extra, extra_years = appended if appended is not None else (table.slice(0, 0), np.array([]))
    if single_file:
        spliced = [(int(bounds[y]) + position, row) for y, position, row in placed]
        whole = pa.concat_tables([table, extra])
        return [ResponsesFile(out_dir / SINGLE_RESPONSES_FILE, whole, spliced, 0)]
    return [
        ResponsesFile(
            out_dir / RESPONSES_DIR / f"responses_{year}.csv",
            pa.concat_tables([
                table.slice(bounds[y], bounds[y + 1] - bounds[y]),
                extra.filter(pa.array(extra_years == year)),
            ]),
            [(position, row) for yy, position, row in placed if yy == y],
            int(bounds[y]),
        )
        for y, year in enumerate(years)
    ]


def write_responses(file: ResponsesFile) -> None:
    """Header, then the valid rows with each invalid row spliced in before its valid row."""
    table = file.table
    header = ",".join(table.column_names) + "\n"
    sink = pa.OSFile(str(file.path), "wb")
    try:
        sink.write(header.encode("utf-8"))
        done = 0
        for position, row in file.invalid:
            if position > done:
                pacsv.write_csv(table.slice(done, position - done), sink, _CSV_OPTIONS)
                done = position
            values = [row.values[name] for name in table.column_names]
            if any(ch in value for value in values for ch in ',"\n\r'):
                raise ValueError(f"invalid row for {row.rules} would need quoting: {values!r}")
            sink.write((",".join(values) + "\n").encode("utf-8"))
        if table.num_rows > done:
            pacsv.write_csv(table.slice(done), sink, _CSV_OPTIONS)
    finally:
        sink.close()


def clear_old_responses(out_dir: Path) -> None:
    """Remove responses files an earlier run of the generator left in `out_dir`."""
    old = sorted((out_dir / RESPONSES_DIR).glob("responses_*.csv"))
    old.append(out_dir / SINGLE_RESPONSES_FILE)
    for path in old:
        if path.is_file():
            path.unlink()
    folder = out_dir / RESPONSES_DIR
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
