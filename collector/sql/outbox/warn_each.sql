SELECT unit, period, rule, message, left_value, right_value FROM warning
WHERE file_id = ?1 ORDER BY rowid
