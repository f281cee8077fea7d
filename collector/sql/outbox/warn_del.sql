DELETE FROM warning WHERE file_id = ?1
