INSERT INTO warning(file_id, unit, period, rule, message, left_value,
right_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
