-- One scale's scores in the lake's responses ({scale}: a checked scale id), one row per
-- response scored on it: a branch of lake_moments' and lake_pre_sd's {scores}.
SELECT provider, participant_id, cohort_id, wave, audience, '{scale}' AS scale_id,
       score_{scale} AS score
FROM responses WHERE score_{scale} IS NOT NULL
