/*
 * pgcopy: the sink's COPY encoders.  A COPY ... FROM STDIN in text format,
 * fed field by field, and its binary form (below) for the aggregate rows.
 *
 * Rows are encoded into a fixed buffer and sent in PGCOPY_CHUNK pieces with
 * PQputCopyData, so memory stays flat however many rows a uow holds.  Every
 * text field is escaped: backslash, tab, LF and CR become \\, \t, \n, \r,
 * and a NUL byte (which PostgreSQL text cannot hold) is stored as the two
 * characters backslash and 0, so no input can break a row apart.  A nil field is \N.
 *
 * Usage: pgcopy_begin, then per row the field calls and pgcopy_row_end,
 * then pgcopy_end, which reports the outcome.  After a send error the field
 * calls do nothing and pgcopy_end returns the failure.
 */
#ifndef EDUSTAT_SINK_PGCOPY_H
#define EDUSTAT_SINK_PGCOPY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "pg.h"

/* Bytes sent per PQputCopyData. */
#define PGCOPY_CHUNK (64 * 1024)

struct pgcopy {
        PGconn *conn;
        int failed; /* PQputCopyData failed; the rest is skipped */
        int binary; /* begun with pgcopy_begin_binary */
        int first;  /* no field in the current row yet */
        size_t len; /* bytes in buf */
        unsigned long rows;
        char bad[256]; /* binary: the first field that could not be encoded ("" none) */
        char buf[PGCOPY_CHUNK];
};

/*
 * Start "COPY ... FROM STDIN" (sql, no input in it) on conn.  Returns DB_OK,
 * or the failure kind with the reason in err.
 */
enum db_result pgcopy_begin(struct pgcopy *c, PGconn *conn, const char *sql, char *err,
                            size_t errlen);

/* A text field of len bytes; p NULL is nil (\N). */
void pgcopy_text(struct pgcopy *c, const char *p, size_t len);

/* A NUL-terminated text field; NULL is nil. */
void pgcopy_str(struct pgcopy *c, const char *s);

/* A nil field. */
void pgcopy_null(struct pgcopy *c);

/* An unsigned integer field. */
void pgcopy_u64(struct pgcopy *c, unsigned long long v);

/* A boolean field (t/f). */
void pgcopy_bool(struct pgcopy *c, int v);

/* End the current row. */
void pgcopy_row_end(struct pgcopy *c);

/*
 * Binary COPY (FORMAT binary): the server reads numbers without parsing
 * text (numeric_in and float8in are half the cost of a text COPY of the
 * aggregate rows).  Used for the aggregate rows only; rows holding raw
 * user text stay in text format.
 *
 * pgcopy_begin_binary starts "COPY ... FROM STDIN (FORMAT binary)" (sql
 * must say so) and sends the header; then per row pgcopy_bin_row with the
 * row's number of fields, which must match the table's, followed by
 * exactly that many pgcopy_bin_* fields; then pgcopy_end, which sends the
 * trailer.  A field that cannot be encoded (a decimal that is not one, a
 * count past int4) is noted in c->bad with the what argument naming it; the
 * rest of the COPY is skipped and pgcopy_end makes the server fail the
 * COPY with that text, so the statement fails as it would have on the same
 * field in text format (DB_ERROR, not a retry).
 */
enum db_result pgcopy_begin_binary(struct pgcopy *c, PGconn *conn, const char *sql, char *err,
                                   size_t errlen);

/* Start a row of nfields fields. */
void pgcopy_bin_row(struct pgcopy *c, int nfields);

/* A text field of len bytes (p NULL: nil).  A NUL byte is stored as the two
 * characters backslash and 0, as pgcopy_text does. */
void pgcopy_bin_text(struct pgcopy *c, const char *p, size_t len);

/* A nil field. */
void pgcopy_bin_null(struct pgcopy *c);

/* An int4 field; v past INT32_MAX is a bad field named by what. */
void pgcopy_bin_int4(struct pgcopy *c, unsigned long long v, const char *what);

/* A float8 field, bit for bit. */
void pgcopy_bin_float8(struct pgcopy *c, double v);

/*
 * A numeric field from decimal text as numeric_in reads it: an optional
 * sign, digits with at most one point, an optional exponent (e-05, E+20),
 * for example what printf's %g writes.  The value and its display scale
 * are those numeric_in would give.  Anything else (empty, NaN, Infinity,
 * more than PGCOPY_NUMERIC_MAX characters, an exponent past +-1000) is a
 * bad field named by what.
 */
#define PGCOPY_NUMERIC_MAX 400
void pgcopy_bin_numeric(struct pgcopy *c, const char *p, size_t len, const char *what);

/*
 * Flush, end the COPY and collect its result.  Returns DB_OK, or the
 * failure kind with the reason in err.  The transaction is left as the
 * server left it (aborted on error): the caller rolls back.
 */
enum db_result pgcopy_end(struct pgcopy *c, char *err, size_t errlen);

#endif
