-- One row per participant and cohort: an integer key (pidx), the audience given at each wave
-- ({audience_cols}: a<position>) and the mask of waves answered.
CREATE OR REPLACE TABLE memory.person AS
SELECT (row_number() OVER ())::INTEGER AS pidx, g.*, d.cidx
FROM (
    SELECT r.participant_id, r.cohort_id, {audience_cols},
           bit_or((1 << w.position)::INTEGER) AS mask
    FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
    GROUP BY ALL
) AS g JOIN memory.cohort_dim AS d USING (cohort_id)
