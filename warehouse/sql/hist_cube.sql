-- hist_cube: the matched pairs per bin of improvement, memory.pair_bins' counts and key sums,
-- in its order (by_scale sorted it; insertion order is kept).
CREATE OR REPLACE TABLE memory.hist_cube AS
SELECT scale_id, wave_from, wave_to, cidx, audience, bin, n, k
FROM memory.pair_bins

