-- The sufficient statistics of the wave model (warehouse/models.py), one row per pattern:
-- participants (counted once per cohort) of one scale (the one parameter before the filters')
-- grouped by the mask of waves at which the scale was scored and the chosen grouping
-- ({group_select}, from the whitelist of warehouse.filters), with their number, the sum of
-- their record keys ({key_sum}: Query.key_sum, for published figures), the sum of their score
-- at each wave ({sums}: s<position>) and the sum of each product of two waves' scores
-- ({products}: ss<position>_<position>), from the summary sql/model_cube.sql. {where}: the
-- filters over c (audience: the one given at the first wave scored) and d (cohort_dim).
SELECT {group_select} c.mask, sum(c.n)::BIGINT AS n, {key_sum} AS k, {sums}, {products}
FROM memory.model_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND {where}
GROUP BY ALL
