"""The mapping file: how one survey source's export becomes Attune's canonical responses table.

A platform export and its mapping are turned, as early as possible, into the canonical table
(canonical column names, values as text), so that validation, quarantine, scoring and loading
are the same code path as for a canonical file. Row-level problems (a value with no mapping, a
survey preview, spam, an unfinished response too short to score) become quarantine reasons;
file-level problems (an unmapped source column, a mapped column that is not canonical) refuse
the file. See docs/import.md for the file's reference.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from etl.dates import format_pattern, read_dates
from etl.platforms import PLATFORMS, Export, read_export
from etl.privacy import PersonalDataFinding, find_personal_data, identifier_like
from etl.read import FileRejected
from etl.redcap import REPEAT_WAVE_COLUMN, Repeat
from etl.response_rows import not_completed, responses_of
from etl.validate import no_failures
from etl.value_maps import (
    already_canonical,
    apply_values,
    dropped_columns,
    source_text,
    value_key,
)
from schemas.contract import (
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
    WAVES,
)
from schemas.instrument import Instrument

CANONICAL_COLUMNS = RESPONSE_REQUIRED_COLUMNS + RESPONSE_OPTIONAL_COLUMNS
KEYS = (
    "format",
    "encoding",
    "defaults",
    "columns",
    "values",
    "waves",
    "drop",
    "linking",
    "repeat",
    "date_format",
)
# Qualtrics Status codes and texts (numeric and choice-text exports).
QUALTRICS_PREVIEW = {"1", "2", "17", "survey preview", "survey test", "offline survey preview"}
QUALTRICS_SPAM = {"8", "9", "12", "spam", "preview spam", "survey preview spam", "imported spam"}
QUALTRICS_PREVIEW_CHANNELS = {"preview", "test"}
NOT_FINISHED = {"0", "false", "incomplete"}


class MappingError(ValueError):
    """The mapping file is missing, unreadable or breaks its own format."""


@dataclass(frozen=True)
class Linking:
    """Self-generated code linking: the code's component columns and the tolerance."""

    components: tuple[str, ...]
    tolerance: int = 1


@dataclass
class Mapping:
    format: str = "auto"
    defaults: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    linking: Linking | None = None
    date_formats: tuple[str, ...] = ()  # no date_format: the order is read from the values
    sha256: str | None = None
    source: str = "mapping"
    encoding: str | None = None  # how text exports are decoded; None: detect
    repeat: Repeat | None = None  # REDCap: the repeating instrument whose instances are waves

    def with_overrides(self, wave: str | None = None, cohort: str | None = None) -> Mapping:
        """`--wave` and `--cohort` override `defaults` and any column mapped to them."""
        defaults = dict(self.defaults)
        columns = dict(self.columns)
        drop = list(self.drop)
        for target, value in (("wave", wave), ("cohort_id", cohort)):
            if value is not None:
                defaults[target] = value
                drop += [source for source, to in columns.items() if to == target]
                columns = {source: to for source, to in columns.items() if to != target}
        return Mapping(
            **{**self.__dict__, "defaults": defaults, "columns": columns, "drop": tuple(drop)}
        )

    def values_for(self, target: str) -> dict[str, str | None] | None:
        """The value map of a canonical column or item: its own entry, else the first glob."""
        if target in self.values:
            return self.values[target]
        for pattern, mapping in self.values.items():
            if fnmatch.fnmatchcase(target, pattern):
                return mapping
        return None


# --- Loading -------------------------------------------------------------------------------

def _target_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _keys_of(key: object) -> list[str]:
    # YAML 1.1 reads Yes/No/On/Off as booleans: let such a key match those words too.
    if key is True:
        return ["true", "yes", "on"]
    if key is False:
        return ["false", "no", "off"]
    return [value_key(key)]


def _value_map(entry: object, where: str) -> dict[str, str | None]:
    if entry is None:  # an entry whose values are all still TODO: every value is unmapped
        return {}
    if not isinstance(entry, dict):
        raise MappingError(f"{where} must map source values to canonical values")
    result: dict[str, str | None] = {}
    for key, value in entry.items():
        if isinstance(value, (dict, list)):
            raise MappingError(f"{where}: the value for {key!r} must be a single value")
        for text in _keys_of(key):
            result[text] = _target_text(value)
    return result


def parse_mapping(data: object, source: str = "mapping", sha256: str | None = None) -> Mapping:
    """Build a Mapping from parsed YAML, naming the key of any problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(f"{source}: expected keys such as format:, columns:, values:")
    unknown = [str(key) for key in data if key not in KEYS]
    if unknown:
        raise MappingError(
            f"{source}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(KEYS)}"
        )
    format = str(data.get("format") or "auto").lower()
    if format not in (*PLATFORMS, "auto"):
        raise MappingError(
            f"{source}: format must be one of {', '.join((*PLATFORMS, 'auto'))}, got {format!r}"
        )

    def section(key: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise MappingError(f"{source}: {key}: must be a mapping of names to names")
        return value

    defaults = {str(key): _target_text(value) for key, value in section("defaults").items()}
    bad_defaults = [key for key in defaults if key not in CANONICAL_COLUMNS]
    if bad_defaults:
        raise MappingError(
            f"{source}: defaults: {', '.join(bad_defaults)} are not canonical columns "
            f"({', '.join(CANONICAL_COLUMNS)})"
        )
    columns = {str(key): str(value).strip() for key, value in section("columns").items()}
    targets = list(columns.values())
    twice = sorted({target for target in targets if targets.count(target) > 1})
    if twice:
        raise MappingError(
            f"{source}: columns: more than one source column maps to {', '.join(twice)}"
        )
    values = {
        str(key): _value_map(entry, f"{source}: values: {key}")
        for key, entry in section("values").items()
    }
    waves = _value_map(section("waves"), f"{source}: waves")
    # null skips a row on purpose (an enrolment or screening event holds no survey)
    bad_waves = sorted(
        {str(wave) for wave in waves.values() if wave is not None and wave not in WAVES}
    )
    if bad_waves:
        raise MappingError(
            f"{source}: waves: {', '.join(bad_waves)} are not waves ({', '.join(WAVES)})"
        )
    if waves:
        values["wave"] = {**waves, **values.get("wave", {})}
    drop = data.get("drop") or []
    if isinstance(drop, str) or not isinstance(drop, list):
        raise MappingError(f"{source}: drop: must be a list of column names or patterns")
    if any(entry is None or isinstance(entry, (dict, list)) for entry in drop):
        raise MappingError(
            f'{source}: drop: each entry must be a column name or a pattern such as "Q1_*"'
        )
    linking = None
    if data.get("linking") is not None:
        entry = data["linking"]
        if not isinstance(entry, dict) or not isinstance(entry.get("components"), list):
            raise MappingError(f"{source}: linking: needs a list under components:")
        components = tuple(str(component) for component in entry["components"])
        tolerance = entry.get("tolerance", 1)
        if len(components) < 2:
            raise MappingError(f"{source}: linking: needs at least two components")
        if not isinstance(tolerance, int) or not 0 <= tolerance <= 2:
            raise MappingError(f"{source}: linking: tolerance must be 0, 1 or 2")
        if tolerance >= len(components) - 1:
            raise MappingError(
                f"{source}: linking: tolerance {tolerance} leaves too few components to compare"
            )
        if "participant_code" in targets:
            raise MappingError(
                f"{source}: linking builds participant_code; do not also map a column to it"
            )
        linking = Linking(components, tolerance)
    date_format = data.get("date_format")
    date_formats: tuple[str, ...] = ()
    if date_format is not None:
        if not isinstance(date_format, (str, list)) or not date_format:
            raise MappingError(f"{source}: date_format: must be a format or a list of formats")
        date_formats = tuple([date_format] if isinstance(date_format, str) else date_format)
        for form in date_formats:
            try:
                format_pattern(str(form))
            except ValueError as error:
                raise MappingError(f"{source}: date_format: {error}") from error
    encoding = data.get("encoding")
    if encoding is not None and not isinstance(encoding, str):
        raise MappingError(f"{source}: encoding: must be a name such as utf-8 or windows-1252")
    return Mapping(
        format=format,
        encoding=encoding,
        repeat=_repeat(data.get("repeat"), source),
        defaults={key: value for key, value in defaults.items() if value is not None},
        columns=columns,
        values=values,
        drop=tuple(str(column) for column in drop),
        linking=linking,
        date_formats=tuple(str(form) for form in date_formats),
        sha256=sha256,
        source=source,
    )


def _repeat(entry: object, source: str) -> Repeat | None:
    """The `repeat:` block: `instrument:` and `waves:` (instance number -> wave or null)."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or set(entry) - {"instrument", "waves"}:
        raise MappingError(f"{source}: repeat: takes instrument: and waves:")
    instrument = entry.get("instrument")
    waves = entry.get("waves")
    if not isinstance(instrument, str) or not isinstance(waves, dict) or not waves:
        raise MappingError(
            f"{source}: repeat: needs instrument: (the repeating instrument's name) and "
            "waves: (instance number -> wave)"
        )
    mapped = _value_map(waves, f"{source}: repeat: waves")
    bad = sorted({str(wave) for wave in mapped.values() if wave is not None and wave not in WAVES})
    if bad:
        raise MappingError(
            f"{source}: repeat: waves: {', '.join(bad)} are not waves ({', '.join(WAVES)})"
        )
    return Repeat(instrument.strip(), mapped)


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MappingError(f"{path}: cannot be read ({error.strerror})") from error
    try:
        parsed = yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: not valid UTF-8 YAML ({error})") from error
    return parse_mapping(parsed, source=str(path), sha256=hashlib.sha256(data).hexdigest())


# --- Applying ------------------------------------------------------------------------------


def normalise_dates(
    column: pa.Array, formats: tuple[str, ...], spss_seconds: bool = False
) -> pa.Array:
    """completed_at's dates as YYYY-MM-DD, read strictly (etl/dates.py): ISO, then the
    mapping's date_format: or, without one, day/month in the order the values settle (an
    unsettled order refuses the file); in an SPSS file, plain numbers as SPSS dates. Values
    that are no date are kept as they are, so that validation names them."""
    return read_dates(column, formats, "completed_at", spss_seconds)


def _failures(rows: np.ndarray, rule: str, column: str | None, values) -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "rule": rule, "column": column, "value": values})


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
        self, frame: pd.DataFrame, failures: pd.DataFrame, instrument: Instrument
    ) -> pd.DataFrame:
        """Validation failures plus the mapping's own, without repeating a value's problem:
        a value with no mapping is reported as such, not also as not a number."""
        from etl.score import score_scale

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
                    _failures(
                        np.array([row for row, _ in bad]),
                        "unfinished_response_meets_min_answered",
                        None,
                        [what for _, what in bad],
                    )
                )
        own_frame = pd.concat(own, ignore_index=True)
        if len(own_frame) and len(failures):
            reported = set(zip(own_frame["row"], own_frame["column"], strict=True))
            repeat = [
                (row, column) in reported
                for row, column in zip(failures["row"], failures["column"], strict=True)
            ]
            failures = failures[~np.array(repeat, dtype=bool)]
        return pd.concat([failures, own_frame], ignore_index=True)


def _status_failures(export: Export) -> tuple[pd.DataFrame, np.ndarray]:
    """Survey previews and spam set aside; rows the platform marks unfinished."""
    table, n_rows = export.table, export.table.num_rows
    failures = [no_failures()]
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
                failures.append(_failures(rows, rule, None, shown.take(rows).to_pylist()))
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
    return pd.concat(failures, ignore_index=True), unfinished


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

    failures = [no_failures()]
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
                failures.append(
                    _failures(rows, "value_is_mapped", target, shown.take(rows).to_pylist())
                )
        if target == "completed_at":
            column, unfinished_rows = not_completed(column)
            if len(unfinished_rows):
                failures.append(
                    _failures(unfinished_rows, "survey_is_completed", target, "[not completed]")
                )
            column = normalise_dates(column, mapping.date_formats, export.format == "spss")
        columns[target] = column
    linker = None
    if mapping.linking is not None:
        from etl.linking import Linker

        linker = Linker(mapping.linking, pseudonymiser)
        codes, incomplete = linker.build(table)
        columns["participant_code"] = codes
        if len(incomplete):
            failures.append(incomplete)
    for name in passthrough:
        columns[name] = source_text(table.column(name))
    status_failures, unfinished = _status_failures(export)
    failures += [status_failures, ragged]
    return Prepared(
        table=pa.table(columns),
        format=export.format,
        row_numbers=positions + export.first_row,
        encoding=export.encoding,
        skipped=skipped,
        failures=pd.concat(failures, ignore_index=True),
        unfinished=unfinished,
        auto_dropped=auto_dropped,
        dropped=dropped,
        linker=linker,
    )

