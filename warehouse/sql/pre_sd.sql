-- SD of the pre-training scores of everyone trained who was scored at pre (the reliable-change
-- threshold's SD): intervention cohorts only (the parameter: the arm), so that comparison and
-- waitlist cohorts never move the threshold of the people trained.
SELECT s.scale_id, stddev_samp(s.score) AS sd_pre, count(s.score) AS n
FROM attune.scale_scores AS s JOIN attune.cohorts AS c USING (cohort_id)
WHERE s.wave = 'pre' AND s.score IS NOT NULL AND c.arm = ?
GROUP BY s.scale_id
