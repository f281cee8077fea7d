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

#include <stdint.h>
#include <unistd.h>

#include "catalog.h"
#include "check.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "rules.h"
#include "rulesql.h"
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

/* The columns of indicators.csv, in the order check/rule_catalog.sql writes them. */
static const char catalog_header[] =
    "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n";

/*
 * The catalogue as stored in edustat.indicator, through a temporary file in
 * the columns of indicators.csv, so the stored rules are parsed by the
 * catalogue loader and parser the daemons use.  NULL with err on failure.
 */
static struct catalog *
stored_catalog(PGconn *conn, enum db_result *r, char *err, size_t errlen)
{
        char path[] = "/tmp/edustat-check-XXXXXX";
        struct catalog *cat = NULL;
        char why[512];
        PGresult *res;
        FILE *fp;
        char *line;
        int fd, len, ok = 1;

        *r = DB_ERROR;
        if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
                strlcpyf(err, errlen, "cannot create a temporary file in /tmp for the catalogue");
                if (fd != -1) {
                        close(fd);
                        unlink(path);
                }
                return NULL;
        }
        fputs(catalog_header, fp);
        res = PQexec(conn, sinksql_check_rule_catalog);
        if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
                *r = pg_failure_kind(conn, res);
                pg_error_format(conn, res, err, errlen);
                PQclear(res);
                fclose(fp);
                unlink(path);
                return NULL;
        }
        PQclear(res);
        while ((len = PQgetCopyData(conn, &line, 0)) > 0) {
                if (fwrite(line, 1, (size_t)len, fp) != (size_t)len)
                        ok = 0;
                PQfreemem(line);
        }
        while ((res = PQgetResult(conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && ok) {
                        *r = pg_failure_kind(conn, res);
                        pg_error_format(conn, res, err, errlen);
                        ok = -1;
                }
                PQclear(res);
        }
        if (fclose(fp) != 0 && ok == 1)
                ok = 0;
        if (len == -2 && ok == 1) {
                *r = pg_failure_kind(conn, NULL);
                pg_error_format(conn, NULL, err, errlen);
                ok = -1;
        }
        if (ok == 0)
                strlcpyf(err, errlen, "cannot write the catalogue to %s", path);
        if (ok == 1 && (cat = catalog_load(path, why, sizeof why)) == NULL)
                strlcpyf(err, errlen, "edustat.indicator does not load as a catalogue: %s", why);
        unlink(path);
        if (cat != NULL)
                *r = DB_OK;
        return cat;
}

static enum rule_op
op_parse(const char *s)
{
        static const enum rule_op ops[] = {RULE_LE, RULE_LT, RULE_GE, RULE_GT, RULE_EQ, RULE_NE};

        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
                if (strcmp(rule_op_text(ops[i]), s) == 0)
                        return ops[i];
        return (enum rule_op) - 1;
}

/* Growable text for the union of the rules' queries; capped. */
struct sqlbuf {
        char *p;
        size_t len, cap;
};

/* Bytes of the whole rule comparison: RULES_MAX rules of a few kilobytes each. */
#define CHECK_RULE_SQL_MAX (64u * 1024 * 1024)

static int
sqlbuf_add(struct sqlbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap == 0 ? 65536 : b->cap;

                while (b->len + n + 1 > cap)
                        cap *= 2;
                if (cap > CHECK_RULE_SQL_MAX)
                        return -1;
                b->p = xrealloc(b->p, cap);
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

/*
 * The query of every stored rule, as "WITH want (...) AS (q1 UNION ALL
 * q2 ...)" followed by check/rule_compare.sql.  Sets *nrules.  Returns
 * DB_OK, or the failure with err (a rule that does not parse names its
 * code and side).
 */
static enum db_result
rule_query(PGconn *conn, const struct catalog *cat, struct sqlbuf *b, uint64_t *nrules, char *err,
           size_t errlen)
{
        static const char head[] =
            "WITH want (unit, period, rule, severity, left_value, right_value) AS (\n";
        static const char none[] = "SELECT NULL::text, NULL::text, NULL::text, NULL::text,"
                                   " NULL::numeric, NULL::numeric WHERE false\n";
        static const char glue[] = "\nUNION ALL\n";
        static char one[RULESQL_MAX];
        enum db_result r;
        PGresult *res;
        char why[512];
        int i, n;

        res = query(conn, sinksql_check_rule_list, &r, err, errlen);
        if (res == NULL)
                return r;
        n = PQntuples(res);
        *nrules = (uint64_t)n;
        sqlbuf_add(b, head, strlen(head));
        if (n == 0)
                sqlbuf_add(b, none, strlen(none));
        for (i = 0; i < n; i++) {
                struct rule ru = {0};
                const char *side = "left";
                size_t len = 0;
                int bad;

                ru.code = PQgetvalue(res, i, 0);
                ru.name_zh = PQgetvalue(res, i, 1);
                ru.op = op_parse(PQgetvalue(res, i, 3));
                ru.severity =
                    strcmp(PQgetvalue(res, i, 5), "error") == 0 ? RULE_ERROR : RULE_WARNING;
                ru.scope =
                    strcmp(PQgetvalue(res, i, 6), "school") == 0 ? NULL : PQgetvalue(res, i, 6);
                ru.stage = PQgetvalue(res, i, 7)[0] != '\0' ? PQgetvalue(res, i, 7) : NULL;
                ru.missing = strcmp(PQgetvalue(res, i, 8), "zero") == 0 ? RULE_MISSING_ZERO
                                                                        : RULE_MISSING_SKIP;
                bad = rule_expr_parse(PQgetvalue(res, i, 2), strlen(PQgetvalue(res, i, 2)), cat,
                                      &ru.left, why, sizeof why);
                if (bad == 0) {
                        side = "right";
                        bad = rule_expr_parse(PQgetvalue(res, i, 4), strlen(PQgetvalue(res, i, 4)),
                                              cat, &ru.right, why, sizeof why);
                }
                if (bad != 0)
                        strlcpyf(err, errlen,
                                 "rule %s (rules.csv line %s): the stored %s side does not parse "
                                 "against edustat.indicator: %s",
                                 ru.code, PQgetvalue(res, i, 9), side, why);
                else if ((int)ru.op == -1)
                        strlcpyf(err, errlen, "rule %s: unknown op \"%s\" in edustat.rule", ru.code,
                                 PQgetvalue(res, i, 3));
                else
                        len = rulesql_build(&ru, cat, one, sizeof one, err, errlen);
                rule_expr_free(&ru.left);
                rule_expr_free(&ru.right);
                if (len == 0 || (i > 0 && sqlbuf_add(b, glue, strlen(glue)) == -1) ||
                    sqlbuf_add(b, one, len) == -1) {
                        if (len != 0)
                                strlcpyf(err, errlen, "the rules' SQL is longer than %u bytes",
                                         CHECK_RULE_SQL_MAX);
                        PQclear(res);
                        return DB_ERROR;
                }
        }
        PQclear(res);
        sqlbuf_add(b, ")\n", 2);
        if (sqlbuf_add(b, sinksql_check_rule_compare, strlen(sinksql_check_rule_compare)) == -1) {
                strlcpyf(err, errlen, "the rules' SQL is longer than %u bytes", CHECK_RULE_SQL_MAX);
                return DB_ERROR;
        }
        return DB_OK;
}

/* rule_violation against the rules recomputed in SQL, inside the check's snapshot. */
static enum db_result
rule_check(PGconn *conn, struct check_report *out, char *err, size_t errlen)
{
        struct sqlbuf b = {NULL, 0, 0};
        struct catalog *cat;
        enum db_result r;
        PGresult *res;
        int64_t t0;
        int i, n;

        res = query(conn, "SELECT count(*) FROM edustat.rule_violation", &r, err, errlen);
        if (res == NULL)
                return r;
        out->violations = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if ((cat = stored_catalog(conn, &r, err, errlen)) == NULL)
                return r;
        r = rule_query(conn, cat, &b, &out->rules, err, errlen);
        catalog_destroy(&cat);
        if (r != DB_OK) {
                free(b.p);
                return r;
        }
        t0 = now_ms();
        res = query(conn, b.p, &r, err, errlen);
        free(b.p);
        if (res == NULL)
                return r;
        out->rule_seconds = (double)(now_ms() - t0) / 1000.0;
        n = PQntuples(res);
        if (n > 0) {
                out->rule_mismatches = strtoull(PQgetvalue(res, 0, 6), NULL, 10);
                out->nrules_shown = (size_t)n;
                out->rules_shown = xcalloc(out->nrules_shown, sizeof *out->rules_shown);
        }
        for (i = 0; i < n; i++) {
                struct check_rule_mismatch *m = &out->rules_shown[i];

                m->unit = dup_field(res, i, 0);
                m->period = dup_field(res, i, 1);
                m->rule = dup_field(res, i, 2);
                m->column = dup_field(res, i, 3);
                m->stored = dup_field(res, i, 4);
                m->expected = dup_field(res, i, 5);
        }
        PQclear(res);
        return DB_OK;
}

/* edustat.review against review_history and orgunit (check/review_compare.sql). */
static enum db_result
review_check(PGconn *conn, struct check_report *out, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        int i, n;

        res = query(conn,
                    "SELECT (SELECT count(*) FROM edustat.review),"
                    " (SELECT count(*) FROM edustat.review_history)",
                    &r, err, errlen);
        if (res == NULL)
                return r;
        out->reviews = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        out->review_history = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        if ((res = query(conn, sinksql_check_review_compare, &r, err, errlen)) == NULL)
                return r;
        n = PQntuples(res);
        if (n > 0) {
                out->review_mismatches = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
                out->nreviews_shown = (size_t)n;
                out->reviews_shown = xcalloc(out->nreviews_shown, sizeof *out->reviews_shown);
        }
        for (i = 0; i < n; i++) {
                struct check_review_mismatch *m = &out->reviews_shown[i];

                m->unit = dup_field(res, i, 0);
                m->period = dup_field(res, i, 1);
                m->column = dup_field(res, i, 2);
                m->stored = dup_field(res, i, 3);
                m->expected = dup_field(res, i, 4);
        }
        PQclear(res);
        return DB_OK;
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
        if ((r = rule_check(conn, out, err, errlen)) != DB_OK)
                goto fail;
        if ((r = review_check(conn, out, err, errlen)) != DB_OK)
                goto fail;
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
        for (i = 0; i < r->nrules_shown; i++) {
                struct check_rule_mismatch *m = &r->rules_shown[i];

                free(m->unit);
                free(m->period);
                free(m->rule);
                free(m->column);
                free(m->stored);
                free(m->expected);
        }
        free(r->rules_shown);
        for (i = 0; i < r->nreviews_shown; i++) {
                struct check_review_mismatch *m = &r->reviews_shown[i];

                free(m->unit);
                free(m->period);
                free(m->column);
                free(m->stored);
                free(m->expected);
        }
        free(r->reviews_shown);
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
        for (i = 0; i < r->nrules_shown; i++) {
                const struct check_rule_mismatch *m = &r->rules_shown[i];

                fprintf(fp,
                        "mismatch: unit %s, period %s, rule %s, column %s: stored %s, expected "
                        "%s\n",
                        m->unit, m->period, m->rule, m->column, m->stored, m->expected);
        }
        if (r->rule_mismatches > r->nrules_shown)
                fprintf(fp, "... and %" PRIu64 " more rule_violation mismatches\n",
                        r->rule_mismatches - (uint64_t)r->nrules_shown);
        if (r->rule_mismatches == 0)
                fprintf(fp,
                        "check: ok: rule_violation (%" PRIu64 " rows) matches the violations of "
                        "%" PRIu64 " rules recomputed from the stored values; %.1f s\n",
                        r->violations, r->rules, r->rule_seconds);
        else
                fprintf(fp,
                        "check: %" PRIu64 " mismatches between rule_violation (%" PRIu64
                        " rows) and the violations of %" PRIu64
                        " rules recomputed from the stored values; %.1f s\n",
                        r->rule_mismatches, r->violations, r->rules, r->rule_seconds);
        for (i = 0; i < r->nreviews_shown; i++) {
                const struct check_review_mismatch *m = &r->reviews_shown[i];

                fprintf(fp,
                        "mismatch: review unit %s, period %s, column %s: stored %s, expected "
                        "%s\n",
                        m->unit, m->period, m->column, m->stored, m->expected);
        }
        if (r->review_mismatches > r->nreviews_shown)
                fprintf(fp, "... and %" PRIu64 " more review mismatches\n",
                        r->review_mismatches - (uint64_t)r->nreviews_shown);
        if (r->review_mismatches == 0)
                fprintf(fp,
                        "check: ok: review (%" PRIu64 " rows) names known units and matches the "
                        "last of %" PRIu64 " review_history rows of each unit and period\n",
                        r->reviews, r->review_history);
        else
                fprintf(fp,
                        "check: %" PRIu64 " mismatches between review (%" PRIu64
                        " rows) and the last of %" PRIu64
                        " review_history rows of each unit and period, or the units\n",
                        r->review_mismatches, r->reviews, r->review_history);
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
        code = rep.mismatches == 0 && rep.rule_mismatches == 0 && rep.review_mismatches == 0
                   ? CHECK_EXIT_OK
                   : CHECK_EXIT_MISMATCH;
        check_report_free(&rep);
        PQfinish(conn);
        return code;
}
