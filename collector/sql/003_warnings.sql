CREATE TABLE warning (
  file_id     INTEGER NOT NULL REFERENCES file(id),
  unit        TEXT NOT NULL,
  period      TEXT NOT NULL,
  rule        TEXT NOT NULL,
  message     TEXT NOT NULL,
  left_value  TEXT,
  right_value TEXT,
  UNIQUE (file_id, unit, period, rule)
);
ALTER TABLE file ADD COLUMN warnings_more INTEGER NOT NULL DEFAULT 0;
PRAGMA user_version = 3;
