DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edustat_reader') THEN
    CREATE ROLE edustat_reader NOLOGIN;
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'edustat: cannot create role edustat_reader; as a superuser run once: CREATE ROLE edustat_reader NOLOGIN';
END $$;
