-- Matched pairs of the waves at positions {i} and {j} per scale, cohort, audience and bin of
-- improvement ({width} points wide, edges at +-{half} around multiples of {width}).
SELECT ps.sx, '{wf}' AS wave_from, '{wt}' AS wave_to, ps.cidx, ps.a{i} AS audience,
       (floor((improvement(s{i}, s{j}, m.higher_is_better) + {half} + 1e-9) / {width})
        * {width}) AS bin,
       count(*)::BIGINT AS n, sum(ps.rkey)::BIGINT AS k
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
WHERE is_matched_pair({i}, {j}, s{i}, s{j})
GROUP BY ALL
