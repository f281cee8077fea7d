/*
 * cfgload: the shared reader of config CSV files (see cfgload.h).
 */
#include "cfgload.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"

void
cfgload_fail(const struct cfgload *cl, unsigned long line, const char *fmt, ...)
{
        /* Room for the longest problem a loader writes (orgtree's cycles). */
        char msg[1400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        strlcpyf(cl->err, cl->errlen, "%s:%lu: %s", cl->path, line, msg);
}

int
cfgload_show(const char *s, size_t len)
{
        if (len <= CFGLOAD_SHOW_MAX)
                return (int)len;
        len = CFGLOAD_SHOW_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
                len--;
        return (int)len;
}

struct cfgload_field
cfgload_trimmed(const char *s, size_t len)
{
        struct cfgload_field f;

        f.s = csvread_trim(s, &len);
        f.len = len;
        return f;
}

struct cfgload_field
cfgload_column(const struct csvrow *row, const int *col, int k)
{
        struct cfgload_field none = {"", 0};

        if (col[k] < 0)
                return none;
        return cfgload_trimmed(row->fields[col[k]], row->lens[col[k]]);
}

int
cfgload_code_valid(const char *s, size_t len, size_t max)
{
        if (len < 1 || len > max)
                return 0;
        for (size_t i = 0; i < len; i++) {
                char ch = s[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
                        return 0;
        }
        return 1;
}

int
cfgload_read(struct cfgload *cl, const struct cfgload_file *file, void *ctx)
{
        struct csvread *r;
        struct csvrow row;
        struct stat st;
        int col[CFGLOAD_MAX_COLS], rc, ret = -1;
        size_t nrows = 0, hdr_fields;
        char msg[256], why[128];

        assert(file->ncols <= CFGLOAD_MAX_COLS);
        cl->header_line = 1;
        if (file->optional && stat(cl->path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR))
                return 0;
        if ((r = csvread_open(cl->path, cl->err, cl->errlen)) == NULL)
                return -1;
        rc = csvread_next(r, &row, msg, sizeof(msg));
        if (rc == CSVREAD_EOF) {
                cfgload_fail(cl, 1, "empty file: expected the header %s", file->header);
                goto out;
        }
        if (rc != CSVREAD_ROW) {
                cfgload_fail(cl, row.line, "%s", msg);
                goto out;
        }
        cl->header_line = row.line;
        if (csvread_columns(&row, file->cols, file->ncols, col, why, sizeof(why)) != 0) {
                if (file->header_hint)
                        cfgload_fail(cl, row.line, "%s (the header is %s)", why, file->header);
                else
                        cfgload_fail(cl, row.line, "%s", why);
                goto out;
        }
        hdr_fields = row.nfields;
        while ((rc = csvread_next(r, &row, msg, sizeof(msg))) != CSVREAD_EOF) {
                if (rc != CSVREAD_ROW) {
                        cfgload_fail(cl, row.line, "%s", msg);
                        goto out;
                }
                if (row.nfields != hdr_fields) {
                        cfgload_fail(cl, row.line, "row has %zu fields, the header has %zu",
                                     row.nfields, hdr_fields);
                        goto out;
                }
                if (file->max_rows > 0 && nrows == file->max_rows) {
                        cfgload_fail(cl, row.line, "more than %zu rows", file->max_rows);
                        goto out;
                }
                if (file->row(ctx, &row, col) != 0)
                        goto out;
                nrows++;
        }
        ret = 0;
out:
        csvread_close(&r);
        return ret;
}
