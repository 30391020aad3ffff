-- One row per person: cohort, record key, mask of waves answered, and the audience and every
-- scale's score at each wave side by side: memory.person joined with its response of each wave
-- ({joins}: per wave position p, a LEFT JOIN of memory.response_scores at p as w<p>; {a_cols}:
-- w<p>.audience AS a<p>; {x_cols}: w<p>.x<sx> AS x<sx>_<p>). Joins on the integer key are far
-- cheaper than grouping ten million responses by person; they give one row per person only
-- while (participant, cohort, wave) is unique in responses, as ingest keeps it:
-- warehouse/summaries.py counts the rows and otherwise builds person_waves_grouped.sql.
CREATE OR REPLACE TABLE memory.person_waves AS
SELECT p.pidx, p.cidx, p.rkey, p.mask, {a_cols}, {x_cols}
FROM memory.person_keyed AS p
{joins}
