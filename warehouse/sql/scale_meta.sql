-- Per scale: its position (sx), direction and reliable-change threshold (in scale points).
CREATE OR REPLACE TABLE memory.scale_meta (
    sx UTINYINT, scale_id VARCHAR, higher_is_better BOOLEAN, threshold DOUBLE
)
