/*
 * writer: the sink's connection to PostgreSQL and the two things it does
 * with it: commit a unit of work (uow) from the aggregator in one
 * transaction, and stream the stored values back when an aggregator says
 * hello.  No ZeroMQ here, so both are testable against a bare database.
 *
 * The invariant kept here: a uow is acknowledged ("ok") only after COMMIT
 * returned, and it is applied at most once.  The last committed sequence of
 * each aggregator is stored in edustat.sink_state inside the same
 * transaction, so a replayed uow (the aggregator resends after a lost ack)
 * is recognised and not applied twice.  An aggregator id has one live
 * session at a time: each hello starts a new epoch (writer_hello), and a
 * uow of an older epoch is fenced, never applied.
 *
 * A commit is (docs/ARCHITECTURE.md, "Units of work"):
 *   BEGIN; lock sink_state; old epoch? -> fenced; replay? -> ROLLBACK, done
 *   COPY unit_value            values flagged NEW|FINAL
 *   COPY stage_value -> value_replace: values flagged FINAL, not NEW, go
 *                      into unit_value where the stored version is older,
 *                      and the row they replace into value_replaced
 *   COPY value_replaced        values not flagged FINAL (replaced within
 *                              the uow)
 *   COPY stage_first  -> INSERT first_report ON CONFLICT DO NOTHING
 *   COPY stage_reject -> INSERT rejected ON CONFLICT (collector, batch_id, line, unit,
 *                      period, indicator) DO NOTHING
 *   COPY stage_agg    -> INSERT agg_rollup, agg_breakdown ON CONFLICT DO UPDATE
 *   COPY stage_violation -> violation_apply: upsert rule_violation (first_seen
 *                      kept; a row whose values did not change is not
 *                      rewritten), delete the rows whose rule no longer fails;
 *                      a full list then deletes every row it does not name
 *   COPY stage_note   -> note_apply: actions "explain" into rule_note
 *                      (replaced) and rule_note_history (appended)
 *   COPY stage_review -> review_apply: actions finish, approve, return and
 *                      reopen, in uow order, into review_history (appended,
 *                      from_state chained through the uow) and review (the
 *                      last of each unit and period)
 *   UPDATE sink_state; COMMIT
 * Each accepted value is written once: value_history is a view of
 * value_replaced and unit_value (migration 8).  The stage tables
 * are TEMP ... ON COMMIT DELETE ROWS, created once per connection, as are
 * the prepared statements.
 */
#ifndef EDUSTAT_SINK_WRITER_H
#define EDUSTAT_SINK_WRITER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "proto.h"
#include "pg.h"

/* Rows per "rows" message of the state stream. */
#define WRITER_ROWS_PER_MSG 5000

/* Connect back-off: the first wait and the cap, in milliseconds. */
#define WRITER_BACKOFF_MIN_MS 500
#define WRITER_BACKOFF_MAX_MS 10000

struct writer;

/* What the writer has done since it was created. */
struct writer_stats {
        uint64_t uows;    /* committed, replays and refusals excluded */
        uint64_t values;  /* value rows of committed uows */
        uint64_t rejects; /* reject rows of committed uows */
        uint64_t aggs;    /* agg rows of committed uows */
        uint64_t replays; /* uows acknowledged without applying: seq <= last_seq */
        uint64_t refused; /* uows PostgreSQL refused; stored as rejections */
};

/*
 * A writer for the libpq connection string conninfo ("" means libpq's
 * defaults and PG* variables).  Does not connect.  Returns an owned writer.
 */
struct writer *writer_new(const char *conninfo);

/* Close the connection and free; accepts NULL and sets *wp to NULL. */
void writer_destroy(struct writer **wp);

/*
 * (Re)connect: drop any current connection, then try to connect, waiting
 * WRITER_BACKOFF_MIN_MS, doubling up to WRITER_BACKOFF_MAX_MS, between
 * attempts and logging each failure once.  A reconnect that follows another
 * reconnect with no successful writer_commit or writer_stream_state in
 * between first waits the same way, so a server that accepts connections
 * but fails every transaction is not hammered.  Gives up only when *stop
 * becomes nonzero (checked at least every 100 ms while waiting).  Returns 0
 * when connected, -1 when stopped.
 */
int writer_connect(struct writer *w, volatile sig_atomic_t *stop);

/*
 * The current connection (NULL before writer_connect), for migrate_run
 * and refdata_store.  Owned by the writer.
 */
PGconn *writer_conn(const struct writer *w);

/*
 * Commit uow u (see the top of this file).  On success sets *replayed to 1
 * when u->seq had already been committed (nothing applied), else 0.
 *
 * Returns
 *   DB_OK     committed, or a replay: reply ["ok", seq].
 *   DB_ERROR  PostgreSQL refused the uow (a data error, logged with its
 *             SQLSTATE).  It was rolled back; then, in a second
 *             transaction, every value of u was stored in edustat.rejected
 *             (raw = the value text, line NULL, reason "refused by
 *             PostgreSQL: ...") together with u's rejects, and sink_state
 *             was advanced.  If even that is refused, only sink_state is
 *             advanced and the loss is logged.  err holds the message:
 *             reply ["fail", seq, err].
 *   DB_RETRY  the connection failed; nothing is committed for u.  Do not
 *             reply; writer_connect, then call writer_commit again with the
 *             same u.
 *   DB_GAP    u->seq is beyond last_seq + 1: an earlier uow was lost on
 *             the way.  Nothing applied; do not reply (the aggregator
 *             resends from its oldest unacknowledged uow).  err says which.
 *   DB_FENCED u->epoch is not the aggregator id's current epoch: a later
 *             hello of the same id took over.  Nothing applied; reply
 *             ["fenced", seq, err], err being "another aggregator with id
 *             X took over at T".
 * DB_RETRY is also returned, after a rollback and a loud log, when the
 * correction statement finds that another session changed the rows it
 * was updating: the commit is then redone on a fresh connection.
 * A violation with only one value, or an action whose kind is not
 * explain, finish, approve, return or reopen, or that lacks a field its
 * kind needs (every one a unit, a period and a collector; explain a rule
 * and a text; return and reopen a text), is a DB_ERROR (the uow is
 * refused as above, err naming the entry).  A uow without violations or
 * actions runs no statement for them.
 * u is only read; its strings need not be terminated.
 */
enum db_result writer_commit(struct writer *w, const struct proto_uow *u, int *replayed, char *err,
                             size_t errlen);

/*
 * A hello from aggregator: start its next epoch (1 for a new id) and commit
 * it, so that uows of any earlier session of the same id are fenced from
 * now on.  Sets *epoch.  Returns DB_OK, DB_RETRY (connection; reconnect
 * and call again) or DB_ERROR with err.
 */
enum db_result writer_hello(struct writer *w, struct pstr aggregator, uint64_t *epoch, char *err,
                            size_t errlen);

/*
 * Stream the stored state to an aggregator: every unit_value row, read with
 * COPY ... TO STDOUT in one REPEATABLE READ snapshot together with
 * sink_state.last_seq of aggregator (0 when it has none), sent through
 * send() as ["rows", [...]] messages of at most WRITER_ROWS_PER_MSG rows;
 * then, from the same snapshot, every row of edustat.review as
 * ["reviews", [...]] and every (unit, period, rule) of edustat.rule_note
 * as ["notes", [...]] messages of at most WRITER_ROWS_PER_MSG rows each
 * (fields cut to the decoder's caps); and a final ["ready", last_seq,
 * nrows, epoch, nreviews, nnotes] (epoch from writer_hello).
 * send(arg, buf, len) returns 0 or -1; buf is only valid during the call.
 * On DB_OK sets *last_seq, *nrows, *nreviews and *nnotes.
 *
 * Returns
 *   DB_OK     everything, "ready" included, was sent.
 *   DB_RETRY  the connection failed before any message was sent:
 *             writer_connect and call again.
 *   DB_ERROR  send() failed, the database refused the query, or the
 *             connection failed after some rows had gone out; err says
 *             which.  No "ready" was sent, so the aggregator never takes a
 *             partial state for a whole one; it must say hello again.
 */
enum db_result writer_stream_state(struct writer *w, struct pstr aggregator, uint64_t epoch,
                                   int (*send)(void *arg, const void *buf, size_t len), void *arg,
                                   uint64_t *last_seq, uint64_t *nrows, uint64_t *nreviews,
                                   uint64_t *nnotes, char *err, size_t errlen);

/* Copy the counters into *out. */
void writer_stats_get(const struct writer *w, struct writer_stats *out);

#endif
