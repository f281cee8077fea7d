UPDATE batch SET attempts = attempts + 1, tried_at = ?2,
last_error = coalesce(?3, last_error) WHERE batch_id = ?1
