DELETE FROM batch WHERE batch_id = ?1
