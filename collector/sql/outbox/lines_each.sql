-- The receipt's rejections: the collector's own (from_ack 0) all shown; an
-- ack's is left out when the collector rejected that line itself (place 0)
-- or gave that very reason for a column or cell of it (place 1, 2: the
-- aggregator echoes it), and when the same line and reason came before
-- (every cell of a wide row with an unknown unit says so once).
-- Columns: line, kind (0 rejection, 1 stale), reason, value, collector,
-- version, from_ack, rowid, place.  On a line: rejections (the
-- collector's own first, then the acks', each in the order stored),
-- then stale records.
SELECT r.line, 0, r.reason, NULL, NULL, 0, r.from_ack, r.rowid, r.place
FROM rejection r WHERE r.file_id = ?1 AND (r.from_ack = 0 OR (NOT EXISTS
(SELECT 1 FROM rejection c WHERE c.file_id = r.file_id AND c.line = r.line
AND c.from_ack = 0 AND (c.place = 0 OR c.reason = r.reason)) AND NOT EXISTS
(SELECT 1 FROM rejection d WHERE d.file_id = r.file_id AND d.line = r.line
AND d.from_ack = 1 AND d.reason = r.reason AND d.rowid < r.rowid)))
UNION ALL SELECT s.line, 1, NULL, s.value, s.collector,
s.version, 0, s.rowid, 0 FROM stale s WHERE s.file_id = ?1
ORDER BY 1, 2, 7, 8
