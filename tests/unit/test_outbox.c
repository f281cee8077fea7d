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
#include "testutil.h"
#include "util.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccc"

/* Each test opens its outbox, a new file, in a directory of its own. */
static int
setup(void **state)
{
        return testutil_fixture_setup(state, "outbox.db");
}

static struct outbox *
open_ok(const struct testutil_fixture *fx)
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
        struct testutil_fixture *fx = *state;
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
        assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), OUTBOX_SCHEMA);
        /* Opening again keeps the schema. */
        ob = outbox_open(fx->path, 0, err, sizeof(err));
        assert_non_null(ob);
        outbox_close(&ob);
}

static void
test_versions(void **state)
{
        struct testutil_fixture *fx = *state;
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

/*
 * The receipt's lines as "LINE=reason;" ("LINEc=" at a column, "LINEx=" at
 * a cell) and "LINE~value,collector,version;".
 */
static int
collect_lines(void *arg, const struct outbox_line *l)
{
        char *buf = arg;
        size_t used = strlen(buf);

        if (l->stale)
                snprintf(buf + used, 512 - used, "%lu~%s,%s,%llu;", l->line, l->value, l->collector,
                         (unsigned long long)l->version);
        else
                snprintf(buf + used, 512 - used, "%lu%s=%s;", l->line,
                         l->place == OUTBOX_AT_LINE     ? ""
                         : l->place == OUTBOX_AT_COLUMN ? "c"
                                                        : "x",
                         l->reason);
        return 0;
}

/* What receipt_print writes, summary and lines on one stream. */
static void
receipt_text(struct outbox *ob, const struct outbox_file *f, const char *prefix, const char *note,
             char *text, size_t cap, uint64_t *nrej)
{
        FILE *fp = tmpfile();
        size_t n;

        assert_non_null(fp);
        assert_int_equal(receipt_print(ob, f, prefix, note, fp, fp, nrej), 0);
        rewind(fp);
        n = fread(text, 1, cap - 1, fp);
        text[n] = '\0';
        fclose(fp);
}

static void
test_put_ack_refuse(void **state)
{
        struct testutil_fixture *fx = *state;
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
        assert_int_equal(outbox_ack(ob, ID_A, 3, 2, rej, 2, NULL, 0, &got_fid), 1);
        assert_int_equal(got_fid, fid);
        assert_int_equal(outbox_batch_pending(ob, ID_A), 0);
        assert_int_equal(outbox_ack(ob, ID_A, 3, 2, rej, 2, NULL, 0, &got_fid), 0);
        assert_int_equal(outbox_ack(ob, ID_C, 1, 1, NULL, 0, NULL, 0, &got_fid), 0);
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
        assert_int_equal(outbox_lines_each(ob, fid, collect_lines, seen), 0);
        assert_string_equal(seen, "3=row has 5 fields, the header has 4;5=unknown unit \"X\";");

        receipt_text(ob, &f, "earlier: ", "delivered now", text, sizeof(text), &n);
        assert_true(n == 2);
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
        struct testutil_fixture *fx = *state;
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
        struct testutil_fixture *fx = *state;
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
        struct testutil_fixture *fx = *state;
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
        assert_int_equal(outbox_lines_each(ob, ef.id, collect_lines, seen), 0);
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

/* ------------------------------------------------- stale records (protocol 2) */

/* Seconds since 1970 as a version: µs × 1024, plus a record index. */
#define V_AT(s, k) ((uint64_t)(s)*1000000 * 1024 + (k))

/*
 * Stale records arrive with their ack and are stored in its transaction,
 * counted on the file, shown in the receipt among the rejections by line,
 * and dropped with the file.  The receipt shows the time of the stored
 * value in the local time zone: pinned to UTC here, and to UTC+8 once to
 * see that it is the local one.
 */
static void
test_stale(void **state)
{
        struct testutil_fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_reject rej = {.line = 5, .reason = "unknown indicator \"x\"", .len = 21};
        struct outbox_stale a[2] = {
            {.line = 6,
             .value = "12",
             .value_len = 2,
             .collector = "district-211102",
             .collector_len = 15,
             .version = V_AT(1741169554, 3)}, /* 2025-03-05 10:12:34 UTC */
            {.line = 3,
             .value = "7.5xx", /* only value_len bytes count */
             .value_len = 3,
             .collector = "school-9",
             .collector_len = 8,
             .version = V_AT(1735689599, 0)}, /* 2024-12-31 23:59:59 UTC */
        };
        /* No collector named: the line says so by leaving "by" out. */
        struct outbox_stale b = {.line = 4,
                                 .value = "3",
                                 .value_len = 1,
                                 .collector = "",
                                 .version = V_AT(1735689630, 7)}; /* 2025-01-01 00:00:30 UTC */
        char seen[512] = "", text[1024];
        struct outbox_file f;
        int64_t fid, got;
        uint64_t n;

        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "s.csv", 8, 2, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "a", 1, 5), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_B, "b", 1, 3), 0);
        assert_int_equal(outbox_rejection_add(ob, fid, 2, "row has 3 fields, the header has 4"), 0);
        assert_int_equal(outbox_commit(ob), 0);

        assert_int_equal(outbox_ack(ob, ID_A, 4, 1, &rej, 1, a, 2, &got), 1);
        assert_int_equal(got, fid);
        /* A duplicate ack stores nothing twice. */
        assert_int_equal(outbox_ack(ob, ID_A, 4, 1, &rej, 1, a, 2, &got), 0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_true(f.stale == 2);
        assert_int_equal(f.pending, 1);
        outbox_file_clear(&f);
        assert_int_equal(outbox_ack(ob, ID_B, 2, 0, NULL, 0, &b, 1, &got), 1);

        assert_int_equal(outbox_lines_each(ob, fid, collect_lines, seen), 0);
        assert_string_equal(seen, "2=row has 3 fields, the header has 4;"
                                  "3~7.5,school-9,1777346149376000000;"
                                  "4~3,,1777346181120000007;"
                                  "5=unknown indicator \"x\";"
                                  "6~12,district-211102,1782957623296000003;");
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_true(f.stale == 3);
        assert_true(f.accepted == 6);
        receipt_text(ob, &f, NULL, NULL, text, sizeof(text), &n);
        /* Stale records are not rejections. */
        assert_true(n == 2);
        assert_string_equal(
            text, "s.csv: 8 records, 6 accepted (1 changed), 2 rejected, 3 stale (not stored: "
                  "newer values exist)\n"
                  "s.csv:2: row has 3 fields, the header has 4\n"
                  "s.csv:3: not stored: a newer value (7.5) was submitted by school-9 at "
                  "2024-12-31 23:59\n"
                  "s.csv:4: not stored: a newer value (3) was submitted at 2025-01-01 00:00\n"
                  "s.csv:5: unknown indicator \"x\"\n"
                  "s.csv:6: not stored: a newer value (12) was submitted by district-211102 at "
                  "2025-03-05 10:12\n");
        outbox_file_clear(&f);

        assert_int_equal(outbox_file_forget(ob, fid), 0);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM stale"), 0);

        /* One stale record, no rejection, and the machine's clock at UTC+8. */
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "one.csv", 1, 1, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_C, "c", 1, 1), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack(ob, ID_C, 1, 0, NULL, 0, a, 1, &got), 1);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        setenv("TZ", "CST-8", 1);
        receipt_text(ob, &f, "earlier: ", "delivered now", text, sizeof(text), &n);
        assert_true(n == 0);
        assert_string_equal(text, "earlier: one.csv: 1 records, 1 accepted (0 changed), 0 "
                                  "rejected, 1 stale (not stored: a newer value exists) "
                                  "(delivered now)\n"
                                  "earlier: one.csv:6: not stored: a newer value (12) was "
                                  "submitted by district-211102 at 2025-03-05 18:12\n");
        outbox_file_clear(&f);
        setenv("TZ", "UTC", 1);
        tzset();
        outbox_close(&ob);
}

/*
 * Rejections placed at a column (wide CSV) and at a cell (workbook): the
 * receipt prints their place, hides the aggregator's echo of them, and
 * shows a reason the aggregator gave for several cells of a row once.
 * Stale records of the same ack come in the same list, by line, after the
 * rejections of their line.
 */
static void
test_placed_rejections(void **state)
{
        struct testutil_fixture *fx = *state;
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
        struct outbox_stale st[2] = {
            {.line = 8,
             .value = "30",
             .value_len = 2,
             .collector = "school-9",
             .collector_len = 8,
             .version = V_AT(1735689599, 0)}, /* 2024-12-31 23:59:59 UTC */
            {.line = 4,
             .value = "1200",
             .value_len = 4,
             .collector = "",
             .version = V_AT(1741169554, 3)}, /* 2025-03-05 10:12:34 UTC */
        };
        char seen[512] = "", text[1024];
        int64_t fid, got_fid;
        uint64_t n;

        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "w.csv", 9, 1, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "m", 1, 9), 0);
        assert_int_equal(outbox_rejection_add_at(ob, fid, 4, OUTBOX_AT_COLUMN, col), 0);
        assert_int_equal(outbox_rejection_add_at(ob, fid, 7, OUTBOX_AT_CELL, cell), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack(ob, ID_A, 4, 4, rej, 5, st, 2, &got_fid), 1);

        assert_int_equal(outbox_rejections_count(ob, fid, &n), 0);
        assert_true(n == 4);
        assert_int_equal(outbox_lines_each(ob, fid, collect_lines, seen), 0);
        assert_string_equal(seen, "4c=学生数: value \"abc\" is not a number;4=empty unit;"
                                  "4~1200,,1782957623296000003;"
                                  "7x=Sheet1!C7: the cell holds TRUE or FALSE, not a number;"
                                  "8~30,school-9,1777346149376000000;"
                                  "9=unknown unit \"X\";");
        /* Stored as the column says, the acks' all at their line. */
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM rejection WHERE from_ack = 0 "
                                           "AND place = 1 AND line = 4"),
                         1);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM rejection WHERE from_ack = 0 "
                                           "AND place = 2 AND line = 7"),
                         1);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM rejection WHERE from_ack = 1 "
                                           "AND place <> 0"),
                         0);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        receipt_text(ob, &f, NULL, NULL, text, sizeof(text), &n);
        assert_true(n == 4);
        assert_string_equal(text, "w.csv: 9 records, 4 accepted (4 changed), 4 rejected, 2 stale "
                                  "(not stored: newer values exist)\n"
                                  "w.csv:4:学生数: value \"abc\" is not a number\n"
                                  "w.csv:4: empty unit\n"
                                  "w.csv:4: not stored: a newer value (1200) was submitted at "
                                  "2025-03-05 10:12\n"
                                  "w.csv:Sheet1!C7: the cell holds TRUE or FALSE, not a number\n"
                                  "w.csv:8: not stored: a newer value (30) was submitted by "
                                  "school-9 at 2024-12-31 23:59\n"
                                  "w.csv:9: unknown unit \"X\"\n");
        outbox_file_clear(&f);
        outbox_close(&ob);
}

/*
 * A refusal of a reused batch id gets a sentence on what to do; other
 * refusals show the aggregator's message alone.
 */
static void
test_refusal_receipt(void **state)
{
        struct testutil_fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        const char *reused = "batch id " ID_A " was used before with other content; each batch "
                             "needs an id of its own";
        struct outbox_file f;
        char text[1024];
        int64_t fid, got;

        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "r.csv", 5, 2, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "a", 1, 3), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_B, "b", 1, 2), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack(ob, ID_B, 2, 2, NULL, 0, NULL, 0, &got), 1);
        assert_int_equal(outbox_refuse(ob, ID_A, reused, strlen(reused), &got), 1);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        receipt_text(ob, &f, NULL, NULL, text, sizeof(text), NULL);
        assert_string_equal(text,
                            "r.csv: 5 records, 2 accepted (2 changed), 0 rejected, 3 records "
                            "refused by the aggregator: batch id " ID_A " was used before with "
                            "other content; each batch needs an id of its own; the aggregator "
                            "already took another batch under the same id, so it did not take "
                            "this one: submit the file again (it gets new batch ids), and tell "
                            "the office if this happens again\n");
        outbox_file_clear(&f);
        outbox_close(&ob);
}

/* ------------------------------------------ outboxes of older collectors */

/*
 * The migrations as released, each as its length and 64-bit FNV-1a hash,
 * written down when it was released.  Outboxes in the field were made by
 * these texts, and the upgrade tests below build old outboxes from them, so
 * a released text must not change: a change of schema is a new migration.
 */
static uint64_t
fnv1a(const char *s)
{
        uint64_t h = 0xcbf29ce484222325u;

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3u;
        return h;
}

static void
test_migrations_frozen(void **state)
{
        static const struct {
                size_t len;
                uint64_t fnv;
        } released[] = {
            [1] = {1348, 0xac2a45f2c6895554u},
            [2] = {355, 0xc54d0d5063b8df26u},
            [3] = {368, 0xf74ae0f3b447f770u},
        };

        (void)state;
        assert_int_equal(OUTBOX_SCHEMA + 1, sizeof(released) / sizeof(released[0]));
        for (int v = 1; v <= OUTBOX_SCHEMA; v++) {
                assert_int_equal(strlen(outbox_migration_sql(v)), released[v].len);
                assert_true(fnv1a(outbox_migration_sql(v)) == released[v].fnv);
        }
}

/*
 * Make fx->path an outbox of schema `schema` as an older collector left it:
 * the released migrations 1..schema in WAL mode, then the statements rows,
 * then one batch put in by batch_sql with ID_A as ?1 and msg as ?2.
 */
static void
old_outbox_make(const struct testutil_fixture *fx, int schema, const char *rows,
                const char *batch_sql, const msgpack_sbuffer *msg)
{
        sqlite3 *db;
        sqlite3_stmt *ins;

        assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL),
                         SQLITE_OK);
        for (int v = 1; v <= schema; v++)
                assert_int_equal(sqlite3_exec(db, outbox_migration_sql(v), NULL, NULL, NULL),
                                 SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, batch_sql, -1, &ins, NULL), SQLITE_OK);
        sqlite3_bind_text(ins, 1, ID_A, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, msg->data, (int)msg->size, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_finalize(ins);
        sqlite3_close(db);
}

/*
 * A "submit" of protocol version `version` with two records, packed field
 * by field (not by proto_submit_begin, which packs the current version):
 * ["submit", version, "coll", id, "old.csv", [record, record]].
 */
static void
submit_pack(msgpack_sbuffer *sb, unsigned version, const char *id)
{
        struct proto_record r[2] = {
            {.line = 2,
             .version = V_AT(1700000000, 0),
             .unit = pstr_of("2111020001"),
             .period = pstr_of("2024"),
             .indicator = pstr_of("pupils"),
             .value = pstr_of("1200")},
            {.line = 3,
             .version = V_AT(1700000000, 1),
             .unit = pstr_of("2111020001"),
             .period = pstr_of("2024"),
             .indicator = pstr_of(""),
             .value = pstr_of(""),
             .raw = pstr_of("2111020001,2024,teachers"),
             .reason = pstr_of("row has 3 fields, the header has 4")},
        };
        msgpack_packer pk;

        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 6);
        msgpack_pack_str(&pk, 6);
        msgpack_pack_str_body(&pk, "submit", 6);
        msgpack_pack_unsigned_int(&pk, version);
        msgpack_pack_str(&pk, 4);
        msgpack_pack_str_body(&pk, "coll", 4);
        msgpack_pack_str(&pk, strlen(id));
        msgpack_pack_str_body(&pk, id, strlen(id));
        msgpack_pack_str(&pk, 7);
        msgpack_pack_str_body(&pk, "old.csv", 7);
        msgpack_pack_array(&pk, 2);
        for (int i = 0; i < 2; i++)
                proto_record_pack(&pk, &r[i]);
}

/* The schema of the file at path, its DDL in one string (free it). */
static char *
sql_schema(const char *path)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        char *ddl = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT group_concat(sql, ';') FROM (SELECT sql FROM "
                                            "sqlite_master WHERE sql IS NOT NULL ORDER BY name)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        ddl = strdup((const char *)sqlite3_column_text(st, 0));
        assert_non_null(ddl);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return ddl;
}

/* SQL on the file behind the outbox's back. */
static void
sql_exec(const char *path, const char *sql)
{
        sqlite3 *db;
        char *msg = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
        sqlite3_close(db);
}

/*
 * An outbox made by a collector of schema 1 (its DDL above, WAL as that
 * collector set it) with a file half delivered: opening it migrates it to
 * the current schema keeping everything, and its batch, a version-1 submit, goes out
 * as version 2.
 */
static void
test_migrate_from_1(void **state)
{
        struct testutil_fixture *fx = *state;
        msgpack_sbuffer v1, v2;
        struct outbox *ob;
        struct outbox_file f;
        struct outbox_batch b;
        struct proto_submit sub;
        struct outbox_stale st = {.line = 2,
                                  .value = "1300",
                                  .value_len = 4,
                                  .collector = "district-211102",
                                  .collector_len = 15,
                                  .version = V_AT(1741169554, 0)};
        char seen[512] = "", text[1024], err[256];
        uint64_t last;
        int64_t got;
        sqlite3 *db;

        msgpack_sbuffer_init(&v1);
        msgpack_sbuffer_init(&v2);
        submit_pack(&v1, 1, ID_A);
        submit_pack(&v2, 2, ID_A);
        assert_int_equal(v1.size, v2.size);

        old_outbox_make(fx, 1,
                        "INSERT INTO meta VALUES ('last_version', 1740800000000000001);"
                        "INSERT INTO file(path, origin, owner, created_at, records, batches, "
                        "accepted, changed) VALUES ('old.csv', 1, 1, 1700000000, 5, 2, 3, 1);"
                        "INSERT INTO rejection VALUES (1, 3, 0, 'row has 3 fields, the "
                        "header has 4');"
                        "INSERT INTO rejection VALUES (1, 4, 1, 'unknown unit \"9\"');",
                        "INSERT INTO batch(batch_id, file_id, records, message, created_at, "
                        "attempts, last_error) VALUES "
                        "(?1, 1, 2, ?2, 1700000000, 3, 'no acknowledgement')",
                        &v1);

        ob = open_ok(fx);
        assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), OUTBOX_SCHEMA);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master "
                                           "WHERE type = 'table' AND name = 'stale'"),
                         1);
        /* Everything it held is kept. */
        assert_int_equal(outbox_last_version(ob, &last), 0);
        assert_true(last == 1740800000000000001ULL);
        assert_int_equal(outbox_file_get(ob, 1, &f), 1);
        assert_string_equal(f.path, "old.csv");
        assert_true(f.records == 5 && f.accepted == 3 && f.changed == 1 && f.stale == 0);
        assert_int_equal(f.pending, 1);
        assert_true(f.attempts == 3);
        assert_string_equal(f.last_error, "no acknowledgement");
        outbox_file_clear(&f);
        assert_int_equal(outbox_lines_each(ob, 1, collect_lines, seen), 0);
        assert_string_equal(seen, "3=row has 3 fields, the header has 4;4=unknown unit \"9\";");
        /* Its rejections were shown at their lines: that is the place they got. */
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM pragma_table_info('rejection') "
                                           "WHERE name = 'place' AND \"notnull\" = 1"),
                         1);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM rejection WHERE place = 0"), 2);

        /* The version-1 submit goes out as the version-2 one, byte for byte. */
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_A);
        assert_int_equal(b.len, v2.size);
        assert_memory_equal(b.msg, v2.data, v2.size);
        if (proto_submit_decode(b.msg, b.len, &sub, err, sizeof(err)) < 0)
                fail_msg("decode: %s", err);
        assert_int_equal(sub.nrec, 2);
        assert_true(sub.rec[0].version == V_AT(1700000000, 0));
        proto_submit_free(&sub);
        outbox_batch_clear(&b);
        /* The stored row is left as it was, so every load gives the same bytes. */
        assert_int_equal(sql_int(fx->path, "SELECT substr(message, 9, 1) = x'01' FROM batch"), 1);
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_memory_equal(b.msg, v2.data, v2.size);
        outbox_batch_clear(&b);

        /* The migrated file takes a protocol-2 ack and prints its receipt. */
        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(outbox_ack(ob, ID_A, 1, 0, NULL, 0, &st, 1, &got), 1);
        assert_int_equal(got, 1);
        assert_int_equal(outbox_file_get(ob, 1, &f), 1);
        receipt_text(ob, &f, NULL, NULL, text, sizeof(text), NULL);
        assert_string_equal(text, "old.csv: 5 records, 4 accepted (1 changed), 2 rejected, 1 "
                                  "stale (not stored: a newer value exists)\n"
                                  "old.csv:2: not stored: a newer value (1300) was submitted by "
                                  "district-211102 at 2025-03-05 10:12\n"
                                  "old.csv:3: row has 3 fields, the header has 4\n"
                                  "old.csv:4: unknown unit \"9\"\n");
        outbox_file_clear(&f);

        /* A new file of a wide layout keeps its rejections' places there. */
        memset(seen, 0, sizeof(seen));
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "wide.csv", 3, 1, &got);
        assert_int_equal(got, 2);
        assert_int_equal(outbox_batch_add(ob, got, ID_B, "b", 1, 1), 0);
        assert_int_equal(outbox_rejection_add_at(ob, got, 3, OUTBOX_AT_COLUMN, "学生数: x"), 0);
        assert_int_equal(outbox_rejection_add_at(ob, got, 2, OUTBOX_AT_CELL, "Sheet1!C2: y"), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_lines_each(ob, got, collect_lines, seen), 0);
        assert_string_equal(seen, "2x=Sheet1!C2: y;3c=学生数: x;");
        outbox_close(&ob);

        /* A place no receipt knows is refused by the table itself. */
        assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "INSERT INTO rejection(file_id, line, from_ack, reason, "
                                      "place) VALUES (2, 1, 0, 'z', 3)",
                                      NULL, NULL, NULL),
                         SQLITE_CONSTRAINT);
        sqlite3_close(db);

        /* Opened again: nothing to migrate. */
        ob = open_ok(fx);
        assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), OUTBOX_SCHEMA);
        outbox_close(&ob);

        /* The migrated schema is the one a new outbox gets, text for text. */
        {
                struct testutil_fixture fresh = *fx;
                char *migrated = sql_schema(fx->path), *made;

                snprintf(fresh.path, sizeof(fresh.path), "%s/fresh.db", fx->dir);
                ob = open_ok(&fresh);
                outbox_close(&ob);
                made = sql_schema(fresh.path);
                assert_string_equal(migrated, made);
                free(migrated);
                free(made);
        }

        /* A schema from the future is refused, the file untouched. */
        sql_exec(fx->path, "PRAGMA user_version = 4");
        assert_null(outbox_open(fx->path, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "outbox schema version 4 is newer than this collector's (3)"));
        msgpack_sbuffer_destroy(&v1);
        msgpack_sbuffer_destroy(&v2);
}

/* A warning of an ack over C strings. */
static struct outbox_warning
warning_of(const char *unit, const char *period, const char *rule, const char *message)
{
        return (struct outbox_warning){.unit = unit,
                                       .unit_len = strlen(unit),
                                       .period = period,
                                       .period_len = strlen(period),
                                       .rule = rule,
                                       .rule_len = strlen(rule),
                                       .message = message,
                                       .message_len = strlen(message),
                                       .left = "1500",
                                       .left_len = 4,
                                       .right = "1300",
                                       .right_len = 4};
}

#define W_R10 "rule R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)"

/*
 * An outbox of schema 2 with a file half delivered (a rejection, a stale
 * record, a version-2 batch waiting): opening it migrates it to schema 3
 * keeping everything, and the file then keeps the warnings of a
 * version-3 ack and prints them after its other lines.
 */
static void
test_migrate_from_2(void **state)
{
        struct testutil_fixture *fx = *state;
        msgpack_sbuffer v2;
        struct outbox *ob;
        struct outbox_file f;
        struct outbox_batch b;
        struct outbox_warning w[2] = {
            warning_of("2111020001", "2025", "R10", W_R10),
            warning_of("2111020002", "2025", "R11",
                       "rule R11 师生比: pupils <= teachers * 25 "
                       "(900 > 750)"),
        };
        char seen[512] = "", text[2048];
        int64_t got;

        msgpack_sbuffer_init(&v2);
        submit_pack(&v2, 2, ID_A);
        old_outbox_make(fx, 2,
                        "INSERT INTO meta VALUES ('last_version', 1740800000000000001);"
                        "INSERT INTO file(path, origin, owner, created_at, records, batches, "
                        "accepted, changed) VALUES ('two.csv', 1, 1, 1700000000, 5, 2, 2, 1);"
                        "INSERT INTO rejection VALUES (1, 4, 1, 'unknown unit \"9\"', 0);"
                        "INSERT INTO stale VALUES (1, 3, '1300', 'district-211102', "
                        "1782957623296000000);",
                        "INSERT INTO batch(batch_id, file_id, records, message, created_at, "
                        "attempts) VALUES (?1, 1, 2, ?2, 1700000000, 1)",
                        &v2);

        ob = open_ok(fx);
        assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 3);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master "
                                           "WHERE type = 'table' AND name = 'warning'"),
                         1);
        assert_int_equal(sql_int(fx->path, "SELECT warnings_more FROM file WHERE id = 1"), 0);
        /* Everything it held is kept; the batch goes out as it was stored. */
        assert_int_equal(outbox_file_get(ob, 1, &f), 1);
        assert_true(f.records == 5 && f.accepted == 2 && f.stale == 1 && f.pending == 1);
        assert_true(f.warnings == 0 && f.warnings_more == 0);
        outbox_file_clear(&f);
        assert_int_equal(outbox_lines_each(ob, 1, collect_lines, seen), 0);
        assert_string_equal(seen, "3~1300,district-211102,1782957623296000000;4=unknown unit "
                                  "\"9\";");
        assert_int_equal(outbox_batch_next(ob, 0, 0, &b), 1);
        assert_int_equal(b.len, v2.size);
        assert_memory_equal(b.msg, v2.data, v2.size);
        outbox_batch_clear(&b);

        /* A version-3 ack with two warnings: kept with the file, printed last. */
        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(outbox_ack_warned(ob, ID_A, 1, 1, NULL, 0, NULL, 0, w, 2, &got), 1);
        assert_int_equal(got, 1);
        assert_int_equal(outbox_file_get(ob, 1, &f), 1);
        assert_true(f.warnings == 2 && f.warnings_more == 0);
        receipt_text(ob, &f, NULL, NULL, text, sizeof(text), NULL);
        assert_string_equal(text, "two.csv: 5 records, 3 accepted (2 changed), 1 rejected, 1 stale "
                                  "(not stored: a newer value exists), 2 warnings\n"
                                  "two.csv:3: not stored: a newer value (1300) was submitted by "
                                  "district-211102 at 2025-03-05 10:12\n"
                                  "two.csv:4: unknown unit \"9\"\n"
                                  "two.csv: warning: unit 2111020001 period 2025: " W_R10 "\n"
                                  "two.csv: warning: unit 2111020002 period 2025: rule R11 师生比: "
                                  "pupils <= teachers * 25 (900 > 750)\n");
        /* Forgetting the file takes its warnings with it. */
        assert_int_equal(outbox_file_forget(ob, 1), 0);
        outbox_file_clear(&f);
        outbox_close(&ob);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM warning"), 0);
        msgpack_sbuffer_destroy(&v2);
}

/*
 * Warnings of several acks of one file: one per unit, period and rule (the
 * later text wins), at most OUTBOX_MAX_WARNINGS kept and the rest counted;
 * a duplicate ack adds nothing; the dry run's summary.
 */
static void
test_warnings(void **state)
{
        struct testutil_fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        struct outbox_warning *many = calloc(OUTBOX_MAX_WARNINGS + 5, sizeof(*many));
        char(*units)[16] = calloc(OUTBOX_MAX_WARNINGS + 5, sizeof(*units));
        struct outbox_warning w1 = warning_of("U1", "2025", "R10", "rule R10: first"),
                              w1b = warning_of("U1", "2025", "R10", "rule R10: second"),
                              w2 = warning_of("U1", "2025", "R11", "rule R11: other");
        struct outbox_file f;
        size_t cap = 256 * 1024;
        char *text = malloc(cap);
        int64_t fid, got;

        assert_non_null(text);
        assert_non_null(many);
        assert_non_null(units);
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "w.csv", 4, 3, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "a", 1, 2), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_B, "b", 1, 2), 0);
        assert_int_equal(outbox_batch_add(ob, fid, ID_C, "c", 1, 0), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack_warned(ob, ID_A, 2, 2, NULL, 0, NULL, 0, &w1, 1, &got), 1);
        /* The duplicate ack changes nothing. */
        assert_int_equal(outbox_ack_warned(ob, ID_A, 2, 2, NULL, 0, NULL, 0, &w2, 1, &got), 0);
        {
                struct outbox_warning two[2] = {w2, w1b};

                assert_int_equal(outbox_ack_warned(ob, ID_B, 2, 0, NULL, 0, NULL, 0, two, 2, &got),
                                 1);
        }
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_true(f.warnings == 2 && f.warnings_more == 0 && f.pending == 1);
        outbox_file_clear(&f);

        /* Past the cap: kept up to OUTBOX_MAX_WARNINGS, the rest counted. */
        for (int i = 0; i < OUTBOX_MAX_WARNINGS + 5; i++) {
                snprintf(units[i], sizeof(units[i]), "V%d", i);
                many[i] = warning_of(units[i], "2025", "R10", "rule R10: many");
        }
        assert_int_equal(outbox_ack_warned(ob, ID_C, 0, 0, NULL, 0, NULL, 0, many,
                                           OUTBOX_MAX_WARNINGS + 5, &got),
                         1);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_true(f.warnings == OUTBOX_MAX_WARNINGS + 7);
        assert_true(f.warnings_more == 7);
        assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM warning"), OUTBOX_MAX_WARNINGS);
        /* The first two still come first, the second text of R10 in place. */
        {
                FILE *fp = tmpfile();
                size_t n;

                assert_non_null(fp);
                assert_int_equal(receipt_print_dry_run(ob, &f, fp, fp, NULL), 0);
                rewind(fp);
                n = fread(text, 1, cap - 1, fp);
                text[n] = '\0';
                fclose(fp);
        }
        assert_non_null(strstr(text, "w.csv: dry run: 4 records, 4 accepted (2 changed), 0 "
                                     "rejected, 1007 warnings; nothing was stored\n"
                                     "w.csv: warning: unit U1 period 2025: rule R10: second\n"
                                     "w.csv: warning: unit U1 period 2025: rule R11: other\n"
                                     "w.csv: warning: unit V0 period 2025: rule R10: many\n"));
        assert_non_null(strstr(text, "w.csv: warning: unit V997 period 2025: rule R10: many\n"
                                     "w.csv: 7 more warnings not listed (a receipt lists the "
                                     "first 1000)\n"));
        assert_null(strstr(text, "unit V998 "));
        outbox_file_clear(&f);
        outbox_close(&ob);
        free(text);
        free(many);
        free(units);
}

/* A private outbox works like any other and leaves no file behind. */
static void
test_private(void **state)
{
        struct testutil_fixture *fx = *state;
        char err[256] = "";
        struct outbox *ob = outbox_open(fx->path, OUTBOX_PRIVATE, err, sizeof(err));
        struct outbox_file f;
        int64_t fid, got;

        if (ob == NULL)
                fail_msg("outbox_open: %s", err);
        assert_string_equal(outbox_path(ob), fx->path);
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "p.csv", 1, 1, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, "a", 1, 1), 0);
        assert_int_equal(outbox_commit(ob), 0);
        assert_int_equal(outbox_ack(ob, ID_A, 1, 1, NULL, 0, NULL, 0, &got), 1);
        assert_int_equal(outbox_file_get(ob, fid, &f), 1);
        assert_true(f.accepted == 1 && f.pending == 0);
        outbox_file_clear(&f);
        outbox_close(&ob);
        assert_int_equal(access(fx->path, F_OK), -1);
        assert_int_equal(access(fx->dir, F_OK), 0);
}

/*
 * The version-1 rewrite at load: a version-1 submit written into a schema-2
 * outbox (by a collector of protocol version 1 that had it open across the
 * upgrade) goes out as version 2; anything that does not start exactly
 * like a version-1 submit goes out as stored.
 */
static void
test_v1_patch(void **state)
{
        struct testutil_fixture *fx = *state;
        struct outbox *ob = open_ok(fx);
        msgpack_sbuffer v1, v2;
        static const struct {
                const char *bytes;
                size_t len;
        } kept[] = {
            {"\x96\xa6submit\x03", 9},      /* another version */
            {"\x95\xa6submit\x01", 9},      /* another array length */
            {"\x96\xa6submiT\x01", 9},      /* another type */
            {"\x96\xa6submit", 8},          /* cut before the version */
            {"\x96\xa6submit\xcc\x01", 10}, /* version 1 not as a fixint */
        };
        char id[40];
        struct outbox_batch b;
        int64_t fid, seq = 0;

        msgpack_sbuffer_init(&v1);
        msgpack_sbuffer_init(&v2);
        submit_pack(&v1, 1, ID_A);
        submit_pack(&v2, 2, ID_A);
        assert_int_equal(outbox_begin(ob), 0);
        add_file(ob, "p.csv", 2, 6, &fid);
        assert_int_equal(outbox_batch_add(ob, fid, ID_A, v1.data, v1.size, 2), 0);
        for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
                snprintf(id, sizeof(id), "%032zu", i);
                assert_int_equal(outbox_batch_add(ob, fid, id, kept[i].bytes, kept[i].len, 0), 0);
        }
        assert_int_equal(outbox_commit(ob), 0);

        assert_int_equal(outbox_batch_next(ob, seq, 0, &b), 1);
        assert_int_equal(b.len, v2.size);
        assert_memory_equal(b.msg, v2.data, v2.size);
        seq = b.seq;
        outbox_batch_clear(&b);
        for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
                assert_int_equal(outbox_batch_next(ob, seq, 0, &b), 1);
                assert_int_equal(b.len, kept[i].len);
                assert_memory_equal(b.msg, kept[i].bytes, kept[i].len);
                seq = b.seq;
                outbox_batch_clear(&b);
        }
        msgpack_sbuffer_destroy(&v1);
        msgpack_sbuffer_destroy(&v2);
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
crash_run(const struct testutil_fixture *fx, int hold)
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
        struct testutil_fixture *fx = *state;
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
        struct testutil_fixture *fx = *state;
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
        struct testutil_fixture *fx = *state;
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
            cmocka_unit_test_setup_teardown(test_open, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_versions, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_put_ack_refuse, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_reopen_keeps_batches, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_lists_and_spool_files, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_enqueue, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_stale, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_placed_rejections, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_refusal_receipt, setup, testutil_fixture_teardown),
            cmocka_unit_test(test_migrations_frozen),
            cmocka_unit_test_setup_teardown(test_migrate_from_1, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_migrate_from_2, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_warnings, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_private, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_v1_patch, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_crash_mid_transaction, setup,
                                            testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_crash_random, setup, testutil_fixture_teardown),
            cmocka_unit_test_setup_teardown(test_busy_waits, setup, testutil_fixture_teardown),
        };

        log_init("test_outbox", 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
