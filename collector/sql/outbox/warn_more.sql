UPDATE file SET warnings_more = warnings_more + 1 WHERE id = ?1
