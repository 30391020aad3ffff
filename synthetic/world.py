"""The synthetic world as data: `world.yaml` read into typed, named dataclasses.

Everything the generator assumes about the world it simulates (calendar, survey, programmes,
people, response and attrition rates, effects, evidence, invalid rows) lives in `world.yaml`,
so a reader can change a rate without reading code. `load_world` reads the file strictly:
a missing, misspelt or mistyped key, or a mapping that does not name each audience, format,
delivery or wave of the input contract once, is refused with its place in the file.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import yaml

from schemas.contract import (
    AUDIENCES,
    DELIVERIES,
    EVIDENCE_DESIGNS,
    FORMATS,
    INSTRUMENT_FILE,
    RISK_OF_BIAS,
    WAVES,
)
from schemas.instrument import KIRKPATRICK_LEVELS, Instrument, Scale

WORLD_FILE = Path(__file__).resolve().parent / "world.yaml"


class WorldError(ValueError):
    """The world file is unreadable or describes an impossible world."""


@dataclass(frozen=True)
class IntRange:
    """Whole numbers from `min` to `max`, both included."""

    min: int
    max: int


@dataclass(frozen=True)
class FloatRange:
    """Numbers from `min` to `max`."""

    min: float
    max: float


@dataclass(frozen=True)
class Calendar:
    """The span of the synthetic world."""

    as_of: date  # the world's "today": no wave dated after it is generated
    first_cohort_start: date
    last_cohort_start: date

    @property
    def years(self) -> list[int]:
        """Years of cohort start, one responses file each."""
        return list(range(self.first_cohort_start.year, self.last_cohort_start.year + 1))


@dataclass(frozen=True)
class RatingShift:
    """Shifts of a reaction scale's latent trait (in item units)."""

    per_format_step: float  # per step along the formats, shortest to longest
    supervised: float
    online: float


@dataclass(frozen=True)
class LatentTrait:
    """How the latent trait behind a scale is drawn (in item units)."""

    mean: float  # population mean at pre
    sd_person: float  # between-person SD of the baseline
    sd_occasion: float  # wave-to-wave noise
    gain: float  # multiplier of the pre -> post effect (in SDs of the scale score)
    experience_slope: float  # baseline change per year of experience above reference_years
    audience_shift: dict[str, float]  # baseline shift per audience
    rating: RatingShift | None = None


@dataclass(frozen=True)
class ScaleSpec:
    """One scale of the survey and the trait behind it."""

    id: str
    name: str
    domain: str
    level: int
    items: int
    range: IntRange
    reverse: tuple[int, ...]  # item numbers, from 1
    higher_is_better: bool
    min_answered: float
    reliability: float
    latent: LatentTrait
    asked_at: tuple[str, ...] | None = None  # None: asked at every wave

    def scale(self) -> Scale:
        """The scale as instrument.yaml declares it."""
        items = tuple(f"{self.id}_{number:02d}" for number in range(1, self.items + 1))
        return Scale(
            id=self.id,
            name=self.name,
            domain=self.domain,
            level=self.level,
            items=items,
            min=float(self.range.min),
            max=float(self.range.max),
            reverse=tuple(items[number - 1] for number in self.reverse),
            higher_is_better=self.higher_is_better,
            min_answered=self.min_answered,
            reliability=self.reliability,
        )


@dataclass(frozen=True)
class Programme:
    """A training programme (a row of programs.csv) and how its cohorts are drawn."""

    program_id: str
    name: str
    format: str
    delivery: str
    contact_hours: int
    duration_days: IntRange  # end_date - start_date
    audience_mix: dict[str, float]  # relative share of each audience
    cohort_weight: float  # how often it runs
    supervision_share: float
    cost: IntRange
    main_sponsor: str


@dataclass(frozen=True)
class CohortPlan:
    """How many cohorts run, how big they are, when they start and who sponsors them."""

    participants_per_cohort: int
    min_cohorts: int
    max_cohorts: int
    main_sponsor_share: float
    size_by_format: dict[str, float]
    size_spread: float  # lognormal sigma of cohort sizes
    intake_formats: tuple[str, ...]
    intake_months: dict[int, float]  # month: share of the intake cohorts
    intake_days: int
    cost_step: int


@dataclass(frozen=True)
class PeoplePlan:
    """Participants' years of experience and their engagement."""

    experience_shape: float
    experience_scale: dict[str, float]  # by audience
    degree_extra_years: float
    max_years: int
    reference_years: float
    engagement_gain_correlation: float


@dataclass(frozen=True)
class WaveDates:
    """When each wave is answered, relative to its cohort's start and end."""

    pre_days_before_start: int
    late_pre_share: float
    late_pre_max_days: int
    post_delay_mean_days: float
    post_delay_max_days: int
    days_per_month: float
    followup_shift_days: IntRange


@dataclass(frozen=True)
class Responding:
    """Who answers each wave: rates by format, and the adjustments on the logit scale."""

    rate: dict[str, dict[str, float]]  # format: wave: probability of answering
    engagement_weight: dict[str, float]  # by wave, on the logit scale
    followup_supervision_bonus: float
    missed_previous_penalty: float


@dataclass(frozen=True)
class TrainingEffect:
    """How much the training helps, for whom, and how fast the effect fades."""

    audience: dict[str, float]
    format: dict[str, float]
    delivery: dict[str, float]
    supervision: float
    personal_shared: float
    personal_own: float
    personal_spread: float
    fade_months: dict[str, float]  # by format
    supervision_fade: float


@dataclass(frozen=True)
class ResponseQuality:
    """How the survey was filled in: blanks, break-offs, straight-lining, item difficulty."""

    item_blank_rate: float
    many_blanks_rate: float
    many_blanks_item_rate: float
    break_off_rate: float
    straight_line_rate: float
    straight_line_values: tuple[int, ...]
    item_offset_sd: float


@dataclass(frozen=True)
class Durations:
    """How long the survey took (duration_seconds)."""

    seconds_per_item: float
    spread: float
    partial_share: float
    left_open_rate: float
    left_open_seconds: FloatRange
    speeder_rate: float
    speeder_seconds: IntRange
    straight_line_seconds: IntRange
    bounds: IntRange


@dataclass(frozen=True)
class EvidenceDesign:
    """How many synthetic studies of one design, their effect shift and sample sizes, and
    how they rate: shares of each risk of bias (the rest not assessed), attrition (%), the
    follow-up lengths drawn from, and the share evaluated independently of the developer."""

    studies: int
    effect_shift: float
    n: IntRange
    risk_of_bias: dict[str, float]
    attrition_pct: IntRange
    followup_months: tuple[int, ...]
    independent: float


@dataclass(frozen=True)
class SmallStudyBias:
    """Small-study asymmetry in one domain: yi moves up by per_se times its standard error."""

    domain: str
    per_se: float


@dataclass(frozen=True)
class EvidencePlan:
    """The synthetic studies of evidence.csv: how many per domain and per design, and which
    ratings are left blank (not reported) on purpose."""

    domain_effect: dict[str, float]
    domain_studies: dict[str, int]
    true_effect_sd: float
    effect_band: FloatRange
    years: IntRange
    designs: dict[str, EvidenceDesign]
    not_reported: dict[str, float]
    small_study_bias: SmallStudyBias | None = None


@dataclass(frozen=True)
class ItemValue:
    """An invalid row: an otherwise valid row of `wave` with `item` set to `value`."""

    item: str
    value: str
    wave: str


@dataclass(frozen=True)
class InvalidRowPlan:
    """The values the deliberately invalid rows carry (their rules: synthetic/invalid.py)."""

    item_values: tuple[ItemValue, ...]
    wave: str
    audience: str
    unreadable_date: str
    future_date: str
    unknown_cohort_number: int
    pre_days_before_start: int
    post_days_after_end: int
    pre_days_after_grace: IntRange
    post_days_before_end: IntRange
    years_experience: IntRange
    duration_seconds: IntRange


@dataclass(frozen=True)
class WaitlistPlan:
    """Waitlist cohorts: for some programmes, people surveyed at pre and post on the schedule
    of a cohort of the same programme and sponsor, without the training in between."""

    programmes: tuple[str, ...]  # program_ids that get waitlist cohorts
    cohorts_per_programme: IntRange
    practice_effect: float  # change pre -> post in SDs of the scale score (taking it twice)


@dataclass(frozen=True)
class World:
    """Everything the generator assumes, as `world.yaml` states it."""

    calendar: Calendar
    scales: tuple[ScaleSpec, ...]
    programmes: tuple[Programme, ...]
    sponsors: tuple[str, ...]
    cohorts: CohortPlan
    people: PeoplePlan
    wave_dates: WaveDates
    responding: Responding
    training_effect: TrainingEffect
    response_quality: ResponseQuality
    durations: Durations
    evidence: EvidencePlan
    invalid_rows: InvalidRowPlan
    waitlist: WaitlistPlan | None = None  # none: intervention cohorts only

    @cached_property
    def instrument(self) -> Instrument:
        return Instrument(
            scales=tuple(spec.scale() for spec in self.scales), source=INSTRUMENT_FILE
        )

    def latent(self, scale_id: str) -> LatentTrait:
        return next(spec.latent for spec in self.scales if spec.id == scale_id)

    def asked_at(self, scale_id: str) -> tuple[str, ...] | None:
        return next(spec.asked_at for spec in self.scales if spec.id == scale_id)


def load_world(path: Path = WORLD_FILE) -> World:
    """Read and check a world file (by default the one shipped with the generator)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise WorldError(f"{path}: cannot read the world file ({error})") from error
    world = _build(World, data, path.name)
    _check(world, path.name)
    return world


# --------------------------------------------------------------------------------------------
# Reading: each key of the file is a field of a dataclass above, typed by its annotation
# --------------------------------------------------------------------------------------------


def _build(kind, value, where: str):
    """`value` from the YAML file as an instance of the annotated type `kind`."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        (kind,) = [option for option in options if option is not type(None)]
        return _build(kind, value, where)
    if is_dataclass(kind):
        if not isinstance(value, dict):
            raise WorldError(f"{where}: expected a mapping, got {value!r}")
        hints = typing.get_type_hints(kind)
        names = [field.name for field in fields(kind)]
        unknown = [key for key in value if key not in names]
        if unknown:
            raise WorldError(f"{where}: unknown key(s) {unknown}; expected {names}")
        values = {}
        for field in fields(kind):
            if field.name in value:
                values[field.name] = _build(
                    hints[field.name], value[field.name], f"{where}.{field.name}"
                )
            elif field.default is MISSING:
                raise WorldError(f"{where}: missing key '{field.name}'")
        return kind(**values)
    if origin is tuple:
        if not isinstance(value, list):
            raise WorldError(f"{where}: expected a list, got {value!r}")
        (item_kind, _) = typing.get_args(kind)
        return tuple(_build(item_kind, item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise WorldError(f"{where}: expected a mapping, got {value!r}")
        key_kind, value_kind = typing.get_args(kind)
        return {
            _build(key_kind, key, f"{where} key"): _build(value_kind, item, f"{where}.{key}")
            for key, item in value.items()
        }
    return _scalar(kind, value, where)


def _scalar(kind, value, where: str):
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is date and isinstance(value, date):
        return value
    if kind in (str, bool) and isinstance(value, kind):
        return value
    raise WorldError(f"{where}: expected {kind.__name__}, got {value!r}")


# --------------------------------------------------------------------------------------------
# Checks: the world must speak the input contract's vocabulary
# --------------------------------------------------------------------------------------------


def _names_each(mapping: dict, vocabulary, where: str) -> None:
    if set(mapping) != set(vocabulary):
        raise WorldError(
            f"{where}: must name each of {', '.join(vocabulary)} once; "
            f"got {', '.join(map(str, mapping))}"
        )


def _within(values, vocabulary, where: str) -> None:
    unknown = [value for value in values if value not in vocabulary]
    if unknown:
        raise WorldError(f"{where}: {unknown} not among {', '.join(map(str, vocabulary))}")


def _ordered(span: IntRange | FloatRange, where: str) -> None:
    if span.min > span.max:
        raise WorldError(f"{where}: min {span.min} is above max {span.max}")


def _shares_add_up(shares, where: str) -> None:
    if abs(sum(shares) - 1.0) > 1e-9:
        raise WorldError(f"{where}: shares must add up to 1, got {sum(shares):g}")


def _check(world: World, source: str) -> None:
    calendar = world.calendar
    if not calendar.first_cohort_start <= calendar.last_cohort_start < calendar.as_of:
        raise WorldError(
            f"{source}: calendar must have first_cohort_start <= last_cohort_start < as_of"
        )
    for spec in world.scales:
        where = f"{source}: scale {spec.id}"
        if spec.level not in KIRKPATRICK_LEVELS:
            raise WorldError(f"{where}: level must be a Kirkpatrick level 1-4")
        if not spec.range.min < spec.range.max:
            raise WorldError(f"{where}: range min must be below max")
        _within(spec.reverse, range(1, spec.items + 1), f"{where}.reverse")
        _within(spec.asked_at or (), WAVES, f"{where}.asked_at")
        _names_each(spec.latent.audience_shift, AUDIENCES, f"{where}.latent.audience_shift")
    sponsors = set(world.sponsors)
    for programme in world.programmes:
        where = f"{source}: programme {programme.program_id}"
        _within([programme.format], FORMATS, f"{where}.format")
        _within([programme.delivery], DELIVERIES, f"{where}.delivery")
        _within([programme.main_sponsor], sponsors, f"{where}.main_sponsor")
        _names_each(programme.audience_mix, AUDIENCES, f"{where}.audience_mix")
        _ordered(programme.duration_days, f"{where}.duration_days")
        _ordered(programme.cost, f"{where}.cost")
    ids = [programme.program_id for programme in world.programmes]
    if not ids or len(set(ids)) != len(ids):
        raise WorldError(f"{source}: programmes need unique program_ids, got {ids}")
    plan = world.cohorts
    if not 0 < plan.min_cohorts <= plan.max_cohorts or plan.min_cohorts < len(ids):
        raise WorldError(
            f"{source}: cohorts.min_cohorts must be at least the number of programmes "
            "(each runs once) and at most max_cohorts"
        )
    _names_each(plan.size_by_format, FORMATS, f"{source}: cohorts.size_by_format")
    _within(plan.intake_formats, FORMATS, f"{source}: cohorts.intake_formats")
    _within(plan.intake_months, range(1, 13), f"{source}: cohorts.intake_months")
    _shares_add_up(plan.intake_months.values(), f"{source}: cohorts.intake_months")
    _names_each(world.people.experience_scale, AUDIENCES, f"{source}: people.experience_scale")
    _ordered(world.wave_dates.followup_shift_days, f"{source}: wave_dates.followup_shift_days")
    responding = world.responding
    _names_each(responding.rate, FORMATS, f"{source}: responding.rate")
    for fmt, rates in responding.rate.items():
        _names_each(rates, WAVES, f"{source}: responding.rate.{fmt}")
        if not all(0 < rate < 1 for rate in rates.values()):
            raise WorldError(f"{source}: responding.rate.{fmt}: rates must be between 0 and 1")
    _names_each(responding.engagement_weight, WAVES, f"{source}: responding.engagement_weight")
    effect = world.training_effect
    _names_each(effect.audience, AUDIENCES, f"{source}: training_effect.audience")
    _names_each(effect.format, FORMATS, f"{source}: training_effect.format")
    _names_each(effect.delivery, DELIVERIES, f"{source}: training_effect.delivery")
    _names_each(effect.fade_months, FORMATS, f"{source}: training_effect.fade_months")
    domains = {spec.domain for spec in world.scales}
    _within(world.evidence.domain_effect, domains, f"{source}: evidence.domain_effect")
    _within(world.evidence.designs, EVIDENCE_DESIGNS, f"{source}: evidence.designs")
    _within(world.evidence.domain_studies, domains, f"{source}: evidence.domain_studies")
    if sum(world.evidence.domain_studies.values()) != sum(
        design.studies for design in world.evidence.designs.values()
    ):
        raise WorldError(f"{source}: evidence.domain_studies must add up to the studies of "
                         "evidence.designs")
    _within(world.evidence.not_reported, ("attrition", "followup_months", "independent"),
            f"{source}: evidence.not_reported")
    if world.evidence.small_study_bias is not None:
        _within([world.evidence.small_study_bias.domain], world.evidence.domain_studies,
                f"{source}: evidence.small_study_bias.domain")
    for name, design in world.evidence.designs.items():
        _ordered(design.n, f"{source}: evidence.designs.{name}.n")
        _ordered(design.attrition_pct, f"{source}: evidence.designs.{name}.attrition_pct")
        where = f"{source}: evidence.designs.{name}"
        _within(design.risk_of_bias, RISK_OF_BIAS, f"{where}.risk_of_bias")
        if sum(design.risk_of_bias.values()) > 1:
            raise WorldError(f"{where}.risk_of_bias: shares must "
                             "add up to at most 1 (the rest: not assessed)")
    if world.waitlist is not None:
        _within(world.waitlist.programmes, ids, f"{source}: waitlist.programmes")
        _ordered(world.waitlist.cohorts_per_programme, f"{source}: waitlist.cohorts_per_programme")
    invalid = world.invalid_rows
    items = world.instrument.items
    for entry in invalid.item_values:
        _within([entry.item], items, f"{source}: invalid_rows.item_values")
        _within([entry.wave], ("pre", "post"), f"{source}: invalid_rows.item_values")
