SELECT count(*) FROM warning WHERE file_id = ?1
