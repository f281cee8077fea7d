-- The stored checksums (migration 10), compared with the sink's own.
SELECT version, checksum FROM edustat.schema_version
 WHERE checksum IS NOT NULL
 ORDER BY version
