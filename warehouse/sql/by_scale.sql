-- A summary's parts ({parts}, joined by UNION ALL) with the scale id instead of its position,
-- as the table {table}. Ordered by wave pair first: every query reads one wave pair, of one
-- scale or of every scale (the multiplicity family), and the order lets it skip the rest.
CREATE OR REPLACE TABLE memory.{table} AS
SELECT m.scale_id, u.* EXCLUDE (sx)
FROM ({parts}) AS u JOIN memory.scale_meta AS m USING (sx)
ORDER BY u.wave_from, u.wave_to, m.scale_id, u.cidx
