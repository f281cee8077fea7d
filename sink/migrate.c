/*
 * migrate: run the migrations of schema edustat.  See migrate.h.
 *
 * The migrations are the files sink/sql/NNN_name.sql, embedded at build
 * time (scripts/embed_sql.py): their number is the schema version, and what
 * the sink runs is the files' text byte for byte.  sink/sql/README.md says
 * why each one exists.
 *
 * Each applied migration's checksum (the SHA-256 of its text, computed
 * by scripts/embed_sql.py) is stored in schema_version.checksum.  At every
 * start the stored checksums are compared with the sink's own before anything else
 * runs: a database migrated by other text (an edited migration, a build
 * from another branch) would otherwise be taken for the schema this sink
 * knows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "sinksql.h"
#include "util.h"

/* The migration that added schema_version.checksum. */
#define CHECKSUM_SINCE 10
_Static_assert(SINKSQL_MIGRATIONS >= CHECKSUM_SINCE, "checksums_fill needs the column");

/* Longest list of differing migrations named in a message. */
#define DRIFT_LIST_MAX 512

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

/* Whether the operator allowed a schema whose checksums differ. */
static int
drift_allowed(void)
{
        const char *v = getenv(MIGRATE_DRIFT_ENV);

        return v != NULL && strcmp(v, "1") == 0;
}

/*
 * Compare the stored checksum of every applied migration with this sink's
 * (a NULL one is filled later, by checksums_fill).  On a difference,
 * DB_ERROR with a message naming the migrations, unless drift_allowed(),
 * which logs the message and returns DB_OK; the stored checksums are then
 * left as they are, so the difference stays visible.
 */
static enum db_result
checksums_verify(PGconn *conn, char *err, size_t errlen)
{
        char list[DRIFT_LIST_MAX] = "", msg[DRIFT_LIST_MAX + 256];
        PGresult *res = PQexec(conn, sinksql_migrate_checksums);
        size_t used = 0;
        int i, n, ndiff = 0;

        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
                return pg_result_fail(conn, res, err, errlen);
        n = PQntuples(res);
        for (i = 0; i < n; i++) {
                long v = strtol(PQgetvalue(res, i, 0), NULL, 10);
                const char *stored = PQgetvalue(res, i, 1);

                /* Versions past this sink's were refused before. */
                if (v < 1 || v > SINKSQL_MIGRATIONS ||
                    strcmp(stored, sinksql_migrations[v - 1].sha256) == 0)
                        continue;
                log_warnx("schema edustat: migration %ld (%s): stored checksum %s, this sink's %s",
                          v, migrate_name((int)v), stored, sinksql_migrations[v - 1].sha256);
                if (used < sizeof list)
                        used += (size_t)snprintf(list + used, sizeof list - used, "%s%ld (%s)",
                                                 ndiff > 0 ? ", " : "", v, migrate_name((int)v));
                ndiff++;
        }
        PQclear(res);
        if (ndiff == 0)
                return DB_OK;
        snprintf(msg, sizeof msg,
                 "database was migrated by other text: migration%s %s differ%s; restore the "
                 "matching edustat-sink or set " MIGRATE_DRIFT_ENV "=1 after checking by hand",
                 ndiff > 1 ? "s" : "", list, ndiff > 1 ? "" : "s");
        if (drift_allowed()) {
                log_warnx("schema edustat: %s; starting anyway (" MIGRATE_DRIFT_ENV "=1)", msg);
                return DB_OK;
        }
        strlcpyf(err, errlen, "%s", msg);
        return DB_ERROR;
}

/* Store this sink's checksum for every applied migration that has none. */
static enum db_result
checksums_fill(PGconn *conn, int have, char *err, size_t errlen)
{
        const char *params[2];
        char num[16];
        PGresult *res;
        int v;

        for (v = 1; v <= have; v++) {
                snprintf(num, sizeof num, "%d", v);
                params[0] = num;
                params[1] = sinksql_migrations[v - 1].sha256;
                res = PQexecParams(conn, sinksql_migrate_checksum_fill, 2, NULL, params, NULL, NULL,
                                   0);
                if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
                        return pg_result_fail(conn, res, err, errlen);
                PQclear(res);
        }
        return DB_OK;
}

/*
 * What office logins may use (migrate/reader_limits.sql), with the
 * settings from the environment.  Inside the migration transaction.
 */
static enum db_result
reader_limits(PGconn *conn, char *err, size_t errlen)
{
        const char *timeout = env_or(MIGRATE_READER_TIMEOUT_ENV, MIGRATE_READER_TIMEOUT);
        const char *conns = env_or(MIGRATE_READER_CONNECTIONS_ENV, NULL);
        const char *params[2];
        char nbuf[24];
        long n = MIGRATE_READER_CONNECTIONS;
        PGresult *res;

        if (conns != NULL && parse_long(conns, 1, 10000, &n) < 0) {
                strlcpyf(err, errlen, "%s \"%s\" is not a number of connections (1..10000)",
                         MIGRATE_READER_CONNECTIONS_ENV, conns);
                return DB_ERROR;
        }
        snprintf(nbuf, sizeof(nbuf), "%ld", n);
        params[0] = timeout;
        params[1] = nbuf;
        res = PQexecParams(conn,
                           "SELECT set_config('edustat.reader_statement_timeout', $1, true), "
                           "set_config('edustat.reader_connection_limit', $2, true)",
                           2, NULL, params, NULL, NULL, 0);
        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
                return pg_result_fail(conn, res, err, errlen);
        PQclear(res);
        if (pg_exec(conn, sinksql_migrate_reader_limits, err, errlen) != DB_OK) {
                char why[512];

                strlcpyf(why, sizeof(why), "%s", err);
                strlcpyf(err, errlen, "limits of office logins (%s \"%s\"): %s",
                         MIGRATE_READER_TIMEOUT_ENV, timeout, why);
                return DB_ERROR;
        }
        return DB_OK;
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
        if (have >= CHECKSUM_SINCE && (r = checksums_verify(conn, err, errlen)) != DB_OK)
                goto fail;
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
        if ((r = checksums_fill(conn, SINKSQL_MIGRATIONS, err, errlen)) != DB_OK)
                goto fail;
        if ((r = pg_exec(conn, sinksql_migrate_grants, err, errlen)) != DB_OK)
                goto fail;
        if ((r = reader_limits(conn, err, errlen)) != DB_OK)
                goto fail;
        if ((r = pg_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                return r;
        return DB_OK;
fail:
        pg_rollback(conn);
        return r;
}
