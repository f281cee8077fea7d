SELECT count(*) FROM file f WHERE NOT EXISTS
(SELECT 1 FROM batch b WHERE b.file_id = f.id)
