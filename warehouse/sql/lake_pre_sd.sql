-- The lake's pre_sd.sql: SD of the pre-training scores of everyone trained (the parameter:
-- the intervention arm), pooled over the providers; {scores} as in lake_moments.
SELECT s.scale_id AS scale_id, stddev_samp(s.score) AS sd_pre, CAST(count(s.score) AS BIGINT) AS n
FROM ({scores}) AS s
JOIN cohorts AS c ON c.provider = s.provider AND c.cohort_id = s.cohort_id
WHERE s.wave = 'pre' AND c.arm = ?
GROUP BY s.scale_id
