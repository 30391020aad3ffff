"""One synthetic dataset in exactly Attune's input format, ready to ingest like a real export:

    out_dir/instrument.yaml
    out_dir/programs.csv
    out_dir/cohorts.csv
    out_dir/evidence.csv
    out_dir/responses/responses_2023.csv ...   (one file per year of cohort start)
    out_dir/responses.csv                      (instead, with single_responses_file=True)

The world it simulates is `world.yaml` (see synthetic/world.py). Everything is drawn from
`numpy.random.default_rng` streams spawned from `seed`, so the same world, participants and
seed give byte-identical files, and the valid rows do not depend on `invalid_rows`. The
waitlist cohorts of `world.yaml` (synthetic/waitlist.py) come from a stream of their own and
are written after the intervention cohorts and rows, which stay as they are without them. The
response rows are built with vectorised numpy and written with pyarrow's CSV writer, so
300,000 participants (about 800,000 response rows) take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schemas import settings
from schemas.contract import (
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    COHORTS_FILE,
    EVIDENCE_FILE,
    INSTRUMENT_FILE,
    PROGRAM_COLUMNS,
    PROGRAMS_FILE,
)
from schemas.instrument import instrument_to_yaml
from synthetic import DEMO_PARTICIPANTS, DEMO_SEED
from synthetic.answers import durations, item_columns, responses_table
from synthetic.codes import numbers_of
from synthetic.cohorts import Cohorts, make_cohorts
from synthetic.evidence import make_evidence
from synthetic.invalid import ONE_RESPONSE_PER_PARTICIPANT_COHORT_WAVE, make_invalid_rows
from synthetic.people import WAVE_IDS, make_participants, make_waves
from synthetic.waitlist import make_waitlist
from synthetic.world import World, load_world
from synthetic.write import (
    RESPONSES_DIR,
    clear_old_responses,
    plan_responses_files,
    write_responses,
    write_small_csv,
)

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class SetAsideRow:
    """A response row that `attune ingest` quarantines: where it is and the rules it breaks."""

    path: Path
    source_row: int  # line in the file as ingest counts it (the header is line 1)
    rules: tuple[str, ...]  # the contract's rule names, as the quarantine lists them
    deliberate: bool  # False: a valid row set aside because a deliberate row repeats it


@dataclass(frozen=True)
class GeneratedDataset:
    """What `generate_dataset` wrote, and what ingesting it will set aside."""

    out_dir: Path
    instrument_path: Path
    programs_path: Path
    cohorts_path: Path
    evidence_path: Path
    response_paths: tuple[Path, ...]
    participants: int
    programs: int
    cohorts: int
    evidence_studies: int
    response_rows: int  # valid response rows (without the invalid ones)
    rows_by_wave: dict[str, int]  # valid response rows per wave, in wave order
    invalid_rows: tuple[SetAsideRow, ...]  # the deliberately invalid rows, in file order
    repeated_rows: tuple[SetAsideRow, ...]  # valid rows that deliberate duplicates repeat
    waitlist_cohorts: tuple[str, ...] = ()  # cohort_ids of the waitlist cohorts (arm waitlist)

    @property
    def invalid_rows_written(self) -> int:
        return len(self.invalid_rows)

    @property
    def rows_set_aside(self) -> tuple[SetAsideRow, ...]:
        """Every row ingest quarantines: the invalid rows and the valid rows they repeat."""
        return tuple(
            sorted(
                (*self.invalid_rows, *self.repeated_rows),
                key=lambda row: (str(row.path), row.source_row),
            )
        )

    @property
    def paths(self) -> tuple[Path, ...]:
        return (
            self.instrument_path,
            self.programs_path,
            self.cohorts_path,
            self.evidence_path,
            *self.response_paths,
        )


def generate_dataset(
    out_dir: Path,
    participants: int = DEMO_PARTICIPANTS,
    seed: int = DEMO_SEED,
    single_responses_file: bool = False,
    invalid_rows: bool = True,
    progress: ProgressCallback | None = None,
    world: World | None = None,
) -> GeneratedDataset:
    """Write a synthetic dataset in Attune's input format to `out_dir` and say what was written.

    Responses go to `responses/responses_<year of cohort start>.csv` (one file per year), or
    with `single_responses_file` to one `responses.csv`; responses files of an earlier run in
    `out_dir` are removed first. With `invalid_rows`, the deliberately invalid rows of
    synthetic/invalid.py are spliced in; the valid rows are the same either way.
    `progress(step, fraction)` is called as the work advances. `world` defaults to the
    shipped world.yaml.
    """
    if participants < 1:
        raise ValueError("participants must be at least 1")
    world = load_world() if world is None else world

    def report(step: str, fraction: float) -> None:
        if progress is not None:
            progress(step, min(max(fraction, 0.0), 1.0))

    out_dir = Path(out_dir)
    # spawn(7)[:6] are spawn(6): the waitlist's stream, added last, changes no other draw.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    cohort_rng, people_rng, wave_rng, item_rng, invalid_rng, evidence_rng, waitlist_rng = streams

    report("cohorts", 0.0)
    cohorts = make_cohorts(cohort_rng, world, participants)
    report("participants", 0.05)
    people = make_participants(people_rng, world, participants, cohorts)
    report("waves", 0.12)
    rows = make_waves(wave_rng, world, people, cohorts)
    items, straight, partial = item_columns(
        item_rng, world, people, cohorts, rows, lambda f: report("responses", 0.2 + 0.4 * f)
    )
    seconds = durations(item_rng, world, rows, straight, partial)
    table = responses_table(world, people, cohorts, rows, items, seconds)
    del items
    invalid = make_invalid_rows(invalid_rng, world, people, cohorts, table) if invalid_rows else []
    # Waitlist participants get codes nobody else has, the invalid rows' included.
    used = [row.values["participant_code"] for row in invalid]
    taken = np.concatenate([people.code_numbers, numbers_of(used)])
    waitlist = make_waitlist(waitlist_rng, world, cohorts, people, taken)

    report("writing", 0.65)
    out_dir.mkdir(parents=True, exist_ok=True)
    instrument_path = out_dir / INSTRUMENT_FILE
    instrument_path.write_text(instrument_to_yaml(world.instrument), encoding="utf-8", newline="\n")
    programs_path = out_dir / PROGRAMS_FILE
    write_small_csv(
        pd.DataFrame(
            [
                (p.program_id, p.name, p.format, p.delivery, p.contact_hours)
                for p in world.programmes
            ],
            columns=list(PROGRAM_COLUMNS),
        ),
        programs_path,
    )
    cohorts_path = out_dir / COHORTS_FILE
    rows_of_cohorts = [_cohorts_frame(world, cohorts, "intervention")]
    if waitlist is not None:
        rows_of_cohorts.append(_cohorts_frame(world, waitlist.cohorts, "waitlist"))
    write_small_csv(pd.concat(rows_of_cohorts, ignore_index=True), cohorts_path)
    evidence = make_evidence(evidence_rng, world)
    evidence_path = out_dir / EVIDENCE_FILE
    write_small_csv(evidence, evidence_path)

    clear_old_responses(out_dir)
    files = plan_responses_files(
        out_dir, table, rows.year, world.calendar.years, invalid, single_responses_file,
        appended=None if waitlist is None else (waitlist.table, waitlist.year),
    )
    if not single_responses_file:
        (out_dir / RESPONSES_DIR).mkdir(exist_ok=True)
    for done, file in enumerate(files, start=1):
        write_responses(file)
        report("writing", 0.65 + 0.35 * done / len(files))

    deliberate, repeated = [], {}
    for file in files:
        for line, (_, row) in zip(file.invalid_lines(), file.invalid, strict=True):
            deliberate.append(SetAsideRow(file.path, line, row.rules, deliberate=True))
            if row.repeats is not None:
                original = SetAsideRow(
                    file.path,
                    file.valid_line(row.repeats),
                    (ONE_RESPONSE_PER_PARTICIPANT_COHORT_WAVE,),
                    deliberate=False,
                )
                repeated[(original.path, original.source_row)] = original
    waves = rows.wave if waitlist is None else np.concatenate([rows.wave, waitlist.wave])
    rows_by_wave = {wave: int((waves == w).sum()) for w, wave in enumerate(WAVE_IDS)}
    report("done", 1.0)
    return GeneratedDataset(
        out_dir=out_dir,
        instrument_path=instrument_path,
        programs_path=programs_path,
        cohorts_path=cohorts_path,
        evidence_path=evidence_path,
        response_paths=tuple(file.path for file in files),
        participants=participants,
        programs=len(world.programmes),
        cohorts=int(cohorts.ids.size) + (0 if waitlist is None else int(waitlist.cohorts.ids.size)),
        evidence_studies=len(evidence),
        response_rows=int(table.num_rows) + (0 if waitlist is None else waitlist.table.num_rows),
        rows_by_wave=rows_by_wave,
        invalid_rows=tuple(deliberate),
        repeated_rows=tuple(repeated.values()),
        waitlist_cohorts=() if waitlist is None else tuple(waitlist.cohorts.ids.tolist()),
    )


def _cohorts_frame(world: World, cohorts: Cohorts, arm: str) -> pd.DataFrame:
    """Rows of cohorts.csv for `cohorts`, all of one arm; an untrained arm has no cost."""
    cost = pd.array(cohorts.cost, dtype="Int64") if arm == "intervention" else pd.NA
    return pd.DataFrame(
        {
            "cohort_id": cohorts.ids,
            "program_id": [world.programmes[p].program_id for p in cohorts.program],
            "sponsor_id": np.array(world.sponsors)[cohorts.sponsor],
            "start_date": cohorts.start.astype("datetime64[D]").astype(str),
            "end_date": cohorts.end.astype("datetime64[D]").astype(str),
            "supervision": np.where(cohorts.supervision, "true", "false"),
            "cost_per_participant": cost,
            "arm": arm,
        }
    )[list(COHORT_REQUIRED_COLUMNS + COHORT_OPTIONAL_COLUMNS)]


def write_demo(
    out_dir: Path = settings.DEMO_DATA, progress: ProgressCallback | None = None
) -> GeneratedDataset:
    """Write the shipped demo dataset (the demo participants and seed, the shipped world)."""
    return generate_dataset(
        out_dir, participants=DEMO_PARTICIPANTS, seed=DEMO_SEED, progress=progress
    )
