"""The mapping file: how one survey source's export becomes Attune's canonical responses table.

This module reads and checks the file (`load_mapping`, `parse_mapping`); applying it to an
export is `etl.apply_mapping`. A file that breaks the format is refused with a MappingError
naming the key. See docs/import.md for the file's reference.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from etl.dates import format_pattern
from etl.platforms import PLATFORMS
from etl.redcap import Repeat
from etl.value_maps import value_key
from schemas.contract import RESPONSE_OPTIONAL_COLUMNS, RESPONSE_REQUIRED_COLUMNS, WAVES

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
