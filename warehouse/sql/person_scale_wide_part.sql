-- One scale ({sx}) of memory.person_waves, a branch of the view memory.person_scale: its score
-- at each wave ({s_cols}: x<sx>_<p> AS s<p>) for people scored at least once on it ({scored}:
-- one of them is not NULL).
SELECT {sx} AS sx, cidx, rkey, {a_cols}, {s_cols}
FROM memory.person_waves
WHERE {scored}
