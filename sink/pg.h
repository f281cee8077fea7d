/*
 * pg: the sink's connection-level helpers for libpq, shared by every module
 * that talks to PostgreSQL (migrate, refdata, pgcopy, writer, check).
 *
 * The one rule kept here decides whether a failed statement means "the
 * database went away, reconnect and try again" (DB_RETRY) or "PostgreSQL
 * refused this data" (DB_ERROR): pg_failure_kind.  Every failure is
 * reported on one line with its SQLSTATE (pg_error_format), so logs and
 * replies to the aggregator can quote it.
 */
#ifndef EDUSTAT_SINK_PG_H
#define EDUSTAT_SINK_PG_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * Outcome of a database step, shared by every sink module.
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
 * Classify a failure: DB_RETRY when the connection is unusable
 * (CONNECTION_BAD, res NULL, SQLSTATE class 08 or 53, 57P01..57P03, 40001,
 * 40P01), else DB_ERROR.  res may be NULL.
 */
enum db_result pg_failure_kind(const PGconn *conn, const PGresult *res);

/*
 * Write "message[: detail] (SQLSTATE XXXXX)" of res, or the connection's
 * message when res is NULL or carries none, into err on one line.
 * Returns err.
 */
char *pg_error_format(const PGconn *conn, const PGresult *res, char *err, size_t errlen);

/*
 * Record the failed result res (may be NULL) in err, free it with PQclear
 * and return its kind (pg_failure_kind).
 */
enum db_result pg_result_fail(PGconn *conn, PGresult *res, char *err, size_t errlen);

/*
 * Run a statement that takes no input and returns no rows (BEGIN, COMMIT,
 * DDL).  Returns DB_OK, or the failure kind with the reason in err.
 */
enum db_result pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* ROLLBACK, ignoring the outcome: used on paths that already failed. */
void pg_rollback(PGconn *conn);

#endif
