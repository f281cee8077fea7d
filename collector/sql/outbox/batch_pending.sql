SELECT 1 FROM batch WHERE batch_id = ?1
