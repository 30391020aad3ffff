-- memory.person_waves (person_waves.sql) for a database with two responses of one person at
-- one wave, which ingest never writes: each person's responses grouped, the largest audience
-- code and score at each wave kept ({a_cols}: max(audience) FILTER (WHERE position = p) AS
-- a<p>; {x_cols}: max(x<sx>) FILTER (WHERE position = p) AS x<sx>_<p>).
CREATE OR REPLACE TABLE memory.person_waves AS
SELECT p.pidx, p.cidx, p.rkey, p.mask, g.* EXCLUDE (pidx)
FROM (
    SELECT pidx, {a_cols}, {x_cols}
    FROM memory.response_scores
    GROUP BY pidx
) AS g JOIN memory.person_keyed AS p USING (pidx)
