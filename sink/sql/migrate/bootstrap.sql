-- Run under the advisory lock, before the migrations: CREATE SCHEMA IF NOT
-- EXISTS is not safe against a concurrent creator on its own.
CREATE SCHEMA IF NOT EXISTS edustat;
CREATE TABLE IF NOT EXISTS edustat.schema_version (
  version int PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now())
