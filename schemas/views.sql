-- Views for researchers and for the analysis layer. Recreated on every ingest.

-- Definitions: what a cohort's quarter, a matched pair and an improvement are. The views below
-- use them, and the analysis layer (warehouse/) creates the same macros from this file and
-- builds its summaries with them, so each meaning is written once, here.

CREATE OR REPLACE MACRO cohort_quarter(start_date) AS
    strftime(start_date, '%Y') || '-Q' || CAST(quarter(start_date) AS VARCHAR);
CREATE OR REPLACE MACRO is_matched_pair(position_from, position_to, score_from, score_to) AS
    position_to > position_from AND score_from IS NOT NULL AND score_to IS NOT NULL;
CREATE OR REPLACE MACRO improvement(score_from, score_to, higher_is_better) AS
    CASE WHEN higher_is_better THEN score_to - score_from ELSE score_from - score_to END;
COMMENT ON MACRO cohort_quarter IS 'Calendar quarter a date falls in, e.g. 2024-Q3 (cohorts are grouped by the quarter they started).';
COMMENT ON MACRO is_matched_pair IS 'Whether two scores of one participant, cohort and scale form a matched pair: both present, the second at a later wave.';
COMMENT ON MACRO improvement IS 'score_to - score_from signed so that improvement is positive (negated where lower is better).';

CREATE OR REPLACE VIEW scored_responses AS
SELECT
    s.participant_id,
    s.cohort_id,
    s.wave,
    w.position AS wave_position,
    s.scale_id,
    s.score,
    s.items_answered,
    s.audience,
    s.completed_at,
    c.program_id,
    p.format,
    p.delivery,
    c.sponsor_id,
    c.supervision,
    c.arm,
    c.start_date AS cohort_start,
    cohort_quarter(c.start_date) AS cohort_quarter
FROM scale_scores AS s
JOIN waves AS w ON w.wave = s.wave
JOIN cohorts AS c ON c.cohort_id = s.cohort_id
JOIN programs AS p ON p.program_id = c.program_id;
COMMENT ON VIEW scored_responses IS 'Every scale score with its wave, audience, programme, format, delivery, sponsor, supervision, arm and cohort quarter: the base for cross-sectional summaries. Comparison and waitlist cohorts are here too: select arm = ''intervention'' for the people trained.';
COMMENT ON COLUMN scored_responses.participant_id IS 'Keyed hash of the participant code.';
COMMENT ON COLUMN scored_responses.cohort_id IS 'Cohort of the response.';
COMMENT ON COLUMN scored_responses.wave IS 'Wave of the response.';
COMMENT ON COLUMN scored_responses.wave_position IS 'Order of the wave in time, 0 = pre.';
COMMENT ON COLUMN scored_responses.scale_id IS 'Scale scored.';
COMMENT ON COLUMN scored_responses.score IS 'Scale score; NULL when too few items were answered.';
COMMENT ON COLUMN scored_responses.items_answered IS 'Items of the scale answered.';
COMMENT ON COLUMN scored_responses.audience IS 'Audience of the participant at this wave.';
COMMENT ON COLUMN scored_responses.completed_at IS 'Date the survey was completed.';
COMMENT ON COLUMN scored_responses.program_id IS 'Programme of the cohort.';
COMMENT ON COLUMN scored_responses.format IS 'Format of the programme.';
COMMENT ON COLUMN scored_responses.delivery IS 'Delivery of the programme.';
COMMENT ON COLUMN scored_responses.sponsor_id IS 'Sponsor of the cohort.';
COMMENT ON COLUMN scored_responses.supervision IS 'Whether the cohort had ongoing supervision.';
COMMENT ON COLUMN scored_responses.arm IS 'Arm of the cohort: intervention (trained), comparison or waitlist (not trained yet).';
COMMENT ON COLUMN scored_responses.cohort_start IS 'Start date of the cohort.';
COMMENT ON COLUMN scored_responses.cohort_quarter IS 'Calendar quarter the cohort started, e.g. 2024-Q3.';

-- The later score of a pair needs only its wave's position: it comes from scale_scores itself,
-- not from a second copy of scored_responses (the same rows, without the joins the pair does
-- not use).
CREATE OR REPLACE VIEW paired_scores AS
SELECT
    f.participant_id,
    f.cohort_id,
    f.scale_id,
    f.wave AS wave_from,
    t.wave AS wave_to,
    f.score AS score_from,
    t.score AS score_to,
    t.score - f.score AS change,
    improvement(f.score, t.score, sc.higher_is_better) AS improvement,
    f.audience,
    f.program_id,
    f.format,
    f.delivery,
    f.sponsor_id,
    f.supervision,
    f.arm,
    f.cohort_start,
    f.cohort_quarter
FROM scored_responses AS f
JOIN scale_scores AS t
    ON t.participant_id = f.participant_id
   AND t.cohort_id = f.cohort_id
   AND t.scale_id = f.scale_id
JOIN waves AS wt ON wt.wave = t.wave
JOIN scales AS sc ON sc.scale_id = f.scale_id
WHERE is_matched_pair(f.wave_position, wt.position, f.score, t.score);
COMMENT ON VIEW paired_scores IS 'One row per participant, cohort, scale and pair of waves where both scores exist (matched pairs). Comparison and waitlist cohorts are here too: select arm = ''intervention'' for the change of the people trained.';
COMMENT ON COLUMN paired_scores.participant_id IS 'Keyed hash of the participant code.';
COMMENT ON COLUMN paired_scores.cohort_id IS 'Cohort of the participant.';
COMMENT ON COLUMN paired_scores.scale_id IS 'Scale scored.';
COMMENT ON COLUMN paired_scores.wave_from IS 'Earlier wave of the pair.';
COMMENT ON COLUMN paired_scores.wave_to IS 'Later wave of the pair.';
COMMENT ON COLUMN paired_scores.score_from IS 'Score at wave_from.';
COMMENT ON COLUMN paired_scores.score_to IS 'Score at wave_to.';
COMMENT ON COLUMN paired_scores.change IS 'score_to - score_from, in scale points.';
COMMENT ON COLUMN paired_scores.improvement IS 'change signed so that improvement is positive (negated where lower is better).';
COMMENT ON COLUMN paired_scores.audience IS 'Audience of the participant at wave_from.';
COMMENT ON COLUMN paired_scores.program_id IS 'Programme of the cohort.';
COMMENT ON COLUMN paired_scores.format IS 'Format of the programme.';
COMMENT ON COLUMN paired_scores.delivery IS 'Delivery of the programme.';
COMMENT ON COLUMN paired_scores.sponsor_id IS 'Sponsor of the cohort.';
COMMENT ON COLUMN paired_scores.supervision IS 'Whether the cohort had ongoing supervision.';
COMMENT ON COLUMN paired_scores.arm IS 'Arm of the cohort: intervention (trained), comparison or waitlist (not trained yet).';
COMMENT ON COLUMN paired_scores.cohort_start IS 'Start date of the cohort.';
COMMENT ON COLUMN paired_scores.cohort_quarter IS 'Calendar quarter the cohort started, e.g. 2024-Q3.';

CREATE OR REPLACE VIEW paired_change_summary AS
SELECT
    scale_id, wave_from, wave_to, audience, program_id, format, delivery, sponsor_id,
    supervision, arm, cohort_quarter,
    count(*) AS n_pairs,
    avg(score_from) AS mean_from,
    avg(score_to) AS mean_to,
    avg(improvement) AS mean_improvement,
    stddev_samp(score_from) AS sd_from,
    stddev_samp(score_to) AS sd_to,
    stddev_samp(change) AS sd_change
FROM paired_scores
GROUP BY ALL;
COMMENT ON VIEW paired_change_summary IS 'Matched-pair counts, means and SDs per scale, wave pair and every grouping (audience, programme, format, delivery, sponsor, supervision, arm, cohort quarter). Sum or re-aggregate with care: SDs do not add. Contains small cells: apply the minimum cell size before publishing.';
COMMENT ON COLUMN paired_change_summary.scale_id IS 'Scale scored.';
COMMENT ON COLUMN paired_change_summary.wave_from IS 'Earlier wave.';
COMMENT ON COLUMN paired_change_summary.wave_to IS 'Later wave.';
COMMENT ON COLUMN paired_change_summary.audience IS 'Audience.';
COMMENT ON COLUMN paired_change_summary.program_id IS 'Programme.';
COMMENT ON COLUMN paired_change_summary.format IS 'Programme format.';
COMMENT ON COLUMN paired_change_summary.delivery IS 'Programme delivery.';
COMMENT ON COLUMN paired_change_summary.sponsor_id IS 'Sponsor.';
COMMENT ON COLUMN paired_change_summary.supervision IS 'Ongoing supervision.';
COMMENT ON COLUMN paired_change_summary.arm IS 'Arm of the cohorts: intervention, comparison or waitlist.';
COMMENT ON COLUMN paired_change_summary.cohort_quarter IS 'Quarter the cohort started.';
COMMENT ON COLUMN paired_change_summary.n_pairs IS 'Matched pairs in the group.';
COMMENT ON COLUMN paired_change_summary.mean_from IS 'Mean score at wave_from.';
COMMENT ON COLUMN paired_change_summary.mean_to IS 'Mean score at wave_to.';
COMMENT ON COLUMN paired_change_summary.mean_improvement IS 'Mean change signed so improvement is positive.';
COMMENT ON COLUMN paired_change_summary.sd_from IS 'SD of scores at wave_from.';
COMMENT ON COLUMN paired_change_summary.sd_to IS 'SD of scores at wave_to.';
COMMENT ON COLUMN paired_change_summary.sd_change IS 'SD of the individual changes.';
