/*
 * export: the 过录表 of edustat-report.  See export.h.
 *
 * Four reads (the unit, its indicators with data, its schools, every
 * agg_value row at or below it), then the table is laid out in memory as
 * rows of pointers into those results and written in one pass.  The
 * results are bounded by the tree and the catalogue; the row and column
 * caps are the worksheet's.
 */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "sinksql.h"
#include "strmap.h"
#include "util.h"

/* Fixed columns, before the indicators. */
enum { C_KIND, C_CODE, C_NAME, C_DISTRICT, C_STAGE, C_LOCALITY, C_OWNERSHIP, C_NFIXED };

static const char *const fixed_head[C_NFIXED] = {
    "类型(row)",   "代码(code)",     "名称(name)",          "区县(district)",
    "学段(stage)", "城乡(locality)", "办学性质(ownership)",
};

/* Most fraction digits a number format shows. */
#define MAX_DECIMALS 10

enum row_kind { ROW_SCHOOL, ROW_SUBTOTAL, ROW_TOTAL };

static const char *const kind_text[] = {"学校", "小计", "合计"};

struct row {
        enum row_kind kind;
        const char *unit; /* whose agg_value fills the indicator cells */
        const char *fixed[C_NFIXED];
};

struct table {
        PGresult *unit, *ind, *sch, *val;
        struct strmap *cell; /* "unit\x1findicator" -> row of val */
        struct row *rows;
        size_t nrows, nschools, ndistricts;
        int nind;
        char *key; /* lookup buffer */
        size_t keycap;
};

static PGresult *
read_rows(PGconn *c, const char *sql, int n, const char *p1, const char *p2)
{
        const char *params[2] = {p1, p2};
        PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "edustat-report: reading the database: %s",
                        PQresultErrorMessage(r));
                PQclear(r);
                return NULL;
        }
        return r;
}

/* The val row of unit's indicator j, or -1 when it has none. */
static int
cell_of(struct table *t, const char *unit, int j)
{
        const char *ind = PQgetvalue(t->ind, j, 0);
        size_t len = strlen(unit) + 1 + strlen(ind);

        if (len + 1 > t->keycap) {
                t->keycap = len + 1;
                t->key = xrealloc(t->key, t->keycap);
        }
        snprintf(t->key, t->keycap, "%s\x1f%s", unit, ind);
        return strmap_get(t->cell, t->key, len);
}

/* The text of a cell (exact, or for the CSV the ratio rounded), or NULL. */
static const char *
cell_text(struct table *t, const struct row *r, int j, int rounded)
{
        int k = cell_of(t, r->unit, j);

        if (k < 0 || PQgetisnull(t->val, k, 2))
                return NULL;
        return PQgetvalue(t->val, k, rounded ? 3 : 2);
}

static void
add_row(struct table *t, size_t *cap, enum row_kind kind, const char *unit)
{
        struct row *r;

        if (t->nrows == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                t->rows = xreallocarray(t->rows, *cap, sizeof *t->rows);
        }
        r = &t->rows[t->nrows++];
        memset(r, 0, sizeof *r);
        r->kind = kind;
        r->unit = unit;
        r->fixed[C_KIND] = kind_text[kind];
        for (int k = C_CODE; k < C_NFIXED; k++)
                r->fixed[k] = "";
}

/* A district's subtotal row after its schools. */
static void
add_subtotal(struct table *t, size_t *cap, int school)
{
        struct row *r;

        add_row(t, cap, ROW_SUBTOTAL, PQgetvalue(t->sch, school, 2));
        r = &t->rows[t->nrows - 1];
        r->fixed[C_CODE] = PQgetvalue(t->sch, school, 2);
        r->fixed[C_NAME] = PQgetvalue(t->sch, school, 3);
        r->fixed[C_DISTRICT] = PQgetvalue(t->sch, school, 3);
        t->ndistricts++;
}

/* Read and lay out the table; 0, or 2 after a message. */
static int
table_load(struct table *t, PGconn *c, const char *unit, const char *period)
{
        size_t cap = 0;
        int subtotals, ns;

        if ((t->unit = read_rows(c, sinksql_report_export_unit, 1, unit, NULL)) == NULL)
                return 2;
        if (PQntuples(t->unit) != 1) {
                fprintf(stderr,
                        "edustat-report: no unit %s in the org tree (check the code against "
                        "orgunits.csv)\n",
                        unit);
                return 2;
        }
        if ((t->ind = read_rows(c, sinksql_report_export_indicators, 2, unit, period)) == NULL)
                return 2;
        t->nind = PQntuples(t->ind);
        if (t->nind == 0) {
                fprintf(stderr,
                        "edustat-report: no values at or below %s %s for period %s (nothing "
                        "was submitted for it yet)\n",
                        unit, PQgetvalue(t->unit, 0, 1), period);
                return 2;
        }
        if (t->nind > EXPORT_MAX_INDICATORS) {
                fprintf(stderr,
                        "edustat-report: %d indicators have values, more than the %d "
                        "columns a worksheet holds\n",
                        t->nind, EXPORT_MAX_INDICATORS);
                return 2;
        }
        if ((t->sch = read_rows(c, sinksql_report_export_schools, 1, unit, NULL)) == NULL)
                return 2;
        ns = PQntuples(t->sch);
        /* Schools, at most one subtotal each, and the total. */
        if ((size_t)ns * 2 + 1 > EXPORT_MAX_ROWS) {
                fprintf(stderr,
                        "edustat-report: %d schools below %s, more than a worksheet "
                        "holds\n",
                        ns, unit);
                return 2;
        }
        if ((t->val = read_rows(c, sinksql_report_export_values, 2, unit, period)) == NULL)
                return 2;
        t->cell = strmap_new((size_t)PQntuples(t->val));
        for (int i = 0; i < PQntuples(t->val); i++) {
                const char *u = PQgetvalue(t->val, i, 0), *ind = PQgetvalue(t->val, i, 1);
                size_t len = strlen(u) + 1 + strlen(ind);
                char *key = xmalloc(len + 1);

                snprintf(key, len + 1, "%s\x1f%s", u, ind);
                if (strmap_put(t->cell, key, len, i) < 0) {
                        free(key);
                        fprintf(stderr, "edustat-report: too many values below %s\n", unit);
                        return 2;
                }
                free(key);
        }

        /* Subtotals per district: below the root, or for one district. */
        subtotals = atoi(PQgetvalue(t->unit, 0, 2)) <= 1;
        for (int i = 0; i < ns; i++) {
                struct row *r;

                if (subtotals && i > 0 && *PQgetvalue(t->sch, i - 1, 2) != '\0' &&
                    strcmp(PQgetvalue(t->sch, i - 1, 2), PQgetvalue(t->sch, i, 2)) != 0)
                        add_subtotal(t, &cap, i - 1);
                add_row(t, &cap, ROW_SCHOOL, PQgetvalue(t->sch, i, 0));
                r = &t->rows[t->nrows - 1];
                r->fixed[C_CODE] = PQgetvalue(t->sch, i, 0);
                r->fixed[C_NAME] = PQgetvalue(t->sch, i, 1);
                r->fixed[C_DISTRICT] = PQgetvalue(t->sch, i, 3);
                r->fixed[C_STAGE] = PQgetvalue(t->sch, i, 4);
                r->fixed[C_LOCALITY] = PQgetvalue(t->sch, i, 5);
                r->fixed[C_OWNERSHIP] = PQgetvalue(t->sch, i, 6);
        }
        if (subtotals && ns > 0 && *PQgetvalue(t->sch, ns - 1, 2) != '\0')
                add_subtotal(t, &cap, ns - 1);
        add_row(t, &cap, ROW_TOTAL, PQgetvalue(t->unit, 0, 0));
        t->rows[t->nrows - 1].fixed[C_CODE] = PQgetvalue(t->unit, 0, 0);
        t->rows[t->nrows - 1].fixed[C_NAME] = PQgetvalue(t->unit, 0, 1);
        t->nschools = (size_t)ns;
        return 0;
}

static void
table_free(struct table *t)
{
        PQclear(t->unit);
        PQclear(t->ind);
        PQclear(t->sch);
        PQclear(t->val);
        strmap_destroy(&t->cell);
        free(t->rows);
        free(t->key);
}

/* One CSV field, quoted when it holds a comma, a quote or a line end. */
static void
csv_field(FILE *fp, const char *s, int first)
{
        if (!first)
                fputc(',', fp);
        if (strpbrk(s, ",\"\r\n") == NULL) {
                fputs(s, fp);
                return;
        }
        fputc('"', fp);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', fp);
                fputc(*s, fp);
        }
        fputc('"', fp);
}

/* The header of indicator j: name_zh(code). */
static void
ind_head(const struct table *t, int j, char *buf, size_t len)
{
        strlcpyf(buf, len, "%s(%s)", PQgetvalue(t->ind, j, 1), PQgetvalue(t->ind, j, 0));
}

static int
write_csv(struct table *t, const char *path)
{
        FILE *fp = fopen(path, "wb");
        char head[1024];

        if (fp == NULL) {
                fprintf(stderr, "edustat-report: cannot write %s: %s\n", path, strerror(errno));
                return 2;
        }
        fputs("\xef\xbb\xbf", fp);
        for (int k = 0; k < C_NFIXED; k++)
                csv_field(fp, fixed_head[k], k == 0);
        for (int j = 0; j < t->nind; j++) {
                ind_head(t, j, head, sizeof head);
                csv_field(fp, head, 0);
        }
        fputs("\r\n", fp);
        for (size_t i = 0; i < t->nrows; i++) {
                const struct row *r = &t->rows[i];

                for (int k = 0; k < C_NFIXED; k++)
                        csv_field(fp, r->fixed[k], k == 0);
                for (int j = 0; j < t->nind; j++) {
                        const char *v = cell_text(t, r, j, 1);

                        csv_field(fp, v ? v : "", 0);
                }
                fputs("\r\n", fp);
        }
        if (ferror(fp) || fclose(fp) != 0) {
                fprintf(stderr, "edustat-report: cannot write %s: %s\n", path, strerror(errno));
                unlink(path);
                return 2;
        }
        return 0;
}

/* "0", "0.0", "0.00", ...: decimals fraction digits (0..MAX_DECIMALS). */
static void
num_format(int decimals, char *buf, size_t len)
{
        int k = 0;

        if (decimals < 0)
                decimals = 0;
        if (decimals > MAX_DECIMALS)
                decimals = MAX_DECIMALS;
        buf[k++] = '0';
        if (decimals > 0)
                buf[k++] = '.';
        for (int d = 0; d < decimals && (size_t)k + 1 < len; d++)
                buf[k++] = '0';
        buf[k] = '\0';
}

static int
write_xlsx(struct table *t, const char *path, const char *period)
{
        lxw_workbook *wb = workbook_new(path);
        lxw_worksheet *ws;
        lxw_format *bold, *head, **num, **num_bold;
        lxw_error err;
        char text[1024];

        if (wb == NULL) {
                fprintf(stderr, "edustat-report: cannot write %s\n", path);
                return 2;
        }
        ws = workbook_add_worksheet(wb, "过录表");
        bold = workbook_add_format(wb);
        format_set_bold(bold);
        head = workbook_add_format(wb);
        format_set_bold(head);
        format_set_text_wrap(head);
        num = xcalloc((size_t)t->nind, sizeof *num);
        num_bold = xcalloc((size_t)t->nind, sizeof *num_bold);
        for (int j = 0; j < t->nind; j++) {
                char fmt[MAX_DECIMALS + 3];

                num_format(atoi(PQgetvalue(t->ind, j, 2)), fmt, sizeof fmt);
                num[j] = workbook_add_format(wb);
                format_set_num_format(num[j], fmt);
                num_bold[j] = workbook_add_format(wb);
                format_set_num_format(num_bold[j], fmt);
                format_set_bold(num_bold[j]);
        }

        strlcpyf(text, sizeof text, "过录表 %s %s(%s) %s", period, PQgetvalue(t->unit, 0, 1),
                 PQgetvalue(t->unit, 0, 0), "(edustat: 小计、合计为系统汇总值)");
        worksheet_write_string(ws, 0, 0, text, bold);
        for (int k = 0; k < C_NFIXED; k++)
                worksheet_write_string(ws, 1, (lxw_col_t)k, fixed_head[k], head);
        for (int j = 0; j < t->nind; j++) {
                ind_head(t, j, text, sizeof text);
                worksheet_write_string(ws, 1, (lxw_col_t)(C_NFIXED + j), text, head);
        }
        for (size_t i = 0; i < t->nrows; i++) {
                const struct row *r = &t->rows[i];
                lxw_row_t y = (lxw_row_t)(i + 2);

                for (int k = 0; k < C_NFIXED; k++)
                        if (*r->fixed[k] != '\0')
                                worksheet_write_string(ws, y, (lxw_col_t)k, r->fixed[k],
                                                       r->kind == ROW_SCHOOL ? NULL : bold);
                for (int j = 0; j < t->nind; j++) {
                        const char *v = cell_text(t, r, j, 0);

                        if (v != NULL)
                                worksheet_write_number(
                                    ws, y, (lxw_col_t)(C_NFIXED + j), strtod(v, NULL),
                                    r->kind == ROW_SCHOOL ? num[j] : num_bold[j]);
                }
        }
        worksheet_set_column(ws, C_KIND, C_KIND, 6, NULL);
        worksheet_set_column(ws, C_CODE, C_CODE, 12, NULL);
        worksheet_set_column(ws, C_NAME, C_NAME, 28, NULL);
        worksheet_set_column(ws, C_DISTRICT, C_OWNERSHIP, 10, NULL);
        if (t->nind > 0)
                worksheet_set_column(ws, C_NFIXED, (lxw_col_t)(C_NFIXED + t->nind - 1), 14, NULL);
        /* The title and header rows, and the type, code and name columns. */
        worksheet_freeze_panes(ws, 2, C_NAME + 1);
        err = workbook_close(wb);
        free(num);
        free(num_bold);
        if (err != LXW_NO_ERROR) {
                fprintf(stderr, "edustat-report: cannot write %s: %s\n", path, lxw_strerror(err));
                unlink(path);
                return 2;
        }
        return 0;
}

int
export_run(PGconn *conn, const char *unit, const char *period, enum export_format fmt,
           const char *path)
{
        struct table t;
        int rc;

        memset(&t, 0, sizeof t);
        rc = table_load(&t, conn, unit, period);
        if (rc == 0)
                rc = fmt == EXPORT_CSV ? write_csv(&t, path) : write_xlsx(&t, path, period);
        if (rc == 0)
                printf("%s: %s %s, %s: %zu schools, %zu district subtotals, %d indicators\n", path,
                       PQgetvalue(t.unit, 0, 0), PQgetvalue(t.unit, 0, 1), period, t.nschools,
                       t.ndistricts, t.nind);
        table_free(&t);
        return rc;
}
