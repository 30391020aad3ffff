SELECT scale_id, name, domain, level, level_name, n_items, min_value, max_value,
       higher_is_better, reliability
FROM attune.scales ORDER BY level, scale_id
