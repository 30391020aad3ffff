-- Baseline (pre) scores per scale, cohort, audience at pre and the mask of waves scored on
-- the scale ({scored_mask}): completers and dropouts are told apart per request.
CREATE OR REPLACE TABLE memory.baseline_cube AS
SELECT m.scale_id, ps.cidx, ps.a0 AS audience, ({scored_mask})::INTEGER AS scored_mask,
       count(*)::BIGINT AS n, sum(s0) AS s, sum(s0 * s0) AS ss, sum(ps.rkey)::BIGINT AS k
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx) WHERE s0 IS NOT NULL
GROUP BY ALL
