INSERT INTO rejection(file_id, line, from_ack, reason, place)
VALUES (?1, ?2, ?3, ?4, ?5)
