DELETE FROM stale WHERE file_id = ?1
