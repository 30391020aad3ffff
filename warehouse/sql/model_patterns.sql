-- The sufficient statistics of the wave model (warehouse/models.py), one row per pattern:
-- participants (counted once per cohort) grouped by the mask of waves at which the scale was
-- scored ({mask}: the sum of 2^position over the scored waves) and the chosen grouping
-- ({group_select}, from the whitelist of warehouse.filters), with their number, the sum of
-- their score at each wave ({sums}: s<position>) and the sum of each product of two waves'
-- scores ({products}: ss<position>_<position>). {score}: the scale's quoted score column;
-- {wave_cols}: max(score) FILTER (WHERE position = p) AS s<p> per wave; {where}: the filters
-- over c (the participant; audience is the one given first) and d (memory.cohort_dim).
SELECT {group_select} c.mask, count(*)::BIGINT AS n, {sums}, {products}
FROM (
    SELECT r.participant_id, r.cohort_id, arg_min(r.audience, w.position) AS audience,
           {wave_cols}, {mask} AS mask
    FROM attune.responses AS r JOIN attune.waves AS w USING (wave)
    WHERE r.{score} IS NOT NULL
    GROUP BY r.participant_id, r.cohort_id
) AS c JOIN memory.cohort_dim AS d USING (cohort_id)
WHERE {where}
GROUP BY ALL
