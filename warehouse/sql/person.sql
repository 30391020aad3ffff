-- One row per participant and cohort: the mask of waves answered and the record key of
-- disclosure control ({record_key}: a keyed hash of participant and cohort, the key being the
-- one parameter; see warehouse/cell_key.py). The person's integer key is the table's rowid
-- (unique, as the table is never changed), named pidx by the view memory.person_keyed
-- (warehouse/summaries.py): numbering the rows with row_number() would be a single-threaded
-- pass costing a tenth of the start-up at 10M responses. Audiences and scores
-- come through memory.response_scores into memory.person_waves.
CREATE OR REPLACE TABLE memory.person AS
SELECT g.*, d.cidx, {record_key} AS rkey
FROM (
    SELECT r.participant_id, r.cohort_id, bit_or((1 << w.position)::INTEGER) AS mask
    FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
    GROUP BY ALL
) AS g JOIN memory.cohort_dim AS d USING (cohort_id)
