CREATE TABLE stale (
  file_id   INTEGER NOT NULL REFERENCES file(id),
  line      INTEGER NOT NULL,
  value     TEXT NOT NULL,
  collector TEXT NOT NULL,
  version   INTEGER NOT NULL
);
CREATE INDEX stale_file ON stale(file_id, line);
ALTER TABLE rejection ADD COLUMN place INTEGER NOT NULL DEFAULT 0 CHECK (place IN (0, 1, 2));
PRAGMA user_version = 2;
