/*
 * bench_naive_upsert: measurement 9a (bench/README.md), what a user without edustat
 * would write: one prepared INSERT ... ON CONFLICT DO UPDATE per row through
 * libpq, each in its own transaction (autocommit), so every row waits for
 * its own commit.
 *
 *   bench_naive_upsert --file ROWS.copy --table TABLE [--rows N] [--db CONNINFO]
 *
 * ROWS.copy holds COPY text lines "unit TAB period TAB indicator TAB value
 * TAB version TAB collector TAB batch_id" (rows/fresh.copy of bench/gen.py);
 * the first N lines (default 20000) are read into memory before the clock
 * starts, so only the statements are timed.  TABLE must have unit_value's
 * columns and primary key (bench/pg_baseline.sh creates it LIKE
 * edustat.unit_value).  CONNINFO defaults to "" (libpq's PG* environment).
 *
 * Prints one result line in bench/run.sh's format on stdout:
 *   naive_rps TAB rows/s TAB records/s TAB note
 * Exit 0 on success, 1 on a database or input error (named on stderr), 2 on
 * bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "util.h"

/* Our own generator writes short lines; anything longer is not its file. */
#define LINE_MAX_BYTES 1024
#define NFIELDS        7
#define MAX_ROWS       10000000L
#define TABLE_NAME_MAX 128

struct row {
        char *field[NFIELDS]; /* unit, period, indicator, value, version, collector, batch_id */
};

struct rows {
        struct row *r;
        size_t n, cap;
        char *text; /* every line, the fields point into it */
};

static void
usage(void)
{
        fprintf(stderr, "usage: bench_naive_upsert --file ROWS.copy --table TABLE [--rows N] "
                        "[--db CONNINFO]\n");
        exit(2);
}

/*
 * Split line (NUL-terminated, no newline) into the NFIELDS fields of r, in
 * place.  Returns 0, or -1 when the field count is wrong or a field uses a
 * COPY escape (our generator never writes one, so the file is not ours).
 */
static int
row_split(char *line, struct row *r)
{
        size_t i = 0;
        char *p = line;

        if (strchr(line, '\\') != NULL)
                return -1;
        for (;;) {
                char *tab = strchr(p, '\t');

                if (i == NFIELDS)
                        return -1;
                r->field[i++] = p;
                if (tab == NULL)
                        break;
                *tab = '\0';
                p = tab + 1;
        }
        return i == NFIELDS ? 0 : -1;
}

/*
 * Read the first max lines of path into rs.  Returns 0, or -1 after naming
 * the file and line that could not be used.
 */
static int
rows_read(const char *path, size_t max, struct rows *rs)
{
        FILE *f = fopen(path, "r");
        char line[LINE_MAX_BYTES];
        size_t used = 0, cap = 1 << 20;
        unsigned long lineno = 0;

        if (f == NULL) {
                log_warn("%s", path);
                return -1;
        }
        rs->cap = 1024;
        rs->r = xcalloc(rs->cap, sizeof(*rs->r));
        rs->text = xmalloc(cap);
        rs->n = 0;
        while (rs->n < max && fgets(line, sizeof(line), f) != NULL) {
                size_t len = strlen(line);

                lineno++;
                if (len == 0 || line[len - 1] != '\n') {
                        log_warnx("%s:%lu: line longer than %d bytes or without a newline", path,
                                  lineno, LINE_MAX_BYTES - 2);
                        fclose(f);
                        return -1;
                }
                line[--len] = '\0';
                if (used + len + 1 > cap) {
                        /* The fields point into text: fix them up after a move. */
                        char *old = rs->text;
                        size_t i, j;

                        cap = (used + len + 1) * 2;
                        rs->text = xrealloc(rs->text, cap);
                        for (i = 0; i < rs->n; i++)
                                for (j = 0; j < NFIELDS; j++)
                                        rs->r[i].field[j] = rs->text + (rs->r[i].field[j] - old);
                }
                if (rs->n == rs->cap) {
                        rs->cap *= 2;
                        rs->r = xreallocarray(rs->r, rs->cap, sizeof(*rs->r));
                }
                memcpy(rs->text + used, line, len + 1);
                if (row_split(rs->text + used, &rs->r[rs->n]) < 0) {
                        log_warnx("%s:%lu: want %d tab-separated fields without escapes", path,
                                  lineno, NFIELDS);
                        fclose(f);
                        return -1;
                }
                used += len + 1;
                rs->n++;
        }
        if (ferror(f)) {
                log_warn("%s: read", path);
                fclose(f);
                return -1;
        }
        fclose(f);
        return 0;
}

/* 1 when s is a plain (optionally schema-qualified) identifier. */
static int
table_name_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > TABLE_NAME_MAX)
                return 0;
        for (; *s; s++)
                if (!(*s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
                      (*s >= 'a' && *s <= 'z')))
                        return 0;
        return 1;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"file", required_argument, NULL, 'f'},
            {"table", required_argument, NULL, 't'},
            {"rows", required_argument, NULL, 'n'},
            {"db", required_argument, NULL, 'd'},
            {NULL, 0, NULL, 0},
        };
        const char *file = NULL, *table = NULL, *db = "";
        long nrows = 20000;
        char sql[512];
        struct rows rs;
        PGconn *conn;
        PGresult *res;
        int64_t t0, t1;
        size_t i;
        int c;

        log_init("bench_naive_upsert", 0);
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        file = optarg;
                        break;
                case 't':
                        table = optarg;
                        break;
                case 'n':
                        if (parse_long(optarg, 1, MAX_ROWS, &nrows) < 0) {
                                log_warnx("--rows %s: want 1..%ld", optarg, MAX_ROWS);
                                usage();
                        }
                        break;
                case 'd':
                        db = optarg;
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc || file == NULL || table == NULL)
                usage();
        if (!table_name_ok(table)) {
                log_warnx("--table %s: want a lower-case identifier, optionally with schema",
                          table);
                usage();
        }
        if (rows_read(file, (size_t)nrows, &rs) < 0)
                return 1;
        if (rs.n == 0) {
                log_warnx("%s: no rows", file);
                return 1;
        }

        conn = PQconnectdb(db);
        if (PQstatus(conn) != CONNECTION_OK) {
                log_warnx("connecting to PostgreSQL (\"%s\"): %s", db, PQerrorMessage(conn));
                PQfinish(conn);
                return 1;
        }
        /* What the pipeline guarantees too: a later version wins, never an older one. */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s AS t (unit, period, indicator, value, version, collector,"
                 " batch_id) VALUES ($1, $2, $3, $4::numeric, $5::bigint, $6, $7)"
                 " ON CONFLICT (unit, period, indicator) DO UPDATE"
                 " SET value = EXCLUDED.value, version = EXCLUDED.version,"
                 " collector = EXCLUDED.collector, batch_id = EXCLUDED.batch_id,"
                 " received_at = now()"
                 " WHERE t.version < EXCLUDED.version",
                 table);
        res = PQprepare(conn, "upsert", sql, NFIELDS, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                log_warnx("preparing the upsert into %s: %s", table, PQerrorMessage(conn));
                PQclear(res);
                PQfinish(conn);
                return 1;
        }
        PQclear(res);

        t0 = now_us();
        for (i = 0; i < rs.n; i++) {
                const char *const *params = (const char *const *)rs.r[i].field;

                res = PQexecPrepared(conn, "upsert", NFIELDS, params, NULL, NULL, 0);
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                        log_warnx("%s:%zu: upsert of (%s, %s, %s) into %s: %s", file, i + 1,
                                  rs.r[i].field[0], rs.r[i].field[1], rs.r[i].field[2], table,
                                  PQerrorMessage(conn));
                        PQclear(res);
                        PQfinish(conn);
                        return 1;
                }
                PQclear(res);
        }
        t1 = now_us();
        PQfinish(conn);

        printf("naive_rps\t%.1f\trecords/s\t%zu rows, prepared INSERT ON CONFLICT, autocommit per "
               "row, %.3f s\n",
               (double)rs.n * 1e6 / (double)(t1 - t0 > 0 ? t1 - t0 : 1), rs.n,
               (double)(t1 - t0) / 1e6);
        free(rs.r);
        free(rs.text);
        return 0;
}
