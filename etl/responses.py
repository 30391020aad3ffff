"""A responses file's way into the database, one step at a time.

read (or, for a platform export, map) -> parse -> set aside -> validate -> pseudonymise ->
already loaded? -> split into loaded rows and quarantine -> score -> load.
`etl.ingest._Run.responses_file` runs the steps in this order; each step here says what it
does and hands the next one what it needs. Large files are the reason for the shapes: the item
answers live in one float64 block that is parsed, scored and loaded without a copy, the key
columns are dictionary-encoded (few distinct values), and the participant codes are hashed by a
helper process while this one validates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import load
from etl.apply_mapping import Prepared, prepare
from etl.columns import each_column, in_background
from etl.delimited import encoding_of
from etl.mapping import Mapping
from etl.parse import item_block, parse, text_values
from etl.privacy import Pseudonymiser, normalise_codes
from etl.read import read_canonical_table
from etl.score import score_responses
from etl.validate import check_columns, schema_failures, spreadsheet_rows
from schemas.instrument import Instrument
from schemas.rules import SET_ASIDE_RULES, failures
from schemas.specs import RESPONSES
from schemas.tables import items_schema, responses_schema

CATEGORY_COLUMNS = ("cohort_id", "wave", "audience")


@dataclass
class Incoming:
    """A responses file as the canonical table, before any rule of its rows is read."""

    table: pa.Table
    found: pd.DataFrame  # failures found on the way: ragged rows, and a mapping's own
    row_numbers: np.ndarray  # each row's number as a spreadsheet shows the file
    dropped: list[str] = field(default_factory=list)  # columns left out on purpose
    prepared: Prepared | None = None  # what mapping a platform export took

    def notes(self) -> list[str]:
        """What the ingest summary says about the mapping (after loading: linking's rates)."""
        return self.prepared.notes if self.prepared is not None else []

    def with_validation(
        self, frame: pd.DataFrame, found: pd.DataFrame, instrument: Instrument
    ) -> pd.DataFrame:
        """The validation failures and those found on the way, together (for a platform
        export without repeating a value's problem: see `Prepared.row_failures`)."""
        if self.prepared is not None:
            return self.prepared.row_failures(frame, found, instrument)
        return pd.concat([found, self.found], ignore_index=True)


def read(
    source: str,
    data: bytes,
    instrument: Instrument,
    drop: tuple[str, ...],
    record: load.RunRecord,
) -> Incoming:
    """Read a file in the canonical layout; refuse it for a missing, personal or unknown
    column (items and optional attributes are read as numbers where every value is one)."""
    numbers = frozenset(instrument.items) | RESPONSES.numbers
    table, ragged = read_canonical_table(source, data, numbers)
    record.encoding = encoding_of(table)
    table, dropped = check_columns(table, RESPONSES, known_items=instrument.items, drop=drop)
    return Incoming(table, ragged, spreadsheet_rows(table.num_rows), dropped)


def map_export(
    mapping: Mapping,
    source: str,
    data: bytes,
    instrument: Instrument,
    drop: tuple[str, ...],
    pseudonymiser: Pseudonymiser,
    record: load.RunRecord,
) -> Incoming:
    """Read a platform export and turn it into the canonical table through the mapping
    (etl/apply_mapping.py); what was read and skipped goes into the run record."""
    prepared = prepare(mapping, Path(source), data, instrument, drop, pseudonymiser)
    record.input_format = prepared.format
    record.mapping_sha256 = mapping.sha256
    record.encoding = prepared.encoding
    record.rows_skipped = prepared.rows_skipped
    table, dropped = check_columns(
        prepared.table, RESPONSES, known_items=instrument.items, drop=drop
    )
    return Incoming(
        table, prepared.failures, prepared.row_numbers, [*prepared.dropped, *dropped], prepared
    )


@dataclass
class Parsed:
    """The rows as typed values, and the failures of values of the wrong type."""

    frame: pd.DataFrame  # the item columns are views of ``items``
    items: np.ndarray  # rows x items, column-major
    found: pd.DataFrame
    hashed_codes: Callable[[], pa.DictionaryArray]  # waits for the keyed hashes


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


def _arrow(series: pd.Series) -> pa.Array:
    """A parsed text column as an Arrow array (no copy for Arrow-backed strings)."""
    array = pa.array(series, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _cohort_dates(cohort_ids: pd.Series, cohorts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cohort start and end (NaT for an unknown cohort), looked up by position."""
    known = pa.array(cohorts["cohort_id"], pa.string())
    ids = _arrow(cohort_ids)
    if not pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_encode()
    position = pc.take(pc.index_in(ids.dictionary, value_set=known), ids.indices)
    # An unknown cohort gets -1: the NaT appended at the end of each list.
    index = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    # In seconds, as completed_at is (etl.parse.iso_dates): comparing the two needs no casts.
    nat = np.array(["NaT"], dtype="datetime64[s]")
    starts = np.concatenate([cohorts["cohort_start"].to_numpy("datetime64[s]"), nat])
    ends = np.concatenate([cohorts["cohort_end"].to_numpy("datetime64[s]"), nat])
    return starts[index], ends[index]


def parse_responses(
    table: pa.Table,
    instrument: Instrument,
    pseudonymiser: Pseudonymiser,
    cohorts: pd.DataFrame,
) -> Parsed:
    """Every value typed (the items into one block), the key columns dictionary-encoded on a
    background thread meanwhile, each row's cohort dates joined in for the date rules, and the
    codes' keyed hashes started in a helper process while the rules run."""
    encoding = in_background(_encode_keys, table)
    items = item_block(table.num_rows, len(instrument.items))
    frame, found = parse(table, RESPONSES, item_columns=instrument.items, items=items)
    codes, categories = encoding.result()
    frame["participant_code"] = _categorical(codes)
    for column, encoded in categories.items():
        frame[column] = _categorical(encoded)
    hashed_codes = pseudonymiser.hash_codes_in_background(codes)
    frame["cohort_start"], frame["cohort_end"] = _cohort_dates(frame["cohort_id"], cohorts)
    return Parsed(frame, items, found, hashed_codes)


def set_aside(parsed: Parsed, incoming: Incoming) -> None:
    """Rows set aside before any rule (ragged rows, previews, spam) take part in none: their
    code is blanked, so that a preview never makes the real response with the same code a
    duplicate. (The quarantine reports them under the set-aside rule alone.)"""
    found = incoming.found
    aside = found["row"][found["rule"].isin(SET_ASIDE_RULES)].to_numpy(np.int64)
    if len(aside):
        parsed.frame.loc[parsed.frame.index[aside], "participant_code"] = np.nan


def validate(
    parsed: Parsed, incoming: Incoming, instrument: Instrument, cohorts: pd.DataFrame
) -> pd.DataFrame:
    """Every failure of the file's rows: wrong types, the responses model's rules, each item
    within its scale's range, and what reading and mapping found."""
    frame = parsed.frame
    row_schema = responses_schema(cohorts["cohort_id"].tolist())
    found = pd.concat(
        [
            parsed.found,
            schema_failures(frame[list(row_schema.columns)], row_schema),
            schema_failures(frame[list(instrument.items)], items_schema(instrument)),
        ],
        ignore_index=True,
    )
    return incoming.with_validation(frame, found, instrument)


def pseudonymise(
    con: duckdb.DuckDBPyConnection, parsed: Parsed, incoming: Incoming, found: pd.DataFrame
) -> pa.Array:
    """Each row's participant id: the keyed hash of its code, or, where the mapping links
    self-generated codes, the participant a typo'd code matches (rows that broke no rule)."""
    participant_ids = parsed.hashed_codes()
    linker = incoming.prepared.linker if incoming.prepared is not None else None
    if linker is None:
        return participant_ids
    clean = np.ones(len(parsed.frame), dtype=bool)
    clean[found["row"].to_numpy(dtype=np.int64)] = False
    return linker.relink(con, participant_ids, parsed.frame, clean)


def response_keys(frame: pd.DataFrame, participant_ids: pa.Array) -> pa.Table:
    """Each row's position and key (participant, cohort, wave)."""
    return pa.table(
        {
            "row": np.arange(len(frame)),
            "participant_id": participant_ids,
            "cohort_id": _arrow(frame["cohort_id"]),
            "wave": _arrow(frame["wave"]),
        }
    )


def already_loaded(existing: pd.DataFrame) -> pd.DataFrame:
    """A failure for each row whose key is already loaded, naming the file it came from."""
    return failures(
        existing["row"].to_numpy(),
        "response_not_already_loaded",
        None,
        existing["source"].to_numpy(),
    )


def _nullable(values: np.ndarray) -> pa.Array:
    """Numbers as Arrow without a copy; blank (NaN) is null."""
    return pa.array(values, mask=np.isnan(values))


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


def score(
    parsed: Parsed,
    incoming: Incoming,
    instrument: Instrument,
    keep: np.ndarray,
    participant_ids: pa.Array,
) -> pa.Table:
    """The rows that load, scored: every scale's score and items answered, the quality flags,
    and the answers as given. The item block is reused for the loaded rows, so ``parsed``'s
    item columns are no longer valid afterwards."""
    scored = score_responses(parsed.frame, instrument)
    frame = parsed.frame.drop(columns=list(instrument.items))
    keep_arrow = pa.array(keep)
    rows = pa.table(
        {
            "participant_id": participant_ids.filter(keep_arrow),
            **{
                column: _arrow(frame[column]).filter(keep_arrow).dictionary_encode()
                for column in CATEGORY_COLUMNS
            },
            "completed_at": pa.array(frame["completed_at"].to_numpy()[keep], from_pandas=True),
            **{
                column: _nullable(frame[column].to_numpy()[keep])
                for column in ("years_experience", "duration_seconds")
            },
            **_kept_items(parsed.items, instrument.items, keep),
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
            "source_row": incoming.row_numbers[keep].astype(np.int32),
        }
    )
    if incoming.prepared is not None:
        rows = rows.append_column("flag_unfinished", pa.array(incoming.prepared.unfinished[keep]))
    return rows


def replace_loaded(
    con: duckdb.DuckDBPyConnection, keys: pa.Table, existing: pd.DataFrame
) -> int:
    """In the file's transaction, with --replace: remove the responses already loaded whose
    keys the file brings again (and so their scores); the number removed."""
    if not len(existing):
        return 0
    replaced_keys = keys.take(pa.array(existing["row"].to_numpy())).drop_columns(["row"])
    return load.delete_responses(con, replaced_keys)


def load_rows(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    parsed: Parsed,
    incoming: Incoming,
    keep: np.ndarray,
    record: load.RunRecord,
) -> None:
    """In the file's transaction: insert the scored rows with their run and source, and, where
    the mapping links codes, the loaded rows' linking keys and the match rates."""
    load.insert_responses(con, rows, run_id=record.run_id, source=record.source)
    linker = incoming.prepared.linker if incoming.prepared is not None else None
    if linker is not None:
        linker.store(con, parsed.frame, keep, record.run_id, record.source)
