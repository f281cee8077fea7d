SELECT count(DISTINCT file_id), count(*), coalesce(sum(records), 0)
FROM batch
