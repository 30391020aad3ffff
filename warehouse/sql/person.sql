-- One row per participant and cohort: an integer key (pidx), the audience given at each wave
-- ({audience_cols}: a<position>), the mask of waves answered, and the record key of
-- disclosure control ({record_key}: a keyed hash of participant and cohort, the key being
-- the one parameter; see warehouse/cell_key.py).
CREATE OR REPLACE TABLE memory.person AS
SELECT (row_number() OVER ())::INTEGER AS pidx, g.*, d.cidx, {record_key} AS rkey
FROM (
    SELECT r.participant_id, r.cohort_id, {audience_cols},
           bit_or((1 << w.position)::INTEGER) AS mask
    FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
    GROUP BY ALL
) AS g JOIN memory.cohort_dim AS d USING (cohort_id)
