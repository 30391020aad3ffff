-- The lake's Cronbach alpha of one scale at one wave, as warehouse.summaries.scale_alpha
-- computes it: listwise complete responses of one arm (parameters: the wave, the arm).
-- {item_variances}: the sum of the items' sample variances; {keyed_total}: the sum of the
-- reverse-keyed items; {complete}: every item answered (checked item ids).
SELECT CAST(count(*) AS BIGINT) AS n, {item_variances} AS sum_var,
       var_samp({keyed_total}) AS total_var
FROM responses AS r
JOIN cohorts AS c ON c.provider = r.provider AND c.cohort_id = r.cohort_id
WHERE r.wave = ? AND {complete} AND c.arm = ?
