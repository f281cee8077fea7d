/*
 * pg: failure classification, error text and the plain statement runners.
 * See pg.h.
 */
#include <string.h>

#include "pg.h"
#include "util.h"

static int
sqlstate_is(const char *state, const char *want)
{
        return state != NULL && strcmp(state, want) == 0;
}

enum db_result
pg_failure_kind(const PGconn *conn, const PGresult *res)
{
        const char *state;

        if (conn == NULL || PQstatus(conn) == CONNECTION_BAD || res == NULL)
                return DB_RETRY;
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state == NULL || strlen(state) != 5)
                /* An error libpq made up itself on a live connection ("no
                 * COPY in progress"): a bug here, which a retry would only
                 * repeat.  A dead socket was caught above. */
                return DB_ERROR;
        /* Connection exceptions, insufficient resources (disk full, too many
         * connections), the server shutting down or not yet up: none of them
         * is about the data, so the same work is run again on a new
         * connection.  Serialization failures and deadlocks are retried too. */
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
            sqlstate_is(state, "57P01") || sqlstate_is(state, "57P02") ||
            sqlstate_is(state, "57P03") || sqlstate_is(state, "40001") ||
            sqlstate_is(state, "40P01"))
                return DB_RETRY;
        return DB_ERROR;
}

char *
pg_error_format(const PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
        const char *state = NULL, *msg = NULL, *detail = NULL;
        char *p;

        if (res != NULL) {
                state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
                detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
                if (msg == NULL || *msg == '\0')
                        msg = PQresultErrorMessage(res);
        }
        if ((msg == NULL || *msg == '\0') && conn != NULL)
                msg = PQerrorMessage(conn);
        if (msg == NULL || *msg == '\0')
                msg = "unknown error";
        /* The detail names the offending key of a constraint violation. */
        if (state != NULL)
                strlcpyf(err, errlen, "%s%s%s (SQLSTATE %s)", msg, detail != NULL ? ": " : "",
                         detail != NULL ? detail : "", state);
        else
                strlcpyf(err, errlen, "%s", msg);
        /* libpq messages end in a newline and may span lines; logs want one. */
        for (p = err; *p != '\0'; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        while (p > err && p[-1] == ' ')
                *--p = '\0';
        return err;
}

enum db_result
pg_result_fail(PGconn *conn, PGresult *res, char *err, size_t errlen)
{
        enum db_result kind = pg_failure_kind(conn, res);

        pg_error_format(conn, res, err, errlen);
        PQclear(res);
        return kind;
}

enum db_result
pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
        PGresult *res = PQexec(conn, sql);

        if (res == NULL ||
            (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
                return pg_result_fail(conn, res, err, errlen);
        PQclear(res);
        return DB_OK;
}

void
pg_rollback(PGconn *conn)
{
        PGresult *res = PQexec(conn, "ROLLBACK");

        PQclear(res);
}
