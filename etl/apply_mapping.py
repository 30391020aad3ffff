"""Apply a mapping file to a platform export: the canonical responses table, and the rows
set aside on the way.

The export's columns become the canonical columns (values as text, through the mapping's value
maps), so that validation, quarantine, scoring and loading are the same code path as for a
canonical file. Row-level problems found here (a value with no mapping, a survey preview, spam,
a survey not completed, a self-generated code with a blank component, an unfinished response
too short to score) are failures for the quarantine; file-level problems (an unmapped source
column, a mapped column that is not canonical, a mapped column that identifies people) refuse
the file. See docs/import.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.dates import read_dates
from etl.linking import Linker
from etl.mapping import CANONICAL_COLUMNS, Mapping
from etl.platforms import Export, read_export
from etl.privacy import PersonalDataFinding, find_personal_data, identifier_like
from etl.redcap import REPEAT_WAVE_COLUMN
from etl.refusal import FileRejected
from etl.response_rows import not_completed, responses_of
from etl.score import score_scale
from etl.value_maps import already_canonical, apply_values, dropped_columns, source_text
from schemas.contract import RESPONSE_OPTIONAL_COLUMNS, RESPONSE_REQUIRED_COLUMNS
from schemas.instrument import Instrument
from schemas.rules import failures, no_failures

# Qualtrics Status codes and texts (numeric and choice-text exports).
QUALTRICS_PREVIEW = {"1", "2", "17", "survey preview", "survey test", "offline survey preview"}
QUALTRICS_SPAM = {"8", "9", "12", "spam", "preview spam", "survey preview spam", "imported spam"}
QUALTRICS_PREVIEW_CHANNELS = {"preview", "test"}
NOT_FINISHED = {"0", "false", "incomplete"}


def normalise_dates(
    column: pa.Array, formats: tuple[str, ...], spss_seconds: bool = False
) -> pa.Array:
    """completed_at's dates as YYYY-MM-DD, read strictly (etl/dates.py): ISO, then the
    mapping's date_format: or, without one, day/month in the order the values settle (an
    unsettled order refuses the file); in an SPSS file, plain numbers as SPSS dates. Values
    that are no date are kept as they are, so that validation names them."""
    return read_dates(column, formats, "completed_at", spss_seconds)


@dataclass
class Prepared:
    """A responses export turned into the canonical table, and what it took."""

    table: pa.Table
    format: str
    row_numbers: np.ndarray  # each row's spreadsheet row in the export
    failures: pd.DataFrame  # row-level problems found while mapping
    unfinished: np.ndarray  # rows the platform marked unfinished
    auto_dropped: list[str]
    dropped: list[str]
    linker: object | None = None  # etl.linking.Linker when the mapping links codes
    encoding: str | None = None
    skipped: Counter = field(default_factory=Counter)  # reason -> rows left out on purpose

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.skipped:
            notes.append(
                f"skipped {self.rows_skipped} row(s): "
                + "; ".join(f"{reason} ({count})" for reason, count in self.skipped.items())
            )

        if self.auto_dropped:
            notes.append(
                f"dropped the platform's personal-data column(s) {', '.join(self.auto_dropped)}"
            )
        if self.linker is not None and self.linker.summary:
            notes.append(self.linker.summary)
        return notes

    def row_failures(
        self, frame: pd.DataFrame, found: pd.DataFrame, instrument: Instrument
    ) -> pd.DataFrame:
        """Validation failures plus the mapping's own, without repeating a value's problem:
        a value with no mapping is reported as such, not also as not a number."""
        own = [self.failures]
        rows = np.flatnonzero(self.unfinished)
        if len(rows):
            short: list[list[str]] = [[] for _ in rows]
            any_answered = np.zeros(len(rows), dtype=bool)
            for scale in instrument.scales:
                items = [frame[item].to_numpy(dtype=np.float64)[rows] for item in scale.items]
                scores, answered = score_scale(items, scale)
                any_answered |= answered > 0
                for position in np.flatnonzero((answered > 0) & np.isnan(scores)):
                    short[position].append(scale.id)
            bad = [
                (
                    row,
                    f"fewer items than min_answered in {', '.join(scales)}"
                    if scales
                    else "no item answered",
                )
                for row, scales, answered in zip(rows, short, any_answered, strict=True)
                if scales or not answered
            ]
            if bad:
                own.append(
                    failures(
                        np.array([row for row, _ in bad]),
                        "unfinished_response_meets_min_answered",
                        None,
                        [what for _, what in bad],
                    )
                )
        own_frame = pd.concat(own, ignore_index=True)
        if len(own_frame) and len(found):
            reported = set(zip(own_frame["row"], own_frame["column"], strict=True))
            repeat = [
                (row, column) in reported
                for row, column in zip(found["row"], found["column"], strict=True)
            ]
            found = found[~np.array(repeat, dtype=bool)]
        return pd.concat([found, own_frame], ignore_index=True)


def status_failures(export: Export) -> tuple[pd.DataFrame, np.ndarray]:
    """Survey previews and spam set aside; rows the platform marks unfinished."""
    table, n_rows = export.table, export.table.num_rows
    found = [no_failures()]
    unfinished = np.zeros(n_rows, dtype=bool)
    names = table.column_names

    def lowered(name: str) -> pa.Array:
        return pc.utf8_lower(source_text(table.column(name)))

    if export.format in ("qualtrics", "spss"):
        preview = np.zeros(n_rows, dtype=bool)
        spam = np.zeros(n_rows, dtype=bool)
        status = None
        if "Status" in names:
            status = lowered("Status")
            preview |= pc.fill_null(
                pc.is_in(status, pa.array(sorted(QUALTRICS_PREVIEW))), False
            ).to_numpy(zero_copy_only=False)
            spam |= pc.fill_null(
                pc.is_in(status, pa.array(sorted(QUALTRICS_SPAM))), False
            ).to_numpy(zero_copy_only=False)
        if "DistributionChannel" in names:
            channel = lowered("DistributionChannel")
            preview |= pc.fill_null(
                pc.is_in(channel, pa.array(sorted(QUALTRICS_PREVIEW_CHANNELS))), False
            ).to_numpy(zero_copy_only=False)
        if status is not None:
            shown = status
        elif "DistributionChannel" in names:
            shown = lowered("DistributionChannel")
        else:
            shown = pa.nulls(n_rows, pa.string())
        for mask, rule in ((preview, "response_is_not_a_preview"), (spam, "response_is_not_spam")):
            rows = np.flatnonzero(mask)
            if len(rows):
                found.append(failures(rows, rule, None, shown.take(rows).to_pylist()))
        if "Finished" in names:
            unfinished = pc.fill_null(
                pc.is_in(lowered("Finished"), pa.array(sorted(NOT_FINISHED))), False
            ).to_numpy(zero_copy_only=False)
    elif export.format == "redcap":
        for name in names:
            if name.endswith("_complete") or name == "Complete?":
                unfinished |= pc.fill_null(
                    pc.is_in(lowered(name), pa.array(sorted(NOT_FINISHED))), False
                ).to_numpy(zero_copy_only=False)
    return pd.concat(found, ignore_index=True), unfinished


def prepare(
    mapping: Mapping,
    path: Path,
    data: bytes,
    instrument: Instrument,
    drop: tuple[str, ...] = (),
    pseudonymiser=None,
) -> Prepared:
    """Read an export and turn it into the canonical responses table (text columns)."""
    export = read_export(path, data, mapping.format, mapping.encoding)
    export, positions, skipped, ragged = responses_of(export, mapping)
    table = export.table
    n_rows = table.num_rows
    items = set(instrument.items)
    known_targets = set(CANONICAL_COLUMNS) | items
    names = table.column_names

    auto_dropped = export.personal_columns()
    mapped_personal = [column for column in auto_dropped if column in mapping.columns]
    if mapped_personal:
        raise FileRejected(
            f"column(s) {', '.join(mapped_personal)} hold personal data and cannot be mapped",
            "Remove them from columns: in the mapping file.",
        )

    dropped = [
        column for column in dropped_columns(names, mapping, drop) if column not in auto_dropped
    ]
    components = mapping.linking.components if mapping.linking else ()
    missing_components = [column for column in components if column not in names]
    if missing_components:
        raise FileRejected(
            f"the code component column(s) {', '.join(missing_components)} named under "
            "linking: are not in the export",
            "Fix linking: components: in the mapping file.",
        )
    bad_targets = [
        f"{source} -> {target}"
        for source, target in mapping.columns.items()
        if target not in known_targets
    ]
    if bad_targets:
        raise FileRejected(
            f"the mapping maps to names that are neither canonical columns nor items of the "
            f"instrument: {'; '.join(bad_targets)}",
            f"Map to one of {', '.join(CANONICAL_COLUMNS)} or an item id of instrument.yaml.",
        )

    sources: dict[str, str] = {}  # canonical target -> source column
    if REPEAT_WAVE_COLUMN in names:
        sources["wave"] = REPEAT_WAVE_COLUMN
    for source, target in mapping.columns.items():
        if source in names and source not in dropped:
            sources[target] = source
    for target, source in sources.items():  # a mapped column must not identify people
        why = identifier_like(source, export.questions.get(source), table.column(source))
        if why:
            raise FileRejected(PersonalDataFinding(source, why).mapped_message(target))
    set_aside = set(auto_dropped) | set(dropped) | set(components)
    overridden = [  # named like a canonical column that --wave/--cohort or defaults: set
        name for name in names if name in mapping.defaults and name not in mapping.columns
    ]
    set_aside |= set(overridden)
    for name in names:  # columns already named as the contract names them
        if name in known_targets and name not in set_aside and name not in mapping.columns:
            sources.setdefault(name, name)
    used = set(sources.values()) | set_aside
    leftover = [
        name
        for name in names
        if name not in used and name not in mapping.columns and not export.is_metadata(name)
    ]
    passthrough: list[str] = []
    if leftover and export.format == "canonical":
        passthrough = leftover  # check_columns refuses them as unknown, as for any file
    elif leftover:
        findings = find_personal_data(
            {name: table.column(name).to_pandas() for name in leftover}, set(), export.questions
        )
        if findings:
            raise FileRejected("; ".join(finding.message() for finding in findings))
        raise FileRejected(
            f"unmapped source column(s): {', '.join(leftover)}",
            "Map each one to a canonical column or item under columns: in the mapping file, "
            "or list it under drop: to leave it out on purpose",
        )

    constants = {
        target: value for target, value in mapping.defaults.items() if target not in sources
    }
    produced = set(sources) | set(constants) | ({"participant_code"} if components else set())
    missing = [column for column in RESPONSE_REQUIRED_COLUMNS if column not in produced]
    if missing:
        raise FileRejected(
            f"nothing in the export or the mapping gives {', '.join(missing)}",
            "Map a source column to it under columns:, or set it under defaults: "
            "(or with --wave / --cohort)",
        )

    found = [no_failures()]
    columns: dict[str, pa.Array] = {}
    for target in (*CANONICAL_COLUMNS, *instrument.items):
        if target in constants:
            columns[target] = pa.array([constants[target]] * n_rows, pa.string())
            continue
        if target not in sources:
            continue
        column = source_text(table.column(sources[target]))
        value_map = mapping.values_for(target)
        if value_map is not None:
            numeric = target in items or target in RESPONSE_OPTIONAL_COLUMNS
            column, unmapped, shown = apply_values(
                column,
                value_map,
                already_canonical(target, numeric),
                export.value_labels.get(sources[target]),
            )
            rows = np.flatnonzero(unmapped)
            if len(rows):
                found.append(
                    failures(rows, "value_is_mapped", target, shown.take(rows).to_pylist())
                )
        if target == "completed_at":
            column, unfinished_rows = not_completed(column)
            if len(unfinished_rows):
                found.append(
                    failures(unfinished_rows, "survey_is_completed", target, "[not completed]")
                )
            column = normalise_dates(column, mapping.date_formats, export.format == "spss")
        columns[target] = column
    linker = None
    if mapping.linking is not None:
        linker = Linker(mapping.linking, pseudonymiser)
        codes, incomplete = linker.build(table)
        columns["participant_code"] = codes
        if len(incomplete):
            found.append(incomplete)
    for name in passthrough:
        columns[name] = source_text(table.column(name))
    status, unfinished = status_failures(export)
    found += [status, ragged]
    return Prepared(
        table=pa.table(columns),
        format=export.format,
        row_numbers=positions + export.first_row,
        encoding=export.encoding,
        skipped=skipped,
        failures=pd.concat(found, ignore_index=True),
        unfinished=unfinished,
        auto_dropped=auto_dropped,
        dropped=dropped,
        linker=linker,
    )

