-- Every person's scores at each wave side by side: memory.person joined with its responses of
-- each wave ({joins}: per wave position p, a LEFT JOIN of memory.response_scores at p as w<p>;
-- {x_cols}: w<p>.x<sx> AS x<sx>_<p>), with its audiences ({a_cols}). Joins on the integer key
-- are far cheaper than grouping ten million responses by person once per scale; they give one
-- row per person only while (participant, cohort, wave) is unique in responses, as ingest
-- keeps it: warehouse/summaries.py checks the row count and otherwise groups instead.
CREATE OR REPLACE TABLE memory.person_waves AS
SELECT p.pidx, p.cidx, p.rkey, {a_cols}, {x_cols}
FROM memory.person AS p
{joins}
