/*
 * outbox: the collector's durable local store of what it has to deliver.
 *
 * A batch is written here before it is sent and leaves only when the
 * aggregator's ack for it arrives, so a collector killed at any moment
 * (or a machine that loses power) still has every batch it took on, and the
 * next `submit` or `run` resends it.  Resending is safe: the aggregator keeps
 * the highest version of every key, and a batch keeps its id and bytes.
 *
 * The store is one SQLite database (Debian libsqlite3) in WAL mode with
 * synchronous=FULL.  WAL lets `status` read while `run` writes.  FULL, not
 * NORMAL, because NORMAL in WAL mode survives a process crash but may lose
 * the last commits on an operating-system crash or power loss, and by then
 * the collector may already have promised them: `submit` has said "the
 * batches stay in the outbox", `run` has moved the file out of incoming/.
 * An ack-less crash must never lose a batch that the outbox has accepted.
 *
 * Several collector processes may share one outbox: every write is one
 * BEGIN IMMEDIATE transaction and the connection waits up to
 * OUTBOX_BUSY_MS for another process's transaction to end (busy_timeout),
 * so they serialize instead of failing with "database is locked".  Acks are
 * idempotent: the first ack of a batch deletes it and adds its counts to its
 * file; a later ack of the same batch (a duplicate delivery) finds nothing
 * and changes nothing.
 *
 * What it holds (schema version 3, PRAGMA user_version):
 *   meta(key, value)          'last_version': the highest record version
 *                             handed out, so versions stay monotonic across
 *                             runs even when the wall clock steps back.
 *   file(id, path, origin, identity, spool_name, final_name, owner,
 *        created_at, records, batches, accepted, changed,
 *        refused_batches, refused_records, refusal, warnings_more)
 *                             one row per submitted file: the receipt being
 *                             built as acks arrive.  It stays until the
 *                             receipt has been printed (submit) or written
 *                             to the spool (run), then outbox_file_forget.
 *   batch(seq, batch_id, file_id, records, message, created_at, attempts,
 *         tried_at, last_error)
 *                             one row per unacknowledged batch; message is
 *                             the packed msgpack "submit" exactly as sent.
 *   rejection(file_id, line, from_ack, reason, place)
 *                             every rejected record of a file: found by the
 *                             collector itself (from_ack 0) or reported in
 *                             an ack (from_ack 1).  place (since version 2)
 *                             is where the receipt shows a collector's own
 *                             one, an enum outbox_place: at its line (0, as
 *                             every rejection of schema 1 and every ack's),
 *                             at a column (1) or at a cell (2), the reason
 *                             then starting with that column or cell.
 *   stale(file_id, line, value, collector, version)      (since version 2)
 *                             every valid record of a file that an ack
 *                             reported not stored because a newer version
 *                             of its key, with another value, is stored:
 *                             that value, who submitted it and its version.
 *   warning(file_id, unit, period, rule, message, left_value, right_value)
 *                                                        (since version 3)
 *                             the warnings (经验校验 rules that fail) the
 *                             acks of a file's batches reported: one per
 *                             unit, period and rule, the latest ack's text
 *                             replacing an earlier one's; at most
 *                             OUTBOX_MAX_WARNINGS per file, the rest only
 *                             counted in file.warnings_more.
 *
 * An outbox of an older schema is migrated when it is opened, in one
 * transaction that keeps everything it holds (1 -> 2 adds the stale table
 * and rejection.place, 0 for the rejections it holds; 2 -> 3 the warning
 * table and file.warnings_more); one of a newer schema is refused.  Batches queued under schema 1
 * hold version-1 "submit" messages: see outbox_batch_next.
 *
 * Everything read back is capped: a stored message at OUTBOX_MAX_MESSAGE
 * bytes, texts at OUTBOX_MAX_TEXT, lists at the count the caller gives.
 * Errors are logged (naming the outbox file and what failed) and returned as
 * -1; the caller decides whether that ends the program.
 */
#ifndef EDUSTAT_OUTBOX_H
#define EDUSTAT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define OUTBOX_SCHEMA       3
#define OUTBOX_BUSY_MS      60000 /* wait this long for another process's transaction */
#define OUTBOX_ID_LEN       32    /* batch ids: 128 random bits in hex */
#define OUTBOX_MAX_MESSAGE  PROTO_MAX_SUBMIT_BYTES
#define OUTBOX_MAX_TEXT     PROTO_MAX_TEXT
#define OUTBOX_MAX_WARNINGS 1000 /* kept per file; the rest are counted */

struct outbox;

/* Who put the file in the outbox, and so who prints or writes its receipt. */
enum outbox_origin {
        OUTBOX_SUBMIT = 1, /* `submit`: printed on stdout by a submit */
        OUTBOX_RUN = 2,    /* `run`: written to the spool by run */
};

/* Flags of outbox_open. */
#define OUTBOX_CREATE 1 /* create the file and the schema when missing */
/*
 * A private outbox in memory, gone when closed: path only names it in
 * messages, and no file is opened or created.  For a dry run, which must
 * leave nothing behind (not even an outbox file) but builds its receipt
 * the way a submit does.
 */
#define OUTBOX_PRIVATE 2

/* A file as it goes in (outbox_file_add).  Strings are copied. */
struct outbox_file_new {
        const char *path; /* name in receipts and in rejected.source */
        enum outbox_origin origin;
        const char *identity;   /* spool: the incoming file's identity, else NULL */
        const char *spool_name; /* spool: its name under processing/, else NULL */
        long owner;             /* pid of the process that enqueued it */
        uint64_t records;       /* records read, rejected ones included */
        uint32_t batches;
};

/*
 * A file as stored, with what is still pending.  Strings are owned (free
 * with outbox_file_clear) and NULL when absent.
 */
struct outbox_file {
        int64_t id;
        char *path;
        enum outbox_origin origin;
        char *identity, *spool_name, *final_name;
        long owner;
        int64_t created_at; /* unix seconds */
        uint64_t records;
        uint32_t batches;
        uint64_t accepted, changed;
        uint32_t refused_batches;
        uint64_t refused_records;
        char *refusal;     /* the aggregator's message for the last refused batch */
        uint64_t stale;    /* accepted records not stored: newer values exist (from the acks) */
        uint64_t warnings; /* warnings the acks reported: kept ones and warnings_more */
        uint64_t warnings_more; /* of those, the ones past OUTBOX_MAX_WARNINGS, not kept */
        /* Of the batches not yet answered: */
        uint32_t pending;
        uint64_t pending_records;
        uint64_t attempts; /* sends, summed */
        int64_t oldest;    /* created_at of the oldest, unix seconds; 0 when none */
        char *last_error;  /* of the most recently tried one that has an error */
};

/* A batch waiting for its ack.  msg is owned: free with outbox_batch_clear. */
struct outbox_batch {
        int64_t seq; /* delivery order: lower first */
        int64_t file_id;
        char batch_id[OUTBOX_ID_LEN + 1];
        uint32_t records;
        uint32_t attempts;
        int64_t created_at;
        void *msg;
        size_t len;
};

/* One rejected line reported by an ack; reason need not be terminated. */
struct outbox_reject {
        unsigned long line;
        const char *reason;
        size_t len;
};

/*
 * One stale record reported by an ack: a valid record not stored because a
 * newer version of its key, with another value, is stored.  The strings
 * need not be terminated.
 */
struct outbox_stale {
        unsigned long line;
        const char *value; /* the stored value */
        size_t value_len;
        const char *collector; /* who submitted it */
        size_t collector_len;
        uint64_t version; /* its version: µs since 1970 × 1024 (+ record index) */
};

/*
 * A warning reported by an ack (proto_warning): a warning rule that fails
 * for a unit and period the batch touched.  The strings need not be
 * terminated; left and right may be NULL.
 */
struct outbox_warning {
        const char *unit, *period, *rule, *message, *left, *right;
        size_t unit_len, period_len, rule_len, message_len, left_len, right_len;
};

/*
 * A kept warning as outbox_warnings_each gives it: terminated strings, the
 * outbox's, valid during the callback only; left and right may be NULL.
 */
struct outbox_warning_row {
        const char *unit, *period, *rule, *message, *left, *right;
};

/*
 * Where a rejection is shown in a receipt (collector/submit.h says why);
 * stored as these numbers in rejection.place.
 */
enum outbox_place {
        OUTBOX_AT_LINE = 0, /* FILE:LINE: reason */
        OUTBOX_AT_COLUMN,   /* FILE:LINE:reason, the reason starting with its column */
        OUTBOX_AT_CELL,     /* FILE:reason, the reason starting with Sheet!Cell */
};

/*
 * A line of a file's receipt, as outbox_lines_each gives it: a rejection
 * (stale 0: reason, shown at place) or a stale record (stale 1: value,
 * collector, version).  The strings are the outbox's, valid during the
 * callback only; the unused ones are NULL.
 */
struct outbox_line {
        unsigned long line;
        int stale;
        const char *reason;
        enum outbox_place place; /* OUTBOX_AT_LINE for an ack's and a stale record */
        const char *value, *collector;
        uint64_t version;
};

/* Counts for `status`. */
struct outbox_totals {
        uint64_t pending_files, pending_batches, pending_records;
        uint64_t unreported_files; /* complete, receipt not printed/written yet */
        uint64_t last_version;
};

/*
 * The text of migration `version` (1..OUTBOX_SCHEMA), which takes an
 * outbox from schema version - 1 to version and ends by setting
 * user_version.  Static; never NULL.  A released migration is never edited,
 * since outboxes in the field were made by it: tests build outboxes of
 * older schemas from these texts and check that they stay as released.
 */
const char *outbox_migration_sql(int version);

/*
 * Open (and with OUTBOX_CREATE create) the outbox at path: WAL,
 * synchronous=FULL, busy_timeout OUTBOX_BUSY_MS, foreign keys on, schema
 * created or checked.  Returns an owned handle, or NULL with a message
 * naming path in err (a missing file without OUTBOX_CREATE gives
 * "PATH: no such outbox").
 */
struct outbox *outbox_open(const char *path, int flags, char *err, size_t errlen);

/* Close; accepts NULL and sets *obp to NULL.  An open transaction is rolled back. */
void outbox_close(struct outbox **obp);

/* The path given to outbox_open (owned by the outbox). */
const char *outbox_path(const struct outbox *ob);

/*
 * Start a write transaction (BEGIN IMMEDIATE, waiting for other processes
 * up to OUTBOX_BUSY_MS).  Only outbox_versions_take, outbox_file_add,
 * outbox_batch_add, outbox_rejection_add(_at) and the read functions may
 * be called inside one; the rest open their own transaction.  Returns 0 or
 * -1.
 */
int outbox_begin(struct outbox *ob);
/* Commit: durable when it returns 0 (synchronous=FULL).  -1 leaves nothing of it. */
int outbox_commit(struct outbox *ob);
/* Roll back the open transaction; nothing of it stays. */
void outbox_rollback(struct outbox *ob);

/*
 * Inside a transaction: reserve n record versions.  *base becomes
 * max(floor, last used + 1), and last used becomes base + n - 1 (unchanged
 * when n is 0), so versions never repeat or go back, whatever the clock
 * does.  Returns 0, or -1 (also when the versions would pass 2^63 - 1).
 */
int outbox_versions_take(struct outbox *ob, uint64_t n, uint64_t floor, uint64_t *base);

/* The highest version handed out so far (0 when none).  Returns 0 or -1. */
int outbox_last_version(struct outbox *ob, uint64_t *out);

/* Inside a transaction: add a file; *id is its id (ids are never reused).  0 or -1. */
int outbox_file_add(struct outbox *ob, const struct outbox_file_new *f, int64_t *id);

/*
 * Inside a transaction: add a batch of file_id: its 32-hex-digit id, the
 * packed message (at most OUTBOX_MAX_MESSAGE bytes, copied) and its record
 * count.  Returns 0 or -1 (a duplicate id is an error).
 */
int outbox_batch_add(struct outbox *ob, int64_t file_id, const char *batch_id, const void *msg,
                     size_t len, uint32_t records);

/*
 * Inside a transaction: record a line of file_id the collector rejected
 * itself (reason cut at OUTBOX_MAX_TEXT bytes).  Returns 0 or -1.
 */
int outbox_rejection_add(struct outbox *ob, int64_t file_id, unsigned long line,
                         const char *reason);

/* The same for a rejection shown at place. */
int outbox_rejection_add_at(struct outbox *ob, int64_t file_id, unsigned long line,
                            enum outbox_place place, const char *reason);

/*
 * The first batch with after_seq < seq (and seq <= max_seq unless max_seq is
 * 0), message included.  Returns 1 and fills *out (free with
 * outbox_batch_clear), 0 when there is none, -1 on error.  A stored message
 * larger than OUTBOX_MAX_MESSAGE cannot be sent: it is refused on the spot
 * (outbox_refuse, logged) and the next batch is returned.
 *
 * A message queued by a collector of protocol version 1 (before the
 * upgrade, or by a collector of that version still writing to this outbox)
 * is returned as version PROTO_VERSION: the submit's layout did not change,
 * so only its version integer is rewritten, and only when the message
 * starts exactly with a version-1 submit's first 9 bytes.  The stored row
 * is left as it is; the rewrite depends on its bytes alone, so every send
 * of a batch is byte-identical (the aggregator tells a resend from a reused
 * id by a digest of the bytes).
 */
int outbox_batch_next(struct outbox *ob, int64_t after_seq, int64_t max_seq,
                      struct outbox_batch *out);

/* Free out->msg and zero *out; accepts a zeroed struct. */
void outbox_batch_clear(struct outbox_batch *out);

/* 1 when the batch is still waiting for its ack, 0 when not, -1 on error. */
int outbox_batch_pending(struct outbox *ob, const char *batch_id);

/* The highest batch seq in the outbox into *seq (0 when empty).  0 or -1. */
int outbox_max_seq(struct outbox *ob, int64_t *seq);

/*
 * Count a send of the batch (attempts + 1, tried_at = now) and, when error
 * is not NULL, set its last error (cut at OUTBOX_MAX_TEXT).  A batch that
 * is gone is not an error.  Returns 0 or -1.
 */
int outbox_batch_attempt(struct outbox *ob, const char *batch_id, const char *error);

/* Set the batch's last error without counting a send.  0 or -1. */
int outbox_batch_note(struct outbox *ob, const char *batch_id, const char *error);

/*
 * The ack of batch_id arrived: in one transaction delete the batch, add
 * accepted and changed to its file and store its rejections (from_ack 1)
 * and its stale records (texts cut at OUTBOX_MAX_TEXT; a version above
 * 2^63 - 1 is stored as 2^63 - 1).  rej and stale may be NULL when
 * their count is 0.  Returns 1 with *file_id set when the batch was pending, 0
 * when it was not (a duplicate ack: nothing changes), -1 on error (nothing
 * changes).
 */
int outbox_ack(struct outbox *ob, const char *batch_id, uint32_t accepted, uint32_t changed,
               const struct outbox_reject *rej, size_t nrej, const struct outbox_stale *stale,
               size_t nstale, int64_t *file_id);

/*
 * outbox_ack of a version-3 ack: the same, and in the same transaction its
 * nwarn warnings are kept with the file (warn may be NULL when nwarn is
 * 0): a unit, period and rule the file has a warning for already gets the
 * new text; past OUTBOX_MAX_WARNINGS of the file a new one is only counted
 * (file.warnings_more).  Texts cut at OUTBOX_MAX_TEXT.  Returns as
 * outbox_ack.
 */
int outbox_ack_warned(struct outbox *ob, const char *batch_id, uint32_t accepted, uint32_t changed,
                      const struct outbox_reject *rej, size_t nrej,
                      const struct outbox_stale *stale, size_t nstale,
                      const struct outbox_warning *warn, size_t nwarn, int64_t *file_id);

/*
 * The aggregator refused batch_id ("error" reply): refusing is final, the
 * same bytes would be refused again.  In one transaction delete the batch
 * and count it, its records and message (len bytes, cut at OUTBOX_MAX_TEXT)
 * on its file.  Returns 1 with *file_id, 0 when it was not pending, -1.
 */
int outbox_refuse(struct outbox *ob, const char *batch_id, const char *message, size_t len,
                  int64_t *file_id);

/* Read file id into *out.  Returns 1, 0 when there is no such file, -1. */
int outbox_file_get(struct outbox *ob, int64_t id, struct outbox_file *out);

/* The file with this spool identity.  Returns 1, 0 when none, -1. */
int outbox_file_find(struct outbox *ob, const char *identity, struct outbox_file *out);

/* 1 when a stored file has spool_name, 0 when none does, -1 on error. */
int outbox_spool_name_taken(struct outbox *ob, const char *spool_name);

/*
 * Files in id order with id > after_id, at most max of them: origin 0 for
 * any, pending 1 for files with batches left, 0 for complete files, -1 for
 * both.  *files is owned (free with outbox_files_free), *n its length.
 * Returns 0 or -1.
 */
int outbox_files_list(struct outbox *ob, int origin, int pending, int64_t after_id, size_t max,
                      struct outbox_file **files, size_t *n);

/* Free a file's strings and zero it; accepts a zeroed struct. */
void outbox_file_clear(struct outbox_file *f);
/* Free n files from outbox_files_list; accepts NULL. */
void outbox_files_free(struct outbox_file *files, size_t n);

/* Record where run moves the file (done/NAME or failed/NAME).  0 or -1. */
int outbox_file_final_set(struct outbox *ob, int64_t id, const char *final_name);

/*
 * Drop a complete file with its rejections, stale records and warnings: its receipt
 * has been printed or written.  Returns 0 (also when it was gone already),
 * or -1, also when the file still has batches to deliver (those are never
 * dropped).
 */
int outbox_file_forget(struct outbox *ob, int64_t id);

/*
 * The rejections of a file as its receipt shows them, the collector's own
 * first on each line.  When the collector rejected a line itself and the
 * aggregator echoed it, the collector's reason is the one shown; an ack's
 * reason given for several records of one line (the cells of a wide row)
 * is shown once.  Stores how many in *n.  Returns 0 or -1.
 */
int outbox_rejections_count(struct outbox *ob, int64_t file_id, uint64_t *n);

/*
 * The lines of a file's receipt: its rejections (as counted above, with
 * their places) and its stale records, in line order (on one line the
 * rejections first, the collector's own before the acks', then the stale
 * records).  Calls fn(arg, line) for each, texts cut at OUTBOX_MAX_TEXT,
 * stopping early when fn returns non-zero.  Returns 0 or -1.
 */
int outbox_lines_each(struct outbox *ob, int64_t file_id,
                      int (*fn)(void *arg, const struct outbox_line *line), void *arg);

/*
 * The kept warnings of a file, in the order they first came.  Calls
 * fn(arg, w) for each, texts cut at OUTBOX_MAX_TEXT, stopping early when fn
 * returns non-zero.  Returns 0 or -1.
 */
int outbox_warnings_each(struct outbox *ob, int64_t file_id,
                         int (*fn)(void *arg, const struct outbox_warning_row *w), void *arg);

/* What is pending, for `status`.  Returns 0 or -1. */
int outbox_totals_get(struct outbox *ob, struct outbox_totals *t);

#endif
