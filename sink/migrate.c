/*
 * migrate: run the migrations of schema edustat.  See migrate.h.
 *
 * The migrations are the files sink/sql/NNN_name.sql, embedded at build
 * time (sink/sql/embed.py): their number is the schema version, and what
 * the sink runs is the files' text byte for byte.  sink/sql/README.md says
 * why each one exists.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "sinksql.h"
#include "util.h"

int
migrate_version(void)
{
        return SINKSQL_MIGRATIONS;
}

const char *
migrate_sql(int version)
{
        if (version < 1 || version > SINKSQL_MIGRATIONS)
                return NULL;
        return sinksql_migrations[version - 1].text;
}

const char *
migrate_name(int version)
{
        if (version < 1 || version > SINKSQL_MIGRATIONS)
                return NULL;
        return sinksql_migrations[version - 1].name;
}

enum db_result
migrate_run(PGconn *conn, char *err, size_t errlen)
{
        char lock[96], ins[96], why[512];
        enum db_result r;
        PGresult *res;
        long have;
        int v;

        if ((r = pg_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                return r;
        /* The lock comes before the bootstrap's CREATE SCHEMA IF NOT EXISTS,
         * which is not safe against a concurrent creator on its own. */
        snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", MIGRATE_LOCK_KEY);
        if ((r = pg_exec(conn, lock, err, errlen)) != DB_OK ||
            (r = pg_exec(conn, sinksql_migrate_bootstrap, err, errlen)) != DB_OK)
                goto fail;
        res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM edustat.schema_version");
        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                r = pg_result_fail(conn, res, err, errlen);
                goto fail;
        }
        have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (have > SINKSQL_MIGRATIONS) {
                strlcpyf(err, errlen,
                         "database schema edustat is at version %ld, newer than this "
                         "sink's %d",
                         have, SINKSQL_MIGRATIONS);
                r = DB_ERROR;
                goto fail;
        }
        for (v = (int)have + 1; v <= SINKSQL_MIGRATIONS; v++) {
                snprintf(ins, sizeof ins,
                         "INSERT INTO edustat.schema_version (version) VALUES (%d)", v);
                if ((r = pg_exec(conn, migrate_sql(v), why, sizeof why)) != DB_OK ||
                    (r = pg_exec(conn, ins, why, sizeof why)) != DB_OK) {
                        strlcpyf(err, errlen, "migration %d: %s", v, why);
                        goto fail;
                }
                log_info("schema edustat: applied migration %d", v);
        }
        if ((r = pg_exec(conn, sinksql_migrate_grants, err, errlen)) != DB_OK)
                goto fail;
        if ((r = pg_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                return r;
        return DB_OK;
fail:
        pg_rollback(conn);
        return r;
}
