-- The last date in the data of the people trained (the parameter: the intervention arm): a
-- follow-up wave counts as due when it fell before it. Comparison and waitlist cohorts
-- surveyed later do not make the trained cohorts' follow-ups due.
SELECT max(r.completed_at)
FROM attune.responses AS r JOIN attune.cohorts AS c USING (cohort_id)
WHERE c.arm = ?
