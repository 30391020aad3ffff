-- SD of the pre-training scores of everyone scored at pre (the reliable-change threshold's SD).
SELECT scale_id, stddev_samp(score) AS sd_pre, count(score) AS n
FROM attune.scale_scores WHERE wave = 'pre' AND score IS NOT NULL GROUP BY scale_id
