-- Tables added after the first schema: platform exports and self-generated code linking
-- (etl/mapping.py, etl/linking.py), a pooled lake's providers (etl/lake_copy.py), and columns
-- added since. Run by etl.load.ensure_schema on new and existing databases; idempotent.

CREATE TABLE IF NOT EXISTS linkage (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    cohort_id VARCHAR NOT NULL,
    wave_from VARCHAR NOT NULL,
    wave_to VARCHAR NOT NULL,
    file_wave VARCHAR NOT NULL,
    candidates INTEGER NOT NULL,
    exact_matches INTEGER NOT NULL,
    fuzzy_matches INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    match_rate DOUBLE NOT NULL,
    tolerance INTEGER NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE linkage IS 'Match rates of self-generated code linking: one row per ingested file, cohort and wave pair, computed when the file loaded (see docs/import.md). For the Data quality page.';
COMMENT ON COLUMN linkage.run_id IS 'Ingest run that loaded the file (ingest_runs.run_id).';
COMMENT ON COLUMN linkage.source IS 'Input file whose responses were linked.';
COMMENT ON COLUMN linkage.cohort_id IS 'Cohort within which responses were linked (cohorts.cohort_id).';
COMMENT ON COLUMN linkage.wave_from IS 'Earlier wave of the pair (waves.wave).';
COMMENT ON COLUMN linkage.wave_to IS 'Later wave of the pair (waves.wave).';
COMMENT ON COLUMN linkage.file_wave IS 'Which wave of the pair the file''s responses are (the other was already loaded, or in the same file).';
COMMENT ON COLUMN linkage.candidates IS 'Responses of the file at file_wave in this cohort that were loaded.';
COMMENT ON COLUMN linkage.exact_matches IS 'Candidates whose code matched a participant of the other wave exactly.';
COMMENT ON COLUMN linkage.fuzzy_matches IS 'Candidates linked to a participant of the other wave whose code differs in at most `tolerance` components (unique match only).';
COMMENT ON COLUMN linkage.unmatched IS 'Candidates with no participant at the other wave: candidates - exact_matches - fuzzy_matches.';
COMMENT ON COLUMN linkage.match_rate IS '(exact_matches + fuzzy_matches) / candidates, between 0 and 1.';
COMMENT ON COLUMN linkage.tolerance IS 'Components allowed to differ for a fuzzy match (the mapping''s linking: tolerance:).';
COMMENT ON COLUMN linkage.computed_at IS 'When the file was linked (UTC).';

CREATE TABLE IF NOT EXISTS linkage_keys (
    participant_id VARCHAR NOT NULL,
    cohort_id VARCHAR NOT NULL,
    wave VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    key_hash VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL
);
COMMENT ON TABLE linkage_keys IS 'Private to linking: keyed hashes of each linked response''s self-generated code with k components left out, so later waves can be linked despite typos. Never the code or its components; not for analysis.';
COMMENT ON COLUMN linkage_keys.participant_id IS 'Keyed hash of the participant (responses.participant_id) the response was loaded under.';
COMMENT ON COLUMN linkage_keys.cohort_id IS 'Cohort of the response.';
COMMENT ON COLUMN linkage_keys.wave IS 'Wave of the response.';
COMMENT ON COLUMN linkage_keys.variant IS 'Which component positions (0-based, comma-separated) were left out before hashing.';
COMMENT ON COLUMN linkage_keys.key_hash IS 'HMAC-SHA256, under the pseudonymisation key, of the code with those components left out.';
COMMENT ON COLUMN linkage_keys.run_id IS 'Ingest run that stored the key.';

CREATE TABLE IF NOT EXISTS cohort_providers (
    cohort_id VARCHAR PRIMARY KEY,
    provider VARCHAR NOT NULL
);
COMMENT ON TABLE cohort_providers IS 'Which training provider each cohort came from, in a database pooled from a lake of several providers (attune serve --lake); empty in a provider''s own database.';
COMMENT ON COLUMN cohort_providers.cohort_id IS 'Cohort (cohorts.cohort_id, qualified as provider:cohort when several providers are pooled).';
COMMENT ON COLUMN cohort_providers.provider IS 'The provider''s name in the lake (its provider= prefix, attune export --provider).';

ALTER TABLE responses ADD COLUMN IF NOT EXISTS flag_unfinished BOOLEAN;
COMMENT ON COLUMN responses.flag_unfinished IS 'True when the survey platform marked the response unfinished (kept because every scale it answered met min_answered); false when finished; NULL for canonical files, which do not say.';

-- Rows a file holds that are neither responses nor quarantined, and how its text was read.
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS rows_skipped BIGINT DEFAULT 0;
COMMENT ON COLUMN ingest_runs.rows_skipped IS 'Rows left out on purpose, each for a stated reason (the message names them): events or waves mapped to null, REDCap repeating-instrument rows with no repeat: in the mapping, rows merged into the response of the same record and event. rows_read = rows_loaded + rows_quarantined + rows_skipped for every file that is not rejected.';
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS encoding VARCHAR;
COMMENT ON COLUMN ingest_runs.encoding IS 'How a text file was decoded: utf-8, utf-8-sig (with a BOM), utf-16, an encoding named by the mapping''s encoding:, or "windows-1252 (guessed)" for a file that is not UTF-8. NULL for Excel, Parquet and SPSS files.';

-- Comparison designs: databases made before cohorts had an arm hold intervention cohorts only.
ALTER TABLE cohorts ADD COLUMN IF NOT EXISTS arm VARCHAR DEFAULT 'intervention';

-- Study-level ratings: databases made before the evidence table had them hold NULL (not reported).
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS attrition DOUBLE;
COMMENT ON COLUMN evidence.attrition IS 'Attrition as a percentage (0-100) of those randomised or enrolled missing from the analysis; NULL: not reported.';
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS followup_months DOUBLE;
COMMENT ON COLUMN evidence.followup_months IS 'Months from the end of training to the last outcome measured (0: none after it); NULL: not reported.';
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS risk_of_bias VARCHAR;
COMMENT ON COLUMN evidence.risk_of_bias IS 'Overall risk of bias (RoB 2 / ROBINS-I): low, some_concerns or high (ROBINS-I serious or critical); NULL: not assessed.';
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS independent BOOLEAN;
COMMENT ON COLUMN evidence.independent IS 'True when evaluated by someone other than the programme''s developer; NULL: not reported.';
