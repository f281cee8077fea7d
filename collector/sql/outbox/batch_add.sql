INSERT INTO batch(batch_id, file_id, records, message, created_at)
VALUES (?1, ?2, ?3, ?4, ?5)
