"""One ingest run: every file read, validated, scored and loaded, or refused with a reason.

Order within a run: instrument, programmes, cohorts, evidence, then responses files, so that a
folder holding all of them loads in one go and a responses file alone uses what the database
already holds. Invariant for every file that is not refused: rows_read = rows_loaded +
rows_quarantined + rows_skipped (rows left out on purpose, each for a reason the message gives).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from etl import load
from etl.columns import each_column, in_background
from etl.delimited import GUESSED, encoding_of
from etl.platforms import PLATFORM_SUFFIXES
from etl.privacy import Pseudonymiser, load_or_create_key, normalise_codes
from etl.read import FileRejected, discover, file_sha256, read_file_bytes, read_table
from etl.report import FileReport, IngestReport
from etl.score import score_responses
from etl.validate import (
    SET_ASIDE_RULES,
    TableSpec,
    Validated,
    check_columns,
    item_block,
    parse,
    schema_failures,
    split,
    spreadsheet_rows,
    take_ragged,
    text_values,
)
from schemas.contract import (
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    EVIDENCE_OPTIONAL_COLUMNS,
    EVIDENCE_REQUIRED_COLUMNS,
    PROGRAM_COLUMNS,
    RESPONSE_OPTIONAL_COLUMNS,
    RESPONSE_REQUIRED_COLUMNS,
)
from schemas.instrument import Instrument, InstrumentError, parse_instrument
from schemas.tables import (
    EvidenceModel,
    ProgramsModel,
    cohorts_schema,
    items_schema,
    responses_schema,
)

PROGRAMS = TableSpec(
    "programs",
    required=PROGRAM_COLUMNS[:4],
    optional=PROGRAM_COLUMNS[4:],
    numbers=frozenset({"contact_hours"}),
)
COHORTS = TableSpec(
    "cohorts",
    required=COHORT_REQUIRED_COLUMNS,
    optional=COHORT_OPTIONAL_COLUMNS,
    numbers=frozenset({"cost_per_participant"}),
    dates=frozenset({"start_date", "end_date"}),
    booleans=frozenset({"supervision"}),
)
EVIDENCE = TableSpec(
    "evidence",
    required=EVIDENCE_REQUIRED_COLUMNS,
    optional=EVIDENCE_OPTIONAL_COLUMNS,
    numbers=frozenset(
        {
            "year",
            "n",
            "yi",
            "vi",
            "g",
            "g_ci_low",
            "g_ci_high",
            "mean_pre",
            "mean_post",
            "sd_pre",
            "sd_post",
            "r",
        }
    ),
    booleans=frozenset({"synthetic"}),
)
RESPONSES = TableSpec(
    "responses",
    required=RESPONSE_REQUIRED_COLUMNS,
    optional=RESPONSE_OPTIONAL_COLUMNS,
    numbers=frozenset(RESPONSE_OPTIONAL_COLUMNS),
    dates=frozenset({"completed_at"}),
)

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


def _arrow(series: pd.Series) -> pa.Array:
    """A parsed text column as an Arrow array (no copy for Arrow-backed strings)."""
    array = pa.array(series, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


CATEGORY_COLUMNS = ("cohort_id", "wave", "audience")


def _encode_keys(table: pa.Table) -> tuple[pa.DictionaryArray, dict[str, pa.DictionaryArray]]:
    """The participant codes, normalised (one participant is one normalised code: "a 1" is
    "A1", for the duplicate rule and the keyed hash alike), and the cohort, wave and audience
    as dictionaries: with few distinct values, the rules and the load work on integer codes."""
    codes = normalise_codes(text_values(table.column("participant_code")))
    categories = {
        column: text_values(table.column(column)).combine_chunks().dictionary_encode()
        for column in CATEGORY_COLUMNS
        if column in table.column_names
    }
    return codes, categories


def _categorical(codes: pa.DictionaryArray) -> pd.Categorical:
    """Dictionary-encoded text as a pandas Categorical, without turning the distinct values into
    Python strings (``DictionaryArray.to_pandas`` does, about 1 s per million)."""
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    categories = pd.Index(pd.array(codes.dictionary, dtype=text))
    positions = pc.fill_null(codes.indices, -1).to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(positions, categories=categories, validate=False)


def _cohort_dates(cohort_ids: pd.Series, cohorts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cohort start and end (NaT for an unknown cohort), looked up by position."""
    known = pa.array(cohorts["cohort_id"], pa.string())
    ids = _arrow(cohort_ids)
    if not pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_encode()
    position = pc.take(pc.index_in(ids.dictionary, value_set=known), ids.indices)
    # An unknown cohort gets -1: the NaT appended at the end of each list.
    index = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    # In seconds, as completed_at is (etl.validate._dates): comparing the two needs no casts.
    nat = np.array(["NaT"], dtype="datetime64[s]")
    starts = np.concatenate([cohorts["cohort_start"].to_numpy("datetime64[s]"), nat])
    ends = np.concatenate([cohorts["cohort_end"].to_numpy("datetime64[s]"), nat])
    return starts[index], ends[index]


def _nullable(values: np.ndarray) -> pa.Array:
    """Numbers as Arrow without a copy; blank (NaN) is null."""
    return pa.array(values, mask=np.isnan(values))


def _kept_numbers(values: np.ndarray, keep: np.ndarray) -> pa.Array:
    """A numeric column's loaded rows as Arrow; blank (NaN) is null."""
    return _nullable(values[keep])


def _kept_items(items: np.ndarray, names: tuple[str, ...], keep: np.ndarray) -> dict[str, pa.Array]:
    """The loaded rows of each item column as Arrow arrays over the ``items`` block itself:
    the kept rows move to the top of each column in place and are wrapped without a copy, so
    the answers are not copied again on their way to DuckDB (fresh memory is slow to touch).
    Overwrites ``items``."""
    count = int(np.count_nonzero(keep))

    def compact(position: int) -> pa.Array:
        column = items[:, position]
        column[:count] = column[keep]
        return _nullable(column[:count])

    return dict(zip(names, each_column(compact, range(len(names))), strict=True))


def _read_canonical(
    source: str, data: bytes, numbers: frozenset[str], record: load.RunRecord
) -> tuple[pa.Table, pd.DataFrame]:
    """A file in the canonical layout as read, without the reader's ragged-row mark, and the
    failures of its ragged rows; how its text was decoded goes into the run record."""
    table = read_table(Path(source), data, numbers)
    record.encoding = encoding_of(table)
    return take_ragged(table)


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
        schema,
        table_name: str,
        to_rows: Callable[[pd.DataFrame], pd.DataFrame],
    ) -> FileReport:
        table, ragged = _read_canonical(source, data, spec.numbers, record)
        table, dropped = check_columns(table, spec, drop=self.options.drop)
        frame, failures = parse(table, spec)
        failures = pd.concat(
            [failures, schema_failures(frame, schema), ragged], ignore_index=True
        )
        validated = split(frame, failures, table)
        return self._write(
            source,
            record,
            validated,
            dropped,
            lambda con: load.upsert(con, table_name, to_rows(validated.valid)),
        )

    def programs_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        schema = ProgramsModel.to_schema()
        return self._table_file(
            source, data, record, PROGRAMS, schema, "programs", lambda frame: frame
        )

    def cohorts_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        schema = cohorts_schema(load.known_programs(self.warehouse.con))
        return self._table_file(
            source, data, record, COHORTS, schema, "cohorts", lambda frame: frame
        )

    def evidence_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        from stats.meta import to_yi_vi

        def with_effect_sizes(frame: pd.DataFrame) -> pd.DataFrame:
            frame = frame.copy()
            converted = [to_yi_vi(row) for row in frame.to_dict("records")]
            frame["yi"] = [pair[0] if pair else np.nan for pair in converted]
            frame["vi"] = [pair[1] if pair else np.nan for pair in converted]
            frame["synthetic"] = (
                frame["synthetic"].fillna(False).astype(bool) if "synthetic" in frame else False
            )
            return frame

        table, ragged = _read_canonical(source, data, EVIDENCE.numbers, record)
        table, dropped = check_columns(table, EVIDENCE, drop=self.options.drop)
        frame, failures = parse(table, EVIDENCE)
        failures = pd.concat(
            [failures, schema_failures(frame, EvidenceModel.to_schema()), ragged],
            ignore_index=True,
        )
        converted = with_effect_sizes(frame)
        no_effect = np.flatnonzero(
            converted["yi"].isna().to_numpy() | converted["vi"].isna().to_numpy()
        )
        failures = pd.concat(
            [
                failures,
                pd.DataFrame(
                    {
                        "row": no_effect,
                        "rule": "effect_size_is_given",
                        "column": None,
                        "value": None,
                    }
                ),
            ],
            ignore_index=True,
        )
        validated = split(converted, failures, table)
        return self._write(
            source,
            record,
            validated,
            dropped,
            lambda con: load.upsert(con, "evidence", validated.valid),
        )

    def responses_file(self, source: str, data: bytes, record: load.RunRecord) -> FileReport:
        instrument = self.instrument
        if instrument is None:
            raise FileRejected(
                "no instrument is known, so the items cannot be checked or scored",
                "Ingest instrument.yaml first, or together with this file.",
            )
        self.step(source, "reading")
        prepared = None
        if self.source_mapping is not None:  # a platform export: to the canonical table first
            from etl.mapping import prepare

            prepared = prepare(
                self.source_mapping,
                Path(source),
                data,
                instrument,
                self.options.drop,
                self.pseudonymiser,
            )
            record.input_format = prepared.format
            record.mapping_sha256 = self.source_mapping.sha256
            record.encoding = prepared.encoding
            record.rows_skipped = prepared.rows_skipped
            table = prepared.table
            set_aside = prepared.failures
        else:
            numbers = frozenset(instrument.items) | RESPONSES.numbers
            table, set_aside = _read_canonical(source, data, numbers, record)
        table, dropped = check_columns(
            table, RESPONSES, known_items=instrument.items, drop=self.options.drop
        )
        self.step(source, "validating")
        # The key columns are encoded on a background thread while the rest is parsed.
        encoding = in_background(_encode_keys, table)
        items = item_block(table.num_rows, len(instrument.items))
        frame, failures = parse(table, RESPONSES, item_columns=instrument.items, items=items)
        codes, categories = encoding.result()
        frame["participant_code"] = _categorical(codes)
        for column, encoded in categories.items():
            frame[column] = _categorical(encoded)
        hashed_codes = self.pseudonymiser.hash_codes_in_background(codes)  # while we validate
        cohorts = load.known_cohorts(self.warehouse.con)
        frame["cohort_start"], frame["cohort_end"] = _cohort_dates(frame["cohort_id"], cohorts)
        # Rows set aside before any rule (ragged rows, previews, spam) take part in none: a
        # preview must not make the real response with the same code a duplicate.
        aside = set_aside["row"][set_aside["rule"].isin(SET_ASIDE_RULES)].to_numpy(np.int64)
        if len(aside):
            frame.loc[frame.index[aside], "participant_code"] = np.nan
        row_schema = responses_schema(instrument, cohorts["cohort_id"].tolist())
        row_columns = list(row_schema.columns)
        failures = pd.concat(
            [
                failures,
                schema_failures(frame[row_columns], row_schema),
                schema_failures(frame[list(instrument.items)], items_schema(instrument)),
            ],
            ignore_index=True,
        )
        if prepared is not None:
            failures = prepared.row_failures(frame, failures, instrument)
        else:
            failures = pd.concat([failures, set_aside], ignore_index=True)
        self.step(source, "pseudonymising")
        participant_ids = hashed_codes()
        if prepared is not None and prepared.linker is not None:
            clean = np.ones(len(frame), dtype=bool)
            clean[failures["row"].to_numpy(dtype=np.int64)] = False
            participant_ids = prepared.linker.relink(
                self.warehouse.con, participant_ids, frame, clean
            )
        keys = pa.table(
            {
                "row": np.arange(len(frame)),
                "participant_id": participant_ids,
                "cohort_id": _arrow(frame["cohort_id"]),
                "wave": _arrow(frame["wave"]),
            }
        )
        existing = load.response_keys_already_loaded(self.warehouse.con, keys)
        if len(existing) and not self.options.replace:
            already = pd.DataFrame(
                {
                    "row": existing["row"],
                    "rule": "response_not_already_loaded",
                    "column": None,
                    "value": existing["source"],
                }
            )
            failures = pd.concat([failures, already], ignore_index=True)
        row_numbers = (
            prepared.row_numbers if prepared is not None else spreadsheet_rows(len(frame))
        )
        validated = split(frame, failures, table, self.pseudonymiser.hash_one, row_numbers)
        self.step(source, "scoring")
        scored = score_responses(frame, instrument)
        # From here on the item block is reused for the loaded rows (``_kept_items``): the
        # frame's item columns, views of it, go.
        frame = frame.drop(columns=list(instrument.items))
        keep = validated.keep
        keep_arrow = pa.array(keep)
        rows = pa.table(
            {
                "participant_id": participant_ids.filter(keep_arrow),
                **{
                    column: _arrow(frame[column]).filter(keep_arrow).dictionary_encode()
                    for column in ("cohort_id", "wave", "audience")
                },
                "completed_at": pa.array(frame["completed_at"].to_numpy()[keep], from_pandas=True),
                **{
                    column: _kept_numbers(frame[column].to_numpy(), keep)
                    for column in ("years_experience", "duration_seconds")
                },
                **_kept_items(items, instrument.items, keep),
                **{
                    f"score_{scale_id}": pa.array(scores[keep], from_pandas=True)
                    for scale_id, (scores, _) in scored.scores.items()
                },
                **{
                    f"answered_{scale_id}": pa.array(answered[keep].astype(np.int32))
                    for scale_id, (_, answered) in scored.scores.items()
                },
                "items_missing_share": scored.items_missing_share[keep],
                "flag_straightlining": scored.flag_straightlining[keep],
                "flag_item_missingness": scored.flag_item_missingness[keep],
                "flag_speeding": scored.flag_speeding[keep],
                "source_row": row_numbers[keep].astype(np.int32),
            }
        )
        if prepared is not None:
            rows = rows.append_column("flag_unfinished", pa.array(prepared.unfinished[keep]))

        def write(con) -> int:
            replaced = 0
            if self.options.replace and len(existing):
                replaced_rows = pa.array(existing["row"].to_numpy())
                replaced_keys = keys.take(replaced_rows).drop_columns(["row"])
                replaced = load.delete_responses(con, replaced_keys)
            self.step(source, "loading")
            load.insert_responses(con, rows, run_id=record.run_id, source=source)
            if prepared is not None and prepared.linker is not None:
                prepared.linker.store(con, frame, keep, record.run_id, source)
            return replaced

        if prepared is None:
            return self._write(source, record, validated, dropped, write)
        dropped = [*prepared.dropped, *dropped]
        return self._write(source, record, validated, dropped, write, lambda: prepared.notes)

    def _write(
        self, source, record, validated: Validated, dropped, write, notes=None
    ) -> FileReport:
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


def source_mapping(options: IngestOptions):
    """The mapping responses files are read through: the mapping file with --wave and --cohort
    applied, or only those options over the canonical layout; None for plain canonical files."""
    from etl.mapping import Mapping, load_mapping

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
    with load.ingest_lock(db_path, wait_seconds=600):
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
