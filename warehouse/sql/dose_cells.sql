-- The dose regression's cells: matched pairs of one scale between two waves (parameters:
-- scale id, earlier wave, later wave, then the filters' values) per cohort and audience at
-- the earlier wave, from memory.pair_cube, with the cohort's format, supervision and its
-- programme's contact hours (NULL when not recorded). n: pairs; s_c, ss_c: the sums of the
-- change (later - earlier, as measured: the caller signs it so that improvement is positive)
-- and of its square. {where} comes from warehouse.filters.where_clause (aliases c, d).
SELECT c.cidx, c.audience, d.format, d.supervision, d.contact_hours,
       sum(c.n)::BIGINT AS n, sum(c.s_c) AS s_c, sum(c.ss_c) AS ss_c
FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
WHERE c.scale_id = ? AND c.wave_from = ? AND c.wave_to = ? AND {where}
GROUP BY c.cidx, c.audience, d.format, d.supervision, d.contact_hours
ORDER BY c.cidx, c.audience
