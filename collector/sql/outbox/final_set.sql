UPDATE file SET final_name = ?2 WHERE id = ?1
