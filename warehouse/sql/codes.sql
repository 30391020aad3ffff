-- The summaries' codes as ENUM types of the in-memory catalog, their values in text order
-- (so ORDER BY sorts as it would the text): filtering and grouping the cubes by a one-byte
-- code instead of a string is several times cheaper, and every chart is such a GROUP BY.
-- Each type holds every value its column can take, read from the data itself, so no cast
-- can fail or lose a value; a value outside the type compares unequal (a filter on it
-- selects nothing). Run once memory.scale_meta is filled: its scale_id becomes a scale_code.
CREATE TYPE memory.wave_code AS ENUM (SELECT wave FROM attune.waves ORDER BY wave);
CREATE TYPE memory.audience_code AS ENUM (
    SELECT DISTINCT audience FROM attune.responses WHERE audience IS NOT NULL ORDER BY audience
);
CREATE TYPE memory.scale_code AS ENUM (SELECT scale_id FROM memory.scale_meta ORDER BY scale_id);
ALTER TABLE memory.scale_meta ALTER scale_id TYPE scale_code;
