-- Bit p of eligible_mask: the wave at position p was due by the cut-off date (the parameter).
UPDATE memory.cohort_dim AS d SET eligible_mask = (
    SELECT coalesce(sum(1 << w.position), 0)::INTEGER FROM attune.waves AS w
    WHERE w.months_after_end IS NULL
       OR d.cohort_end + to_months(w.months_after_end) <= ?
)
