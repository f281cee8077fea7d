UPDATE batch SET last_error = ?2 WHERE batch_id = ?1
