-- One scale ({sx}): its score at each wave ({wave_cols}: s<position>), for people scored at
-- least once on it.
SELECT {sx} AS sx, pidx, {wave_cols}
FROM memory.response_scores
GROUP BY pidx
HAVING count(x{sx}) > 0
