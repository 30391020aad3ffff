-- pair_cube: memory.pair_bins (by_scale of pair_cube_part) summed over the bins of
-- improvement, in the same order.
CREATE OR REPLACE TABLE memory.pair_cube AS
SELECT scale_id, wave_from, wave_to, cidx, audience,
       sum(n)::BIGINT AS n, sum(k)::BIGINT AS k,
       sum(s_f) AS s_f, sum(s_t) AS s_t, sum(ss_f) AS ss_f, sum(ss_t) AS ss_t,
       sum(s_c) AS s_c, sum(ss_c) AS ss_c,
       sum(n_improved)::BIGINT AS n_improved, sum(n_deteriorated)::BIGINT AS n_deteriorated
FROM memory.pair_bins
GROUP BY ALL
ORDER BY wave_from, wave_to, scale_id, cidx
