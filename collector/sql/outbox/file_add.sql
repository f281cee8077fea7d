INSERT INTO file(path, origin, identity, spool_name, owner, created_at,
records, batches) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
