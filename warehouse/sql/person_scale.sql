-- One row per person and scale: the audiences and scores at every wave ({parts}: the
-- person_scale_part statements joined by UNION ALL).
CREATE OR REPLACE TABLE memory.person_scale AS
SELECT s.sx, p.cidx, p.rkey, {a_cols}, {s_cols}
FROM ({parts}) AS s
JOIN memory.person AS p USING (pidx)
