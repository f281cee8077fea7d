SELECT count(*) FROM batch WHERE file_id = ?1
