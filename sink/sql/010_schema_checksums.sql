ALTER TABLE edustat.schema_version ADD COLUMN checksum text;
COMMENT ON COLUMN edustat.schema_version.checksum IS '校验和. SHA-256 (hex) of the migration''s text, sink/sql/NNN_name.sql of the sink that applied it (for migrations applied before this column, of the sink that added it). A sink whose own text differs refuses to start.';
