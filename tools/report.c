/*
 * edustat-report: answers for a person at a terminal, from PostgreSQL.
 *
 *   edustat-report missing --period P [--unit CODE] [--db-url CONNINFO]
 *
 * prints, for the unit (default: the root of the tree) and each unit below
 * it that has children, how many schools should report for the period, how
 * many did, how many on time and how many only in part (edustat.completeness),
 * then every school that has not reported, one per line with its district,
 * then every partial school (one that stores some but not all of its
 * stage's form, forms.csv) with the indicators it still owes, code and
 * Chinese name (edustat.form_owed).  Exit 0 when every school reported in
 * full, 1 when some have not, 2 when it cannot answer (no such unit or
 * period, no database).
 *
 *   edustat-report export --unit CODE --period P [--format xlsx|csv]
 *                  [-o FILE] [--db-url CONNINFO]
 *
 * writes the 过录表 of the unit (export.h): one row per school at or below
 * it, district subtotals and the total from agg_value.  The format is
 * --format, else FILE's extension (.csv or .xlsx), else xlsx; FILE is by
 * default CODE_PERIOD.xlsx (or .csv).  Exit 0 when written, 2 when not.
 *
 *   edustat-report review --unit CODE --period P [--db-url CONNINFO]
 *
 * prints the unit and every unit below it as a tree, indented by depth, one
 * line each: "CODE NAME  STATE  by NAME at TIME" (by and at once someone
 * acted on it; the approval's comment or the return's reason after it).
 * Under an open unit that is not ready to finish: what blocks it of its own
 * (edustat.review_status's blockers: missing indicators, errors, unexplained
 * warnings), one per line, and how many units below are not yet approved.
 * Exit 0; 2 when it cannot answer (no such unit, a bad period, no
 * database).
 *
 *   edustat-report bulletin --unit CODE --period P [--format html|xlsx|md|json]
 *                  [-o FILE] [--db-url CONNINFO]
 *
 * writes the 统计公报 of the unit (bulletin.h), laid out by the config's
 * bulletin.csv when there is one (EDUSTAT_CONFIG, default ./config).  The
 * format is --format, else FILE's extension, else html; FILE is by default
 * CODE_PERIOD_bulletin.html (or .xlsx, .md, .json).  Exit 0 when written,
 * 2 when not.
 *
 * The SQL is in sink/sql/report/, parameterized; it only reads.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "bulletin.h"
#include "export.h"
#include "period.h"
#include "sinksql.h"
#include "util.h"

static void
usage(void)
{
        fprintf(stderr, "usage: edustat-report missing --period PERIOD [--unit CODE] "
                        "[--db-url CONNINFO]\n"
                        "       edustat-report export --unit CODE --period PERIOD "
                        "[--format xlsx|csv] [-o FILE] [--db-url CONNINFO]\n"
                        "       edustat-report review --unit CODE --period PERIOD "
                        "[--db-url CONNINFO]\n"
                        "       edustat-report bulletin --unit CODE --period PERIOD "
                        "[--format html|xlsx|md|json] [-o FILE] [--db-url CONNINFO]\n"
                        "Environment: EDUSTAT_DB_URL (libpq connection string)\n");
        exit(2);
}

static PGresult *
query(PGconn *c, const char *sql, const char *p1, const char *p2)
{
        const char *params[2] = {p1, p2};
        PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "edustat-report: %s", PQresultErrorMessage(r));
                PQclear(r);
                return NULL;
        }
        return r;
}

/* Print the partial schools and what each owes.  Returns their count, or -1. */
static int
owed_print(PGconn *c, const char *period, const char *unit)
{
        PGresult *r = query(c, sinksql_report_missing_owed, period, unit);
        int nschools = 0;

        if (r == NULL)
                return -1;
        for (int i = 0; i < PQntuples(r); i++)
                if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0)
                        nschools++;
        /* Nothing at all without forms.csv: the report reads as it did before forms. */
        if (nschools > 0)
                printf("\n%d school(s) have reported only part of their form for %s:\n", nschools,
                       period);
        for (int i = 0; i < PQntuples(r); i++) {
                if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0)
                        printf("  %-12s %s (%s%s%s) still owes:\n", PQgetvalue(r, i, 0),
                               PQgetvalue(r, i, 1), PQgetvalue(r, i, 3),
                               *PQgetvalue(r, i, 2) ? ", " : "", PQgetvalue(r, i, 2));
                printf("      %-24s %s\n", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
        }
        PQclear(r);
        return nschools;
}

/* `edustat-report review`: the tree below unit with its review states.  Returns the exit code. */
static int
review_print(PGconn *c, const char *period, const char *unit)
{
        PGresult *r = query(c, sinksql_report_review_unit, period, unit);

        if (r == NULL)
                return 2;
        if (PQntuples(r) != 1) {
                fprintf(stderr,
                        "edustat-report: unknown unit \"%s\" (not a unit of orgunits.csv)\n", unit);
                PQclear(r);
                return 2;
        }
        PQclear(r);
        if ((r = query(c, sinksql_report_review_tree, period, unit)) == NULL)
                return 2;
        printf("review of %s for %s\n", unit, period);
        for (int i = 0; i < PQntuples(r); i++) {
                int depth = atoi(PQgetvalue(r, i, 2));
                int indent = 2 * (depth < 40 ? depth : 40);
                long nopen = atol(PQgetvalue(r, i, 10)), nsub = atol(PQgetvalue(r, i, 11));
                const char *state = PQgetvalue(r, i, 3);

                printf("%*s%s %s  %s", indent, "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), state);
                if (!PQgetisnull(r, i, 4))
                        printf("  by %s at %s", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
                if (!PQgetisnull(r, i, 6))
                        printf("  (%s%s)", strcmp(state, "open") == 0 ? "returned: " : "",
                               PQgetvalue(r, i, 6));
                if (strcmp(PQgetvalue(r, i, 7), "t") != 0)
                        printf("  (no data)");
                else if (strcmp(state, "open") == 0 && strcmp(PQgetvalue(r, i, 8), "t") == 0)
                        printf("  ready to finish");
                printf("\n");
                if (strcmp(state, "open") != 0 || strcmp(PQgetvalue(r, i, 7), "t") != 0 ||
                    strcmp(PQgetvalue(r, i, 8), "t") == 0)
                        continue;
                if (!PQgetisnull(r, i, 9)) {
                        const char *b = PQgetvalue(r, i, 9);

                        while (*b != '\0') {
                                size_t n = strcspn(b, "\n");

                                printf("%*s  blocked: %.*s\n", indent, "", (int)n, b);
                                b += n + (b[n] == '\n');
                        }
                }
                if (nopen + nsub > 0)
                        printf("%*s  blocked: %ld unit%s below not approved (%ld open, %ld "
                               "submitted)\n",
                               indent, "", nopen + nsub, nopen + nsub == 1 ? "" : "s", nopen, nsub);
        }
        PQclear(r);
        return 0;
}

/*
 * The bulletin's format: --format, else the extension of -o, else html; and
 * its file, by default CODE_PERIOD_bulletin.EXT in buf.  Returns 0, or -1
 * after a message on a bad format.
 */
static int
bulletin_format_pick(const char *format, const char **out, char *buf, size_t len, const char *unit,
                     const char *period, enum bulletin_format *fmt)
{
        static const char *const names[] = {"html", "xlsx", "md", "json"};
        const char *ext = *out ? strrchr(*out, '.') : NULL;

        *fmt = BULLETIN_HTML;
        for (int k = 0; k < 4; k++)
                if (format ? strcmp(format, names[k]) == 0
                           : ext != NULL && strcasecmp(ext + 1, names[k]) == 0)
                        *fmt = (enum bulletin_format)k;
        if (format != NULL && strcmp(format, names[*fmt]) != 0) {
                fprintf(stderr, "edustat-report: bad format \"%s\" (html, xlsx, md or json)\n",
                        format);
                return -1;
        }
        if (*out == NULL) {
                strlcpyf(buf, len, "%s_%s_bulletin.%s", unit, period, names[*fmt]);
                *out = buf;
        }
        return 0;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"period", required_argument, NULL, 'p'},
            {"unit", required_argument, NULL, 'u'},
            {"db-url", required_argument, NULL, 'd'},
            {"format", required_argument, NULL, 'f'},
            {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *period = NULL, *unit = NULL, *url = env_or("EDUSTAT_DB_URL", "");
        const char *format = NULL, *out = NULL;
        char root[128], outbuf[512];
        enum export_format fmt = EXPORT_XLSX;
        PGconn *c;
        PGresult *r;
        int ch, rc = 0, npartial, export, review, bulletin;
        enum bulletin_format bfmt = BULLETIN_HTML;

        if (argc < 2 || (strcmp(argv[1], "missing") != 0 && strcmp(argv[1], "export") != 0 &&
                         strcmp(argv[1], "review") != 0 && strcmp(argv[1], "bulletin") != 0))
                usage();
        export = strcmp(argv[1], "export") == 0;
        review = strcmp(argv[1], "review") == 0;
        bulletin = strcmp(argv[1], "bulletin") == 0;
        optind = 2;
        while ((ch = getopt_long(argc, argv, "p:u:d:f:o:h", opts, NULL)) != -1) {
                switch (ch) {
                case 'p':
                        period = optarg;
                        break;
                case 'u':
                        unit = optarg;
                        break;
                case 'd':
                        url = optarg;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                default:
                        usage();
                }
        }
        if (period == NULL || optind != argc || (!export && !bulletin && (format || out)) ||
            ((export || review || bulletin) && unit == NULL))
                usage();
        if (bulletin &&
            bulletin_format_pick(format, &out, outbuf, sizeof outbuf, unit, period, &bfmt) != 0)
                return 2;
        if (export) {
                size_t n = out ? strlen(out) : 0;

                if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0) {
                        fprintf(stderr, "edustat-report: bad format \"%s\" (xlsx or csv)\n",
                                format);
                        return 2;
                }
                if (format != NULL)
                        fmt = strcmp(format, "csv") == 0 ? EXPORT_CSV : EXPORT_XLSX;
                else if (n >= 4 && strcasecmp(out + n - 4, ".csv") == 0)
                        fmt = EXPORT_CSV;
                if (out == NULL) {
                        strlcpyf(outbuf, sizeof outbuf, "%s_%s.%s", unit, period,
                                 fmt == EXPORT_CSV ? "csv" : "xlsx");
                        out = outbuf;
                }
        }
        if (!period_valid(period, strlen(period))) {
                fprintf(stderr,
                        "edustat-report: bad period \"%s\" (YYYY, YYYYS1-S2, YYYYQ1-Q4, "
                        "YYYYMM)\n",
                        period);
                return 2;
        }
        c = PQconnectdb(url);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "edustat-report: %s", PQerrorMessage(c));
                PQfinish(c);
                return 2;
        }
        if (bulletin) {
                rc = bulletin_run(c, unit, period, bfmt, out, env_or("EDUSTAT_CONFIG", "./config"));
                PQfinish(c);
                return rc;
        }
        if (export) {
                rc = export_run(c, unit, period, fmt, out);
                PQfinish(c);
                return rc;
        }
        if (review) {
                rc = review_print(c, period, unit);
                PQfinish(c);
                return rc;
        }
        if (unit == NULL) {
                if ((r = query(c,
                               "SELECT code FROM edustat.orgunit WHERE depth = 0 AND $1 = $2"
                               " LIMIT 1",
                               "", "")) == NULL ||
                    PQntuples(r) != 1) {
                        fprintf(stderr, "edustat-report: no org units loaded\n");
                        PQclear(r);
                        PQfinish(c);
                        return 2;
                }
                strlcpyf(root, sizeof(root), "%s", PQgetvalue(r, 0, 0));
                PQclear(r);
                unit = root;
        }

        if ((r = query(c, sinksql_report_missing_summary, period, unit)) == NULL) {
                PQfinish(c);
                return 2;
        }
        if (PQntuples(r) == 0) {
                fprintf(stderr,
                        "edustat-report: no completeness for unit %s and period %s "
                        "(is the period in periods.csv, and the unit above schools?)\n",
                        unit, period);
                PQclear(r);
                PQfinish(c);
                return 2;
        }
        /* The name last: printf pads bytes, and Chinese names are 3 bytes a character. */
        printf("%s, due %s\n%-12s %8s %8s %8s %8s %8s  %s\n", period, PQgetvalue(r, 0, 6), "unit",
               "expected", "reported", "on time", "partial", "rate %", "name");
        for (int i = 0; i < PQntuples(r); i++)
                printf("%-12s %8s %8s %8s %8s %8s  %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 7),
                       PQgetvalue(r, i, 5), PQgetvalue(r, i, 1));
        PQclear(r);

        if ((r = query(c, sinksql_report_missing_schools, period, unit)) == NULL) {
                PQfinish(c);
                return 2;
        }
        printf("\n%d school(s) have not reported for %s:\n", PQntuples(r), period);
        for (int i = 0; i < PQntuples(r); i++)
                printf("  %-12s %s (%s%s%s)\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                       PQgetvalue(r, i, 3), *PQgetvalue(r, i, 2) ? ", " : "", PQgetvalue(r, i, 2));
        rc = PQntuples(r) > 0;
        PQclear(r);
        if ((npartial = owed_print(c, period, unit)) < 0) {
                PQfinish(c);
                return 2;
        }
        PQfinish(c);
        return rc || npartial > 0;
}
