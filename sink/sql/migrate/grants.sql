-- Run at every start, after the migrations: edustat_reader may read every
-- table and view of the schema, now and later (default privileges cover
-- tables this role creates in future migrations), and nothing else.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edustat_reader') THEN
    GRANT USAGE ON SCHEMA edustat TO edustat_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA edustat TO edustat_reader;
    ALTER DEFAULT PRIVILEGES IN SCHEMA edustat GRANT SELECT ON TABLES TO edustat_reader;
  END IF;
END $$;
