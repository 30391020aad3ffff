"""One ingest run: every file read, validated, scored and loaded, or refused with a reason.

Order within a run: instrument, programmes, cohorts, evidence, then responses files, so that a
folder holding all of them loads in one go and a responses file alone uses what the database
already holds. Invariant for every file that is not refused: rows_read = rows_loaded +
rows_quarantined + rows_skipped (rows left out on purpose, each for a reason the message gives).
Only one run writes a database at a time: a second one waits for the first (see
`IngestOptions.wait_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import yaml

from etl import load, responses
from etl.delimited import GUESSED
from etl.mapping import Mapping, load_mapping
from etl.platforms import PLATFORM_SUFFIXES
from etl.privacy import Pseudonymiser, load_or_create_key
from etl.read import (
    FileRejected,
    discover,
    file_sha256,
    read_file_bytes,
)
from etl.report import FileReport, IngestReport
from etl.table_file import Complete, cohort_arms, effect_sizes, validate_table_file
from etl.validate import Validated, split
from schemas import settings
from schemas.instrument import Instrument, InstrumentError, parse_instrument
from schemas.specs import COHORTS, EVIDENCE, PROGRAMS, TableSpec
from schemas.tables import EvidenceModel, ProgramsModel, cohorts_schema

Progress = Callable[[str, str], None]


@dataclass
class IngestOptions:
    replace: bool = False
    strict: bool = False
    drop: tuple[str, ...] = ()
    key: bytes | None = None
    progress: Progress | None = None
    # Platform exports (see etl/mapping.py, docs/import.md): the mapping file, and the wave and
    # cohort of every responses file, overriding the mapping's defaults.
    mapping: Path | None = None
    wave: str | None = None
    cohort: str | None = None
    # While another ingest writes the database: how long to wait for it (0: give up at once),
    # and what to call, with a sentence saying so, when the wait begins.
    wait_seconds: float = settings.DEFAULT_INGEST_WAIT_SECONDS
    on_wait: Callable[[str], None] | None = None


class _Run:
    """State of one run: the warehouse copy, the instrument in force, the pseudonymiser."""

    def __init__(self, warehouse: load.Warehouse, options: IngestOptions):
        self.warehouse = warehouse
        self.options = options
        self.pseudonymiser = Pseudonymiser(options.key or load_or_create_key())
        self.instrument: Instrument | None = load.stored_instrument(warehouse.con)
        self.source_mapping = source_mapping(options)

    def step(self, source: str, what: str) -> None:
        if self.options.progress:
            self.options.progress(source, what)

    # Each handler returns a FileReport; FileRejected propagates to `_ingest_file`.

    def instrument_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        try:
            instrument = parse_instrument(yaml.safe_load(data.decode("utf-8-sig")), source=source)
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise FileRejected(f"not valid UTF-8 YAML ({error})", "Fix the YAML syntax.") from error
        except InstrumentError as error:
            raise FileRejected(
                str(error), "See the README's input format for instrument.yaml."
            ) from error
        conflicts = load.instrument_conflicts(self.warehouse.con, instrument)
        if conflicts:
            raise FileRejected(
                f"scale(s) {', '.join(conflicts)} would be scored differently from the responses "
                "already loaded",
                "Give the changed scale a new id, or build a new database with --db.",
            )
        with self.warehouse.transaction() as con:
            load.store_instrument(con, instrument)
            record.rows_read = record.rows_loaded = len(instrument.scales)
            record.status = "loaded"
            load.record_run(con, record)
        self.instrument = load.stored_instrument(self.warehouse.con)
        return FileReport(
            source, "instrument", "loaded", len(instrument.scales), len(instrument.scales)
        )

    def _table_file(
        self,
        source: str,
        data: bytes,
        record: load.RunRecord,
        spec: TableSpec,
        schema: pa.DataFrameSchema,
        complete: Complete | None = None,
    ) -> FileReport:
        """A programmes, cohorts or evidence file checked (etl/table_file.py), and its valid
        rows upserted into the table of the same name."""

        def read_as(encoding: str | None) -> None:
            record.encoding = encoding

        checked = validate_table_file(
            source, data, spec, schema, drop=self.options.drop, complete=complete, read_as=read_as
        )
        validated = checked.validated
        return self._write(
            source,
            record,
            validated,
            checked.dropped,
            lambda con: load.upsert(con, spec.kind, validated.valid),
        )

    def programs_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        return self._table_file(source, data, record, PROGRAMS, ProgramsModel.to_schema())

    def cohorts_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        schema = cohorts_schema(load.known_programs(self.warehouse.con))
        return self._table_file(source, data, record, COHORTS, schema, cohort_arms)

    def evidence_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        schema = EvidenceModel.to_schema()
        return self._table_file(source, data, record, EVIDENCE, schema, effect_sizes)

    def responses_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        """A responses file through the steps of etl/responses.py, in their order."""
        instrument = self.instrument
        if instrument is None:
            raise FileRejected(
                "no instrument is known, so the items cannot be checked or scored",
                "Ingest instrument.yaml first, or together with this file.",
            )
        con, drop = self.warehouse.con, self.options.drop
        self.step(source, "reading")
        if self.source_mapping is None:
            incoming = responses.read(source, data, instrument, drop, record)
        else:
            incoming = responses.map_export(
                self.source_mapping, source, data, instrument, drop, self.pseudonymiser, record
            )
        self.step(source, "validating")
        cohorts = load.known_cohorts(con)
        parsed = responses.parse_responses(incoming.table, instrument, self.pseudonymiser, cohorts)
        responses.set_aside(parsed, incoming)
        found = responses.validate(parsed, incoming, instrument, cohorts)
        self.step(source, "pseudonymising")
        participant_ids = responses.pseudonymise(con, parsed, incoming, found)
        keys = responses.response_keys(parsed.frame, participant_ids)
        existing = load.response_keys_already_loaded(con, keys)
        if len(existing) and not self.options.replace:
            found = pd.concat([found, responses.already_loaded(existing)], ignore_index=True)
        validated = split(
            parsed.frame, found, incoming.table, self.pseudonymiser.hash_one, incoming.row_numbers
        )
        self.step(source, "scoring")
        rows = responses.score(parsed, incoming, instrument, validated.keep, participant_ids)

        def write(con) -> int:
            replaced = responses.replace_loaded(con, keys, existing) if self.options.replace else 0
            self.step(source, "loading")
            responses.load_rows(con, rows, parsed, incoming, validated.keep, record)
            return replaced

        return self._write(source, record, validated, incoming.dropped, write, incoming.notes)

    def _write(
        self,
        source: str,
        record: load.RunRecord,
        validated: Validated,
        dropped: list[str],
        write: Callable[[duckdb.DuckDBPyConnection], int | None],
        notes: Callable[[], list[str]] | None = None,
    ) -> FileReport:
        """One transaction for the file: ``write`` its valid rows (unless --strict refuses
        the file), its quarantine and its ingest_runs row; the report of what happened.
        ``notes`` are read after writing (linking's match rates are known only then)."""
        quarantined = len(validated.quarantine)
        strict_refusal = self.options.strict and quarantined > 0
        record.rows_read = validated.rows_read + record.rows_skipped
        record.rows_quarantined = quarantined
        record.rows_loaded = 0 if strict_refusal else validated.rows_read - quarantined
        if strict_refusal:
            record.status = "rejected"
            record.message = (
                f"--strict: {quarantined} row(s) broke a rule, so nothing of the file was loaded"
            )
        else:
            record.status = "partial" if quarantined else "loaded"
        if dropped:
            record.message = (
                record.message + "; " if record.message else ""
            ) + f"left out column(s) {', '.join(dropped)}"
        if record.encoding and record.encoding.endswith(GUESSED):
            record.message = (
                record.message + "; " if record.message else ""
            ) + f"read as {record.encoding}: the file is not UTF-8"
        with self.warehouse.transaction() as con:
            replaced = 0 if strict_refusal else (write(con) or 0)
            record.rows_replaced = replaced
            for note in notes() if notes else ():
                record.message = (record.message + "; " if record.message else "") + note
            if quarantined:
                quarantine = validated.quarantine.assign(
                    run_id=record.run_id, source=source, quarantined_at=load.utc_now()
                )
                load.insert_frame(con, "quarantine", quarantine)
            load.record_run(con, record)
        return FileReport(
            source=source,
            kind=record.kind,
            status=record.status,
            rows_read=record.rows_read,
            rows_loaded=record.rows_loaded,
            rows_quarantined=quarantined,
            rows_replaced=replaced,
            rows_skipped=record.rows_skipped,
            encoding=record.encoding,
            message=record.message,
            top_reasons=list(validated.rule_counts.items())[:3],
            dropped_columns=dropped,
        )


def source_mapping(options: IngestOptions) -> Mapping | None:
    """The mapping responses files are read through: the mapping file with --wave and --cohort
    applied, or only those options over the canonical layout; None for plain canonical files."""
    if options.mapping is None and options.wave is None and options.cohort is None:
        return None
    mapping = load_mapping(options.mapping) if options.mapping else Mapping(format="canonical")
    return mapping.with_overrides(wave=options.wave, cohort=options.cohort)


def _ingest_file(run: _Run, path: Path, kind: str) -> FileReport:
    source = str(path)
    started = load.utc_now()
    clock = time.perf_counter()
    record = load.RunRecord(
        run_id=run.warehouse.run_id,
        source=source,
        kind=kind,
        sha256=None,
        rows_read=0,
        rows_loaded=0,
        rows_quarantined=0,
        status="rejected",
        message=None,
        started_at=started,
    )
    try:
        data = read_file_bytes(path)
        record.sha256 = file_sha256(data)
        earlier = load.previous_load(run.warehouse.con, record.sha256, kind)
        if earlier is not None:
            report = FileReport(
                source,
                kind,
                "skipped",
                message=(
                    f"already loaded: same content as {earlier[1]} (run {earlier[0]}); "
                    "nothing to do"
                ),
            )
        else:
            handler = getattr(run, f"{kind}_file")
            report = handler(source, data, record)
    except FileRejected as refusal:
        record.status, record.message = "rejected", str(refusal)
        with run.warehouse.transaction() as con:
            load.record_run(con, record)
        report = FileReport(source, kind, "rejected", record.rows_read, message=str(refusal))
    report.seconds = time.perf_counter() - clock
    return report


def _waiting(db_path: Path, options: IngestOptions) -> Callable[[], None] | None:
    """What to do when the run has to wait for another ingest: tell ``on_wait`` so."""
    if options.on_wait is None:
        return None
    message = (
        f"another attune ingest is writing {db_path}: waiting up to {options.wait_seconds:g} s "
        "for it to finish"
    )
    return lambda: options.on_wait(message)


def ingest(paths: list[Path], db_path: Path, options: IngestOptions | None = None) -> IngestReport:
    """Load every file under `paths` into the database at `db_path`."""
    options = options or IngestOptions()
    suffixes = PLATFORM_SUFFIXES if options.mapping or options.wave or options.cohort else ()
    inputs = discover([Path(path) for path in paths], suffixes)
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    ordered = [
        (inputs.instrument, "instrument"),
        (inputs.programs, "programs"),
        (inputs.cohorts, "cohorts"),
        (inputs.evidence, "evidence"),
    ] + [(path, "responses") for path in inputs.responses]
    ordered = [(path, kind) for path, kind in ordered if path is not None]
    with load.ingest_lock(db_path, options.wait_seconds, on_wait=_waiting(db_path, options)):
        warehouse = load.Warehouse(db_path)
        try:
            run = _Run(warehouse, options)
            reports = []
            for path, kind in ordered:
                run.step(str(path), "start")
                reports.append(_ingest_file(run, path, kind))
                run.step(str(path), "done")
            warehouse.publish()
        except BaseException:
            warehouse.discard()
            raise
    return IngestReport(run_id=warehouse.run_id, database=str(db_path), files=reports)
