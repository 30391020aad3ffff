SELECT scale_id, item_id, reverse_keyed FROM attune.scale_items ORDER BY scale_id, position
