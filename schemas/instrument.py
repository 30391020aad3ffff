"""The instrument: which scales a survey measures and how each is scored.

Read from `instrument.yaml` (a list under the key `scales`). A scale score is the mean of the
answered items after reverse-keying (reverse value = min + max - value), given only when at
least `min_answered` of the items were answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from schemas.contract import IDENTIFIER

KIRKPATRICK_LEVELS = {1: "Reaction", 2: "Learning", 3: "Behaviour", 4: "Results"}


class InstrumentError(ValueError):
    """instrument.yaml is missing, unreadable or breaks the contract."""


@dataclass(frozen=True)
class Scale:
    """One scored scale of the instrument."""

    id: str
    name: str
    domain: str
    level: int
    items: tuple[str, ...]
    min: float
    max: float
    reverse: tuple[str, ...] = ()
    higher_is_better: bool = True
    min_answered: float = 0.8
    reliability: float | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def items_needed(self) -> int:
        """Smallest number of answered items that still gives a score."""
        return max(1, math.ceil(self.min_answered * self.n_items - 1e-9))


@dataclass(frozen=True)
class Instrument:
    """All scales of a survey, in the order they were declared."""

    scales: tuple[Scale, ...]
    source: str = field(default="instrument.yaml")

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(item for scale in self.scales for item in scale.items)

    def scale(self, scale_id: str) -> Scale:
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(scale_id)

    def scale_of_item(self) -> dict[str, Scale]:
        return {item: scale for scale in self.scales for item in scale.items}


def _require(entry: dict, key: str, where: str):
    if key not in entry or entry[key] is None:
        raise InstrumentError(f"{where}: missing required key '{key}'")
    return entry[key]


def parse_instrument(data: object, source: str = "instrument.yaml") -> Instrument:
    """Build an Instrument from parsed YAML, naming the scale and key of any problem."""
    if not isinstance(data, dict) or not isinstance(data.get("scales"), list):
        raise InstrumentError(f"{source}: expected a list of scales under the key 'scales'")
    scales: list[Scale] = []
    seen_items: dict[str, str] = {}
    for position, entry in enumerate(data["scales"], start=1):
        if not isinstance(entry, dict):
            raise InstrumentError(f"{source}: scale #{position} is not a mapping")
        scale_id = str(_require(entry, "id", f"{source}: scale #{position}"))
        where = f"{source}: scale '{scale_id}'"
        items = _require(entry, "items", where)
        if not isinstance(items, list) or not items:
            raise InstrumentError(f"{where}: 'items' must be a non-empty list of column names")
        items = tuple(str(item) for item in items)
        for name in (scale_id, *items):
            if not IDENTIFIER.match(name):
                raise InstrumentError(
                    f"{where}: '{name}' must start with a letter and hold only letters, "
                    "digits and underscores"
                )
        for item in items:
            if item in seen_items:
                raise InstrumentError(
                    f"{where}: item '{item}' is already used by scale '{seen_items[item]}'"
                )
            seen_items[item] = scale_id
        reverse = tuple(str(item) for item in entry.get("reverse") or ())
        unknown_reverse = [item for item in reverse if item not in items]
        if unknown_reverse:
            raise InstrumentError(
                f"{where}: reverse-keyed items {unknown_reverse} are not among its items"
            )
        try:
            low, high = float(_require(entry, "min", where)), float(_require(entry, "max", where))
        except (TypeError, ValueError) as error:
            raise InstrumentError(f"{where}: 'min' and 'max' must be numbers") from error
        if not low < high:
            raise InstrumentError(f"{where}: 'min' ({low:g}) must be below 'max' ({high:g})")
        level = int(_require(entry, "level", where))
        if level not in KIRKPATRICK_LEVELS:
            raise InstrumentError(f"{where}: 'level' must be a Kirkpatrick level 1-4, got {level}")
        min_answered = float(entry.get("min_answered", 0.8))
        if not 0 < min_answered <= 1:
            raise InstrumentError(f"{where}: 'min_answered' must be a share in (0, 1]")
        reliability = entry.get("reliability")
        if reliability is not None:
            reliability = float(reliability)
            if not 0 < reliability < 1:
                raise InstrumentError(f"{where}: 'reliability' must be between 0 and 1")
        higher_is_better = _require(entry, "higher_is_better", where)
        if not isinstance(higher_is_better, bool):
            raise InstrumentError(f"{where}: 'higher_is_better' must be true or false")
        scales.append(
            Scale(
                id=scale_id,
                name=str(_require(entry, "name", where)),
                domain=str(_require(entry, "domain", where)),
                level=level,
                items=items,
                min=low,
                max=high,
                reverse=reverse,
                higher_is_better=higher_is_better,
                min_answered=min_answered,
                reliability=reliability,
            )
        )
    ids = [scale.id for scale in scales]
    if len(set(ids)) != len(ids):
        raise InstrumentError(f"{source}: scale ids must be unique, got {ids}")
    return Instrument(scales=tuple(scales), source=source)


def load_instrument(path: str | Path) -> Instrument:
    """Read and check an instrument.yaml file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:
        raise InstrumentError(f"{path}: file not found") from error
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InstrumentError(f"{path}: not valid UTF-8 YAML ({error})") from error
    return parse_instrument(data, source=str(path))


def instrument_to_yaml(instrument: Instrument) -> str:
    """Serialise an instrument back to the YAML input format."""
    scales = []
    for scale in instrument.scales:
        entry = {
            "id": scale.id,
            "name": scale.name,
            "domain": scale.domain,
            "level": scale.level,
            "items": list(scale.items),
            "min": int(scale.min) if float(scale.min).is_integer() else scale.min,
            "max": int(scale.max) if float(scale.max).is_integer() else scale.max,
            "reverse": list(scale.reverse),
            "higher_is_better": scale.higher_is_better,
            "min_answered": scale.min_answered,
        }
        if scale.reliability is not None:
            entry["reliability"] = scale.reliability
        scales.append(entry)
    return yaml.safe_dump({"scales": scales}, sort_keys=False, allow_unicode=True)
