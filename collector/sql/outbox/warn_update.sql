-- A warning of a unit, period and rule the file has already: the later ack's wins.
UPDATE warning SET message = ?5, left_value = ?6, right_value = ?7
WHERE file_id = ?1 AND unit = ?2 AND period = ?3 AND rule = ?4
