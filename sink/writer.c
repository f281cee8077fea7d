/*
 * writer: uow commits and the state stream.  See writer.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "log.h"
#include "pg.h"
#include "pgcopy.h"
#include "proto.h"
#include "sinksql.h"
#include "util.h"
#include "writer.h"

struct writer {
        char *conninfo;
        PGconn *conn;
        int session_ready; /* stage tables and statements exist on conn */
        unsigned streak;   /* writer_connect calls since the last success */
        struct writer_stats st;
        struct pgcopy copy;
};

struct stmt {
        const char *name;
        const char *sql;
        int nparams;
};

/*
 * The prepared statements, created on every new connection; their text is
 * in sink/sql/writer/NAME.sql.
 */
static const struct stmt stmts[] = {
    {"state_lock", sinksql_writer_state_lock, 1},
    {"epoch_bump", sinksql_writer_epoch_bump, 1},
    {"state_insert", sinksql_writer_state_insert, 1},
    {"state_set", sinksql_writer_state_set, 2},
    {"state_get", sinksql_writer_state_get, 1},
    {"value_replace", sinksql_writer_value_replace, 0},
    {"reject_insert", sinksql_writer_reject_insert, 0},
    {"first_report_note", sinksql_writer_first_report_note, 0},
    {"agg_upsert", sinksql_writer_agg_upsert, 0},
    {"breakdown_upsert", sinksql_writer_breakdown_upsert, 0},
    {"violation_apply", sinksql_writer_violation_apply, 0},
    {"violation_full", sinksql_writer_violation_full, 0},
    {"note_apply", sinksql_writer_note_apply, 0},
    {"review_apply", sinksql_writer_review_apply, 1},
    {"state_reviews", sinksql_writer_state_reviews, 0},
    {"state_notes", sinksql_writer_state_notes, 0},
};

struct writer *
writer_new(const char *conninfo)
{
        struct writer *w = xcalloc(1, sizeof *w);

        w->conninfo = xstrdup(conninfo != NULL ? conninfo : "");
        return w;
}

void
writer_destroy(struct writer **wp)
{
        struct writer *w;

        if (wp == NULL || *wp == NULL)
                return;
        w = *wp;
        PQfinish(w->conn);
        free(w->conninfo);
        free(w);
        *wp = NULL;
}

PGconn *
writer_conn(const struct writer *w)
{
        return w->conn;
}

void
writer_stats_get(const struct writer *w, struct writer_stats *out)
{
        *out = w->st;
}

/* Sleep ms milliseconds in 100 ms steps; returns -1 as soon as *stop is set. */
static int
sleep_unless_stopped(long ms, volatile sig_atomic_t *stop)
{
        while (ms > 0) {
                long step = ms < 100 ? ms : 100;
                struct timespec ts = {0, step * 1000000L};

                if (*stop)
                        return -1;
                while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !*stop)
                        ;
                ms -= step;
        }
        return *stop ? -1 : 0;
}

/*
 * Server notices ("schema edustat already exists, skipping") go to the log
 * at debug level instead of libpq's bare stderr lines.
 */
static void
notice_to_log(void *arg, const char *message)
{
        size_t len = strlen(message);

        (void)arg;
        while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
                len--;
        log_debug("PostgreSQL: %.*s", (int)len, message);
}

int
writer_connect(struct writer *w, volatile sig_atomic_t *stop)
{
        /* connect_timeout comes before dbname so a value in the user's
         * connection string overrides it; client_encoding comes after
         * because every byte the sink sends is UTF-8. */
        static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                           "client_encoding", NULL};
        const char *vals[] = {"10", "edustat-sink", w->conninfo, "UTF8", NULL};
        long wait = WRITER_BACKOFF_MIN_MS;
        unsigned long attempt = 0;
        unsigned i;
        char why[512];

        PQfinish(w->conn);
        w->conn = NULL;
        w->session_ready = 0;
        /* A server that accepts connections but keeps failing the work (disk
         * full, too many connections) must not be hammered: reconnects
         * without a success in between wait longer each time. */
        if (w->streak > 0) {
                for (i = 1; i < w->streak && wait < WRITER_BACKOFF_MAX_MS; i++)
                        wait *= 2;
                if (wait > WRITER_BACKOFF_MAX_MS)
                        wait = WRITER_BACKOFF_MAX_MS;
                if (sleep_unless_stopped(wait, stop) == -1)
                        return -1;
                wait = WRITER_BACKOFF_MIN_MS;
        }
        w->streak++;
        for (;;) {
                if (*stop)
                        return -1;
                attempt++;
                w->conn = PQconnectdbParams(keys, vals, 1);
                if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK)
                        break;
                pg_error_format(w->conn, NULL, why, sizeof why);
                log_warnx("PostgreSQL connection failed (attempt %lu, next in %.1f s): %s", attempt,
                          (double)wait / 1000.0, why);
                PQfinish(w->conn);
                w->conn = NULL;
                if (sleep_unless_stopped(wait, stop) == -1)
                        return -1;
                wait = wait * 2 > WRITER_BACKOFF_MAX_MS ? WRITER_BACKOFF_MAX_MS : wait * 2;
        }
        PQsetNoticeProcessor(w->conn, notice_to_log, NULL);
        log_info("connected to PostgreSQL %s:%s database %s as %s",
                 *PQhost(w->conn) != '\0' ? PQhost(w->conn) : "(socket)", PQport(w->conn),
                 PQdb(w->conn), PQuser(w->conn));
        return 0;
}

/*
 * Make w ready for work: connected (else DB_RETRY, for the caller to
 * reconnect), with the session's stage tables and prepared statements made
 * once per connection.
 */
static enum db_result
session_setup(struct writer *w, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        size_t i;

        if (w->conn == NULL || PQstatus(w->conn) != CONNECTION_OK) {
                strlcpyf(err, errlen, "not connected to PostgreSQL");
                return DB_RETRY;
        }
        if (w->session_ready)
                return DB_OK;
        if ((r = pg_exec(w->conn, sinksql_writer_session, err, errlen)) != DB_OK)
                return r;
        for (i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
                res = PQprepare(w->conn, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
                if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
                        return pg_result_fail(w->conn, res, err, errlen);
                PQclear(res);
        }
        w->session_ready = 1;
        return DB_OK;
}

/*
 * Run prepared statement name with up to two text parameters.  Returns the
 * result (caller clears) when its status is want, else NULL with the
 * failure kind in *r and the reason in err.
 */
static PGresult *
run(struct writer *w, const char *name, int nparams, const char *p1, const char *p2,
    ExecStatusType want, enum db_result *r, char *err, size_t errlen)
{
        const char *params[2] = {p1, p2};
        PGresult *res = PQexecPrepared(w->conn, name, nparams, params, NULL, NULL, 0);

        if (res == NULL || PQresultStatus(res) != want) {
                *r = pg_result_fail(w->conn, res, err, errlen);
                return NULL;
        }
        *r = DB_OK;
        return res;
}

/* run() with the one parameter aggregator, an aggregator's id (nil: ""). */
static PGresult *
run_agg(struct writer *w, const char *name, struct pstr aggregator, enum db_result *r, char *err,
        size_t errlen)
{
        char *agg = xstrndup(aggregator.p != NULL ? aggregator.p : "", aggregator.len);
        PGresult *res = run(w, name, 1, agg, NULL, PGRES_TUPLES_OK, r, err, errlen);

        free(agg);
        return res;
}

/* Run a prepared statement that returns no rows. */
static enum db_result
run_cmd(struct writer *w, const char *name, int nparams, const char *p1, const char *p2, char *err,
        size_t errlen)
{
        enum db_result r;
        PGresult *res = run(w, name, nparams, p1, p2, PGRES_COMMAND_OK, &r, err, errlen);

        PQclear(res);
        return r;
}

/*
 * Lock the sink_state row of agg (creating it with 0 when missing) and read
 * its last_seq and epoch, and when that epoch began (text, for messages).
 * Must run inside a transaction.
 */
static enum db_result
state_lock(struct writer *w, const char *agg, uint64_t *last, uint64_t *epoch, char *epoch_at,
           size_t atlen, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;
        int pass;

        for (pass = 0; pass < 2; pass++) {
                res = run(w, "state_lock", 1, agg, NULL, PGRES_TUPLES_OK, &r, err, errlen);
                if (res == NULL)
                        return r;
                if (PQntuples(res) == 1) {
                        *last = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
                        *epoch = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
                        strlcpyf(epoch_at, atlen, "%s",
                                 PQgetisnull(res, 0, 2) ? "an unknown time"
                                                        : PQgetvalue(res, 0, 2));
                        PQclear(res);
                        return DB_OK;
                }
                PQclear(res);
                if (pass == 0 &&
                    (r = run_cmd(w, "state_insert", 1, agg, NULL, err, errlen)) != DB_OK)
                        return r;
        }
        strlcpyf(err, errlen, "sink_state row of aggregator %s vanished", agg);
        return DB_ERROR;
}

static enum db_result
state_set(struct writer *w, const char *agg, uint64_t seq, char *err, size_t errlen)
{
        char num[24];

        snprintf(num, sizeof num, "%" PRIu64, seq);
        return run_cmd(w, "state_set", 2, agg, num, err, errlen);
}

static void
copy_pstr(struct pgcopy *c, struct pstr s)
{
        pgcopy_text(c, s.p, s.len);
}

/*
 * COPY the values whose flags, masked with mask, equal want, as (unit,
 * period, indicator, value, version, collector, batch_id).
 */
static enum db_result
copy_values(struct writer *w, const struct proto_uow *u, const char *sql, unsigned mask,
            unsigned want, char *err, size_t errlen)
{
        struct pgcopy *c = &w->copy;
        enum db_result r;
        uint32_t i;

        if ((r = pgcopy_begin(c, w->conn, sql, err, errlen)) != DB_OK)
                return r;
        for (i = 0; i < u->nvalues; i++) {
                const struct proto_value *v = &u->values[i];

                if ((v->flags & mask) != want)
                        continue;
                copy_pstr(c, v->unit);
                copy_pstr(c, v->period);
                copy_pstr(c, v->indicator);
                copy_pstr(c, v->value);
                pgcopy_u64(c, v->version);
                copy_pstr(c, v->collector);
                copy_pstr(c, v->batch_id);
                pgcopy_row_end(c);
        }
        return pgcopy_end(c, err, errlen);
}

/*
 * Insert the rejections of u (sql/writer/reject_insert.sql).  With why not
 * NULL, u was refused and its values go in first, as rejections for that
 * reason: they carry no line (NULL) and no source; each keeps its unit,
 * period and indicator, so the uniqueness of rejected does not fold a
 * batch's values into one row.
 */
static enum db_result
insert_rejects(struct writer *w, const struct proto_uow *u, const char *why, char *err,
               size_t errlen)
{
        struct pgcopy *c = &w->copy;
        enum db_result r;
        uint32_t i;

        r = pgcopy_begin(c, w->conn, "COPY pg_temp.stage_reject FROM STDIN", err, errlen);
        if (r != DB_OK)
                return r;
        for (i = 0; why != NULL && i < u->nvalues; i++) {
                const struct proto_value *v = &u->values[i];

                copy_pstr(c, v->collector);
                pgcopy_null(c);
                copy_pstr(c, v->batch_id);
                pgcopy_null(c);
                copy_pstr(c, v->unit);
                copy_pstr(c, v->period);
                copy_pstr(c, v->indicator);
                copy_pstr(c, v->value);
                pgcopy_str(c, why);
                pgcopy_row_end(c);
        }
        for (i = 0; i < u->nrejects; i++) {
                const struct proto_reject *j = &u->rejects[i];

                copy_pstr(c, j->collector);
                copy_pstr(c, j->source);
                copy_pstr(c, j->batch_id);
                pgcopy_u64(c, j->line);
                copy_pstr(c, j->unit);
                copy_pstr(c, j->period);
                copy_pstr(c, j->indicator);
                copy_pstr(c, j->raw);
                copy_pstr(c, j->reason);
                pgcopy_row_end(c);
        }
        if ((r = pgcopy_end(c, err, errlen)) != DB_OK)
                return r;
        return run_cmd(w, "reject_insert", 0, NULL, NULL, err, errlen);
}

/*
 * A decimal column of an agg row, NULL when its bit is set or nil; what
 * names the field in the error should it not be a decimal.
 */
static void
copy_agg_decimal(struct pgcopy *c, struct pstr s, unsigned nulls, unsigned bit, const char *what)
{
        if ((nulls & bit) || s.p == NULL)
                pgcopy_bin_null(c);
        else
                pgcopy_bin_numeric(c, s.p, s.len, what);
}

static void
copy_agg_double(struct pgcopy *c, double v, unsigned nulls, unsigned bit)
{
        if (nulls & bit)
                pgcopy_bin_null(c);
        else
                pgcopy_bin_float8(c, v);
}

/* The columns of pg_temp.stage_agg (sql/writer/session.sql), in order. */
#define STAGE_AGG_FIELDS 14

/*
 * The aggregate rows, in binary format: they are mostly numbers, and the
 * server then does not parse them (half the cost of the text form).
 */
static enum db_result
copy_aggs(struct writer *w, const struct proto_uow *u, char *err, size_t errlen)
{
        struct pgcopy *c = &w->copy;
        enum db_result r;
        uint32_t i;

        r = pgcopy_begin_binary(c, w->conn, "COPY pg_temp.stage_agg FROM STDIN (FORMAT binary)",
                                err, errlen);
        if (r != DB_OK)
                return r;
        for (i = 0; i < u->naggs; i++) {
                const struct proto_agg *a = &u->aggs[i];

                pgcopy_bin_row(c, STAGE_AGG_FIELDS);
                pgcopy_bin_text(c, a->unit.p, a->unit.len);
                pgcopy_bin_text(c, a->level.p, a->level.len);
                pgcopy_bin_text(c, a->period.p, a->period.len);
                pgcopy_bin_text(c, a->indicator.p, a->indicator.len);
                copy_agg_decimal(c, a->value, a->nulls, PROTO_AGG_NULL_VALUE, "value");
                copy_agg_decimal(c, a->numerator, a->nulls, PROTO_AGG_NULL_NUM, "numerator");
                copy_agg_decimal(c, a->denominator, a->nulls, PROTO_AGG_NULL_DEN, "denominator");
                pgcopy_bin_int4(c, a->n_reporting, "n_reporting");
                copy_agg_double(c, a->min, a->nulls, PROTO_AGG_NULL_MIN);
                copy_agg_double(c, a->max, a->nulls, PROTO_AGG_NULL_MAX);
                copy_agg_double(c, a->mean, a->nulls, PROTO_AGG_NULL_MEAN);
                copy_agg_double(c, a->cv, a->nulls, PROTO_AGG_NULL_CV);
                pgcopy_bin_text(c, a->dimension.p, a->dimension.len);
                pgcopy_bin_text(c, a->category.p, a->category.len);
        }
        r = pgcopy_end(c, err, errlen);
        if (r != DB_OK && c->bad[0] != '\0' && c->rows > 0 && c->rows <= u->naggs) {
                /* Name the row: the field alone says little. */
                const struct proto_agg *a = &u->aggs[c->rows - 1];
                char why[sizeof c->bad], slice[160] = "";

                strlcpyf(why, sizeof why, "%s", c->bad);
                if (a->dimension.p != NULL && a->category.p != NULL)
                        strlcpyf(slice, sizeof slice, " (%.*s %.*s)", (int)a->dimension.len,
                                 a->dimension.p, (int)a->category.len, a->category.p);
                strlcpyf(err, errlen, "uow %" PRIu64 ", aggregate row %.*s/%.*s/%.*s%s: %s", u->seq,
                         (int)a->unit.len, a->unit.p ? a->unit.p : "", (int)a->period.len,
                         a->period.p ? a->period.p : "", (int)a->indicator.len,
                         a->indicator.p ? a->indicator.p : "", slice, why);
        }
        return r;
}

#define FLAGS_BOTH (PROTO_VALUE_NEW | PROTO_VALUE_FINAL)

static int
pstr_same(struct pstr a, struct pstr b)
{
        return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/*
 * Note in first_report the (unit, period) of every new key: only a new key
 * can be a unit's first value for a period.  A uow holds its values batch
 * by batch, a school's together, so skipping repeats of the previous pair
 * leaves a few hundred rows of twenty thousand; DISTINCT does the rest.
 */
static enum db_result
first_report_note(struct writer *w, const struct proto_uow *u, char *err, size_t errlen)
{
        struct pgcopy *c = &w->copy;
        const struct proto_value *prev = NULL;
        enum db_result r;
        uint32_t i;

        r = pgcopy_begin(c, w->conn, "COPY pg_temp.stage_first FROM STDIN", err, errlen);
        if (r != DB_OK)
                return r;
        for (i = 0; i < u->nvalues; i++) {
                const struct proto_value *v = &u->values[i];

                if (!(v->flags & PROTO_VALUE_NEW))
                        continue;
                if (prev != NULL && pstr_same(prev->unit, v->unit) &&
                    pstr_same(prev->period, v->period))
                        continue;
                copy_pstr(c, v->unit);
                copy_pstr(c, v->period);
                pgcopy_row_end(c);
                prev = v;
        }
        if ((r = pgcopy_end(c, err, errlen)) != DB_OK)
                return r;
        return run_cmd(w, "first_report_note", 0, NULL, NULL, err, errlen);
}

/*
 * The checks that open every commit attempt, inside the transaction: lock
 * the aggregator's sink_state row, then
 *  - a uow of another epoch than the row's was sent by a session that a
 *    later hello of the same id replaced: DB_FENCED, nothing applied, and
 *    the sender is told to stop (err names when the other one took over);
 *  - a uow at or below last_seq was committed before: a replay, *replayed
 *    set, nothing applied;
 *  - a uow past last_seq + 1 was sent while an earlier one was lost (a
 *    sink restart drops what was queued to it); committing it would make
 *    the lost one look like a replay when it is resent.  So it is left
 *    alone, unanswered (DB_GAP), and the aggregator resends everything
 *    from its oldest unacknowledged uow.
 * DB_OK with *replayed 0 means: apply u.
 */
static enum db_result
sequence_check(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed,
               char *err, size_t errlen)
{
        char at[64];
        enum db_result r;
        uint64_t last = 0, epoch = 0;

        if ((r = state_lock(w, agg, &last, &epoch, at, sizeof at, err, errlen)) != DB_OK)
                return r;
        if (u->epoch != epoch) {
                strlcpyf(err, errlen, "another aggregator with id %s took over at %s", agg, at);
                return DB_FENCED;
        }
        if (u->seq <= last) {
                *replayed = 1;
                return DB_OK;
        }
        if (u->seq != last + 1) {
                strlcpyf(err, errlen,
                         "uow %" PRIu64 " out of order: %" PRIu64 " is the next to commit", u->seq,
                         last + 1);
                return DB_GAP;
        }
        return DB_OK;
}

/*
 * value_replace, with its counts checked: every stored row it means to
 * update must be updated, every missing key inserted.  A shortfall means
 * another session changed these rows during the statement (their ctids
 * moved): the commit must not go on as if it had written them.  It is
 * rolled back and retried (DB_RETRY), and then sees the other session's
 * rows; the log says so loudly, since no other session should write here.
 */
static enum db_result
value_replace_run(struct writer *w, char *err, size_t errlen)
{
        long long n[4];
        enum db_result r;
        PGresult *res = run(w, "value_replace", 0, NULL, NULL, PGRES_TUPLES_OK, &r, err, errlen);

        if (res == NULL)
                return r;
        for (int i = 0; i < 4; i++)
                n[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
        PQclear(res);
        if (n[0] == n[1] && n[2] == n[3])
                return DB_OK;
        strlcpyf(err, errlen,
                 "value_replace updated %lld of %lld stored rows and inserted %lld of %lld new "
                 "ones: another session wrote these keys during the commit; rolled back",
                 n[0], n[1], n[2], n[3]);
        log_warnx("%s (is a second sink or a manual UPDATE writing unit_value?)", err);
        return DB_RETRY;
}

/* s as printable text for a message: at most 64 bytes, "(nil)" for nil. */
#define SHOW(s)                                                                                    \
        (int)((s).p == NULL ? 5 : (s).len > 64 ? 64 : (s).len), ((s).p == NULL ? "(nil)" : (s).p)

/*
 * The rule violations of u (sql/writer/violation_apply.sql and, for a full
 * list, violation_full.sql).  A violation with one side nil and the other
 * not is malformed: the aggregator sends both or neither.
 */
static enum db_result
apply_violations(struct writer *w, const struct proto_uow *u, char *err, size_t errlen)
{
        struct pgcopy *c = &w->copy;
        enum db_result r;
        uint32_t i;

        for (i = 0; i < u->nviolations; i++) {
                const struct proto_violation *v = &u->violations[i];

                if ((v->left.p == NULL) != (v->right.p == NULL) ||
                    (v->left.p != NULL && v->severity.p == NULL)) {
                        strlcpyf(err, errlen,
                                 "uow %" PRIu64 ", violation %" PRIu32
                                 " (unit %.*s, period %.*s, rule %.*s): a failing rule needs "
                                 "both values and a severity, a cleared one neither value",
                                 u->seq, i + 1, SHOW(v->unit), SHOW(v->period), SHOW(v->rule));
                        return DB_ERROR;
                }
        }
        if (u->nviolations > 0) {
                r = pgcopy_begin(c, w->conn, "COPY pg_temp.stage_violation FROM STDIN", err,
                                 errlen);
                if (r != DB_OK)
                        return r;
                for (i = 0; i < u->nviolations; i++) {
                        const struct proto_violation *v = &u->violations[i];

                        pgcopy_u64(c, i);
                        copy_pstr(c, v->unit);
                        copy_pstr(c, v->period);
                        copy_pstr(c, v->rule);
                        copy_pstr(c, v->severity);
                        copy_pstr(c, v->left);
                        copy_pstr(c, v->right);
                        pgcopy_row_end(c);
                }
                if ((r = pgcopy_end(c, err, errlen)) != DB_OK ||
                    (r = run_cmd(w, "violation_apply", 0, NULL, NULL, err, errlen)) != DB_OK)
                        return r;
        }
        if (!u->violations_full)
                return DB_OK;
        /* A full list comes once per aggregator start and may hold hundreds
         * of thousands of rows.  A temp table has no statistics until
         * analyzed; with none, the anti join of violation_full run by hand
         * in psql once became a nested loop: 87 s instead of 0.06 s for
         * 100,000 rows.  Through the writer the plan held without it, but
         * ANALYZE costs milliseconds once per start, and it also makes the
         * cached plan of the statement be made again for these rows. */
        if (u->nviolations > 0 &&
            (r = pg_exec(w->conn, "ANALYZE pg_temp.stage_violation", err, errlen)) != DB_OK)
                return r;
        return run_cmd(w, "violation_full", 0, NULL, NULL, err, errlen);
}

/* The kinds of action a uow may carry, and which fields each needs. */
enum action_kind { ACTION_EXPLAIN, ACTION_FINISH, ACTION_APPROVE, ACTION_RETURN, ACTION_REOPEN };

static const struct {
        const char *name;
        int needs_rule, needs_text;
} action_kinds[] = {
    [ACTION_EXPLAIN] = {"explain", 1, 1}, [ACTION_FINISH] = {"finish", 0, 0},
    [ACTION_APPROVE] = {"approve", 0, 0}, [ACTION_RETURN] = {"return", 0, 1},
    [ACTION_REOPEN] = {"reopen", 0, 1},
};

/* The kind of a, or -1 when it is none of action_kinds. */
static int
action_kind(const struct proto_action *a)
{
        size_t k;

        if (a->kind.p == NULL)
                return -1;
        for (k = 0; k < sizeof action_kinds / sizeof action_kinds[0]; k++)
                if (a->kind.len == strlen(action_kinds[k].name) &&
                    memcmp(a->kind.p, action_kinds[k].name, a->kind.len) == 0)
                        return (int)k;
        return -1;
}

/*
 * COPY the explanations among the actions of u (explain) into stage_note,
 * or the review actions (!explain) into stage_review, each row led by the
 * action's index in the uow.
 */
static enum db_result
copy_actions(struct writer *w, const struct proto_uow *u, int explain, char *err, size_t errlen)
{
        struct pgcopy *c = &w->copy;
        enum db_result r;
        uint32_t i;

        r = pgcopy_begin(c, w->conn,
                         explain ? "COPY pg_temp.stage_note FROM STDIN"
                                 : "COPY pg_temp.stage_review FROM STDIN",
                         err, errlen);
        if (r != DB_OK)
                return r;
        for (i = 0; i < u->nactions; i++) {
                const struct proto_action *a = &u->actions[i];

                if ((action_kind(a) == ACTION_EXPLAIN) != (explain != 0))
                        continue;
                pgcopy_u64(c, i);
                if (explain) {
                        copy_pstr(c, a->unit);
                        copy_pstr(c, a->period);
                        copy_pstr(c, a->rule);
                        copy_pstr(c, a->text);
                        copy_pstr(c, a->collector);
                } else {
                        copy_pstr(c, a->kind);
                        copy_pstr(c, a->unit);
                        copy_pstr(c, a->period);
                        copy_pstr(c, a->text);
                        pgcopy_u64(c, a->at);
                        copy_pstr(c, a->collector);
                        copy_pstr(c, a->batch_id);
                }
                pgcopy_row_end(c);
        }
        return pgcopy_end(c, err, errlen);
}

/*
 * The actions of u, in the order the aggregator applied them.  "explain":
 * the note of a warning, into rule_note (replacing) and rule_note_history
 * (appended), sql/writer/note_apply.sql.  "finish", "approve", "return"
 * and "reopen": review transitions, appended to review_history with the
 * uow's seq and the last of each (unit, period) upserted into review,
 * sql/writer/review_apply.sql.  The two sets touch different tables, so
 * each is applied in one statement, in uow order within the set.  An
 * unknown kind, or an action without the fields its kind needs, fails the
 * whole uow: the aggregator checks them before it sends, so such an action
 * is a bug to be seen, not data to drop.
 */
static enum db_result
apply_actions(struct writer *w, const struct proto_uow *u, char *err, size_t errlen)
{
        enum db_result r;
        uint32_t i, nnotes = 0, nreviews = 0;
        char seq[24];

        for (i = 0; i < u->nactions; i++) {
                const struct proto_action *a = &u->actions[i];
                int k = action_kind(a);
                char what[400];

                if (k >= 0 && a->unit.p != NULL && a->period.p != NULL && a->collector.p != NULL &&
                    (!action_kinds[k].needs_rule || a->rule.p != NULL) &&
                    (!action_kinds[k].needs_text || a->text.p != NULL)) {
                        if (k == ACTION_EXPLAIN)
                                nnotes++;
                        else
                                nreviews++;
                        continue;
                }
                strlcpyf(what, sizeof what,
                         "uow %" PRIu64 ", action %" PRIu32
                         " (collector %.*s, batch %.*s, unit %.*s, period %.*s)",
                         u->seq, i + 1, SHOW(a->collector), SHOW(a->batch_id), SHOW(a->unit),
                         SHOW(a->period));
                if (k < 0)
                        strlcpyf(err, errlen,
                                 "%s: unknown kind \"%.*s\"; this sink knows explain, finish, "
                                 "approve, return and reopen",
                                 what, SHOW(a->kind));
                else
                        strlcpyf(err, errlen, "%s: %s needs a unit, a period%s%s", what,
                                 k == ACTION_EXPLAIN ? "an explanation" : "a review action",
                                 action_kinds[k].needs_rule ? ", a rule" : "",
                                 action_kinds[k].needs_text ? " and a text" : "");
                return DB_ERROR;
        }
        if (nnotes > 0 && ((r = copy_actions(w, u, 1, err, errlen)) != DB_OK ||
                           (r = run_cmd(w, "note_apply", 0, NULL, NULL, err, errlen)) != DB_OK))
                return r;
        if (nreviews == 0)
                return DB_OK;
        if ((r = copy_actions(w, u, 0, err, errlen)) != DB_OK)
                return r;
        snprintf(seq, sizeof seq, "%" PRIu64, u->seq);
        return run_cmd(w, "review_apply", 1, seq, NULL, err, errlen);
}

/* The body of one commit attempt, inside BEGIN .. COMMIT. */
static enum db_result
commit_body(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed, char *err,
            size_t errlen)
{
        uint32_t i, nnew = 0, nchanged = 0, nreplaced = 0;
        int anynew = 0;
        enum db_result r;

        if ((r = sequence_check(w, u, agg, replayed, err, errlen)) != DB_OK || *replayed)
                return r;
        for (i = 0; i < u->nvalues; i++) {
                unsigned f = u->values[i].flags;

                if (f & PROTO_VALUE_NEW)
                        anynew = 1;
                if ((f & FLAGS_BOTH) == FLAGS_BOTH)
                        nnew++;
                else if (f & PROTO_VALUE_FINAL)
                        nchanged++;
                else
                        nreplaced++;
        }
        if (nnew > 0 && (r = copy_values(w, u, sinksql_writer_value_copy_new, FLAGS_BOTH,
                                         FLAGS_BOTH, err, errlen)) != DB_OK)
                return r;
        if (nchanged > 0) {
                r = copy_values(w, u, sinksql_writer_value_copy_changed, FLAGS_BOTH,
                                PROTO_VALUE_FINAL, err, errlen);
                if (r != DB_OK || (r = value_replace_run(w, err, errlen)) != DB_OK)
                        return r;
        }
        /* A key changed twice or more in one uow: its earlier versions were
         * replaced in this very commit. */
        if (nreplaced > 0 && (r = copy_values(w, u, sinksql_writer_value_copy_replaced,
                                              PROTO_VALUE_FINAL, 0, err, errlen)) != DB_OK)
                return r;
        if (anynew && (r = first_report_note(w, u, err, errlen)) != DB_OK)
                return r;
        if (u->nrejects > 0 && (r = insert_rejects(w, u, NULL, err, errlen)) != DB_OK)
                return r;
        if (u->naggs > 0 &&
            ((r = copy_aggs(w, u, err, errlen)) != DB_OK ||
             (r = run_cmd(w, "agg_upsert", 0, NULL, NULL, err, errlen)) != DB_OK ||
             (r = run_cmd(w, "breakdown_upsert", 0, NULL, NULL, err, errlen)) != DB_OK))
                return r;
        /* Nothing at all when a uow carries no rule results (most do not). */
        if ((u->nviolations > 0 || u->violations_full) &&
            (r = apply_violations(w, u, err, errlen)) != DB_OK)
                return r;
        if (u->nactions > 0 && (r = apply_actions(w, u, err, errlen)) != DB_OK)
                return r;
        return state_set(w, agg, u->seq, err, errlen);
}

/*
 * Run body inside BEGIN .. COMMIT; roll back when it fails or finds a
 * replay.  A COMMIT that fails with the connection leaves the outcome
 * unknown; DB_RETRY then makes the caller run it again, and the sequence
 * check turns a commit that did happen into a replay.
 */
static enum db_result
in_txn(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed, const char *why,
       enum db_result (*body)(struct writer *, const struct proto_uow *, const char *, int *,
                              const char *, char *, size_t),
       char *err, size_t errlen)
{
        enum db_result r;

        *replayed = 0;
        if ((r = session_setup(w, err, errlen)) != DB_OK)
                return r;
        if ((r = pg_exec(w->conn, "BEGIN", err, errlen)) != DB_OK)
                return r;
        r = body(w, u, agg, replayed, why, err, errlen);
        if (r != DB_OK || *replayed) {
                if (PQstatus(w->conn) == CONNECTION_OK)
                        pg_rollback(w->conn);
                return r;
        }
        return pg_exec(w->conn, "COMMIT", err, errlen);
}

static enum db_result
body_apply(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed,
           const char *why, char *err, size_t errlen)
{
        (void)why;
        return commit_body(w, u, agg, replayed, err, errlen);
}

/* The refused uow's values and rejections, as rejections (insert_rejects). */
static enum db_result
body_store_refused(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed,
                   const char *why, char *err, size_t errlen)
{
        enum db_result r;

        if ((r = sequence_check(w, u, agg, replayed, err, errlen)) != DB_OK || *replayed ||
            (r = insert_rejects(w, u, why, err, errlen)) != DB_OK)
                return r;
        return state_set(w, agg, u->seq, err, errlen);
}

/* Last resort: only advance sink_state, so the aggregator is not stuck. */
static enum db_result
body_advance(struct writer *w, const struct proto_uow *u, const char *agg, int *replayed,
             const char *why, char *err, size_t errlen)
{
        enum db_result r;

        (void)why;
        if ((r = sequence_check(w, u, agg, replayed, err, errlen)) != DB_OK || *replayed)
                return r;
        return state_set(w, agg, u->seq, err, errlen);
}

/* Values logged one by one when a uow is dropped; the rest are counted. */
#define DROPPED_LOG_MAX 20

/* The values of a uow that could be stored nowhere, so they are not lost silently. */
static void
log_dropped(const struct proto_uow *u)
{
        uint32_t i;

        for (i = 0; i < u->nvalues && i < DROPPED_LOG_MAX; i++) {
                const struct proto_value *v = &u->values[i];

                log_warnx("uow %" PRIu64 " dropped: %.*s %.*s %.*s = \"%.*s\" version %" PRIu64
                          " (collector %.*s, batch %.*s)",
                          u->seq, (int)v->unit.len, v->unit.p ? v->unit.p : "", (int)v->period.len,
                          v->period.p ? v->period.p : "", (int)v->indicator.len,
                          v->indicator.p ? v->indicator.p : "",
                          (int)(v->value.len > 64 ? 64 : v->value.len),
                          v->value.p ? v->value.p : "", v->version, (int)v->collector.len,
                          v->collector.p ? v->collector.p : "", (int)v->batch_id.len,
                          v->batch_id.p ? v->batch_id.p : "");
        }
        if (u->nvalues > DROPPED_LOG_MAX)
                log_warnx("uow %" PRIu64 " dropped %" PRIu32 " more values", u->seq,
                          u->nvalues - DROPPED_LOG_MAX);
}

enum db_result
writer_commit(struct writer *w, const struct proto_uow *u, int *replayed, char *err, size_t errlen)
{
        char msg[512], why[600], second[512];
        enum db_result r;
        char *agg;
        int dummy;

        *replayed = 0;
        if (u->aggregator.p == NULL || u->aggregator.len == 0) {
                strlcpyf(err, errlen, "uow %" PRIu64 " names no aggregator", u->seq);
                return DB_ERROR;
        }
        if (u->seq > INT64_MAX) {
                strlcpyf(err, errlen, "uow sequence %" PRIu64 " does not fit a bigint", u->seq);
                return DB_ERROR;
        }
        agg = xstrndup(u->aggregator.p, u->aggregator.len);
        r = in_txn(w, u, agg, replayed, NULL, body_apply, err, errlen);
        if (r != DB_RETRY)
                w->streak = 0;
        if (r == DB_OK) {
                if (*replayed) {
                        w->st.replays++;
                        log_debug("uow %" PRIu64 " from %s: replay, already committed", u->seq,
                                  agg);
                } else {
                        w->st.uows++;
                        w->st.values += u->nvalues;
                        w->st.rejects += u->nrejects;
                        w->st.aggs += u->naggs;
                }
        }
        if (r != DB_ERROR)
                goto out;

        strlcpyf(msg, sizeof msg, "%s", err);
        log_warnx("uow %" PRIu64 " from %s (%" PRIu32 " values, %" PRIu32 " rejects, %" PRIu32
                  " aggs) refused by PostgreSQL: %s; storing its values as rejections",
                  u->seq, agg, u->nvalues, u->nrejects, u->naggs, msg);
        strlcpyf(why, sizeof why, "refused by PostgreSQL: %s", msg);
        r = in_txn(w, u, agg, &dummy, why, body_store_refused, second, sizeof second);
        if (r == DB_ERROR) {
                log_warnx("uow %" PRIu64 " from %s: storing its %" PRIu32
                          " values as rejections was refused too (%s); they are dropped",
                          u->seq, agg, u->nvalues, second);
                log_dropped(u);
                r = in_txn(w, u, agg, &dummy, why, body_advance, second, sizeof second);
                if (r == DB_ERROR)
                        log_warnx("uow %" PRIu64 " from %s: cannot advance sink_state: %s", u->seq,
                                  agg, second);
        }
        if (r == DB_RETRY) {
                strlcpyf(err, errlen, "%s", second);
                goto out;
        }
        w->st.refused++;
        strlcpyf(err, errlen, "%s", msg);
        r = DB_ERROR;
out:
        free(agg);
        return r;
}

/* State stream. */

/*
 * Undo COPY text escaping of s[0..len) in place (the output is never
 * longer).  Returns the new length.
 */
static size_t
copy_unescape(char *s, size_t len)
{
        size_t i, o = 0;

        for (i = 0; i < len; i++) {
                char ch = s[i];

                if (ch == '\\' && i + 1 < len) {
                        char e = s[++i];

                        switch (e) {
                        case 'b':
                                ch = '\b';
                                break;
                        case 'f':
                                ch = '\f';
                                break;
                        case 'n':
                                ch = '\n';
                                break;
                        case 'r':
                                ch = '\r';
                                break;
                        case 't':
                                ch = '\t';
                                break;
                        case 'v':
                                ch = '\v';
                                break;
                        default:
                                /* COPY TO writes only the escapes above
                                 * and "\\"; anything else stands for
                                 * itself. */
                                ch = e;
                                break;
                        }
                }
                s[o++] = ch;
        }
        return o;
}

/*
 * Split one COPY TO line (unit, period, indicator, value, version,
 * collector) into *row, pointing into line.  Returns 0 or -1 when it is not
 * such a line.
 */
static int
parse_state_line(char *line, size_t len, struct proto_row *row)
{
        struct pstr f[6];
        size_t start = 0, i, k = 0;
        uint64_t version = 0;

        if (len > 0 && line[len - 1] == '\n')
                len--;
        for (i = 0; i <= len; i++) {
                if (i < len && line[i] != '\t')
                        continue;
                if (k == 6)
                        return -1;
                if (i - start == 2 && line[start] == '\\' && line[start + 1] == 'N')
                        return -1;
                f[k].p = line + start;
                f[k].len = (uint32_t)copy_unescape(line + start, i - start);
                k++;
                start = i + 1;
        }
        if (k != 6 || f[4].len == 0 || f[4].len > 20)
                return -1;
        /* Who stored it is for messages only: a long name is cut, at a character. */
        if (f[5].len > PROTO_MAX_ID) {
                f[5].len = PROTO_MAX_ID;
                while (f[5].len > 0 && ((unsigned char)f[5].p[f[5].len] & 0xc0) == 0x80)
                        f[5].len--;
        }
        for (i = 0; i < f[4].len; i++) {
                unsigned d = (unsigned char)f[4].p[i] - '0';

                if (d > 9 || version > (UINT64_MAX - d) / 10)
                        return -1;
                version = version * 10 + d;
        }
        row->unit = f[0];
        row->period = f[1];
        row->indicator = f[2];
        row->value = f[3];
        row->version = version;
        row->collector = f[5];
        return 0;
}

struct stream {
        int (*send)(void *arg, const void *buf, size_t len);
        void *arg;
        msgpack_sbuffer sbuf;
        msgpack_packer pk;
        struct proto_row rows[WRITER_ROWS_PER_MSG];
        char *lines[WRITER_ROWS_PER_MSG]; /* libpq buffers the rows point into */
        uint32_t n;
        unsigned long msgs;
};

/* Free the rows gathered so far, sent or not. */
static void
stream_drop(struct stream *s)
{
        uint32_t i;

        for (i = 0; i < s->n; i++)
                PQfreemem(s->lines[i]);
        s->n = 0;
}

/* Send the rows gathered so far as one "rows" message.  Returns 0 or -1. */
static int
stream_flush(struct stream *s)
{
        uint32_t i;
        int rc;

        if (s->n == 0)
                return 0;
        msgpack_sbuffer_clear(&s->sbuf);
        proto_rows_begin(&s->pk, s->n);
        for (i = 0; i < s->n; i++)
                proto_row_pack(&s->pk, &s->rows[i]);
        rc = s->send(s->arg, s->sbuf.data, s->sbuf.size);
        stream_drop(s);
        if (rc == 0)
                s->msgs++;
        return rc;
}

/* COPY rows out into s; counts them in *nrows. */
static enum db_result
stream_copy(struct writer *w, struct stream *s, uint64_t *nrows, char *err, size_t errlen)
{
        enum db_result r = DB_OK;
        PGresult *res;
        char *line;
        int len;

        res = PQexec(w->conn, sinksql_writer_state_copy);
        if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT)
                return pg_result_fail(w->conn, res, err, errlen);
        PQclear(res);
        while ((len = PQgetCopyData(w->conn, &line, 0)) > 0) {
                if (r != DB_OK) {
                        /* Drain the rest so the connection stays usable. */
                        PQfreemem(line);
                        continue;
                }
                if (parse_state_line(line, (size_t)len, &s->rows[s->n]) == -1) {
                        strlcpyf(err, errlen, "unit_value row %" PRIu64 " is not 6 fields",
                                 *nrows + 1);
                        PQfreemem(line);
                        r = DB_ERROR;
                        continue;
                }
                s->lines[s->n++] = line;
                ++*nrows;
                if (s->n == WRITER_ROWS_PER_MSG && stream_flush(s) == -1) {
                        strlcpyf(err, errlen, "sending state to the aggregator failed");
                        r = DB_ERROR;
                }
        }
        if (len == -2) {
                pg_error_format(w->conn, NULL, err, errlen);
                return pg_failure_kind(w->conn, NULL);
        }
        while ((res = PQgetResult(w->conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && r == DB_OK) {
                        r = pg_failure_kind(w->conn, res);
                        pg_error_format(w->conn, res, err, errlen);
                }
                PQclear(res);
        }
        return r;
}

/*
 * Field col of row i of res as a pstr: nil (p NULL) for NULL, cut to at
 * most max bytes at a UTF-8 character boundary, so the aggregator's decoder
 * (which caps every field) takes the message whatever is stored.
 */
static struct pstr
field_pstr(const PGresult *res, int i, int col, size_t max)
{
        struct pstr s = {NULL, 0};

        if (PQgetisnull(res, i, col))
                return s;
        s.p = PQgetvalue(res, i, col);
        s.len = (size_t)PQgetlength(res, i, col);
        if (s.len > max) {
                s.len = max;
                while (s.len > 0 && ((unsigned char)s.p[s.len] & 0xC0) == 0x80)
                        s.len--;
        }
        return s;
}

/*
 * Send the rows of the prepared query name (no parameters) as "reviews"
 * (review != 0) or "notes" messages of at most WRITER_ROWS_PER_MSG rows;
 * count them in *n and the messages in s->msgs.  The tables are small
 * (a row per unit and period acted on, a row per explained warning), so
 * the result is read whole.
 */
static enum db_result
stream_review_rows(struct writer *w, struct stream *s, const char *name, int review, uint64_t *n,
                   char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res = run(w, name, 0, NULL, NULL, PGRES_TUPLES_OK, &r, err, errlen);
        int i, first, nt;

        if (res == NULL)
                return r;
        nt = PQntuples(res);
        for (first = 0; first < nt; first += WRITER_ROWS_PER_MSG) {
                int last = nt - first > WRITER_ROWS_PER_MSG ? first + WRITER_ROWS_PER_MSG : nt;

                msgpack_sbuffer_clear(&s->sbuf);
                if (review)
                        proto_reviews_begin(&s->pk, (uint32_t)(last - first));
                else
                        proto_notes_begin(&s->pk, (uint32_t)(last - first));
                for (i = first; i < last; i++) {
                        if (review) {
                                struct proto_review_row row;

                                row.unit = field_pstr(res, i, 0, PROTO_MAX_FIELD);
                                row.period = field_pstr(res, i, 1, PROTO_MAX_FIELD);
                                row.state = field_pstr(res, i, 2, PROTO_MAX_ID);
                                row.by = field_pstr(res, i, 3, PROTO_MAX_ID);
                                row.at = PQgetisnull(res, i, 4)
                                             ? 0
                                             : strtoull(PQgetvalue(res, i, 4), NULL, 10);
                                row.comment = field_pstr(res, i, 5, PROTO_MAX_TEXT);
                                proto_review_row_pack(&s->pk, &row);
                        } else {
                                struct proto_note_row row;

                                row.unit = field_pstr(res, i, 0, PROTO_MAX_FIELD);
                                row.period = field_pstr(res, i, 1, PROTO_MAX_FIELD);
                                row.rule = field_pstr(res, i, 2, PROTO_MAX_ID);
                                proto_note_row_pack(&s->pk, &row);
                        }
                }
                if (s->send(s->arg, s->sbuf.data, s->sbuf.size) == -1) {
                        strlcpyf(err, errlen, "sending %s to the aggregator failed",
                                 review ? "review rows" : "notes");
                        PQclear(res);
                        return DB_ERROR;
                }
                s->msgs++;
        }
        *n = (uint64_t)nt;
        PQclear(res);
        return DB_OK;
}

enum db_result
writer_hello(struct writer *w, struct pstr aggregator, uint64_t *epoch, char *err, size_t errlen)
{
        enum db_result r;
        PGresult *res;

        if ((r = session_setup(w, err, errlen)) != DB_OK)
                return r;
        /* One statement, so it commits on its own (autocommit). */
        res = run_agg(w, "epoch_bump", aggregator, &r, err, errlen);
        if (res == NULL)
                return r;
        *epoch = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return DB_OK;
}

enum db_result
writer_stream_state(struct writer *w, struct pstr aggregator, uint64_t epoch,
                    int (*send)(void *arg, const void *buf, size_t len), void *arg,
                    uint64_t *last_seq, uint64_t *nrows, uint64_t *nreviews, uint64_t *nnotes,
                    char *err, size_t errlen)
{
        struct stream *s;
        enum db_result r;
        PGresult *res;
        uint64_t last = 0, n = 0, nrev = 0, nnot = 0;

        if ((r = session_setup(w, err, errlen)) != DB_OK)
                return r;
        /* One snapshot for last_seq and the rows, so they agree even if
         * something else wrote in between. */
        r = pg_exec(w->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen);
        if (r != DB_OK)
                return r;
        res = run_agg(w, "state_get", aggregator, &r, err, errlen);
        if (res == NULL)
                goto fail;
        if (PQntuples(res) == 1)
                last = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);

        s = xmalloc(sizeof *s);
        s->send = send;
        s->arg = arg;
        s->n = 0;
        s->msgs = 0;
        msgpack_sbuffer_init(&s->sbuf);
        msgpack_packer_init(&s->pk, &s->sbuf, msgpack_sbuffer_write);
        r = stream_copy(w, s, &n, err, errlen);
        if (r == DB_OK && stream_flush(s) == -1) {
                strlcpyf(err, errlen, "sending state to the aggregator failed");
                r = DB_ERROR;
        }
        stream_drop(s);
        if (r == DB_OK)
                r = stream_review_rows(w, s, "state_reviews", 1, &nrev, err, errlen);
        if (r == DB_OK)
                r = stream_review_rows(w, s, "state_notes", 0, &nnot, err, errlen);
        /* A failure after rows went out cannot be retried from scratch:
         * the aggregator would get rows twice. */
        if (r == DB_RETRY && s->msgs > 0) {
                strlcpyf(err + strlen(err), errlen - strlen(err),
                         " (after %lu messages of state; no ready sent)", s->msgs);
                r = DB_ERROR;
        }
        if (r == DB_OK) {
                msgpack_sbuffer_clear(&s->sbuf);
                proto_ready_pack(&s->pk, last, n, epoch, nrev, nnot);
                if (send(arg, s->sbuf.data, s->sbuf.size) == -1) {
                        strlcpyf(err, errlen, "sending ready to the aggregator failed");
                        r = DB_ERROR;
                }
        }
        msgpack_sbuffer_destroy(&s->sbuf);
        free(s);
        if (r != DB_OK)
                goto fail;
        /* Read-only: the rows are already out, so a failed COMMIT changes
         * nothing; the next statement finds a dead connection itself. */
        if (pg_exec(w->conn, "COMMIT", err, errlen) != DB_OK)
                log_warnx("state stream: COMMIT of the read-only snapshot failed: %s", err);
        *last_seq = last;
        *nrows = n;
        *nreviews = nrev;
        *nnotes = nnot;
        w->streak = 0;
        return DB_OK;
fail:
        if (PQstatus(w->conn) == CONNECTION_OK)
                pg_rollback(w->conn);
        return r;
}
