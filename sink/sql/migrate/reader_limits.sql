-- Run at every start, after the grants, with the settings in
-- edustat.reader_statement_timeout and edustat.reader_connection_limit
-- (set_config, this transaction only).  What an office login may use:
--   * no temporary tables: TEMPORARY on the database is revoked from PUBLIC
--     and edustat_reader, and granted to the sink's own role, which stages
--     its COPYs in temporary tables;
--   * every login that is a direct member of edustat_reader gets the
--     statement timeout as its default in this database, and the
--     connection limit.
-- A sink without the privilege for a step logs a warning naming the
-- statement for a superuser to run, and carries on.
DO $$
DECLARE
  t text := current_setting('edustat.reader_statement_timeout');
  n int := current_setting('edustat.reader_connection_limit')::int;
  r record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edustat_reader') THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM edustat_reader', current_database());
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'edustat: cannot take temporary tables from office logins; as the database owner run once: GRANT TEMPORARY ON DATABASE % TO %; REVOKE TEMPORARY ON DATABASE % FROM PUBLIC',
      quote_ident(current_database()), quote_ident(current_user), quote_ident(current_database());
  END;
  FOR r IN
    SELECT m.rolname FROM pg_auth_members a
      JOIN pg_roles g ON g.oid = a.roleid
      JOIN pg_roles m ON m.oid = a.member
     WHERE g.rolname = 'edustat_reader' AND m.rolcanlogin AND NOT m.rolsuper
     ORDER BY m.rolname
  LOOP
    BEGIN
      EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L',
                     r.rolname, current_database(), t);
      EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', r.rolname, n);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'edustat: cannot limit the office login %; as a superuser run once: ALTER ROLE % IN DATABASE % SET statement_timeout = %; ALTER ROLE % CONNECTION LIMIT %',
        quote_ident(r.rolname), quote_ident(r.rolname), quote_ident(current_database()),
        quote_literal(t), quote_ident(r.rolname), n;
    END;
  END LOOP;
END $$;
