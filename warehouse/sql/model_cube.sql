-- The sufficient statistics of the wave model (warehouse/models.py) per scale, cohort,
-- audience and pattern of waves scored on the scale, from memory.person_scale: the audience
-- given at the first wave scored ({audience}), the mask of scored waves ({mask}: the sum of
-- 2^position), the number of people, the sum of their record keys (disclosure control,
-- warehouse/cell_key.py), the sum of their score at each wave ({sums}: s<position>) and of
-- each product of two waves' scores ({products}: ss<position>_<position>). Read by
-- sql/model_patterns.sql for any filters.
CREATE OR REPLACE TABLE memory.model_cube AS
SELECT m.scale_id, ps.cidx, {audience} AS audience, ({mask})::INTEGER AS mask,
       count(*)::BIGINT AS n, sum(ps.rkey)::BIGINT AS k, {sums}, {products}
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
GROUP BY ALL
ORDER BY m.scale_id, ps.cidx
