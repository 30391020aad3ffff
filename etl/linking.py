"""Link anonymous waves through a self-generated identification code, tolerating typos.

The mapping names the code's component columns (e.g. first letter of the mother's first name,
birth month, ...). Each component is normalised (accents, case, blanks and punctuation removed,
leading zeros of numbers dropped) and the code is the components joined in order. The code is
then the participant_code: only its keyed hash (HMAC, etl.privacy) is stored, never the code or
its components.

Tolerance k (0, 1 or 2): a response whose exact code matches nobody at another wave of its
cohort is linked to a participant whose code differs in at most k components, only when that
participant is the single candidate, has no response at this wave yet, and no other response of
the file claims it. To find such participants among waves loaded earlier without keeping the
components, every response stores, in the private table `linkage_keys`, one keyed hash per way
of leaving k components out ("leave-k-out" keys): two codes differ in at most k components
exactly when they share one of those keys. The keys are HMACs under the same secret key as the
participant ids, so without it they reveal nothing; with it, they are no more revealing than
the participant id itself.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.load import registered, utc_now
from schemas.contract import WAVE_ORDER
from schemas.rules import failures

# SQL over the file's cohorts (registered as linking_cohorts) and its loaded rows.
SQL_STORED_PRESENCE = (
    "SELECT DISTINCT participant_id AS pid, cohort_id AS cohort, wave FROM responses "
    "WHERE cohort_id IN (SELECT cohort FROM linking_cohorts)"
)
SQL_STORED_KEYS = (
    "SELECT participant_id AS pid, cohort_id AS cohort, wave, variant, key_hash "
    "FROM linkage_keys WHERE cohort_id IN (SELECT cohort FROM linking_cohorts)"
)
SQL_FORGET_KEYS = (
    "DELETE FROM linkage_keys AS k USING (SELECT DISTINCT participant_id, cohort_id, "
    "wave FROM incoming_link_keys) AS i WHERE k.participant_id = i.participant_id "
    "AND k.cohort_id = i.cohort_id AND k.wave = i.wave"
)
SQL_STORE_KEYS = "INSERT INTO linkage_keys BY NAME SELECT * FROM incoming_link_keys"
SQL_PRESENCE_OF_LINKED = (
    "SELECT DISTINCT r.participant_id, r.cohort_id, r.wave FROM responses r "
    "WHERE r.cohort_id IN (SELECT cohort_id FROM linked_rows)"
)
SQL_STORE_MATCH_RATES = "INSERT INTO linkage BY NAME SELECT * FROM incoming_linkage"


def normalise_component(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A component as people mean it: 'é'='E', ' mar '='MAR', '07'='7'; blank is null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    text = pc.utf8_normalize(column, form="NFKD")
    text = pc.replace_substring_regex(text, r"\p{Mn}", "")
    text = pc.replace_substring_regex(text, r"[^\p{L}\p{N}]", "")
    text = pc.utf8_upper(text)
    text = pc.replace_substring_regex(text, r"^0+(\d+)$", r"\1")
    return pc.if_else(pc.equal(text, ""), None, text)


def _pairs(first, second) -> set[tuple]:
    return set(zip(first, second, strict=True))


class Linker:
    """Builds codes from components, relinks typo'd codes, records keys and match rates."""

    def __init__(self, spec, pseudonymiser):
        self.spec = spec
        self.pseudonymiser = pseudonymiser
        self.components: list[pa.Array] = []
        self.status: np.ndarray | None = None  # per row: "", "exact", "fuzzy"
        self.final_ids: pa.Array | None = None
        self.summary = ""

    # --- Codes ---------------------------------------------------------------------------

    def build(self, table: pa.Table) -> tuple[pa.Array, pd.DataFrame]:
        """The code of every row (null when a component is blank) and those rows' failures."""
        self.components = [normalise_component(table.column(name)) for name in self.spec.components]
        codes = pc.binary_join_element_wise(*self.components, "-")
        blank = np.column_stack(
            [pc.is_null(part).to_numpy(zero_copy_only=False) for part in self.components]
        )
        rows = np.flatnonzero(blank.any(axis=1))
        names = np.array(self.spec.components, dtype=object)
        incomplete = failures(
            rows,
            "code_components_are_present",
            "participant_code",
            [", ".join(names[blank[row]]) for row in rows],
        )
        return codes, incomplete

    def _keys(self, rows: np.ndarray) -> pd.DataFrame:
        """Leave-k-out keyed hashes of the given rows: row, variant, key_hash."""
        frames = []
        taken = pa.array(rows, pa.int64())
        parts = [part.take(taken) for part in self.components]
        for omit in itertools.combinations(range(len(parts)), self.spec.tolerance):
            variant = ",".join(str(position) for position in omit) or "exact"
            kept = [part for position, part in enumerate(parts) if position not in omit]
            text = pc.binary_join_element_wise(*kept, "-")
            text = pc.binary_join_element_wise(pa.scalar(variant + "#"), text, "")
            hashed = self.pseudonymiser.hash_array(text).cast(pa.string())
            frames.append(pd.DataFrame({"row": rows, "variant": variant, "key_hash": hashed}))
        return pd.concat(frames, ignore_index=True)

    # --- Linking -------------------------------------------------------------------------

    def relink(self, con, participant_ids, frame: pd.DataFrame, eligible: np.ndarray) -> pa.Array:
        """Participant ids with typo'd codes replaced by the one participant they match."""
        ids = participant_ids
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        ids = np.array(ids.cast(pa.string()).to_pylist(), dtype=object)
        n_rows = len(ids)
        status = np.full(n_rows, "", dtype=object)
        eligible = eligible & pd.notna(ids)
        rows = np.flatnonzero(eligible)
        self.final_ids = pa.array(ids.tolist(), pa.string())
        self.status = status
        if not len(rows):
            return self.final_ids
        incoming = pd.DataFrame(
            {
                "row": rows,
                "pid": ids[rows],
                "cohort": frame["cohort_id"].to_numpy(dtype=object)[rows],
                "wave": frame["wave"].to_numpy(dtype=object)[rows],
            }
        )
        cohorts = sorted(incoming["cohort"].dropna().unique().tolist())
        with registered(con, pd.DataFrame({"cohort": cohorts}), "linking_cohorts"):
            stored = con.execute(SQL_STORED_PRESENCE).df()
            stored_keys = con.execute(SQL_STORED_KEYS).df()
        keys = (
            self._keys(rows).merge(incoming, on="row")
            if self.spec.tolerance
            else pd.DataFrame(columns=["row", "variant", "key_hash", "pid", "cohort", "wave"])
        )
        stored_keys = stored_keys[stored_keys["variant"].isin(keys["variant"].unique())]
        order = {wave: WAVE_ORDER.get(wave, 99) for wave in incoming["wave"].dropna().unique()}
        for wave in sorted(order, key=order.get):
            current = incoming[incoming["wave"] == wave]
            earlier = incoming[incoming["wave"].map(order) < order[wave]]
            earlier = earlier.assign(pid=ids[earlier["row"].to_numpy()])
            presence = pd.concat([stored, earlier[["pid", "cohort", "wave"]]], ignore_index=True)
            same_wave = presence[presence["wave"] == wave]
            here = _pairs(same_wave["pid"], same_wave["cohort"]) | _pairs(
                current["pid"], current["cohort"]
            )
            elsewhere = presence[presence["wave"] != wave]
            known = _pairs(elsewhere["pid"], elsewhere["cohort"])
            exact = np.array(
                [pair in known for pair in zip(current["pid"], current["cohort"], strict=True)],
                dtype=bool,
            )
            status[current["row"].to_numpy()[exact]] = "exact"
            if not self.spec.tolerance:
                continue
            rest = set(current["row"].to_numpy()[~exact].tolist())
            if not rest:
                continue
            earlier_keys = keys[keys["row"].isin(earlier["row"])].assign(
                pid=lambda part: ids[part["row"].to_numpy()]
            )
            pool = pd.concat(
                [
                    stored_keys[stored_keys["wave"] != wave],
                    earlier_keys[["pid", "cohort", "wave", "variant", "key_hash"]],
                ],
                ignore_index=True,
            )
            asking = keys[keys["row"].isin(rest)]
            matches = asking.merge(
                pool, on=["cohort", "variant", "key_hash"], suffixes=("", "_match")
            )
            matches = matches[matches["pid_match"] != matches["pid"]]
            if matches.empty:
                continue
            free = ~np.array(
                [
                    (pid, cohort) in here
                    for pid, cohort in zip(matches["pid_match"], matches["cohort"], strict=True)
                ],
                dtype=bool,
            )
            matches = matches[free][["row", "pid_match"]].drop_duplicates()
            single = matches.groupby("row")["pid_match"].transform("size") == 1
            matches = matches[single]
            claimed = matches.groupby("pid_match")["row"].transform("size") == 1
            matches = matches[claimed]
            linked_rows = matches["row"].to_numpy()
            ids[linked_rows] = matches["pid_match"].to_numpy()
            status[linked_rows] = "fuzzy"
        self.final_ids = pa.array(ids.tolist(), pa.string())
        self.status = status
        return self.final_ids

    # --- Recording -----------------------------------------------------------------------

    def store(self, con, frame: pd.DataFrame, keep: np.ndarray, run_id: str, source: str) -> None:
        """Keep the loaded rows' leave-k-out keys and the file's match rates per wave pair.

        Called in the file's transaction after its responses are inserted."""
        rows = np.flatnonzero(keep)
        if not len(rows) or self.final_ids is None:
            return
        ids = np.array(self.final_ids.to_pylist(), dtype=object)
        loaded = pd.DataFrame(
            {
                "row": rows,
                "participant_id": ids[rows],
                "cohort_id": frame["cohort_id"].to_numpy(dtype=object)[rows],
                "wave": frame["wave"].to_numpy(dtype=object)[rows],
                "status": self.status[rows],
            }
        )
        keys = self._keys(rows).merge(loaded[["row", "participant_id", "cohort_id", "wave"]])
        keys = keys.drop(columns="row").assign(run_id=run_id)
        with registered(con, keys, "incoming_link_keys"):
            con.execute(SQL_FORGET_KEYS)
            con.execute(SQL_STORE_KEYS)
        with registered(con, loaded, "linked_rows"):
            presence = con.execute(SQL_PRESENCE_OF_LINKED).df()
        stats = []
        for (cohort, wave), group in loaded.groupby(["cohort_id", "wave"], sort=True):
            in_cohort = presence[presence["cohort_id"] == cohort]
            for other in sorted(set(in_cohort["wave"]) - {wave}, key=lambda w: WAVE_ORDER[w]):
                there = set(in_cohort["participant_id"][in_cohort["wave"] == other])
                matched = group["participant_id"].isin(there).to_numpy()
                exact = int((matched & (group["status"] == "exact").to_numpy()).sum())
                fuzzy = int((matched & (group["status"] == "fuzzy").to_numpy()).sum())
                first, second = sorted((wave, other), key=lambda w: WAVE_ORDER[w])
                stats.append(
                    {
                        "run_id": run_id,
                        "source": source,
                        "cohort_id": cohort,
                        "wave_from": first,
                        "wave_to": second,
                        "file_wave": wave,
                        "candidates": len(group),
                        "exact_matches": exact,
                        "fuzzy_matches": fuzzy,
                        "unmatched": len(group) - exact - fuzzy,
                        "match_rate": (exact + fuzzy) / len(group),
                        "tolerance": self.spec.tolerance,
                        "computed_at": utc_now(),
                    }
                )
        if stats:
            with registered(con, pd.DataFrame(stats), "incoming_linkage"):
                con.execute(SQL_STORE_MATCH_RATES)
            self.summary = "linked codes: " + "; ".join(
                f"{row['cohort_id']} {row['wave_from']}->{row['wave_to']} "
                f"{row['exact_matches'] + row['fuzzy_matches']}/{row['candidates']} "
                f"({row['exact_matches']} exact, {row['fuzzy_matches']} within tolerance "
                f"{row['tolerance']})"
                for row in stats
            )
        else:
            self.summary = "linked codes: no other wave of these cohorts is loaded yet"
