/*
 * Unit tests for collector/outbox (with enqueue and receipt, which write
 * and read it): a real SQLite file in a temporary directory.  Expected
 * values are worked out by hand from the inputs written next to them.
 * The crash tests fork a child that writes to the outbox and SIGKILL it in
 * the middle of a transaction; after reopening, each transaction must be
 * there whole or not at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "enqueue.h"
#include "log.h"
#include "outbox.h"
#include "proto.h"
#include "receipt.h"
#include "submit.h"
#include "util.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccc"

struct fixture {
        char dir[64];
        char path[96];
};

static int
setup(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));

        strcpy(fx->dir, "/tmp/test_outbox.XXXXXX");
        if (mkdtemp(fx->dir) == NULL)
                return -1;
        snprintf(fx->path, sizeof(fx->path), "%s/outbox.db", fx->dir);
        *state = fx;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *fx = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
                return -1;
        free(fx);
        return 0;
}

static struct outbox *
open_ok(const struct fixture *fx)
{
        char err[256] = "";
        struct outbox *ob = outbox_open(fx->path, OUTBOX_CREATE, err, sizeof(err));

        if (ob == NULL)
                fail_msg("outbox_open: %s", err);
        return ob;
}

/* One query's single integer answer, straight from SQLite (not through the outbox). */
static long long
sql_int(const char *path, const char *sql)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        long long v = -1;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void
add_file(struct outbox *ob, const char *path, uint64_t records, uint32_t batches, int64_t *id)
{
        struct outbox_file_new nf = {.path = path,
                                     .origin = OUTBOX_SUBMIT,
                                     .owner = 1,
                                     .records = records,
                                     .batches = batches};

        assert_int_equal(outbox_file_add(ob, &nf, id), 0);
}

static void
test_open(void **state)
{
        struct fixture *fx = *state;
        char err[256] = "", missing[128];
        struct outbox *ob;

        snprintf(missing, sizeof(missing), "%s/none.db", fx->dir);
        assert_null(outbox_open(missing, 0, err, sizeof(err)));
        assert_true(strstr(err, "none.db: no such outbox") != NULL);
        assert_int_equal(access(missing, F_OK), -1);

        ob = open_ok(fx);
        assert_string_equal(outbox_path(ob), fx->path);
        outbox_close(&ob);
        assert_null(ob);
        /* Checked behind the outbox's back: the mode is stored in the file. */
        assert_int_equal(sql_int(fx->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
                         1);
        assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 1);
        /* Opening again keeps the schema. */
        ob = outbox_open(fx->path, 0, err, sizeof(err));
        assert_non_null(ob);
        outbox_close(&ob);
}

static void
test_versions(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        uint64_t base, last;

        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 0);
        assert_int_equal(outbox_begin(ob), 0);
        /* Nothing used yet: the floor wins. */
        assert_int_equal(outbox_versions_take(ob, 10, 1000, &base), 0);
        assert_true(base == 1000);
        /* A clock that went back: last + 1 wins (1000 + 10). */
        assert_int_equal(outbox_versions_take(ob, 5, 500, &base), 0);
        assert_true(base == 1010);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1014);

        /* n = 0 reserves nothing. */
        assert_int_equal(outbox_begin(ob), 0);
        assert_int_equal(outbox_versions_take(ob, 0, 2000, &base), 0);
        assert_true(base == 2000);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1014);

        /* A rolled-back reservation leaves no trace. */
        assert_int_equal(outbox_begin(ob), 0);
        assert_int_equal(outbox_versions_take(ob, 100, 5000, &base), 0);
        assert_true(base == 5000);
        outbox_rollback(ob);
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1014);

        /* Past 2^63 - 1: refused. */
        assert_int_equal(outbox_begin(ob), 0);
        assert_int_equal(outbox_versions_take(ob, 2, (uint64_t)INT64_MAX, &base), -1);
        outbox_rollback(ob);
        outbox_close(&ob);

        /* Across a reopen the counter goes on from 1014. */
        ob = open_ok(fx);
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1014);
        assert_int_equal(outbox_begin(ob), 0);
        assert_int_equal(outbox_versions_take(ob, 3, 0, &base), 0);
        assert_true(base == 1015);
        assert_int_equal(outbox_commit(ob), 0);
        outbox_close(&ob);
        assert_int_equal(sql_int(fx->path, "SELECT value FROM meta WHERE key = 'last_version'"),
                         1017);
}

static int
collect_rej(void *arg, unsigned long line, enum outbox_place place, const char *reason)
{
        char *buf = arg;
        size_t used = strlen(buf);

        snprintf(buf + used, 512 - used, "%lu%s=%s;", line,
                 place == OUTBOX_AT_LINE     ? ""
                 : place == OUTBOX_AT_COLUMN ? "c"
                                             : "x",
                 reason);
        return 0;
}

/*
 * Rejections placed at a column (wide CSV) and at a cell (workbook): the
 * receipt prints their place, hides the aggregator's echo of them, and
 * shows a reason the aggregator gave for several cells of a row once.
 */
static void
test_placed_rejections(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_file f;
        static const char col[] = "学生数: value \"abc\" is not a number";
        static const char cell[] = "Sheet1!C7: the cell holds TRUE or FALSE, not a number";
        struct outbox_reject rej[5] = {
            {.line = 4, .reason = col, .len = sizeof(col) - 1},
            {.line = 7, .reason = cell, .len = sizeof(cell) - 1},
            {.line = 9, .reason = "unknown unit \"X\"", .len = 16},
            {.line = 9, .reason = "unknown unit \"X\"", .len = 16},
            {.line = 4, .reason = "empty unit", .len = 10},
        };
        char seen[512] = "", text[1024];
        int64_t fid, got_fid;
        uint64_t n;
        FILE *fp;

        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "w.csv", 9, 1, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "m", 1, 9), 0);
        assert_int_equal(outbox_rejection_add_at(ob, fid, 4, OUTBOX_AT_COLUMN, col), 0);
        assert_int_equal(outbox_rejection_add_at(ob, fid, 7, OUTBOX_AT_CELL, cell), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack(ob, ID_A, 4, 4, rej, 5, &got_fid), 1);

        assert_int_equal(outbox_rejections_count(ob, fid, &n), 0);
        assert_true(n == 4);
        assert_int_equal(outbox_rejections_each(ob, fid, collect_rej, seen), 0);
        assert_string_equal(seen, "4c=学生数: value \"abc\" is not a number;4=empty unit;"
                                  "7x=Sheet1!C7: the cell holds TRUE or FALSE, not a number;"
                                  "9=unknown unit \"X\";");
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        fp = tmpfile();
        assert_non_null(fp);
        assert_int_equal(receipt_print(ob, &f, NULL, NULL, fp, fp, &n), 0);
        rewind(fp);
        memset(text, 0, sizeof(text));
        assert_true(fread(text, 1, sizeof(text) - 1, fp) > 0);
        fclose(fp);
        assert_string_equal(text, "w.csv: 9 records, 4 accepted (4 changed), 4 rejected\n"
                                  "w.csv:4:学生数: value \"abc\" is not a number\n"
                                  "w.csv:4: empty unit\n"
                                  "w.csv:Sheet1!C7: the cell holds TRUE or FALSE, not a number\n"
                                  "w.csv:9: unknown unit \"X\"\n");
        outbox_file_clear(&f);
        outbox_close(&ob);
}

static void
test_put_ack_refuse(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_batch b;
        struct outbox_file f;
        struct outbox_reject rej[2] = {
            {.line = 5, .reason = "unknown unit \"X\"", .len = 16},
            {.line = 3, .reason = "echoed by the aggregator", .len = 24},
        };
        char seen[512] = "", text[1024];
        int64_t fid, got_fid, seq_a, seq_b;
        uint64_t n;
        FILE *fp;

        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "a.csv", 7, 2, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "hello", 5, 4), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_B, "world!", 6, 3), 0);
        assert_int_equal(outbox_rejection_add(ob, fid, 3, "row has 5 fields, the header has 4"), 0);
        assert_int_equal(outbox_commit(ob), 0);

        /* Delivery order, message bytes and the max_seq bound. */
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_A);
        assert_int_equal(b.file_id, fid);
        assert_int_equal(b.records, 4);
        assert_int_equal(b.attempts, 0);
        assert_int_equal(b.len, 5);
        assert_memory_equal(b.msg, "hello", 5);
        seq_a = b.seq;
        outbox_batch_clear(&b);
        assert_int_equal(outbox_batch_next(ob, seq_a, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_B);
        assert_int_equal(b.len, 6);
        assert_memory_equal(b.msg, "world!", 6);
        seq_b = b.seq;
        assert_true(seq_b > seq_a);
        outbox_batch_clear(&b);
        assert_int_equal(outbox_batch_next(ob, seq_b, 0, &b), 0);
        assert_int_equal(outbox_batch_next(ob, seq_a, seq_a, &b), 0);
        assert_int_equal(outbox_max_seq(ob, &got_fid), 0);
        assert_int_equal(got_fid, seq_b);

        /* Sends are counted; the last error is the one of the latest try. */
        assert_int_equal(outbox_batch_attempt(ob, ID_A, NULL), 0);
        assert_int_equal(outbox_batch_attempt(ob, ID_A, "no acknowledgement"), 0);
        assert_int_equal(outbox_batch_attempt(ob, ID_B, NULL), 0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_string_equal(f.path, "a.csv");
        assert_int_equal(f.origin, OUTBOX_SUBMIT);
        assert_int_equal(f.records, 7);
        assert_int_equal(f.batches, 2);
        assert_int_equal(f.pending, 2);
        assert_int_equal(f.pending_records, 7);
        assert_int_equal(f.attempts, 3);
        assert_int_equal(f.accepted, 0);
        assert_non_null(f.last_error);
        assert_string_equal(f.last_error, "no acknowledgement");
        assert_true(f.oldest > 0);
        outbox_file_clear(&f);

        /* The ack: the batch leaves, the counts and rejections land; a duplicate changes nothing.
         */
        assert_int_equal(outbox_batch_pending(ob, ID_A), 1);
        assert_int_equal(outbox_ack(ob, ID_A, 3, 2, rej, 2, &got_fid), 1);
        assert_int_equal(got_fid, fid);
        assert_int_equal(outbox_batch_pending(ob, ID_A), 0);
        assert_int_equal(outbox_ack(ob, ID_A, 3, 2, rej, 2, &got_fid), 0);
        assert_int_equal(outbox_ack(ob, ID_C, 1, 1, NULL, 0, &got_fid), 0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_int_equal(f.accepted, 3);
        assert_int_equal(f.changed, 2);
        assert_int_equal(f.pending, 1);
        assert_int_equal(f.pending_records, 3);
        outbox_file_clear(&f);
        /* A file with a batch left is never dropped. */
        assert_int_equal(outbox_file_forget(ob, fid), -1);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        outbox_file_clear(&f);

        /* A refusal is final and counted on the file. */
        assert_int_equal(outbox_refuse(ob, ID_B, "refused by PostgreSQL: x", 24, &got_fid), 1);
        assert_int_equal(got_fid, fid);
        assert_int_equal(outbox_refuse(ob, ID_B, "again", 5, &got_fid), 0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_int_equal(f.pending, 0);
        assert_int_equal(f.refused_batches, 1);
        assert_int_equal(f.refused_records, 3);
        assert_string_equal(f.refusal, "refused by PostgreSQL: x");

        /* Line 3: the collector's reason, not the echo; line 5 from the ack. */
        assert_int_equal(outbox_rejections_count(ob, fid, &n), 0);
        assert_true(n == 2);
        assert_int_equal(outbox_rejections_each(ob, fid, collect_rej, seen), 0);
        assert_string_equal(seen, "3=row has 5 fields, the header has 4;5=unknown unit \"X\";");

        fp = tmpfile();
        assert_non_null(fp);
        assert_int_equal(receipt_print(ob, &f, "earlier: ", "delivered now", fp, fp, &n), 0);
        assert_true(n == 2);
        rewind(fp);
        memset(text, 0, sizeof(text));
        assert_true(fread(text, 1, sizeof(text) - 1, fp) > 0);
        fclose(fp);
        assert_string_equal(text,
                            "earlier: a.csv: 7 records, 3 accepted (2 changed), 2 rejected, 3 "
                            "records refused by the aggregator: refused by PostgreSQL: x "
                            "(delivered now)\n"
                            "earlier: a.csv:3: row has 5 fields, the header has 4\n"
                            "earlier: a.csv:5: unknown unit \"X\"\n");
        outbox_file_clear(&f);

        assert_int_equal(outbox_file_forget(ob, fid), 0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 0);
        assert_int_equal(outbox_rejections_count(ob, fid, &n), 0);
        assert_true(n == 0);
        assert_int_equal(outbox_file_forget(ob, fid), 0);
        outbox_close(&ob);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM rejection"), 0);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM batch"), 0);
}

static void
test_reopen_keeps_batches(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_batch b;
        int64_t fid;

        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "kept.csv", 2, 1, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "\x96\x00\xc0", 3, 2), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_batch_attempt(ob, ID_A, "no acknowledgement"), 0);
        outbox_close(&ob);

        ob = open_ok(fx);
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_A);
        assert_int_equal(b.attempts, 1);
        assert_int_equal(b.len, 3);
        assert_memory_equal(b.msg, "\x96\x00\xc0", 3);
        outbox_batch_clear(&b);
        /* A duplicate id is refused, and the transaction can be rolled back. */
        assert_int_equal(outbox_begin(ob), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "x", 1, 1), -1);
        outbox_rollback(ob);
        outbox_close(&ob);

        /*
         * A stored message over the cap (written behind the outbox's back)
         * is not read into memory: it is refused on the spot and skipped.
         */
        {
                sqlite3 *db;
                char sql[256];

                assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
                snprintf(sql, sizeof(sql),
                         "INSERT INTO batch(batch_id, file_id, records, message, created_at) "
                         "VALUES ('%s', %lld, 9, zeroblob(%d), 0)",
                         ID_C, (long long)fid, OUTBOX_MAX_MESSAGE + 1);
                assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
                sqlite3_close(db);
        }
        ob = open_ok(fx);
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_A);
        {
                int64_t seq = b.seq;

                outbox_batch_clear(&b);
                assert_int_equal(outbox_batch_next(ob, seq, 0, &b), 0);
        }
        assert_int_equal(outbox_batch_pending(ob, ID_C), 0);
        {
                struct outbox_file f;

                assert_int_equal(outbox_file_get(ob, fid, &f), 1);
                assert_int_equal(f.refused_batches, 1);
                assert_int_equal(f.refused_records, 9);
                assert_string_equal(f.refusal,
                                    "stored message of 16777217 bytes is larger than 16777216; "
                                    "not sent");
                outbox_file_clear(&f);
        }
        outbox_batch_clear(&b);
        outbox_close(&ob);
}

static void
test_lists_and_spool_files(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_file_new run = {.path = "school.csv",
                                      .origin = OUTBOX_RUN,
                                      .identity = "2049:77:120:1700000000.000000001",
                                      .spool_name = "school.csv",
                                      .owner = 42,
                                      .records = 3,
                                      .batches = 1};
        struct outbox_file *files, f;
        struct outbox_totals t;
        int64_t id1, id2, id3;
        size_t n;

        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "one.csv", 5, 1, &id1);
        assert_int_equal(outbox_batch_add(ob, id1, ID_A, "m", 1, 5), 0);
        add_file(ob, "empty.csv", 0, 0, &id2);
        assert_int_equal(outbox_file_add(ob, &run, &id3), 0);
        assert_int_equal(outbox_batch_add(ob, id3, ID_B, "m", 1, 3), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_true(id1 < id2 && id2 < id3);

        /* Pending files of any origin, in id order. */
        assert_int_equal(outbox_files_list(ob, 0, 1, 0, 10, &files, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(files[0].path, "one.csv");
        assert_string_equal(files[1].path, "school.csv");
        assert_int_equal(files[1].origin, OUTBOX_RUN);
        assert_string_equal(files[1].spool_name, "school.csv");
        assert_int_equal(files[1].owner, 42);
        assert_null(files[1].final_name);
        outbox_files_free(files, n);
        /* Complete ones: the file without batches. */
        assert_int_equal(outbox_files_list(ob, 0, 0, 0, 10, &files, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(files[0].id, id2);
        assert_int_equal(files[0].pending, 0);
        outbox_files_free(files, n);
        /* By origin, after an id, and capped. */
        assert_int_equal(outbox_files_list(ob, OUTBOX_SUBMIT, -1, 0, 10, &files, &n), 0);
        assert_int_equal(n, 2);
        outbox_files_free(files, n);
        assert_int_equal(outbox_files_list(ob, 0, -1, id1, 10, &files, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(files[0].id, id2);
        outbox_files_free(files, n);
        assert_int_equal(outbox_files_list(ob, 0, -1, 0, 1, &files, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(files[0].id, id1);
        outbox_files_free(files, n);

        assert_int_equal(outbox_file_find(ob, "2049:77:120:1700000000.000000001", &f), 1);
        assert_int_equal(f.id, id3);
        outbox_file_clear(&f);
        assert_int_equal(outbox_file_find(ob, "2049:77:120:1700000000.000000002", &f), 0);
        assert_int_equal(outbox_spool_name_taken(ob, "school.csv"), 1);
        assert_int_equal(outbox_spool_name_taken(ob, "school.2.csv"), 0);
        assert_int_equal(outbox_file_final_set(ob, id3, "done/school.csv"), 0);
        assert_int_equal(outbox_file_get(ob, id3, &f), 1);
        assert_string_equal(f.final_name, "done/school.csv");
        outbox_file_clear(&f);

        assert_int_equal(outbox_totals_get(ob, &t), 0);
        assert_true(t.pending_files == 2);
        assert_true(t.pending_batches == 2);
        assert_true(t.pending_records == 8);
        assert_true(t.unreported_files == 1);
        outbox_close(&ob);
}

/* The message of a batch decoded with the wire decoder. */
static void
check_batch(struct outbox *ob, int64_t after, struct outbox_batch *b, struct proto_submit *s)
{
        char err[256];

        assert_int_equal(outbox_batch_next(ob, after, 0, b), 1);
        if (proto_submit_decode(b->msg, b->len, s, err, sizeof(err)) < 0)
                fail_msg("decode: %s", err);
        assert_int_equal(s->batch_id.len, 32);
        assert_memory_equal(s->batch_id.p, b->batch_id, 32);
}

static void
test_enqueue(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        const char *csv = "unit,period,indicator,value\n"
                          "2111020001,2024,pupils,1200\n"
                          "2111020001,2024,teachers\n"
                          "2111020001,2024,classes,30\n";
        char err[256], seen[512] = "";
        struct submission *sub =
            submit_read_mem("s.csv", csv, strlen(csv), NULL, NULL, 0, err, sizeof(err));
        struct enqueue_file ef = {.path = "s.csv", .sub = sub};
        const uint64_t floor = (uint64_t)1000 << 10; /* 1024000 */
        struct outbox_batch b;
        struct proto_submit s;
        struct outbox_file f;
        uint64_t last;

        assert_non_null(sub);
        assert_int_equal(enqueue_files(ob, &ef, 1, OUTBOX_SUBMIT, "coll", 7, floor), 0);
        assert_int_equal(ef.nbatches, 1);
        assert_int_equal(outbox_file_get(ob, ef.id, &f), 1);
        assert_int_equal(f.records, 3);
        assert_int_equal(f.batches, 1);
        assert_int_equal(f.owner, 7);
        outbox_file_clear(&f);
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1024002);

        check_batch(ob, 0, &b, &s);
        assert_int_equal(b.records, 3);
        assert_int_equal(s.nrec, 3);
        assert_memory_equal(s.collector.p, "coll", 4);
        assert_memory_equal(s.source.p, "s.csv", 5);
        assert_int_equal(s.rec[0].line, 2);
        assert_true(s.rec[0].version == 1024000);
        assert_memory_equal(s.rec[0].value.p, "1200", 4);
        /* The short row travels as a rejected record with the collector's reason. */
        assert_int_equal(s.rec[1].line, 3);
        assert_true(s.rec[1].version == 1024001);
        assert_non_null(s.rec[1].reason.p);
        assert_int_equal(s.rec[2].line, 4);
        assert_true(s.rec[2].version == 1024002);
        proto_submit_free(&s);
        outbox_batch_clear(&b);
        assert_int_equal(outbox_rejections_each(ob, ef.id, collect_rej, seen), 0);
        assert_string_equal(seen, "3=row has 3 fields, the header has 4;");
        submission_destroy(&sub);

        /*
         * A second run whose clock is behind: versions go on from 1024003.
         * 5001 records make two batches, 5000 + 1.
         */
        {
                size_t cap = 64 + 5001 * 32, len;
                char *big = malloc(cap);
                struct enqueue_file two[2];
                const char *one = "unit,period,indicator,value\n2111020001,2024,pupils,7\n";
                struct submission *s1, *s2;
                int64_t seq;

                len = (size_t)snprintf(big, cap, "unit,period,indicator,value\n");
                for (int i = 0; i < 5001; i++)
                        len += (size_t)snprintf(big + len, cap - len, "2111020001,2024,p%d,%d\n", i,
                                                i);
                s1 = submit_read_mem("one.csv", one, strlen(one), NULL, NULL, 0, err, sizeof(err));
                s2 = submit_read_mem("big.csv", big, len, NULL, NULL, 0, err, sizeof(err));
                assert_non_null(s1);
                assert_non_null(s2);
                memset(two, 0, sizeof(two));
                two[0].path = "one.csv";
                two[0].sub = s1;
                two[1].path = "big.csv";
                two[1].sub = s2;
                assert_int_equal(enqueue_files(ob, two, 2, OUTBOX_SUBMIT, "coll", 7, 5), 0);
                assert_int_equal(two[0].nbatches, 1);
                assert_int_equal(two[1].nbatches, 2);
                assert_true(two[1].id == two[0].id + 1);
                assert_int_equal(outbox_last_version(ob, &last), 0);
                /* 1024003 + 1 + 5001 - 1 */
                assert_true(last == 1029004);

                assert_int_equal(outbox_max_seq(ob, &seq), 0);
                check_batch(ob, 1, &b, &s); /* one.csv */
                assert_int_equal(s.nrec, 1);
                assert_true(s.rec[0].version == 1024003);
                seq = b.seq;
                proto_submit_free(&s);
                outbox_batch_clear(&b);
                check_batch(ob, seq, &b, &s); /* big.csv, first batch */
                assert_int_equal(s.nrec, 5000);
                assert_int_equal(b.file_id, two[1].id);
                assert_true(s.rec[0].version == 1024004);
                assert_int_equal(s.rec[4999].line, 5001);
                assert_true(s.rec[4999].version == 1029003);
                seq = b.seq;
                proto_submit_free(&s);
                outbox_batch_clear(&b);
                check_batch(ob, seq, &b, &s); /* big.csv, second batch */
                assert_int_equal(s.nrec, 1);
                assert_int_equal(s.rec[0].line, 5002);
                assert_true(s.rec[0].version == 1029004);
                assert_memory_equal(s.rec[0].indicator.p, "p5000", 5);
                proto_submit_free(&s);
                outbox_batch_clear(&b);
                submission_destroy(&s1);
                submission_destroy(&s2);
                free(big);
        }
        outbox_close(&ob);
}

/* ------------------------------------------------------------- crashes */

#define CRASH_BATCHES 40
#define CRASH_MSG     (64 * 1024)

/*
 * In a child: one transaction of a file, CRASH_BATCHES batches of
 * CRASH_MSG bytes and CRASH_BATCHES versions.  Writes 'h' to fd halfway
 * and then waits to be killed (hold = 1), or commits and kills itself at
 * once (hold = 0).
 */
static _Noreturn void
child_write(const char *path, int fd, int hold)
{
        char err[256], id[40];
        struct outbox *ob;
        uint64_t base;
        int64_t fid;
        char *msg = calloc(1, CRASH_MSG);
        struct outbox_file_new nf = {
            .path = "crash.csv", .origin = OUTBOX_SUBMIT, .owner = 1, .records = 40, .batches = 40};

        if (msg == NULL || (ob = outbox_open(path, OUTBOX_CREATE, err, sizeof(err))) == NULL ||
            outbox_begin(ob) < 0 || outbox_versions_take(ob, CRASH_BATCHES, 1000, &base) < 0 ||
            outbox_file_add(ob, &nf, &fid) < 0)
                _exit(1);
        for (int i = 0; i < CRASH_BATCHES; i++) {
                snprintf(id, sizeof(id), "%032d", i);
                if (outbox_batch_add(ob, fid, id, msg, CRASH_MSG, 1) < 0)
                        _exit(1);
                if (hold && i == CRASH_BATCHES / 2 && write(fd, "h", 1) != 1)
                        _exit(1);
        }
        if (hold) {
                for (;;)
                        pause();
        }
        if (outbox_commit(ob) < 0)
                _exit(1);
        raise(SIGKILL);
        _exit(1);
}

static void
crash_run(const struct fixture *fx, int hold)
{
        int fds[2], st;
        pid_t pid;
        char c;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(fds[0]);
                child_write(fx->path, fds[1], hold);
        }
        close(fds[1]);
        if (hold) {
                assert_int_equal(read(fds[0], &c, 1), 1);
                kill(pid, SIGKILL);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        close(fds[0]);
}

static void
test_crash_mid_transaction(void **state)
{
        struct fixture *fx = *state;
        struct outbox *ob;
        struct outbox_totals t;

        /* Killed with half the batches written: none of them, no version used. */
        crash_run(fx, 1);
        ob = open_ok(fx);
        assert_int_equal(outbox_totals_get(ob, &t), 0);
        assert_true(t.pending_batches == 0);
        assert_true(t.unreported_files == 0);
        assert_true(t.last_version == 0);
        outbox_close(&ob);

        /* Killed right after the commit: all of them. */
        crash_run(fx, 0);
        ob = open_ok(fx);
        assert_int_equal(outbox_totals_get(ob, &t), 0);
        assert_true(t.pending_batches == CRASH_BATCHES);
        assert_true(t.pending_records == CRASH_BATCHES);
        assert_true(t.pending_files == 1);
        assert_true(t.last_version == 1000 + CRASH_BATCHES - 1);
        outbox_close(&ob);
}

/*
 * A child enqueues files of 3 batches each, one transaction per file, in a
 * loop; it is killed after a random delay.  Whatever moment it hit, every
 * file has exactly its 3 batches and the version counter covers exactly
 * the files present.
 */
static void
test_crash_random(void **state)
{
        struct fixture *fx = *state;
        unsigned seed = (unsigned)time(NULL);

        srand(seed);
        print_message("crash_random seed %u\n", seed);
        for (int iter = 0; iter < 8; iter++) {
                struct outbox *ob;
                struct outbox_totals t;
                struct outbox_file *files;
                size_t n;
                pid_t pid;
                int st;

                unlink(fx->path);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        char err[256], id[40];
                        static char msg[16 * 1024];
                        struct outbox *cob = outbox_open(fx->path, OUTBOX_CREATE, err, sizeof(err));

                        if (cob == NULL)
                                _exit(1);
                        for (int i = 0;; i++) {
                                struct outbox_file_new nf = {.path = "f.csv",
                                                             .origin = OUTBOX_SUBMIT,
                                                             .owner = 1,
                                                             .records = 3,
                                                             .batches = 3};
                                uint64_t base;
                                int64_t fid;

                                if (outbox_begin(cob) < 0 ||
                                    outbox_versions_take(cob, 3, 1, &base) < 0 ||
                                    outbox_file_add(cob, &nf, &fid) < 0)
                                        _exit(1);
                                for (int k = 0; k < 3; k++) {
                                        snprintf(id, sizeof(id), "%030d%02d", i, k);
                                        if (outbox_batch_add(cob, fid, id, msg, sizeof(msg), 1) < 0)
                                                _exit(1);
                                }
                                if (outbox_commit(cob) < 0)
                                        _exit(1);
                        }
                }
                usleep(20000 + (useconds_t)(rand() % 200000));
                kill(pid, SIGKILL);
                assert_int_equal(waitpid(pid, &st, 0), pid);
                assert_true(WIFSIGNALED(st));

                ob = open_ok(fx);
                assert_int_equal(outbox_totals_get(ob, &t), 0);
                assert_int_equal(outbox_files_list(ob, 0, -1, 0, 100000, &files, &n), 0);
                for (size_t i = 0; i < n; i++)
                        assert_int_equal(files[i].pending, 3);
                assert_true(t.pending_batches == 3 * n);
                assert_true(t.last_version == 3 * n);
                print_message("crash_random: iteration %d: %zu files survived whole\n", iter, n);
                outbox_files_free(files, n);
                outbox_close(&ob);
        }
}

/*
 * Another process's write transaction is waited for (busy_timeout), not
 * failed: the child holds one for 300 ms; our BEGIN IMMEDIATE waits for its
 * commit and then takes the versions after the child's.  (The child opens
 * its own connection before the parent has any: an SQLite connection must
 * not cross a fork.)
 */
static void
test_busy_waits(void **state)
{
        struct fixture *fx = *state;
        struct outbox *a;
        uint64_t base;
        int64_t t0;
        int fds[2], st;
        pid_t pid;
        char c;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char err[256];
                struct outbox *cob = outbox_open(fx->path, OUTBOX_CREATE, err, sizeof(err));
                uint64_t cb;

                close(fds[0]);
                if (cob == NULL || outbox_begin(cob) < 0 ||
                    outbox_versions_take(cob, 10, 100, &cb) < 0 || write(fds[1], "b", 1) != 1)
                        _exit(1);
                usleep(300000);
                if (outbox_commit(cob) < 0)
                        _exit(1);
                outbox_close(&cob);
                _exit(0);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);
        t0 = now_ms();
        a = open_ok(fx);
        assert_int_equal(outbox_begin(a), 0);
        assert_true(now_ms() - t0 >= 250);
        assert_int_equal(outbox_versions_take(a, 1, 0, &base), 0);
        assert_true(base == 110);
        assert_int_equal(outbox_commit(a), 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        outbox_close(&a);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open, setup, teardown),
            cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_placed_rejections, setup, teardown),
            cmocka_unit_test_setup_teardown(test_put_ack_refuse, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reopen_keeps_batches, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lists_and_spool_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_enqueue, setup, teardown),
            cmocka_unit_test_setup_teardown(test_crash_mid_transaction, setup, teardown),
            cmocka_unit_test_setup_teardown(test_crash_random, setup, teardown),
            cmocka_unit_test_setup_teardown(test_busy_waits, setup, teardown),
        };

        log_init("test_outbox", 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
