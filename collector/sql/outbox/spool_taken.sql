SELECT 1 FROM file WHERE spool_name = ?1
