-- Per cohort, for the cost figures (warehouse/cost.py): its grouping ({group_select}, from the
-- whitelist of warehouse.filters.group_clause), its cost per participant (NULL: unknown), the
-- people with any response in it (people_cube) and their record-key sum, and the sums of its
-- matched pairs of one scale and wave pair (pair_cube): n, sums and sums of squares of both
-- scores and of the change, the reliably improved and the pairs' record-key sum. {where}
-- (warehouse.filters.where_clause, twice: its parameters are bound twice) narrows both;
-- {key_sum} is Query.key_sum. Parameters: the filters', then scale, wave from, wave to, then
-- the filters' again.
WITH people AS (
    SELECT c.cidx, sum(c.n)::BIGINT AS people, {key_sum} AS k_people
    FROM memory.people_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
    WHERE {where}
    GROUP BY c.cidx
), pairs AS (
    SELECT c.cidx, sum(c.n)::BIGINT AS n, {key_sum} AS k_pairs,
           sum(c.s_f) AS s_f, sum(c.s_t) AS s_t, sum(c.ss_f) AS ss_f, sum(c.ss_t) AS ss_t,
           sum(c.s_c) AS s_c, sum(c.ss_c) AS ss_c, sum(c.n_improved)::BIGINT AS n_improved
    FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
    WHERE c.scale_id = ? AND c.wave_from = ? AND c.wave_to = ? AND {where}
    GROUP BY c.cidx
)
SELECT {group_select} d.cidx, d.cost_per_participant AS cost, pe.people, pe.k_people,
       coalesce(pa.n, 0)::BIGINT AS n, coalesce(pa.k_pairs, 0)::BIGINT AS k_pairs,
       coalesce(pa.s_f, 0) AS s_f, coalesce(pa.s_t, 0) AS s_t,
       coalesce(pa.ss_f, 0) AS ss_f, coalesce(pa.ss_t, 0) AS ss_t,
       coalesce(pa.s_c, 0) AS s_c, coalesce(pa.ss_c, 0) AS ss_c,
       coalesce(pa.n_improved, 0)::BIGINT AS n_improved
FROM people AS pe JOIN memory.cohort_dim AS d USING (cidx) LEFT JOIN pairs AS pa USING (cidx)
ORDER BY d.cidx
