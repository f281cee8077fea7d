CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE file (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  path            TEXT NOT NULL,
  origin          INTEGER NOT NULL CHECK (origin IN (1, 2)),
  identity        TEXT UNIQUE,
  spool_name      TEXT,
  final_name      TEXT,
  owner           INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  records         INTEGER NOT NULL,
  batches         INTEGER NOT NULL,
  accepted        INTEGER NOT NULL DEFAULT 0,
  changed         INTEGER NOT NULL DEFAULT 0,
  refused_batches INTEGER NOT NULL DEFAULT 0,
  refused_records INTEGER NOT NULL DEFAULT 0,
  refusal         TEXT
);
CREATE INDEX file_spool_name ON file(spool_name);
CREATE TABLE batch (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id   TEXT NOT NULL UNIQUE,
  file_id    INTEGER NOT NULL REFERENCES file(id),
  records    INTEGER NOT NULL,
  message    BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  tried_at   INTEGER,
  last_error TEXT
);
CREATE INDEX batch_file ON batch(file_id);
CREATE TABLE rejection (
  file_id  INTEGER NOT NULL REFERENCES file(id),
  line     INTEGER NOT NULL,
  from_ack INTEGER NOT NULL,
  reason   TEXT NOT NULL
);
CREATE INDEX rejection_file ON rejection(file_id, line, from_ack);
PRAGMA user_version = 1;
