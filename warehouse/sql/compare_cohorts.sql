-- The two-arm comparison's sums, one row per cohort with a baseline score on one scale
-- (parameters: scale id, earlier wave, later wave, the filters' values; scale id, the filters'
-- values; the later wave's position). From memory.baseline_cube (everyone scored at the
-- earlier wave, the first: "assigned") and memory.pair_cube (matched pairs: "analysed"),
-- summed over audiences. x = earlier score, y = later score, as measured (the caller signs
-- them so that improvement is positive); Σxy is (Σx² + Σy² − Σ(y − x)²) / 2. due: the later
-- wave was due by the last date in the data (cohort_eligible.sql), so only those cohorts'
-- missing scores count as attrition. {where} comes from warehouse.filters.where_clause
-- (aliases c, d) with the arm restriction lifted.
WITH pairs AS (
    SELECT c.cidx, sum(c.n)::BIGINT AS n, sum(c.s_f) AS sx, sum(c.ss_f) AS sxx,
           sum(c.s_t) AS sy, sum(c.ss_t) AS syy, sum(c.s_c) AS sc, sum(c.ss_c) AS scc
    FROM memory.pair_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
    WHERE c.scale_id = ? AND c.wave_from = ? AND c.wave_to = ? AND {where}
    GROUP BY c.cidx
), baseline AS (
    SELECT c.cidx, sum(c.n)::BIGINT AS assigned
    FROM memory.baseline_cube AS c JOIN memory.cohort_dim AS d USING (cidx)
    WHERE c.scale_id = ? AND {where}
    GROUP BY c.cidx
)
SELECT d.program_id, d.program_name, d.cohort_id, d.arm,
       ((d.eligible_mask >> ?) & 1) = 1 AS due, b.assigned,
       coalesce(p.n, 0)::BIGINT AS n, coalesce(p.sx, 0) AS sx, coalesce(p.sxx, 0) AS sxx,
       coalesce(p.sy, 0) AS sy, coalesce(p.syy, 0) AS syy, coalesce(p.sc, 0) AS sc,
       coalesce(p.scc, 0) AS scc
FROM baseline AS b JOIN memory.cohort_dim AS d USING (cidx) LEFT JOIN pairs AS p USING (cidx)
ORDER BY d.program_id, d.cohort_id
