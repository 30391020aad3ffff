-- Baseline (pre) scores per scale, cohort, audience at pre and the mask of waves scored on
-- the scale ({scored_mask}): completers and dropouts are told apart per request. With them,
-- the pre -> post change ({change}: the improvement macro of schemas/views.sql for the matched
-- pair pre -> post, signed so that improvement is positive; NULL without a post wave) of
-- those scored at post: n_c of them, its sum and sum of squares. The mask holds the post bit,
-- so every member of a row has a post score (n_c = n) or none does (n_c = 0), and k is the
-- record-key sum of both sets.
CREATE OR REPLACE TABLE memory.baseline_cube AS
SELECT scale_id, cidx, audience, scored_mask,
       count(*)::BIGINT AS n, sum(s0) AS s, sum(s0 * s0) AS ss, sum(rkey)::BIGINT AS k,
       count(c)::BIGINT AS n_c, sum(c) AS s_c, sum(c * c) AS ss_c
FROM (
    SELECT m.scale_id, ps.cidx, ps.a0 AS audience, ({scored_mask})::INTEGER AS scored_mask,
           ps.s0, ps.rkey, {change} AS c
    FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
    WHERE ps.s0 IS NOT NULL
)
GROUP BY ALL
