/*
 * bench_intake_read: how fast the collector reads what schools send (make
 * bench, piece "intake"; bench/README.md).
 *
 *   bench_intake_read --config DIR --work DIR [--schools N] [--runs R]
 *
 * Writes one round of N schools x every count and amount indicator of
 * DIR/indicators.csv three ways into the work directory: a long UTF-8 CSV
 * (unit,period,indicator,value), a wide CSV and a wide .xlsx workbook
 * (libxlsxwriter, numbers as numbers), with the same values.  Then reads
 * each R times with submit_file(), the collector's own path (workbook
 * parsing, wide header mapping, number normalisation, catalogue checks),
 * and prints one line per run and figure:
 *
 *   intake_xlsx_cells_per_s      value cells of the workbook per second
 *   intake_long_csv_rps          records of the long CSV per second: the
 *                                baseline, the same values in the form the
 *                                collector has always read
 *   info_intake_wide_csv_cells_per_s
 *
 * as "metric TAB value TAB unit TAB note".  Exits 1 when a file cannot be
 * written or read, or a read does not give every value back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xlsxwriter.h>

#include "catalog.h"
#include "submit.h"
#include "util.h"

struct round {
        const struct catalog *cat;
        int *ind; /* submitted indicators */
        size_t nind, nschools;
};

/* The value of school s, indicator column c, as text. */
static void
value_text(const struct round *r, size_t s, size_t c, char *buf, size_t len)
{
        const struct indicator *in = &r->cat->ind[r->ind[c]];
        unsigned long v = (unsigned long)((s * 7919 + c * 104729) % 40960);

        if (in->kind == IND_AMOUNT && in->scale > 0)
                snprintf(buf, len, "%lu.%02lu", v, (unsigned long)((s + c) % 100));
        else
                snprintf(buf, len, "%lu", v);
}

static int
write_files(const struct round *r, const char *dir)
{
        char path[1024], v[64], code[32];
        FILE *lng, *wide;
        lxw_workbook *wb;
        lxw_worksheet *ws;
        lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL};

        snprintf(path, sizeof path, "%s/long.csv", dir);
        lng = fopen(path, "w");
        snprintf(path, sizeof path, "%s/wide.csv", dir);
        wide = fopen(path, "w");
        snprintf(path, sizeof path, "%s/wide.xlsx", dir);
        wb = workbook_new_opt(path, &opt);
        if (lng == NULL || wide == NULL || wb == NULL) {
                fprintf(stderr, "bench_intake_read: cannot write in %s\n", dir);
                return -1;
        }
        ws = workbook_add_worksheet(wb, NULL);
        fputs("unit,period,indicator,value\n", lng);
        fputs("unit,period", wide);
        worksheet_write_string(ws, 0, 0, "unit", NULL);
        worksheet_write_string(ws, 0, 1, "period", NULL);
        for (size_t c = 0; c < r->nind; c++) {
                fprintf(wide, ",%s", r->cat->ind[r->ind[c]].code);
                worksheet_write_string(ws, 0, (lxw_col_t)(c + 2), r->cat->ind[r->ind[c]].code,
                                       NULL);
        }
        fputc('\n', wide);
        for (size_t s = 0; s < r->nschools; s++) {
                lxw_row_t row = (lxw_row_t)(s + 1);

                snprintf(code, sizeof code, "B%07zu", s);
                fprintf(wide, "%s,2024", code);
                worksheet_write_string(ws, row, 0, code, NULL);
                worksheet_write_string(ws, row, 1, "2024", NULL);
                for (size_t c = 0; c < r->nind; c++) {
                        value_text(r, s, c, v, sizeof v);
                        fprintf(lng, "%s,2024,%s,%s\n", code, r->cat->ind[r->ind[c]].code, v);
                        fprintf(wide, ",%s", v);
                        worksheet_write_number(ws, row, (lxw_col_t)(c + 2), strtod(v, NULL), NULL);
                }
                fputc('\n', wide);
        }
        if (fclose(lng) != 0 || fclose(wide) != 0 || workbook_close(wb) != LXW_NO_ERROR) {
                fprintf(stderr, "bench_intake_read: cannot write in %s\n", dir);
                return -1;
        }
        return 0;
}

static double
now_s(void)
{
        return (double)now_us() / 1e6;
}

/* Read path once; the seconds it took, or -1 when it did not give want records. */
static double
read_once(const char *path, struct submit_catalog *sc, size_t want)
{
        struct submit_opts o = {.catalog = submit_catalog_get, .catalog_arg = sc};
        struct submission *s;
        char err[512];
        double t0 = now_s(), t;

        s = submit_file(path, &o, err, sizeof err);
        t = now_s() - t0;
        if (s == NULL || s->n != want || s->nrejected != 0) {
                fprintf(stderr, "bench_intake_read: %s: %s\n", path,
                        s == NULL ? err : "not every value read back");
                submission_destroy(&s);
                return -1;
        }
        submission_destroy(&s);
        return t;
}

int
main(int argc, char **argv)
{
        const char *config = NULL, *work = NULL;
        long schools = 10000, runs = 3;
        struct submit_catalog sc = {0};
        const struct catalog *cat;
        struct round r = {0};
        char err[512], path[1024];
        static const char *const names[] = {"wide.xlsx", "long.csv", "wide.csv"};
        static const char *const metrics[] = {"intake_xlsx_cells_per_s", "intake_long_csv_rps",
                                              "info_intake_wide_csv_cells_per_s"};
        static const char *const units[] = {"cells/s", "records/s", "cells/s"};

        for (int i = 1; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--config") == 0)
                        config = argv[i + 1];
                else if (strcmp(argv[i], "--work") == 0)
                        work = argv[i + 1];
                else if (strcmp(argv[i], "--schools") == 0)
                        schools = strtol(argv[i + 1], NULL, 10);
                else if (strcmp(argv[i], "--runs") == 0)
                        runs = strtol(argv[i + 1], NULL, 10);
        }
        if (config == NULL || work == NULL || schools < 1 || runs < 1) {
                fprintf(stderr, "usage: bench_intake_read --config DIR --work DIR "
                                "[--schools N] [--runs R]\n");
                return 2;
        }
        sc.dir = config;
        if ((cat = submit_catalog_get(&sc, err, sizeof err)) == NULL) {
                fprintf(stderr, "bench_intake_read: %s\n", err);
                return 1;
        }
        r.cat = cat;
        r.nschools = (size_t)schools;
        r.ind = xcalloc(cat->n + 1, sizeof *r.ind);
        for (size_t i = 0; i < cat->n; i++)
                if (cat->ind[i].kind != IND_RATIO)
                        r.ind[r.nind++] = (int)i;
        if (write_files(&r, work) < 0)
                return 1;
        for (long k = 0; k < runs; k++) {
                for (int f = 0; f < 3; f++) {
                        size_t n = r.nschools * r.nind;
                        double t;

                        snprintf(path, sizeof path, "%s/%s", work, names[f]);
                        if ((t = read_once(path, &sc, n)) < 0)
                                return 1;
                        printf("%s\t%.0f\t%s\t%zu schools x %zu indicators, run %ld\n", metrics[f],
                               (double)n / t, units[f], r.nschools, r.nind, k + 1);
                }
        }
        submit_catalog_clear(&sc);
        free(r.ind);
        return 0;
}
