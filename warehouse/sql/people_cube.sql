-- Participants per cohort, audience (at the first wave answered: {audience_list}) and mask of
-- waves answered.
CREATE OR REPLACE TABLE memory.people_cube AS
SELECT p.cidx, coalesce({audience_list}) AS audience, p.mask, count(*)::BIGINT AS n,
       sum(p.rkey)::BIGINT AS k
FROM memory.person_waves AS p
GROUP BY ALL
