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
 * full, 1 when some have not, 2 when it cannot answer (no such
 * unit or period, no database).  The SQL is parameterized; it only reads.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "period.h"
#include "util.h"

static void
usage(void)
{
        fprintf(stderr, "usage: edustat-report missing --period PERIOD [--unit CODE] "
                        "[--db-url CONNINFO]\n"
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

/* The summary per unit with children at or below unit, root first. */
static const char summary_sql[] =
    "SELECT o.code, o.name, c.expected, c.reported, c.reported_on_time, c.rate, c.due,"
    "       c.partial"
    "  FROM edustat.completeness c"
    "  JOIN edustat.orgunit o ON o.code = c.unit"
    "  JOIN edustat.orgunit_closure k ON k.unit = c.unit AND k.ancestor = $2"
    " WHERE c.period = $1 AND c.stage IS NULL"
    " ORDER BY k.distance, o.code";

/* Every school at or below unit without a value for the period. */
static const char missing_sql[] =
    "SELECT s.code, s.name, coalesce(s.stage, ''), coalesce(d.name, '')"
    "  FROM edustat.orgunit_closure k"
    "  JOIN edustat.orgunit s ON s.code = k.unit AND s.is_leaf"
    "  LEFT JOIN edustat.orgunit_closure dk ON dk.unit = s.code"
    "   AND dk.ancestor IN (SELECT code FROM edustat.orgunit WHERE depth = 1)"
    "  LEFT JOIN edustat.orgunit d ON d.code = dk.ancestor"
    " WHERE k.ancestor = $2"
    "   AND NOT EXISTS (SELECT 1 FROM edustat.unit_value v"
    "                    WHERE v.unit = s.code AND v.period = $1)"
    " ORDER BY d.name, s.code";

/* Every partial school at or below unit and each indicator it owes, in form order. */
static const char owed_sql[] =
    "SELECT w.school, w.name, coalesce(w.stage, ''), coalesce(d.name, ''), w.indicator,"
    "       coalesce(w.name_zh, '')"
    "  FROM edustat.form_owed w"
    "  JOIN edustat.orgunit_closure k ON k.unit = w.school AND k.ancestor = $2"
    "  JOIN edustat.form f ON f.stage = w.stage AND f.indicator = w.indicator"
    "  LEFT JOIN edustat.orgunit_closure dk ON dk.unit = w.school"
    "   AND dk.ancestor IN (SELECT code FROM edustat.orgunit WHERE depth = 1)"
    "  LEFT JOIN edustat.orgunit d ON d.code = dk.ancestor"
    " WHERE w.period = $1 AND w.partial"
    " ORDER BY d.name, w.school, f.line";

/* Print the partial schools and what each owes.  Returns their count, or -1. */
static int
owed_print(PGconn *c, const char *period, const char *unit)
{
        PGresult *r = query(c, owed_sql, period, unit);
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

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"period", required_argument, NULL, 'p'},
            {"unit", required_argument, NULL, 'u'},
            {"db-url", required_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *period = NULL, *unit = NULL, *url = env_or("EDUSTAT_DB_URL", "");
        char root[128];
        PGconn *c;
        PGresult *r;
        int ch, npartial, rc = 0;

        if (argc < 2 || strcmp(argv[1], "missing") != 0)
                usage();
        optind = 2;
        while ((ch = getopt_long(argc, argv, "p:u:d:h", opts, NULL)) != -1) {
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
                default:
                        usage();
                }
        }
        if (period == NULL || optind != argc)
                usage();
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

        if ((r = query(c, summary_sql, period, unit)) == NULL) {
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

        if ((r = query(c, missing_sql, period, unit)) == NULL) {
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
