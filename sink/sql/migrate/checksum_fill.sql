-- The checksum of a migration applied now, or applied before migration 10
-- added the column: the text this sink embeds, as it cannot know better.
UPDATE edustat.schema_version SET checksum = $2
 WHERE version = $1 AND checksum IS NULL
