INSERT INTO stale(file_id, line, value, collector, version)
VALUES (?1, ?2, ?3, ?4, ?5)
