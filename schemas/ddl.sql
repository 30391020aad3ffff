-- Attune's DuckDB schema: the public interface researchers query.
-- Every table and column carries a COMMENT; `attune` keeps these names stable.
-- Item columns of `responses` (one per item) and its score columns (score_<SCALE>,
-- answered_<SCALE>) are added from instrument.yaml at ingest, and the view `scale_scores`
-- (one row per response and scale) is generated over them: see etl/load.py.

CREATE TABLE IF NOT EXISTS attune_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
COMMENT ON TABLE attune_meta IS 'Facts about this database file: schema version and when it was created.';
COMMENT ON COLUMN attune_meta.key IS 'Name of the fact, e.g. schema_version.';
COMMENT ON COLUMN attune_meta.value IS 'Value of the fact, as text.';

CREATE TABLE IF NOT EXISTS waves (
    wave VARCHAR PRIMARY KEY,
    position INTEGER NOT NULL,
    months_after_end INTEGER
);
COMMENT ON TABLE waves IS 'Survey waves in time order: pre (before training), post, and follow-ups.';
COMMENT ON COLUMN waves.wave IS 'Wave code used in every other table: pre, post, followup_3m, followup_6m, followup_12m.';
COMMENT ON COLUMN waves.position IS 'Order of the wave in time, 0 = pre.';
COMMENT ON COLUMN waves.months_after_end IS 'Months after the end of training the wave is taken; NULL for pre.';

CREATE TABLE IF NOT EXISTS scales (
    scale_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    domain VARCHAR NOT NULL,
    level INTEGER NOT NULL,
    level_name VARCHAR NOT NULL,
    n_items INTEGER NOT NULL,
    min_value DOUBLE NOT NULL,
    max_value DOUBLE NOT NULL,
    higher_is_better BOOLEAN NOT NULL,
    min_answered DOUBLE NOT NULL,
    reliability DOUBLE
);
COMMENT ON TABLE scales IS 'Scales of the instrument (instrument.yaml): what each score measures and how it is scored.';
COMMENT ON COLUMN scales.scale_id IS 'Short identifier of the scale, e.g. CONF.';
COMMENT ON COLUMN scales.name IS 'Full name of the scale.';
COMMENT ON COLUMN scales.domain IS 'Outcome domain used to group outcomes, e.g. Confidence.';
COMMENT ON COLUMN scales.level IS 'Kirkpatrick evaluation level 1-4.';
COMMENT ON COLUMN scales.level_name IS 'Kirkpatrick level in words: Reaction, Learning, Behaviour, Results.';
COMMENT ON COLUMN scales.n_items IS 'Number of items in the scale.';
COMMENT ON COLUMN scales.min_value IS 'Lowest possible item response (and score).';
COMMENT ON COLUMN scales.max_value IS 'Highest possible item response (and score).';
COMMENT ON COLUMN scales.higher_is_better IS 'True when a higher score is a better outcome; change is reported so that improvement is positive.';
COMMENT ON COLUMN scales.min_answered IS 'Share of items that must be answered for a score to be computed.';
COMMENT ON COLUMN scales.reliability IS 'Declared reliability (r_xx) used for reliable change; NULL means the baseline Cronbach alpha is used.';

CREATE TABLE IF NOT EXISTS scale_items (
    item_id VARCHAR PRIMARY KEY,
    scale_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    reverse_keyed BOOLEAN NOT NULL
);
COMMENT ON TABLE scale_items IS 'Items of each scale; each item is a column of the responses table.';
COMMENT ON COLUMN scale_items.item_id IS 'Item column name, e.g. CONF_01.';
COMMENT ON COLUMN scale_items.scale_id IS 'Scale the item belongs to (scales.scale_id).';
COMMENT ON COLUMN scale_items.position IS 'Position of the item within its scale, from 1.';
COMMENT ON COLUMN scale_items.reverse_keyed IS 'True when the item is reverse-keyed: scored as min + max - value.';

CREATE TABLE IF NOT EXISTS programs (
    program_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    delivery VARCHAR NOT NULL,
    contact_hours DOUBLE
);
COMMENT ON TABLE programs IS 'Training programmes (programs.csv).';
COMMENT ON COLUMN programs.program_id IS 'Identifier of the programme.';
COMMENT ON COLUMN programs.name IS 'Name of the programme as the provider calls it.';
COMMENT ON COLUMN programs.format IS 'Programme format: workshop (1-2 days), short_course, certificate, degree (6-18 months).';
COMMENT ON COLUMN programs.delivery IS 'How it is delivered: in_person, online, hybrid.';
COMMENT ON COLUMN programs.contact_hours IS 'Taught contact hours.';

CREATE TABLE IF NOT EXISTS cohorts (
    cohort_id VARCHAR PRIMARY KEY,
    program_id VARCHAR NOT NULL,
    sponsor_id VARCHAR NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    supervision BOOLEAN NOT NULL,
    cost_per_participant DOUBLE,
    arm VARCHAR NOT NULL DEFAULT 'intervention'
);
COMMENT ON TABLE cohorts IS 'Cohorts: one run of a programme for one sponsor (cohorts.csv).';
COMMENT ON COLUMN cohorts.cohort_id IS 'Identifier of the cohort.';
COMMENT ON COLUMN cohorts.program_id IS 'Programme the cohort follows (programs.program_id).';
COMMENT ON COLUMN cohorts.sponsor_id IS 'Organisation that sponsored the cohort; sponsors see only their own cohorts.';
COMMENT ON COLUMN cohorts.start_date IS 'First day of training.';
COMMENT ON COLUMN cohorts.end_date IS 'Last day of training.';
COMMENT ON COLUMN cohorts.supervision IS 'True when ongoing supervision was part of the programme for this cohort.';
COMMENT ON COLUMN cohorts.cost_per_participant IS 'Cost per participant in the sponsor''s currency, if known.';
COMMENT ON COLUMN cohorts.arm IS 'intervention (trained; the default), comparison or waitlist (not trained yet, surveyed on the same waves): a comparison cohort belongs to the programme it is compared with. Every figure of change of the people trained counts intervention cohorts only.';

CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    sha256 VARCHAR,
    input_format VARCHAR,
    mapping_sha256 VARCHAR,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_replaced BIGINT NOT NULL DEFAULT 0,
    status VARCHAR NOT NULL,
    message VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE ingest_runs IS 'One row per input file per `attune ingest` run: what was read, loaded, quarantined or refused.';
COMMENT ON COLUMN ingest_runs.run_id IS 'Identifier of the ingest run (one run may read many files).';
COMMENT ON COLUMN ingest_runs.source IS 'Path of the input file as given to attune ingest.';
COMMENT ON COLUMN ingest_runs.kind IS 'What the file holds: instrument, programs, cohorts, responses or evidence.';
COMMENT ON COLUMN ingest_runs.sha256 IS 'SHA-256 of the file''s bytes; a file already loaded with the same hash is skipped.';
COMMENT ON COLUMN ingest_runs.input_format IS 'Input format: canonical (csv, xlsx, parquet) or the survey platform it came from.';
COMMENT ON COLUMN ingest_runs.mapping_sha256 IS 'SHA-256 of the mapping file used, if any.';
COMMENT ON COLUMN ingest_runs.rows_read IS 'Data rows read from the file.';
COMMENT ON COLUMN ingest_runs.rows_loaded IS 'Rows loaded into their table.';
COMMENT ON COLUMN ingest_runs.rows_quarantined IS 'Rows set aside in the quarantine table; rows_read = rows_loaded + rows_quarantined + rows_skipped for files that are not rejected.';
COMMENT ON COLUMN ingest_runs.rows_replaced IS 'Previously loaded rows this file replaced (only with --replace).';
COMMENT ON COLUMN ingest_runs.status IS 'loaded (all rows in), partial (some quarantined), rejected (file refused, nothing loaded), skipped (same sha256 already loaded).';
COMMENT ON COLUMN ingest_runs.message IS 'Why the file was rejected or skipped, in words.';
COMMENT ON COLUMN ingest_runs.started_at IS 'When reading the file started (UTC).';
COMMENT ON COLUMN ingest_runs.finished_at IS 'When the file''s transaction committed or was refused (UTC).';

CREATE TABLE IF NOT EXISTS responses (
    participant_id VARCHAR NOT NULL,
    cohort_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    completed_at DATE NOT NULL,
    audience VARCHAR NOT NULL,
    years_experience DOUBLE,
    duration_seconds DOUBLE,
    items_missing_share DOUBLE NOT NULL,
    flag_straightlining BOOLEAN NOT NULL,
    flag_item_missingness BOOLEAN NOT NULL,
    flag_speeding BOOLEAN NOT NULL,
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
COMMENT ON TABLE responses IS 'Survey responses: one row per participant, cohort and wave, with every item answer as its own column.';
COMMENT ON COLUMN responses.participant_id IS 'Keyed hash (HMAC-SHA256) of the participant code; the raw code is never stored.';
COMMENT ON COLUMN responses.cohort_id IS 'Cohort the participant attended (cohorts.cohort_id).';
COMMENT ON COLUMN responses.wave IS 'Survey wave (waves.wave).';
COMMENT ON COLUMN responses.completed_at IS 'Date the survey was completed.';
COMMENT ON COLUMN responses.audience IS 'Participant''s professional audience: mental_health, educator, hr, healthcare, coach, other.';
COMMENT ON COLUMN responses.years_experience IS 'Years of professional experience, if asked.';
COMMENT ON COLUMN responses.duration_seconds IS 'Time taken to complete the survey in seconds, if the export has it.';
COMMENT ON COLUMN responses.items_missing_share IS 'Share of the instrument''s items asked at this wave that were left blank.';
COMMENT ON COLUMN responses.flag_straightlining IS 'Quality flag: the same answer to every item of a scale that has reverse-keyed items.';
COMMENT ON COLUMN responses.flag_item_missingness IS 'Quality flag: more than 20% of the items asked were left blank.';
COMMENT ON COLUMN responses.flag_speeding IS 'Quality flag: completed faster than 2 seconds per item (only where duration_seconds exists).';
COMMENT ON COLUMN responses.run_id IS 'Ingest run that loaded the row (ingest_runs.run_id).';
COMMENT ON COLUMN responses.source IS 'Input file the row came from.';
COMMENT ON COLUMN responses.source_row IS 'Row number in the input file as a spreadsheet shows it (the header is row 1, the first data row is row 2).';

CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    rules VARCHAR[] NOT NULL,
    reasons VARCHAR NOT NULL,
    raw JSON NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE quarantine IS 'Rows set aside because they broke a rule of the input contract, with every rule they broke.';
COMMENT ON COLUMN quarantine.run_id IS 'Ingest run that read the row.';
COMMENT ON COLUMN quarantine.source IS 'Input file the row came from.';
COMMENT ON COLUMN quarantine.source_row IS 'Row number in the input file as a spreadsheet shows it (the header is row 1, the first data row is row 2).';
COMMENT ON COLUMN quarantine.rules IS 'Names of the rules the row broke, e.g. item_within_scale_range.';
COMMENT ON COLUMN quarantine.reasons IS 'Every broken rule in words, naming the column and the value.';
COMMENT ON COLUMN quarantine.raw IS 'The row as read, as JSON; the participant code is replaced by its keyed hash.';
COMMENT ON COLUMN quarantine.quarantined_at IS 'When the row was set aside (UTC).';

CREATE TABLE IF NOT EXISTS evidence (
    study_id VARCHAR PRIMARY KEY,
    citation VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    design VARCHAR NOT NULL,
    audience VARCHAR,
    format VARCHAR,
    outcome_domain VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    yi DOUBLE,
    vi DOUBLE,
    synthetic BOOLEAN NOT NULL,
    g DOUBLE,
    g_ci_low DOUBLE,
    g_ci_high DOUBLE,
    mean_pre DOUBLE,
    mean_post DOUBLE,
    sd_pre DOUBLE,
    sd_post DOUBLE,
    r DOUBLE,
    url VARCHAR,
    attrition DOUBLE,
    followup_months DOUBLE,
    risk_of_bias VARCHAR,
    independent BOOLEAN
);
COMMENT ON TABLE evidence IS 'Evidence library: published or synthetic studies for the evidence page and meta-analysis.';
COMMENT ON COLUMN evidence.study_id IS 'Identifier of the study.';
COMMENT ON COLUMN evidence.citation IS 'Full citation; synthetic demo studies say so here.';
COMMENT ON COLUMN evidence.year IS 'Year of publication.';
COMMENT ON COLUMN evidence.design IS 'Study design: single_group_pre_post, comparison_group or randomised.';
COMMENT ON COLUMN evidence.audience IS 'Audience trained (same codes as responses.audience), if specific.';
COMMENT ON COLUMN evidence.format IS 'Programme format (same codes as programs.format), if specific.';
COMMENT ON COLUMN evidence.outcome_domain IS 'Outcome domain (same labels as scales.domain).';
COMMENT ON COLUMN evidence.n IS 'Number of participants analysed.';
COMMENT ON COLUMN evidence.yi IS 'Standardised mean difference (positive = improvement), given or converted from the columns below.';
COMMENT ON COLUMN evidence.vi IS 'Sampling variance of yi.';
COMMENT ON COLUMN evidence.synthetic IS 'True for synthetic demo studies that are not real publications.';
COMMENT ON COLUMN evidence.g IS 'Hedges g as reported, when yi and vi were not given.';
COMMENT ON COLUMN evidence.g_ci_low IS 'Lower bound of the reported 95% CI of g.';
COMMENT ON COLUMN evidence.g_ci_high IS 'Upper bound of the reported 95% CI of g.';
COMMENT ON COLUMN evidence.mean_pre IS 'Reported pre-training mean, for single-group pre/post studies.';
COMMENT ON COLUMN evidence.mean_post IS 'Reported post-training mean.';
COMMENT ON COLUMN evidence.sd_pre IS 'Reported pre-training SD.';
COMMENT ON COLUMN evidence.sd_post IS 'Reported post-training SD.';
COMMENT ON COLUMN evidence.r IS 'Reported pre-post correlation.';
COMMENT ON COLUMN evidence.url IS 'Link to the study (DOI URL), if any.';
COMMENT ON COLUMN evidence.attrition IS 'Attrition as a percentage (0-100) of those randomised or enrolled missing from the analysis; NULL: not reported.';
COMMENT ON COLUMN evidence.followup_months IS 'Months from the end of training to the last outcome measured (0: none after it); NULL: not reported.';
COMMENT ON COLUMN evidence.risk_of_bias IS 'Overall risk of bias (RoB 2 / ROBINS-I): low, some_concerns or high (ROBINS-I serious or critical); NULL: not assessed.';
COMMENT ON COLUMN evidence.independent IS 'True when evaluated by someone other than the programme''s developer; NULL: not reported.';
