SELECT seq, batch_id, file_id, records, attempts, created_at,
length(message), message FROM batch WHERE seq > ?1 AND (?2 = 0 OR seq <= ?2)
ORDER BY seq LIMIT 1
