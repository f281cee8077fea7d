-- Files with what is still pending of each, read by file_read
-- (collector/outbox.c): those with after_id < id <= last_id (?1, ?5), of
-- one origin (?2, 0 for both), pending or not (?3: 1, 0, or -1 for both),
-- at most ?4, in the order submitted.  One file is the range id - 1 .. id.
SELECT f.id, f.path, f.origin, f.identity, f.spool_name, f.final_name, f.owner,
f.created_at, f.records, f.batches, f.accepted, f.changed, f.refused_batches,
f.refused_records, f.refusal, count(b.seq), coalesce(sum(b.records), 0),
coalesce(sum(b.attempts), 0), coalesce(min(b.created_at), 0),
(SELECT e.last_error FROM batch e WHERE e.file_id = f.id AND e.last_error IS NOT NULL
ORDER BY e.tried_at DESC, e.seq DESC LIMIT 1),
(SELECT count(*) FROM stale s WHERE s.file_id = f.id), f.warnings_more,
(SELECT count(*) FROM warning w WHERE w.file_id = f.id)
FROM file f LEFT JOIN batch b ON b.file_id = f.id
WHERE f.id > ?1 AND f.id <= ?5 AND (?2 = 0 OR f.origin = ?2) GROUP BY f.id
HAVING ?3 < 0 OR (count(b.seq) > 0) = ?3 ORDER BY f.id LIMIT ?4
