-- Matched-pair sums per group over the Parquet lake's tables (warehouse/lake.py), in SQL that
-- DuckDB and Spark both run: the same columns as the summaries' SQL_PAIR_GROUPS
-- (warehouse/outcomes.py), so one statistics step serves both. A matched pair and an
-- improvement as schemas/views.sql defines them (is_matched_pair, improvement): both scores
-- present, the later wave after the earlier (checked before the query), the change signed so
-- that improvement is positive; the audience is the one given at the earlier wave. A
-- participant is one provider's: pairs never join across providers.
-- {scores}: one SELECT per scale of the scores of responses (lake_scores); {group_select}
-- and {group_by}: the grouping columns (LAKE_GROUP_COLUMNS); {key_sum}: the sum of the
-- members' record keys, or 0; {where}: the filters, values bound as parameters.
WITH scores AS ({scores}),
pairs AS (
    SELECT f.provider, f.participant_id, f.cohort_id, f.audience, f.scale_id,
           f.score AS s_f, t.score AS s_t
    FROM scores AS f
    JOIN scores AS t
      ON t.provider = f.provider AND t.participant_id = f.participant_id
     AND t.cohort_id = f.cohort_id AND t.scale_id = f.scale_id
    WHERE f.wave = ? AND t.wave = ?
)
SELECT {group_select} p.scale_id AS scale_id,
       CAST(count(*) AS BIGINT) AS n, {key_sum} AS k,
       sum(p.s_f) AS s_f, sum(p.s_t) AS s_t,
       sum(p.s_f * p.s_f) AS ss_f, sum(p.s_t * p.s_t) AS ss_t,
       sum(p.s_t - p.s_f) AS s_c, sum((p.s_t - p.s_f) * (p.s_t - p.s_f)) AS ss_c,
       CAST(sum(CASE WHEN (CASE WHEN m.higher_is_better THEN p.s_t - p.s_f
                                ELSE p.s_f - p.s_t END) > m.threshold THEN 1 ELSE 0 END)
            AS BIGINT) AS n_improved,
       CAST(sum(CASE WHEN (CASE WHEN m.higher_is_better THEN p.s_t - p.s_f
                                ELSE p.s_f - p.s_t END) < -m.threshold THEN 1 ELSE 0 END)
            AS BIGINT) AS n_deteriorated
FROM pairs AS p
JOIN cohorts AS c ON c.provider = p.provider AND c.cohort_id = p.cohort_id
JOIN programs AS g ON g.provider = c.provider AND g.program_id = c.program_id
JOIN scale_meta AS m ON m.scale_id = p.scale_id
WHERE {where}
GROUP BY {group_by} p.scale_id
