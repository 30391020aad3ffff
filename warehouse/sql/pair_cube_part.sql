-- Matched pairs of the waves at positions {i} and {j} ({wf} -> {wt}) per scale, cohort,
-- audience at the earlier wave and bin of improvement ({width} points wide, edges at +-{half}
-- around multiples of {width}): counts, sums and sums of squares of both scores and of the
-- change, and the reliable improvements and deteriorations. Matched pair and improvement are
-- the macros of schemas/views.sql, as in the paired_scores view. k: the sum of the members'
-- record keys (disclosure control, warehouse/cell_key.py). One pass over the people gives
-- both pair_cube (these rows summed over the bins) and hist_cube (their counts per bin).
SELECT ps.sx, '{wf}'::wave_code AS wave_from, '{wt}'::wave_code AS wave_to, ps.cidx,
       ps.a{i} AS audience,
       (floor((improvement(s{i}, s{j}, m.higher_is_better) + {half} + 1e-9) / {width})
        * {width}) AS bin,
       count(*)::BIGINT AS n, sum(ps.rkey)::BIGINT AS k,
       sum(s{i}) AS s_f, sum(s{j}) AS s_t,
       sum(s{i} * s{i}) AS ss_f, sum(s{j} * s{j}) AS ss_t,
       sum(s{j} - s{i}) AS s_c, sum((s{j} - s{i}) * (s{j} - s{i})) AS ss_c,
       count_if(improvement(s{i}, s{j}, m.higher_is_better) > m.threshold)::BIGINT
           AS n_improved,
       count_if(improvement(s{i}, s{j}, m.higher_is_better) < -m.threshold)::BIGINT
           AS n_deteriorated
FROM memory.person_scale AS ps JOIN memory.scale_meta AS m USING (sx)
WHERE is_matched_pair({i}, {j}, s{i}, s{j})
GROUP BY ALL
