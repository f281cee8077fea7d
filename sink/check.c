/*
 * check: recompute every aggregate inside PostgreSQL and compare with
 * agg_value and agg_breakdown.  See check.h.  The statements are in
 * sink/sql/check/: compare.sql is the comparison, explained there top
 * down; begin.sql says why the planner settings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "sinksql.h"
#include "util.h"

/* Run sql expecting rows; NULL with the failure kind in *r and err on failure. */
static PGresult *
query(PGconn *conn, const char *sql, enum db_result *r, char *err, size_t errlen)
{
        PGresult *res = PQexec(conn, sql);

        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
                *r = pg_failure_kind(conn, res);
                pg_error_format(conn, res, err, errlen);
                PQclear(res);
                return NULL;
        }
        *r = DB_OK;
        return res;
}

/* The schema must exist at a version this program knows. */
static enum db_result
schema_present(PGconn *conn, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        long have;

        res = query(conn, sinksql_check_schema_present, &r, err, errlen);
        if (res == NULL)
                return r;
        if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
                PQclear(res);
                strlcpyf(err, errlen,
                         "database %s has no schema edustat (has edustat-sink run against it?)",
                         PQdb(conn));
                return DB_ERROR;
        }
        PQclear(res);
        res = query(conn, "SELECT coalesce(max(version), 0) FROM edustat.schema_version", &r, err,
                    errlen);
        if (res == NULL)
                return r;
        have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (have != migrate_version()) {
                strlcpyf(err, errlen,
                         "schema edustat is at version %ld; this check knows version %d", have,
                         migrate_version());
                return DB_ERROR;
        }
        return DB_OK;
}

static char *
dup_field(const PGresult *res, int row, int col)
{
        return xstrdup(PQgetisnull(res, row, col) ? "NULL" : PQgetvalue(res, row, col));
}

/* Copy the rows of the comparison into out. */
static void
collect(const PGresult *res, struct check_report *out)
{
        int i, n = PQntuples(res);

        if (n == 0)
                return;
        out->mismatches = strtoull(PQgetvalue(res, 0, 7), NULL, 10);
        out->nshown = (size_t)n;
        out->shown = xcalloc(out->nshown, sizeof *out->shown);
        for (i = 0; i < n; i++) {
                struct check_mismatch *m = &out->shown[i];

                m->unit = dup_field(res, i, 0);
                m->period = dup_field(res, i, 1);
                m->indicator = dup_field(res, i, 2);
                m->slice = dup_field(res, i, 3);
                m->column = dup_field(res, i, 4);
                m->stored = dup_field(res, i, 5);
                m->expected = dup_field(res, i, 6);
        }
}

enum db_result
check_run(PGconn *conn, struct check_report *out, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        int64_t t0;

        memset(out, 0, sizeof *out);
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
                strlcpyf(err, errlen, "not connected to PostgreSQL");
                return DB_RETRY;
        }
        if ((r = schema_present(conn, err, errlen)) != DB_OK)
                return r;
        /* One snapshot, and planner settings for the comparison (begin.sql). */
        r = pg_exec(conn, sinksql_check_begin, err, errlen);
        if (r != DB_OK)
                goto fail;
        res = query(conn, sinksql_check_counts, &r, err, errlen);
        if (res == NULL)
                goto fail;
        out->values = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        out->stored = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        out->breakdowns = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
        PQclear(res);
        t0 = now_ms();
        if ((res = query(conn, sinksql_check_compare, &r, err, errlen)) == NULL)
                goto fail;
        out->seconds = (double)(now_ms() - t0) / 1000.0;
        collect(res, out);
        PQclear(res);
        /* Read only: a failed COMMIT cannot undo what was read. */
        if (pg_exec(conn, "COMMIT", err, errlen) != DB_OK)
                log_warnx("check: COMMIT of the read-only snapshot failed: %s", err);
        return DB_OK;
fail:
        if (PQstatus(conn) == CONNECTION_OK)
                pg_rollback(conn);
        check_report_free(out);
        return r;
}

void
check_report_free(struct check_report *r)
{
        size_t i;

        if (r == NULL)
                return;
        for (i = 0; i < r->nshown; i++) {
                struct check_mismatch *m = &r->shown[i];

                free(m->unit);
                free(m->period);
                free(m->indicator);
                free(m->slice);
                free(m->column);
                free(m->stored);
                free(m->expected);
        }
        free(r->shown);
        memset(r, 0, sizeof *r);
}

void
check_report_print(const struct check_report *r, FILE *fp)
{
        size_t i;

        for (i = 0; i < r->nshown; i++) {
                const struct check_mismatch *m = &r->shown[i];

                if (m->slice[0] == '\0')
                        fprintf(fp,
                                "mismatch: unit %s, period %s, indicator %s, column %s: stored "
                                "%s, expected %s\n",
                                m->unit, m->period, m->indicator, m->column, m->stored,
                                m->expected);
                else
                        fprintf(fp,
                                "mismatch: unit %s, period %s, indicator %s, breakdown %s, "
                                "column %s: stored %s, expected %s\n",
                                m->unit, m->period, m->indicator, m->slice, m->column, m->stored,
                                m->expected);
        }
        if (r->mismatches > r->nshown)
                fprintf(fp, "... and %" PRIu64 " more mismatches\n",
                        r->mismatches - (uint64_t)r->nshown);
        if (r->mismatches == 0)
                fprintf(fp,
                        "check: ok: agg_value and agg_breakdown match the aggregates recomputed "
                        "from %" PRIu64 " stored values (%" PRIu64
                        " stored rows of units with children, %" PRIu64
                        " breakdown rows); %.1f s\n",
                        r->values, r->stored, r->breakdowns, r->seconds);
        else
                fprintf(fp,
                        "check: %" PRIu64 " mismatches between agg_value/agg_breakdown and the "
                        "aggregates recomputed from %" PRIu64 " stored values (%" PRIu64
                        " stored rows of units with children, %" PRIu64
                        " breakdown rows); %.1f s\n",
                        r->mismatches, r->values, r->stored, r->breakdowns, r->seconds);
}

int
check_main(const char *conninfo)
{
        /* As in writer_connect: the user's string may override the timeout. */
        static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                           "client_encoding", NULL};
        const char *vals[] = {"10", "edustat-check", conninfo != NULL ? conninfo : "", "UTF8",
                              NULL};
        struct check_report rep;
        char err[1024];
        PGconn *conn;
        int code;

        conn = PQconnectdbParams(keys, vals, 1);
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
                pg_error_format(conn, NULL, err, sizeof err);
                log_warnx("check: cannot connect to PostgreSQL: %s", err);
                PQfinish(conn);
                return CHECK_EXIT_ERROR;
        }
        if (check_run(conn, &rep, err, sizeof err) != DB_OK) {
                log_warnx("check: cannot run: %s", err);
                PQfinish(conn);
                return CHECK_EXIT_ERROR;
        }
        check_report_print(&rep, stdout);
        fflush(stdout);
        code = rep.mismatches == 0 ? CHECK_EXIT_OK : CHECK_EXIT_MISMATCH;
        check_report_free(&rep);
        PQfinish(conn);
        return code;
}
