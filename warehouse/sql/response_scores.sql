-- Scores per response with the person's integer key (pidx, memory.person_keyed) and the
-- audience given: the one join on the long hashed ids. {score_cols}: r.score_<SCALE> AS x<sx>.
CREATE OR REPLACE TABLE memory.response_scores AS
SELECT p.pidx, w.position, r.audience::audience_code AS audience, {score_cols}
FROM attune.responses AS r
JOIN attune.waves AS w USING (wave)
JOIN memory.person_keyed AS p USING (participant_id, cohort_id)
