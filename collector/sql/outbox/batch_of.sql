SELECT file_id, records FROM batch WHERE batch_id = ?1
