SELECT wave, position, months_after_end FROM attune.waves ORDER BY position
