-- One row per cohort with its programme facts and an integer key (cidx) for the summaries.
-- eligible_mask (which waves were due by the last date in the data) is filled by
-- cohort_eligible.sql. provider (a pooled lake's, schemas/linkage.sql cohort_providers) is
-- {provider}: that table's column, joined by {provider_join}, or NULL in a database made before
-- the table existed.
CREATE OR REPLACE TABLE memory.cohort_dim AS
SELECT
    (row_number() OVER (ORDER BY c.cohort_id))::INTEGER AS cidx,
    c.cohort_id, c.program_id, p.name AS program_name, p.format, p.delivery, c.sponsor_id,
    c.supervision, c.arm, c.start_date AS cohort_start, c.end_date AS cohort_end,
    cohort_quarter(c.start_date) AS cohort_quarter,
    p.contact_hours,
    c.cost_per_participant,
    {provider} AS provider,
    0 AS eligible_mask
FROM attune.cohorts AS c JOIN attune.programs AS p USING (program_id)
{provider_join}
