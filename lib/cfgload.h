/*
 * cfgload: what every loader of a config CSV file shares: orgunits.csv
 * (lib/orgtree.c), indicators.csv (lib/catalog.c), the sink's optional
 * targets.csv, periods.csv and balance.csv (sink/refdata.c), and any file
 * added after them.
 *
 * A loader describes its file in a struct cfgload_file and gets one call
 * per data row.  cfgload_read opens the file (lib/csvread.h: UTF-8, UTF-16
 * or GB18030, capped), maps the header's columns by name, checks every
 * row's field count and the file's row cap, and calls the row function.
 * Every problem, its own or the row function's, ends the read with one
 * message in the caller's buffer, "FILE:LINE: problem", where problem says
 * what a clerk must change (the value quoted, at most CFGLOAD_SHOW_MAX
 * bytes of it).
 *
 * A new file, in full:
 *
 *   enum { F_CODE, F_NAME, F_NCOLS };
 *   static const struct csvread_column form_cols[F_NCOLS] = {
 *       [F_CODE] = {"code", 1}, [F_NAME] = {"name", 0}};
 *
 *   static int
 *   add_form(void *ctx, const struct csvrow *row, const int *col)
 *   {
 *           struct my_loader *ld = ctx;   (it holds a struct cfgload cl)
 *           struct cfgload_field code = cfgload_column(row, col, F_CODE);
 *
 *           if (!cfgload_code_valid(code.s, code.len, FORM_CODE_MAX)) {
 *                   cfgload_fail(&ld->cl, row->line, "bad code \"%.*s\"",
 *                                cfgload_show(code.s, code.len), code.s);
 *                   return -1;
 *           }
 *           ...store the row in ld...
 *           return 0;
 *   }
 *
 *   static const struct cfgload_file forms_csv = {
 *       .cols = form_cols, .ncols = F_NCOLS, .header = "code,name",
 *       .optional = 1, .max_rows = 10000, .row = add_form};
 *
 *   ld.cl = (struct cfgload){.path = path, .err = err, .errlen = errlen};
 *   if (cfgload_read(&ld.cl, &forms_csv, &ld) != 0)
 *           ...free what add_form built; err says why...
 *
 * Fields point into the row being read: copy what outlives the call.
 * Nothing here allocates memory that outlives cfgload_read.
 */
#ifndef EDUSTAT_CFGLOAD_H
#define EDUSTAT_CFGLOAD_H

#include <stddef.h>

#include "csvread.h"
#include "util.h"

/* How much of a user's text a message quotes. */
#define CFGLOAD_SHOW_MAX 64
/* Most columns a config file's header may map. */
#define CFGLOAD_MAX_COLS 16

/* A field's text, trimmed of blanks; not NUL-terminated. */
struct cfgload_field {
        const char *s;
        size_t len;
};

/*
 * One file being read.  The caller sets path (named in every message) and
 * err/errlen (where the first problem goes); cfgload_read sets header_line.
 * The caller owns all three buffers.
 */
struct cfgload {
        const char *path;
        char *err;
        size_t errlen;
        unsigned long header_line; /* the header's line, 1 before it is read */
};

/*
 * A row function checks one data row and keeps what it needs in ctx.  It
 * returns 0, or -1 after cfgload_fail(): the read stops there.  col[k] is
 * the field index of column k of the file's cols, -1 when an optional
 * column is not in the header (cfgload_column gives "" then).
 */
typedef int (*cfgload_row_fn)(void *ctx, const struct csvrow *row, const int *col);

/* What a loader says of its file. */
struct cfgload_file {
        const struct csvread_column *cols; /* the columns, by name; required or not */
        size_t ncols;                      /* at most CFGLOAD_MAX_COLS */
        const char *header;                /* quoted in "empty file: expected the header ..." */
        int optional;                      /* a missing file is a file with no rows */
        int header_hint;                   /* a header problem adds " (the header is HEADER)" */
        size_t max_rows;    /* "more than N rows" past it; 0: the row function caps */
        cfgload_row_fn row; /* called for every data row, in order */
};

/*
 * Read cl->path as file describes it, calling file->row(ctx, ...) for each
 * data row.  Returns 0, or -1 with "FILE:LINE: problem" (or csvread's
 * message for a file it cannot open) in cl->err.
 */
EDUSTAT_MUST_USE int cfgload_read(struct cfgload *cl, const struct cfgload_file *file, void *ctx);

/* Put "PATH:LINE: " and the formatted problem in cl->err (truncated to fit). */
void cfgload_fail(const struct cfgload *cl, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * How many bytes of s (len bytes) a message quotes, for "%.*s": at most
 * CFGLOAD_SHOW_MAX, cut at a UTF-8 character boundary.
 */
int cfgload_show(const char *s, size_t len);

/* s (len bytes) without leading and trailing blanks, as csvread_trim. */
struct cfgload_field cfgload_trimmed(const char *s, size_t len);

/* Column k of row, trimmed; "" when the header does not have it (col[k] < 0). */
struct cfgload_field cfgload_column(const struct csvrow *row, const int *col, int k);

/*
 * 1 when s (len bytes) is a code: 1..max bytes of ASCII letters, digits,
 * '_', '.' and '-'; else 0.
 */
int cfgload_code_valid(const char *s, size_t len, size_t max);

#endif
