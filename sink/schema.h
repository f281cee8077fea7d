/*
 * schema: the sink's side of PostgreSQL that is not a unit of work: the
 * migrations of the `edustat` schema, loading the config into `orgunit` and
 * `indicator`, and the one rule that decides whether a failed statement
 * means "the database went away, reconnect and try again" or "PostgreSQL
 * refused this data".  docs/SQL.md explains every table and column.
 *
 * Migrations run in one transaction under pg_advisory_xact_lock, so two
 * sinks starting together cannot both create the schema, and a failed
 * migration leaves nothing half-applied.  The applied versions are recorded
 * in edustat.schema_version.
 *
 * The config load upserts (INSERT ... ON CONFLICT (code) DO UPDATE) and
 * never deletes: a unit or indicator dropped from the config keeps its row,
 * because unit_value, value_replaced and rejected rows may still name it.
 */
#ifndef EDUSTAT_SINK_SCHEMA_H
#define EDUSTAT_SINK_SCHEMA_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"

/* The schema version this sink creates and understands. */
#define SCHEMA_VERSION 9

/* Key of the advisory lock that serialises migrations. */
#define SCHEMA_LOCK_KEY 4611686018427387903LL

/*
 * Outcome of a database step, shared by schema_* and writer_*.
 *   DB_OK     done (committed, or nothing to do).
 *   DB_ERROR  PostgreSQL refused the statement (a data, constraint or
 *             schema problem); the transaction was rolled back and err
 *             holds the message with its SQLSTATE.  Retrying the same input fails
 *             the same way.
 *   DB_RETRY  the connection is unusable (lost, server shutting down, out
 *             of resources); nothing was committed by this step.  Reconnect
 *             and run the step again.
 */
enum db_result {
        DB_OK = 0,
        DB_ERROR = -1,
        DB_RETRY = -2,
        DB_GAP = -3,    /* a uow whose seq is past last_seq + 1: not applied, not answered */
        DB_FENCED = -4, /* a uow of an epoch that another hello replaced: not applied */
};

/*
 * Bring the schema at conn up to SCHEMA_VERSION in one transaction.
 * Returns DB_OK, DB_RETRY, or DB_ERROR with the reason in err (also when the
 * database holds a newer version than this sink knows).
 */
enum db_result schema_migrate(PGconn *conn, char *err, size_t errlen);

/*
 * Upsert every org unit and indicator of cfg into edustat.orgunit and
 * edustat.indicator in one transaction (COPY into temp tables, then
 * INSERT ... ON CONFLICT (code) DO UPDATE).  Empty optional fields are
 * stored as NULL.  In the same transaction, replace the contents of
 * edustat.orgunit_closure (the tree's (ancestor, unit) pairs) and of
 * edustat.target, report_period and balance_rule with the optional
 * targets.csv, periods.csv and balance.csv of cfg->dir (sink/options.h;
 * an absent file empties its table).  A malformed optional file returns
 * DB_ERROR with "FILE:LINE: problem" in err before the database is
 * touched.  On DB_OK sets *nunits and *nind to the rows loaded.
 */
enum db_result schema_load_config(PGconn *conn, const struct config *cfg, size_t *nunits,
                                  size_t *nind, char *err, size_t errlen);

/*
 * The SQL text of migration version (1..SCHEMA_VERSION), or NULL.  Exposed
 * so tests and docs can apply the exact DDL the sink runs.
 */
const char *schema_migration_sql(int version);

/*
 * Classify a failure: DB_RETRY when the connection is unusable
 * (CONNECTION_BAD, res NULL, SQLSTATE class 08 or 53, 57P01..57P03, 40001,
 * 40P01), else DB_ERROR.  res may be NULL.
 */
enum db_result schema_failure_kind(const PGconn *conn, const PGresult *res);

/*
 * Write "message[: detail] (SQLSTATE XXXXX)" of res, or the connection's
 * message when res is NULL or carries none, into err on one line.
 * Returns err.
 */
char *schema_error_format(const PGconn *conn, const PGresult *res, char *err, size_t errlen);

/*
 * Run a statement that takes no input and returns no rows (BEGIN, COMMIT,
 * DDL).  Returns DB_OK, or the failure kind with the reason in err.
 */
enum db_result schema_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* ROLLBACK, ignoring the outcome: used on paths that already failed. */
void schema_rollback(PGconn *conn);

/*
 * pgcopy: a COPY ... FROM STDIN in text format, fed field by field.
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

/* Integer fields. */
void pgcopy_u64(struct pgcopy *c, unsigned long long v);
void pgcopy_i64(struct pgcopy *c, long long v);

/* A float8 field printed with "%.17g" so it reads back bit for bit. */
void pgcopy_double(struct pgcopy *c, double v);

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
