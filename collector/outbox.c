/*
 * outbox: the SQLite store behind outbox.h.  Statements are prepared once
 * per connection and kept; every multi-statement change is one BEGIN
 * IMMEDIATE transaction, so a crash leaves all of it or none of it.
 */
#include "outbox.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "outboxsql.h"
#include "util.h"

enum stmt {
        S_VERSION_GET,
        S_VERSION_SET,
        S_FILE_ADD,
        S_BATCH_ADD,
        S_REJ_ADD,
        S_STALE_ADD,
        S_WARN_UPDATE,
        S_WARN_COUNT,
        S_WARN_ADD,
        S_WARN_MORE,
        S_WARN_DEL,
        S_WARN_EACH,
        S_BATCH_NEXT,
        S_BATCH_PENDING,
        S_MAX_SEQ,
        S_ATTEMPT,
        S_NOTE,
        S_BATCH_OF,
        S_BATCH_DEL,
        S_FILE_ACK,
        S_FILE_REFUSE,
        S_FILE_ID_OF,
        S_SPOOL_TAKEN,
        S_FILES_LIST,
        S_FINAL_SET,
        S_FILE_NBATCH,
        S_REJ_DEL,
        S_STALE_DEL,
        S_FILE_DEL,
        S_REJ_COUNT,
        S_LINES_EACH,
        S_TOTALS_PENDING,
        S_TOTALS_DONE,
        NSTMT
};

/* Each statement's text: collector/sql/outbox/NAME.sql, embedded at build time. */
static const char *const stmt_sql[NSTMT] = {
    [S_VERSION_GET] = outboxsql_outbox_version_get,
    [S_VERSION_SET] = outboxsql_outbox_version_set,
    [S_FILE_ADD] = outboxsql_outbox_file_add,
    [S_BATCH_ADD] = outboxsql_outbox_batch_add,
    [S_REJ_ADD] = outboxsql_outbox_rej_add,
    [S_STALE_ADD] = outboxsql_outbox_stale_add,
    [S_WARN_UPDATE] = outboxsql_outbox_warn_update,
    [S_WARN_COUNT] = outboxsql_outbox_warn_count,
    [S_WARN_ADD] = outboxsql_outbox_warn_add,
    [S_WARN_MORE] = outboxsql_outbox_warn_more,
    [S_WARN_DEL] = outboxsql_outbox_warn_del,
    [S_WARN_EACH] = outboxsql_outbox_warn_each,
    [S_BATCH_NEXT] = outboxsql_outbox_batch_next,
    [S_BATCH_PENDING] = outboxsql_outbox_batch_pending,
    [S_MAX_SEQ] = outboxsql_outbox_max_seq,
    [S_ATTEMPT] = outboxsql_outbox_attempt,
    [S_NOTE] = outboxsql_outbox_note,
    [S_BATCH_OF] = outboxsql_outbox_batch_of,
    [S_BATCH_DEL] = outboxsql_outbox_batch_del,
    [S_FILE_ACK] = outboxsql_outbox_file_ack,
    [S_FILE_REFUSE] = outboxsql_outbox_file_refuse,
    [S_FILE_ID_OF] = outboxsql_outbox_file_id_of,
    [S_SPOOL_TAKEN] = outboxsql_outbox_spool_taken,
    [S_FILES_LIST] = outboxsql_outbox_files_list,
    [S_FINAL_SET] = outboxsql_outbox_final_set,
    [S_FILE_NBATCH] = outboxsql_outbox_file_nbatch,
    [S_REJ_DEL] = outboxsql_outbox_rej_del,
    [S_STALE_DEL] = outboxsql_outbox_stale_del,
    [S_FILE_DEL] = outboxsql_outbox_file_del,
    [S_REJ_COUNT] = outboxsql_outbox_rej_count,
    [S_LINES_EACH] = outboxsql_outbox_lines_each,
    [S_TOTALS_PENDING] = outboxsql_outbox_totals_pending,
    [S_TOTALS_DONE] = outboxsql_outbox_totals_done,
};

/*
 * The schema is a series of migrations, collector/sql/NNN_name.sql
 * (collector/sql/README.md says why each exists): migration v takes an
 * outbox from schema v - 1 to v (0 is an empty file) and ends by setting
 * user_version to v.  A released migration is never edited: outboxes in the
 * field were made by its text, and a test holds each one to its released
 * bytes.
 */
_Static_assert(OUTBOX_SCHEMA == OUTBOXSQL_MIGRATIONS,
               "OUTBOX_SCHEMA is the number of files collector/sql/NNN_name.sql");

const char *
outbox_migration_sql(int version)
{
        assert(version >= 1 && version <= OUTBOX_SCHEMA);
        return outboxsql_migrations[version - 1].text;
}

struct outbox {
        sqlite3 *db;
        char *path;
        int in_txn;
        int private; /* OUTBOX_PRIVATE: in memory, path is only a name */
        sqlite3_stmt *st[NSTMT];
};

static void
ob_warn(const struct outbox *ob, const char *what)
{
        log_warnx("outbox %s: %s: %s", ob->path, what, sqlite3_errmsg(ob->db));
}

/* The statement, prepared on first use, reset and with no bindings. */
static sqlite3_stmt *
stmt(struct outbox *ob, enum stmt s)
{
        if (ob->st[s] == NULL) {
                if (sqlite3_prepare_v3(ob->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
                                       &ob->st[s], NULL) != SQLITE_OK) {
                        /* The SQL is ours: failing to prepare it is a bug or a damaged file. */
                        ob_warn(ob, "prepare");
                        return NULL;
                }
        }
        sqlite3_reset(ob->st[s]);
        sqlite3_clear_bindings(ob->st[s]);
        return ob->st[s];
}

/* Step a statement that returns no row.  0 or -1 (logged with what). */
static int
step_done(struct outbox *ob, sqlite3_stmt *st, const char *what)
{
        int rc = sqlite3_step(st);

        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                ob_warn(ob, what);
                return -1;
        }
        return 0;
}

/* Step a statement returning at most one row: 1 with a row, 0 without, -1. */
static int
step_row(struct outbox *ob, sqlite3_stmt *st, const char *what)
{
        int rc = sqlite3_step(st);

        if (rc == SQLITE_ROW)
                return 1;
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
                return 0;
        ob_warn(ob, what);
        return -1;
}

static int
exec(struct outbox *ob, const char *sql, const char *what)
{
        if (sqlite3_exec(ob->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
                ob_warn(ob, what);
                return -1;
        }
        return 0;
}

/* The length of s[0..len) cut to at most cap bytes without splitting a UTF-8 sequence. */
static size_t
text_cut(const char *s, size_t len, size_t cap)
{
        if (len <= cap)
                return len;
        len = cap;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                len--;
        return len;
}

/* A copy of a text column, cut at OUTBOX_MAX_TEXT bytes; NULL for SQL NULL. */
static char *
column_text(sqlite3_stmt *st, int col)
{
        const char *s = (const char *)sqlite3_column_text(st, col);

        if (s == NULL)
                return NULL;
        return xstrndup(s, text_cut(s, (size_t)sqlite3_column_bytes(st, col), OUTBOX_MAX_TEXT));
}

static int64_t
now_s(void)
{
        return wallclock_us() / 1000000;
}

static int
schema_init(struct outbox *ob, char *err, size_t errlen)
{
        sqlite3_stmt *st;
        int version;

        if (exec(ob, "BEGIN IMMEDIATE", "begin") < 0) {
                strlcpyf(err, errlen, "%s: cannot lock the outbox: %s", ob->path,
                         sqlite3_errmsg(ob->db));
                return -1;
        }
        if (sqlite3_prepare_v2(ob->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
                strlcpyf(err, errlen, "%s: not an outbox: %s", ob->path, sqlite3_errmsg(ob->db));
                sqlite3_finalize(st);
                exec(ob, "ROLLBACK", "rollback");
                return -1;
        }
        version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (version < 0 || version > OUTBOX_SCHEMA) {
                if (version < 0)
                        strlcpyf(err, errlen, "%s: not an outbox (schema version %d)", ob->path,
                                 version);
                else
                        strlcpyf(err, errlen,
                                 "%s: outbox schema version %d is newer than this collector's (%d)",
                                 ob->path, version, OUTBOX_SCHEMA);
                exec(ob, "ROLLBACK", "rollback");
                return -1;
        }
        /* All steps in this one transaction: a crash leaves the old schema whole. */
        for (int v = version + 1; v <= OUTBOX_SCHEMA; v++) {
                if (sqlite3_exec(ob->db, outbox_migration_sql(v), NULL, NULL, NULL) != SQLITE_OK) {
                        strlcpyf(err, errlen, "%s: cannot %s the outbox schema (version %d): %s",
                                 ob->path, version == 0 ? "create" : "upgrade", v,
                                 sqlite3_errmsg(ob->db));
                        exec(ob, "ROLLBACK", "rollback");
                        return -1;
                }
        }
        if (exec(ob, "COMMIT", "commit") < 0) {
                strlcpyf(err, errlen, "%s: cannot commit the outbox schema: %s", ob->path,
                         sqlite3_errmsg(ob->db));
                return -1;
        }
        if (version > 0 && version < OUTBOX_SCHEMA)
                log_info("outbox %s: schema upgraded from version %d to %d, everything it held "
                         "kept",
                         ob->path, version, OUTBOX_SCHEMA);
        return 0;
}

/* WAL, FULL, busy_timeout, foreign keys.  0 or -1 with err. */
static int
pragmas_set(struct outbox *ob, char *err, size_t errlen)
{
        sqlite3_stmt *st = NULL;
        const char *mode;
        int ok;

        sqlite3_busy_timeout(ob->db, OUTBOX_BUSY_MS);
        if (sqlite3_prepare_v2(ob->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
                strlcpyf(err, errlen, "%s: cannot open the outbox: %s", ob->path,
                         sqlite3_errmsg(ob->db));
                sqlite3_finalize(st);
                return -1;
        }
        mode = (const char *)sqlite3_column_text(st, 0);
        /* A private outbox lives in memory, where there is no WAL and none is needed. */
        ok = mode != NULL &&
             (strcmp(mode, "wal") == 0 || (ob->private && strcmp(mode, "memory") == 0));
        if (!ok)
                strlcpyf(err, errlen,
                         "%s: the outbox cannot use WAL mode here (journal mode stays \"%s\"); "
                         "put it on a local file system",
                         ob->path, mode ? mode : "?");
        sqlite3_finalize(st);
        if (!ok)
                return -1;
        if (sqlite3_exec(ob->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL,
                         NULL) != SQLITE_OK) {
                strlcpyf(err, errlen, "%s: cannot set up the outbox: %s", ob->path,
                         sqlite3_errmsg(ob->db));
                return -1;
        }
        return 0;
}

struct outbox *
outbox_open(const char *path, int flags, char *err, size_t errlen)
{
        struct outbox *ob;
        int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

        if (!(flags & (OUTBOX_CREATE | OUTBOX_PRIVATE)) && access(path, F_OK) < 0 &&
            errno == ENOENT) {
                strlcpyf(err, errlen, "%s: no such outbox", path);
                return NULL;
        }
        if (flags & (OUTBOX_CREATE | OUTBOX_PRIVATE))
                oflags |= SQLITE_OPEN_CREATE;
        if (flags & OUTBOX_PRIVATE)
                oflags |= SQLITE_OPEN_MEMORY;
        ob = xcalloc(1, sizeof(*ob));
        ob->path = xstrdup(path);
        ob->private = (flags & OUTBOX_PRIVATE) != 0;
        if (sqlite3_open_v2(ob->private ? ":memory:" : path, &ob->db, oflags, NULL) != SQLITE_OK) {
                strlcpyf(err, errlen, "%s: cannot open the outbox: %s", path,
                         ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
                outbox_close(&ob);
                return NULL;
        }
        sqlite3_extended_result_codes(ob->db, 1);
        if (pragmas_set(ob, err, errlen) < 0 || schema_init(ob, err, errlen) < 0) {
                outbox_close(&ob);
                return NULL;
        }
        return ob;
}

void
outbox_close(struct outbox **obp)
{
        struct outbox *ob;

        if (obp == NULL || (ob = *obp) == NULL)
                return;
        if (ob->in_txn)
                outbox_rollback(ob);
        for (int i = 0; i < NSTMT; i++)
                sqlite3_finalize(ob->st[i]);
        if (ob->db != NULL && sqlite3_close(ob->db) != SQLITE_OK)
                ob_warn(ob, "close");
        free(ob->path);
        free(ob);
        *obp = NULL;
}

const char *
outbox_path(const struct outbox *ob)
{
        return ob->path;
}

int
outbox_begin(struct outbox *ob)
{
        assert(!ob->in_txn);
        if (exec(ob, "BEGIN IMMEDIATE", "begin") < 0)
                return -1;
        ob->in_txn = 1;
        return 0;
}

int
outbox_commit(struct outbox *ob)
{
        assert(ob->in_txn);
        if (exec(ob, "COMMIT", "commit") < 0) {
                outbox_rollback(ob);
                return -1;
        }
        ob->in_txn = 0;
        return 0;
}

void
outbox_rollback(struct outbox *ob)
{
        /* After some errors SQLite has rolled back already; that is fine. */
        if (!sqlite3_get_autocommit(ob->db))
                exec(ob, "ROLLBACK", "rollback");
        ob->in_txn = 0;
}

static int
version_read(struct outbox *ob, uint64_t *out)
{
        sqlite3_stmt *st = stmt(ob, S_VERSION_GET);
        int r;

        if (st == NULL || (r = step_row(ob, st, "read the last version")) < 0)
                return -1;
        *out = 0;
        if (r == 1) {
                sqlite3_int64 v = sqlite3_column_int64(st, 0);

                *out = v > 0 ? (uint64_t)v : 0;
                sqlite3_reset(st);
        }
        return 0;
}

int
outbox_versions_take(struct outbox *ob, uint64_t n, uint64_t floor, uint64_t *base)
{
        sqlite3_stmt *st;
        uint64_t last, b;

        assert(ob->in_txn);
        if (version_read(ob, &last) < 0)
                return -1;
        b = last + 1 > floor ? last + 1 : floor;
        if (b > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX - b + 1) {
                log_warnx("outbox %s: record versions would pass 2^63-1", ob->path);
                return -1;
        }
        *base = b;
        if (n == 0)
                return 0;
        if ((st = stmt(ob, S_VERSION_SET)) == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(b + n - 1));
        return step_done(ob, st, "store the last version");
}

int
outbox_last_version(struct outbox *ob, uint64_t *out)
{
        return version_read(ob, out);
}

static void
bind_text(sqlite3_stmt *st, int col, const char *s)
{
        if (s == NULL)
                sqlite3_bind_null(st, col);
        else
                sqlite3_bind_text(st, col, s, (int)text_cut(s, strlen(s), OUTBOX_MAX_TEXT),
                                  SQLITE_TRANSIENT);
}

int
outbox_file_add(struct outbox *ob, const struct outbox_file_new *f, int64_t *id)
{
        sqlite3_stmt *st = stmt(ob, S_FILE_ADD);

        assert(ob->in_txn);
        if (st == NULL)
                return -1;
        bind_text(st, 1, f->path);
        sqlite3_bind_int(st, 2, (int)f->origin);
        bind_text(st, 3, f->identity);
        bind_text(st, 4, f->spool_name);
        sqlite3_bind_int64(st, 5, f->owner);
        sqlite3_bind_int64(st, 6, now_s());
        sqlite3_bind_int64(st, 7, (sqlite3_int64)f->records);
        sqlite3_bind_int64(st, 8, f->batches);
        if (step_done(ob, st, "add a file") < 0)
                return -1;
        *id = sqlite3_last_insert_rowid(ob->db);
        return 0;
}

int
outbox_batch_add(struct outbox *ob, int64_t file_id, const char *batch_id, const void *msg,
                 size_t len, uint32_t records)
{
        sqlite3_stmt *st = stmt(ob, S_BATCH_ADD);

        assert(ob->in_txn);
        if (st == NULL)
                return -1;
        if (len > OUTBOX_MAX_MESSAGE) {
                log_warnx("outbox %s: batch %s: message of %zu bytes is larger than %d", ob->path,
                          batch_id, len, OUTBOX_MAX_MESSAGE);
                return -1;
        }
        bind_text(st, 1, batch_id);
        sqlite3_bind_int64(st, 2, file_id);
        sqlite3_bind_int64(st, 3, records);
        sqlite3_bind_blob(st, 4, msg, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now_s());
        return step_done(ob, st, "add a batch");
}

static int
rejection_insert(struct outbox *ob, int64_t file_id, unsigned long line, int from_ack,
                 enum outbox_place place, const char *reason, size_t len)
{
        sqlite3_stmt *st = stmt(ob, S_REJ_ADD);

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)line);
        sqlite3_bind_int(st, 3, from_ack);
        sqlite3_bind_text(st, 4, reason, (int)text_cut(reason, len, OUTBOX_MAX_TEXT),
                          SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 5, (int)place);
        return step_done(ob, st, "add a rejection");
}

int
outbox_rejection_add(struct outbox *ob, int64_t file_id, unsigned long line, const char *reason)
{
        return outbox_rejection_add_at(ob, file_id, line, OUTBOX_AT_LINE, reason);
}

int
outbox_rejection_add_at(struct outbox *ob, int64_t file_id, unsigned long line,
                        enum outbox_place place, const char *reason)
{
        assert(ob->in_txn);
        /* rejection.place's CHECK refuses any other value too. */
        assert(place == OUTBOX_AT_LINE || place == OUTBOX_AT_COLUMN || place == OUTBOX_AT_CELL);
        return rejection_insert(ob, file_id, line, 0, place, reason, strlen(reason));
}

/*
 * The first bytes of a version-1 "submit": a 6-element array header, the
 * type string and the version as a positive fixint.  Version 2 kept the
 * layout, so such a message is a version-2 one once that last byte is 2,
 * and the aggregator still takes version 2 (PROTO_SUBMIT_VERSION_MIN).
 * Patching to 2, never to the current version, keeps every resend of such
 * a batch byte-identical to the earlier ones.
 */
static const unsigned char submit_v1_head[] = {0x96, 0xa6, 's', 'u', 'b', 'm', 'i', 't', 0x01};
_Static_assert(PROTO_SUBMIT_VERSION_MIN == 2, "submit_v1_patch makes a version-2 submit");

/* Rewrite a version-1 submit in msg[0..len) as the current version.  1 when it did, else 0. */
static int
submit_v1_patch(unsigned char *msg, size_t len)
{
        if (len < sizeof(submit_v1_head) ||
            memcmp(msg, submit_v1_head, sizeof(submit_v1_head)) != 0)
                return 0;
        msg[sizeof(submit_v1_head) - 1] = PROTO_SUBMIT_VERSION_MIN;
        return 1;
}

void
outbox_batch_clear(struct outbox_batch *out)
{
        free(out->msg);
        memset(out, 0, sizeof(*out));
}

int
outbox_batch_next(struct outbox *ob, int64_t after_seq, int64_t max_seq, struct outbox_batch *out)
{
        for (;;) {
                sqlite3_stmt *st = stmt(ob, S_BATCH_NEXT);
                const char *id;
                sqlite3_int64 len;
                int r;

                if (st == NULL)
                        return -1;
                sqlite3_bind_int64(st, 1, after_seq);
                sqlite3_bind_int64(st, 2, max_seq);
                if ((r = step_row(ob, st, "read the next batch")) <= 0)
                        return r;
                memset(out, 0, sizeof(*out));
                out->seq = sqlite3_column_int64(st, 0);
                id = (const char *)sqlite3_column_text(st, 1);
                strlcpyf(out->batch_id, sizeof(out->batch_id), "%s", id ? id : "");
                out->file_id = sqlite3_column_int64(st, 2);
                out->records = (uint32_t)sqlite3_column_int64(st, 3);
                out->attempts = (uint32_t)sqlite3_column_int64(st, 4);
                out->created_at = sqlite3_column_int64(st, 5);
                len = sqlite3_column_int64(st, 6);
                if (len < 0 || len > OUTBOX_MAX_MESSAGE) {
                        char why[128];
                        int64_t fid;

                        sqlite3_reset(st);
                        strlcpyf(why, sizeof(why),
                                 "stored message of %lld bytes is larger than %d; not sent",
                                 (long long)len, OUTBOX_MAX_MESSAGE);
                        log_warnx("outbox %s: batch %s: %s", ob->path, out->batch_id, why);
                        if (outbox_refuse(ob, out->batch_id, why, strlen(why), &fid) < 0)
                                return -1;
                        after_seq = out->seq;
                        continue;
                }
                out->len = (size_t)len;
                out->msg = xmalloc(out->len);
                if (out->len > 0)
                        memcpy(out->msg, sqlite3_column_blob(st, 7), out->len);
                sqlite3_reset(st);
                if (submit_v1_patch(out->msg, out->len))
                        log_debug("outbox %s: batch %s was queued as protocol version 1; sent as "
                                  "version %d",
                                  ob->path, out->batch_id, PROTO_VERSION);
                return 1;
        }
}

/* Whether statement s finds a row for the text key: 1, 0 or -1 (logged with what). */
static int
key_exists(struct outbox *ob, enum stmt s, const char *key, const char *what)
{
        sqlite3_stmt *st = stmt(ob, s);
        int r;

        if (st == NULL)
                return -1;
        bind_text(st, 1, key);
        r = step_row(ob, st, what);
        if (r == 1)
                sqlite3_reset(st);
        return r;
}

int
outbox_batch_pending(struct outbox *ob, const char *batch_id)
{
        return key_exists(ob, S_BATCH_PENDING, batch_id, "look up a batch");
}

int
outbox_max_seq(struct outbox *ob, int64_t *seq)
{
        sqlite3_stmt *st = stmt(ob, S_MAX_SEQ);

        if (st == NULL || step_row(ob, st, "read the last batch") != 1)
                return -1;
        *seq = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
}

int
outbox_batch_attempt(struct outbox *ob, const char *batch_id, const char *error)
{
        sqlite3_stmt *st = stmt(ob, S_ATTEMPT);

        if (st == NULL)
                return -1;
        bind_text(st, 1, batch_id);
        sqlite3_bind_int64(st, 2, now_s());
        bind_text(st, 3, error);
        return step_done(ob, st, "count a send");
}

int
outbox_batch_note(struct outbox *ob, const char *batch_id, const char *error)
{
        sqlite3_stmt *st = stmt(ob, S_NOTE);

        if (st == NULL)
                return -1;
        bind_text(st, 1, batch_id);
        bind_text(st, 2, error);
        return step_done(ob, st, "note an error");
}

/*
 * In the caller's transaction: find batch_id, delete it.  Returns 1 with its
 * file and record count, 0 when it is not pending, -1.
 */
static int
batch_take(struct outbox *ob, const char *batch_id, int64_t *file_id, uint64_t *records)
{
        sqlite3_stmt *st = stmt(ob, S_BATCH_OF);
        int r;

        if (st == NULL)
                return -1;
        bind_text(st, 1, batch_id);
        if ((r = step_row(ob, st, "look up a batch")) <= 0)
                return r;
        *file_id = sqlite3_column_int64(st, 0);
        *records = (uint64_t)sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        if ((st = stmt(ob, S_BATCH_DEL)) == NULL)
                return -1;
        bind_text(st, 1, batch_id);
        if (step_done(ob, st, "delete a batch") < 0)
                return -1;
        return 1;
}

static int
stale_insert(struct outbox *ob, int64_t file_id, const struct outbox_stale *s)
{
        sqlite3_stmt *st = stmt(ob, S_STALE_ADD);
        const char *value = s->value ? s->value : "";
        const char *collector = s->collector ? s->collector : "";
        size_t vlen = s->value ? s->value_len : 0, clen = s->collector ? s->collector_len : 0;

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)s->line);
        sqlite3_bind_text(st, 3, value, (int)text_cut(value, vlen, OUTBOX_MAX_TEXT),
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, collector, (int)text_cut(collector, clen, OUTBOX_MAX_TEXT),
                          SQLITE_TRANSIENT);
        sqlite3_bind_int64(
            st, 5, s->version > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)s->version);
        return step_done(ob, st, "add a stale record");
}

/* Bind s[0..len) (NULL: SQL NULL) cut at OUTBOX_MAX_TEXT bytes. */
static void
bind_text_len(sqlite3_stmt *st, int col, const char *s, size_t len)
{
        if (s == NULL)
                sqlite3_bind_null(st, col);
        else
                sqlite3_bind_text(st, col, s, (int)text_cut(s, len, OUTBOX_MAX_TEXT),
                                  SQLITE_TRANSIENT);
}

/* Bind a warning's file, unit, period, rule, message, left and right as ?1..?7. */
static void
warning_bind(sqlite3_stmt *st, int64_t file_id, const struct outbox_warning *w)
{
        sqlite3_bind_int64(st, 1, file_id);
        bind_text_len(st, 2, w->unit ? w->unit : "", w->unit ? w->unit_len : 0);
        bind_text_len(st, 3, w->period ? w->period : "", w->period ? w->period_len : 0);
        bind_text_len(st, 4, w->rule ? w->rule : "", w->rule ? w->rule_len : 0);
        bind_text_len(st, 5, w->message ? w->message : "", w->message ? w->message_len : 0);
        bind_text_len(st, 6, w->left, w->left_len);
        bind_text_len(st, 7, w->right, w->right_len);
}

/*
 * In the caller's transaction: keep a warning with file_id.  The same
 * unit, period and rule again (another batch of the file touched them)
 * replaces the earlier text; a new one past OUTBOX_MAX_WARNINGS is only
 * counted.  0 or -1.
 */
static int
warning_keep(struct outbox *ob, int64_t file_id, const struct outbox_warning *w)
{
        sqlite3_stmt *st = stmt(ob, S_WARN_UPDATE);
        sqlite3_int64 n;

        if (st == NULL)
                return -1;
        warning_bind(st, file_id, w);
        if (step_done(ob, st, "update a warning") < 0)
                return -1;
        if (sqlite3_changes(ob->db) > 0)
                return 0;
        if ((st = stmt(ob, S_WARN_COUNT)) == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        if (step_row(ob, st, "count warnings") != 1)
                return -1;
        n = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (n >= OUTBOX_MAX_WARNINGS) {
                if ((st = stmt(ob, S_WARN_MORE)) == NULL)
                        return -1;
                sqlite3_bind_int64(st, 1, file_id);
                return step_done(ob, st, "count a warning");
        }
        if ((st = stmt(ob, S_WARN_ADD)) == NULL)
                return -1;
        warning_bind(st, file_id, w);
        return step_done(ob, st, "add a warning");
}

/*
 * Open a transaction, take batch_id out of the queue and ready statement s
 * (one that counts the answer in the batch's file) with the file bound as ?1.
 * 1 with *file_id, *records and *stp, the transaction open for the caller
 * to end with settle_end; 0 when the batch is not pending, -1 on failure,
 * both with the transaction rolled back.
 */
static int
settle_begin(struct outbox *ob, const char *batch_id, enum stmt s, int64_t *file_id,
             uint64_t *records, sqlite3_stmt **stp)
{
        int r;

        if (outbox_begin(ob) < 0)
                return -1;
        if ((r = batch_take(ob, batch_id, file_id, records)) <= 0)
                goto fail;
        r = -1;
        if ((*stp = stmt(ob, s)) == NULL)
                goto fail;
        sqlite3_bind_int64(*stp, 1, *file_id);
        return 1;
fail:
        outbox_rollback(ob);
        return r;
}

/* End settle_begin's transaction: commit when r is 1, else roll back.  r, or -1. */
static int
settle_end(struct outbox *ob, int r)
{
        if (r == 1)
                return outbox_commit(ob) < 0 ? -1 : 1;
        outbox_rollback(ob);
        return r;
}

int
outbox_ack(struct outbox *ob, const char *batch_id, uint32_t accepted, uint32_t changed,
           const struct outbox_reject *rej, size_t nrej, const struct outbox_stale *stale,
           size_t nstale, int64_t *file_id)
{
        return outbox_ack_warned(ob, batch_id, accepted, changed, rej, nrej, stale, nstale, NULL, 0,
                                 file_id);
}

int
outbox_ack_warned(struct outbox *ob, const char *batch_id, uint32_t accepted, uint32_t changed,
                  const struct outbox_reject *rej, size_t nrej, const struct outbox_stale *stale,
                  size_t nstale, const struct outbox_warning *warn, size_t nwarn, int64_t *file_id)
{
        sqlite3_stmt *st;
        uint64_t records;
        int r;

        if ((r = settle_begin(ob, batch_id, S_FILE_ACK, file_id, &records, &st)) <= 0)
                return r;
        r = -1;
        sqlite3_bind_int64(st, 2, accepted);
        sqlite3_bind_int64(st, 3, changed);
        if (step_done(ob, st, "count an ack") < 0)
                goto out;
        for (size_t i = 0; i < nrej; i++)
                if (rejection_insert(ob, *file_id, rej[i].line, 1, OUTBOX_AT_LINE,
                                     rej[i].reason ? rej[i].reason : "", rej[i].len) < 0)
                        goto out;
        for (size_t i = 0; i < nstale; i++)
                if (stale_insert(ob, *file_id, &stale[i]) < 0)
                        goto out;
        for (size_t i = 0; i < nwarn; i++)
                if (warning_keep(ob, *file_id, &warn[i]) < 0)
                        goto out;
        r = 1;
out:
        return settle_end(ob, r);
}

int
outbox_refuse(struct outbox *ob, const char *batch_id, const char *message, size_t len,
              int64_t *file_id)
{
        sqlite3_stmt *st;
        uint64_t records;
        int r;

        if ((r = settle_begin(ob, batch_id, S_FILE_REFUSE, file_id, &records, &st)) <= 0)
                return r;
        sqlite3_bind_int64(st, 2, (sqlite3_int64)records);
        sqlite3_bind_text(st, 3, message ? message : "",
                          message ? (int)text_cut(message, len, OUTBOX_MAX_TEXT) : 0,
                          SQLITE_TRANSIENT);
        return settle_end(ob, step_done(ob, st, "count a refusal") < 0 ? -1 : 1);
}

static void
file_read(sqlite3_stmt *st, struct outbox_file *f)
{
        memset(f, 0, sizeof(*f));
        f->id = sqlite3_column_int64(st, 0);
        f->path = column_text(st, 1);
        if (f->path == NULL)
                f->path = xstrdup("");
        f->origin = (enum outbox_origin)sqlite3_column_int(st, 2);
        f->identity = column_text(st, 3);
        f->spool_name = column_text(st, 4);
        f->final_name = column_text(st, 5);
        f->owner = (long)sqlite3_column_int64(st, 6);
        f->created_at = sqlite3_column_int64(st, 7);
        f->records = (uint64_t)sqlite3_column_int64(st, 8);
        f->batches = (uint32_t)sqlite3_column_int64(st, 9);
        f->accepted = (uint64_t)sqlite3_column_int64(st, 10);
        f->changed = (uint64_t)sqlite3_column_int64(st, 11);
        f->refused_batches = (uint32_t)sqlite3_column_int64(st, 12);
        f->refused_records = (uint64_t)sqlite3_column_int64(st, 13);
        f->refusal = column_text(st, 14);
        f->pending = (uint32_t)sqlite3_column_int64(st, 15);
        f->pending_records = (uint64_t)sqlite3_column_int64(st, 16);
        f->attempts = (uint64_t)sqlite3_column_int64(st, 17);
        f->oldest = sqlite3_column_int64(st, 18);
        f->last_error = column_text(st, 19);
        f->stale = (uint64_t)sqlite3_column_int64(st, 20);
        f->warnings_more = (uint64_t)sqlite3_column_int64(st, 21);
        f->warnings = f->warnings_more + (uint64_t)sqlite3_column_int64(st, 22);
}

/*
 * Read the files with after_id < id <= last_id of files_list.sql's filter
 * into *files (appended, *n of them, *cap allocated).  0 or -1 (logged).
 */
static int
files_read(struct outbox *ob, int origin, int pending, int64_t after_id, int64_t last_id,
           size_t max, struct outbox_file **files, size_t *n, size_t *cap)
{
        sqlite3_stmt *st = stmt(ob, S_FILES_LIST);
        int rc;

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, after_id);
        sqlite3_bind_int(st, 2, origin);
        sqlite3_bind_int(st, 3, pending);
        sqlite3_bind_int64(st, 4, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
        sqlite3_bind_int64(st, 5, last_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (*n == *cap) {
                        *cap = *cap ? *cap * 2 : 16;
                        *files = xreallocarray(*files, *cap, sizeof(**files));
                }
                file_read(st, &(*files)[(*n)++]);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                ob_warn(ob, "read files");
                return -1;
        }
        return 0;
}

int
outbox_file_get(struct outbox *ob, int64_t id, struct outbox_file *out)
{
        struct outbox_file *one = NULL;
        size_t n = 0, cap = 0;

        if (id <= 0)
                return 0;
        if (files_read(ob, 0, -1, id - 1, id, 1, &one, &n, &cap) < 0) {
                outbox_files_free(one, n);
                return -1;
        }
        if (n == 1)
                *out = one[0]; /* the strings move to *out */
        free(one);
        return n == 1;
}

int
outbox_file_find(struct outbox *ob, const char *identity, struct outbox_file *out)
{
        sqlite3_stmt *st = stmt(ob, S_FILE_ID_OF);
        int64_t id;
        int r;

        if (st == NULL)
                return -1;
        bind_text(st, 1, identity);
        if ((r = step_row(ob, st, "find a file")) != 1)
                return r;
        id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return outbox_file_get(ob, id, out);
}

int
outbox_spool_name_taken(struct outbox *ob, const char *spool_name)
{
        return key_exists(ob, S_SPOOL_TAKEN, spool_name, "look up a spool name");
}

int
outbox_files_list(struct outbox *ob, int origin, int pending, int64_t after_id, size_t max,
                  struct outbox_file **files, size_t *n)
{
        size_t cap = 0;

        *files = NULL;
        *n = 0;
        if (files_read(ob, origin, pending, after_id, INT64_MAX, max, files, n, &cap) < 0) {
                outbox_files_free(*files, *n);
                *files = NULL;
                *n = 0;
                return -1;
        }
        return 0;
}

void
outbox_file_clear(struct outbox_file *f)
{
        free(f->path);
        free(f->identity);
        free(f->spool_name);
        free(f->final_name);
        free(f->refusal);
        free(f->last_error);
        memset(f, 0, sizeof(*f));
}

void
outbox_files_free(struct outbox_file *files, size_t n)
{
        for (size_t i = 0; files != NULL && i < n; i++)
                outbox_file_clear(&files[i]);
        free(files);
}

int
outbox_file_final_set(struct outbox *ob, int64_t id, const char *final_name)
{
        sqlite3_stmt *st = stmt(ob, S_FINAL_SET);

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, final_name);
        return step_done(ob, st, "record a final name");
}

int
outbox_file_forget(struct outbox *ob, int64_t id)
{
        static const struct {
                enum stmt s;
                const char *what;
        } forget[] = {
            {S_REJ_DEL, "delete rejections"},
            {S_STALE_DEL, "delete stale records"},
            {S_WARN_DEL, "delete warnings"},
            {S_FILE_DEL, "delete a file"},
        };
        sqlite3_stmt *st;
        sqlite3_int64 nbatch;

        if (outbox_begin(ob) < 0)
                return -1;
        if ((st = stmt(ob, S_FILE_NBATCH)) == NULL)
                goto fail;
        sqlite3_bind_int64(st, 1, id);
        if (step_row(ob, st, "count a file's batches") != 1)
                goto fail;
        nbatch = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (nbatch > 0) {
                log_warnx("outbox %s: file %lld still has %lld batches to deliver; kept", ob->path,
                          (long long)id, (long long)nbatch);
                goto fail;
        }
        /* What refers to the file first, the file last. */
        for (size_t i = 0; i < sizeof(forget) / sizeof(forget[0]); i++) {
                if ((st = stmt(ob, forget[i].s)) == NULL)
                        goto fail;
                sqlite3_bind_int64(st, 1, id);
                if (step_done(ob, st, forget[i].what) < 0)
                        goto fail;
        }
        return outbox_commit(ob);
fail:
        outbox_rollback(ob);
        return -1;
}

int
outbox_rejections_count(struct outbox *ob, int64_t file_id, uint64_t *n)
{
        sqlite3_stmt *st = stmt(ob, S_REJ_COUNT);

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        if (step_row(ob, st, "count rejections") != 1)
                return -1;
        *n = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
}

int
outbox_lines_each(struct outbox *ob, int64_t file_id,
                  int (*fn)(void *arg, const struct outbox_line *line), void *arg)
{
        sqlite3_stmt *st = stmt(ob, S_LINES_EACH);
        int rc;

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                sqlite3_int64 line = sqlite3_column_int64(st, 0);
                sqlite3_int64 version = sqlite3_column_int64(st, 5);
                int place = sqlite3_column_int(st, 8);
                struct outbox_line l = {
                    .line = line < 0 ? 0 : (unsigned long)line,
                    .stale = sqlite3_column_int(st, 1) == 1,
                    .place = place == OUTBOX_AT_COLUMN ? OUTBOX_AT_COLUMN
                             : place == OUTBOX_AT_CELL ? OUTBOX_AT_CELL
                                                       : OUTBOX_AT_LINE,
                    .version = version < 0 ? 0 : (uint64_t)version,
                };
                char *reason = NULL, *value = NULL, *collector = NULL;
                int stop;

                if (l.stale) {
                        value = column_text(st, 3);
                        collector = column_text(st, 4);
                        l.value = value ? value : "";
                        l.collector = collector ? collector : "";
                } else {
                        reason = column_text(st, 2);
                        l.reason = reason ? reason : "";
                }
                stop = fn(arg, &l);
                free(reason);
                free(value);
                free(collector);
                if (stop) {
                        rc = SQLITE_DONE;
                        break;
                }
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                ob_warn(ob, "read the receipt's lines");
                return -1;
        }
        return 0;
}

int
outbox_totals_get(struct outbox *ob, struct outbox_totals *t)
{
        sqlite3_stmt *st;

        memset(t, 0, sizeof(*t));
        if ((st = stmt(ob, S_TOTALS_PENDING)) == NULL ||
            step_row(ob, st, "count pending batches") != 1)
                return -1;
        t->pending_files = (uint64_t)sqlite3_column_int64(st, 0);
        t->pending_batches = (uint64_t)sqlite3_column_int64(st, 1);
        t->pending_records = (uint64_t)sqlite3_column_int64(st, 2);
        sqlite3_reset(st);
        if ((st = stmt(ob, S_TOTALS_DONE)) == NULL ||
            step_row(ob, st, "count unreported files") != 1)
                return -1;
        t->unreported_files = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return version_read(ob, &t->last_version);
}

int
outbox_warnings_each(struct outbox *ob, int64_t file_id,
                     int (*fn)(void *arg, const struct outbox_warning_row *w), void *arg)
{
        sqlite3_stmt *st = stmt(ob, S_WARN_EACH);
        int rc;

        if (st == NULL)
                return -1;
        sqlite3_bind_int64(st, 1, file_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char *col[6];
                struct outbox_warning_row w;
                int stop;

                for (int i = 0; i < 6; i++)
                        col[i] = column_text(st, i);
                w.unit = col[0] ? col[0] : "";
                w.period = col[1] ? col[1] : "";
                w.rule = col[2] ? col[2] : "";
                w.message = col[3] ? col[3] : "";
                w.left = col[4];
                w.right = col[5];
                stop = fn(arg, &w);
                for (int i = 0; i < 6; i++)
                        free(col[i]);
                if (stop) {
                        rc = SQLITE_DONE;
                        break;
                }
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                ob_warn(ob, "read the warnings");
                return -1;
        }
        return 0;
}
