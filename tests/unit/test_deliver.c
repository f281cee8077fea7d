/*
 * Unit tests of collector/deliver.c over a real SQLite outbox and real
 * ZeroMQ sockets on 127.0.0.1.  The ROUTER plays an aggregator that reads
 * and answers by hand; a second handle on the same outbox file plays
 * another collector process (`run` beside a `submit`).
 *
 * The tests count deliver_step() rounds, not seconds: a round waits at most
 * until the next thing falls due, so "finished within N rounds" is a bound
 * on what the engine waits for, whatever the machine's speed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "deliver.h"
#include "outbox.h"
#include "proto.h"
#include "receipt.h"
#include "util.h"
#include "wire.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

struct fix {
        char dir[64], path[128];
        struct outbox *ob, *peer; /* this process's handle, another process's */
        void *ctx, *router, *dealer;
        char endpoint[256];
        int64_t file_id;
        int done_calls;
};

static void
file_done(void *arg, int64_t file_id)
{
        struct fix *f = arg;

        assert_int_equal(file_id, f->file_id);
        f->done_calls++;
}

/* One file of two batches in a fresh outbox, and a silent ROUTER. */
static int
setup(void **state)
{
        struct fix *f = calloc(1, sizeof(*f));
        struct outbox_file_new nf = {
            .path = "school.csv", .origin = OUTBOX_SUBMIT, .owner = 1, .records = 2, .batches = 2};
        char err[256];
        size_t len = sizeof(f->endpoint);

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test_deliver.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/outbox.db", f->dir);
        f->ob = outbox_open(f->path, OUTBOX_CREATE, err, sizeof(err));
        assert_non_null(f->ob);
        f->peer = outbox_open(f->path, 0, err, sizeof(err));
        assert_non_null(f->peer);
        assert_int_equal(outbox_begin(f->ob), 0);
        assert_int_equal(outbox_file_add(f->ob, &nf, &f->file_id), 0);
        /* The bytes need not decode: the ROUTER here only reads them back. */
        assert_int_equal(outbox_batch_add(f->ob, f->file_id, ID_A, "batch-a", 7, 1), 0);
        assert_int_equal(outbox_batch_add(f->ob, f->file_id, ID_B, "batch-b", 7, 1), 0);
        assert_int_equal(outbox_commit(f->ob), 0);

        f->ctx = zmq_ctx_new();
        assert_non_null(f->ctx);
        f->router = wire_router_bind(f->ctx, "tcp://127.0.0.1:*", 1 << 20);
        assert_non_null(f->router);
        assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
        f->dealer = wire_dealer_connect(f->ctx, f->endpoint, 1 << 20);
        assert_non_null(f->dealer);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fix *f = *state;
        char p[160];

        wire_close(&f->dealer);
        wire_close(&f->router);
        zmq_ctx_term(f->ctx);
        outbox_close(&f->ob);
        outbox_close(&f->peer);
        for (const char *const *s = (const char *const[]){"", "-wal", "-shm", NULL}; *s; s++) {
                snprintf(p, sizeof(p), "%s%s", f->path, *s);
                unlink(p);
        }
        rmdir(f->dir);
        free(f);
        return 0;
}

/*
 * Receive one message at the ROUTER (waiting up to 5 s) into buf, followed
 * by a NUL so that a text reads as a string; returns its size.
 */
static size_t
router_take(struct fix *f, struct wire_peer *peer, char *buf, size_t cap)
{
        zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
        zmq_msg_t m;
        size_t n;

        assert_int_equal(zmq_poll(&it, 1, 5000), 1);
        zmq_msg_init(&m);
        assert_int_equal(wire_router_recv(f->router, peer, &m, ZMQ_DONTWAIT), 0);
        n = zmq_msg_size(&m);
        assert_true(n < cap);
        memcpy(buf, zmq_msg_data(&m), n);
        buf[n] = '\0';
        zmq_msg_close(&m);
        return n;
}

/* An ack of id: every record accepted and changed but the stale ones. */
static void
router_ack_stale(struct fix *f, const struct wire_peer *peer, const char *id,
                 const struct proto_stale *st, uint32_t nstale)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_ack_begin(&pk, (struct pstr){id, (uint32_t)strlen(id)}, 1, nstale ? 0 : 1, 0);
        proto_ack_stale_begin(&pk, nstale);
        for (uint32_t i = 0; i < nstale; i++)
                proto_stale_pack(&pk, &st[i]);
        assert_int_equal(wire_router_send(f->router, peer, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
}

static void
router_ack(struct fix *f, const struct wire_peer *peer, const char *id)
{
        router_ack_stale(f, peer, id, NULL, 0);
}

static void
router_error(struct fix *f, const struct wire_peer *peer, const char *id, const char *message)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_error_pack(&pk, pstr_of(id), message);
        assert_int_equal(wire_router_send(f->router, peer, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
}

/* Step d until batch id is answered in the outbox (at most 10 rounds). */
static void
step_until_answered(struct fix *f, struct deliver *d, const char *id)
{
        for (int i = 0; i < 10 && outbox_batch_pending(f->ob, id) == 1; i++)
                assert_int_equal(deliver_step(d, 1000), 0);
        assert_int_equal(outbox_batch_pending(f->ob, id), 0);
}

/* The receipt of the fixture's file, summary and lines together. */
static void
receipt_text(struct fix *f, char *text, size_t cap)
{
        struct outbox_file of;
        FILE *fp = tmpfile();
        size_t n;

        assert_non_null(fp);
        assert_int_equal(outbox_file_get(f->ob, f->file_id, &of), 1);
        assert_int_equal(receipt_print(f->ob, &of, NULL, NULL, fp, fp, NULL), 0);
        outbox_file_clear(&of);
        rewind(fp);
        n = fread(text, 1, cap - 1, fp);
        text[n] = '\0';
        fclose(fp);
}

/*
 * The bug this guards against: a `submit` whose batch was acked to another
 * process sharing the outbox waited out its whole resend backoff (here a
 * minute) before noticing.  Now it looks the batch up at least once a
 * second, so it finishes within a few rounds, and sends nothing twice.
 */
static void
test_answered_by_another_process(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 60000, .max_ms = 60000, .window = 4};
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f);
        struct wire_peer peer;
        int64_t fid = 0;
        char got[64];
        int rounds = 0;

        assert_int_equal(deliver_step(d, 0), 0);
        assert_int_equal(deliver_inflight(d), 2);
        router_take(f, &peer, got, sizeof(got));
        assert_string_equal(got, "batch-a");
        router_take(f, &peer, got, sizeof(got));
        assert_string_equal(got, "batch-b");

        /* The aggregator answers A here; B's ack goes to the other process. */
        router_ack(f, &peer, ID_A);
        assert_int_equal(outbox_ack(f->peer, ID_B, 1, 1, NULL, 0, NULL, 0, &fid), 1);
        assert_int_equal(fid, f->file_id);

        while (!deliver_finished(d) && rounds < 5) {
                assert_int_equal(deliver_step(d, 30000), 0);
                rounds++;
        }
        assert_true(deliver_finished(d));
        assert_true(rounds <= 3);
        /* Once for A's ack here, and maybe again on finding B answered. */
        assert_true(f->done_calls >= 1);
        assert_int_equal(outbox_batch_pending(f->ob, ID_A), 0);
        assert_int_equal(outbox_batch_pending(f->ob, ID_B), 0);
        /* Nothing was sent again. */
        zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
        assert_int_equal(zmq_poll(&it, 1, 0), 0);
        deliver_destroy(&d);
}

/* Unanswered batches are resent after first_ms, and the resend is counted. */
static void
test_resend_after_backoff(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 200, .max_ms = 400, .window = 1};
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f);
        struct outbox_batch b = {0};
        struct wire_peer peer;
        char got[64];

        assert_int_equal(deliver_step(d, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        assert_string_equal(got, "batch-a");
        /* The window holds one: B waits for A's answer. */
        assert_int_equal(deliver_inflight(d), 1);
        for (int i = 0; i < 10 && outbox_batch_next(f->peer, 0, 0, &b) == 1 && b.attempts < 2;
             i++) {
                outbox_batch_clear(&b);
                assert_int_equal(deliver_step(d, 1000), 0);
        }
        outbox_batch_clear(&b);
        router_take(f, &peer, got, sizeof(got));
        assert_string_equal(got, "batch-a");
        assert_int_equal(outbox_batch_next(f->peer, 0, 0, &b), 1);
        assert_string_equal(b.batch_id, ID_A);
        assert_int_equal(b.attempts, 2);
        outbox_batch_clear(&b);

        router_ack(f, &peer, ID_A);
        for (int i = 0; i < 5 && outbox_batch_pending(f->ob, ID_A) == 1; i++)
                assert_int_equal(deliver_step(d, 1000), 0);
        assert_int_equal(outbox_batch_pending(f->ob, ID_A), 0);
        assert_int_equal(deliver_step(d, 0), 0);
        /* A may have gone out once more before its ack was read; then B. */
        do
                router_take(f, &peer, got, sizeof(got));
        while (strcmp(got, "batch-a") == 0);
        assert_string_equal(got, "batch-b");
        assert_int_equal(f->done_calls, 0);
        deliver_destroy(&d);
}

/*
 * An ack listing stale records (protocol 2): they are stored with the ack
 * and the file's receipt shows them by line, with the stored value, who
 * submitted it and when (TZ pinned to UTC), counted apart from rejections.
 */
static void
test_ack_with_stale(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 60000, .max_ms = 60000, .window = 4};
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f);
        /* 2025-03-05 10:12:34 UTC, record 5 of its batch. */
        struct proto_stale st = {.line = 2,
                                 .value = pstr_of("12"),
                                 .collector = pstr_of("district-211102"),
                                 .version = (uint64_t)1741169554 * 1000000 * 1024 + 5};
        struct wire_peer peer;
        char got[64], text[1024];

        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(deliver_step(d, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        router_take(f, &peer, got, sizeof(got));
        router_ack_stale(f, &peer, ID_A, &st, 1);
        router_ack(f, &peer, ID_B);
        step_until_answered(f, d, ID_A);
        step_until_answered(f, d, ID_B);
        assert_true(f->done_calls >= 1);
        receipt_text(f, text, sizeof(text));
        assert_string_equal(text, "school.csv: 2 records, 2 accepted (1 changed), 0 rejected, 1 "
                                  "stale (not stored: a newer value exists)\n"
                                  "school.csv:2: not stored: a newer value (12) was submitted by "
                                  "district-211102 at 2025-03-05 10:12\n");
        deliver_destroy(&d);
}

/*
 * A batch queued by a collector of protocol version 1 (a version-1 submit
 * in the outbox) is sent as version 2, and its resend carries the very
 * same bytes: the aggregator recognises a resend by a digest of them.
 */
static void
test_v1_batch_sent_as_v2(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 200, .max_ms = 200, .window = 4};
        struct deliver *d;
        struct proto_record r = {.line = 2,
                                 .version = (uint64_t)1700000000 * 1000000 * 1024,
                                 .unit = pstr_of("2111020001"),
                                 .period = pstr_of("2024"),
                                 .indicator = pstr_of("pupils"),
                                 .value = pstr_of("1200")};
        static const char id_c[] = "cccccccccccccccccccccccccccccccc";
        struct outbox_file_new nf = {
            .path = "old.csv", .origin = OUTBOX_SUBMIT, .owner = 1, .records = 1, .batches = 1};
        msgpack_sbuffer v2;
        msgpack_packer pk;
        struct proto_submit sub;
        struct wire_peer peer;
        char first[512], again[512], err[256];
        size_t n1 = 0, n2 = 0;
        int64_t fid;

        /* A version-2 submit (the layout of version 1 too, and of version 3); the stored
         * copy says version 1. */
        msgpack_sbuffer_init(&v2);
        msgpack_packer_init(&pk, &v2, msgpack_sbuffer_write);
        proto_submit_begin(&pk, "coll", id_c, "old.csv", 1);
        proto_record_pack(&pk, &r);
        assert_memory_equal(v2.data, "\x96\xa6submit\x03", 9);
        v2.data[8] = 0x01;
        assert_int_equal(outbox_begin(f->ob), 0);
        assert_int_equal(outbox_file_add(f->ob, &nf, &fid), 0);
        assert_int_equal(outbox_batch_add(f->ob, fid, id_c, v2.data, v2.size, 1), 0);
        assert_int_equal(outbox_commit(f->ob), 0);
        v2.data[8] = 0x02;

        /* Its first send and its resend, among the fixture's two batches' sends. */
        d = deliver_new(f->ob, f->dealer, &p, NULL, NULL);
        for (int i = 0; i < 20 && n2 == 0; i++) {
                zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
                char buf[512];
                size_t n;

                assert_int_equal(deliver_step(d, 300), 0);
                while (n2 == 0 && zmq_poll(&it, 1, 0) == 1) {
                        if ((n = router_take(f, &peer, buf, sizeof(buf))) == 7)
                                continue; /* batch-a or batch-b */
                        if (n1 == 0) {
                                memcpy(first, buf, n);
                                n1 = n;
                        } else {
                                memcpy(again, buf, n);
                                n2 = n;
                        }
                }
        }
        assert_int_equal(n1, v2.size);
        assert_memory_equal(first, v2.data, v2.size);
        assert_int_equal(n2, n1);
        assert_memory_equal(again, first, n1);
        if (proto_submit_decode(first, n1, &sub, err, sizeof(err)) < 0)
                fail_msg("the aggregator could not read it: %s", err);
        assert_int_equal(sub.nrec, 1);
        proto_submit_free(&sub);
        msgpack_sbuffer_destroy(&v2);
        deliver_destroy(&d);
}

/* Run deliver_step with stderr (the log) going to a file; the log into buf. */
static void
step_logged(struct deliver *d, int64_t wait_ms, char *buf, size_t cap)
{
        FILE *fp = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n;

        assert_non_null(fp);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_true(dup2(fileno(fp), STDERR_FILENO) >= 0);
        assert_int_equal(deliver_step(d, wait_ms), 0);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(fp);
        n = fread(buf, 1, cap - 1, fp);
        buf[n] = '\0';
        fclose(fp);
}

/*
 * An "error" naming a batch (protocol 2 names it whenever it could be
 * read): the refusal is final, logged naming the file, kept for the
 * receipt, and the batch is not sent again.
 */
static void
test_refused_batch_is_final(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 200, .max_ms = 200, .window = 4};
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f);
        const char *why = "batch id " ID_A " was used before with other content; each batch "
                          "needs an id of its own";
        struct wire_peer peer;
        char got[64], log[2048], want[512], text[1024];
        struct outbox_file of;

        assert_int_equal(deliver_step(d, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        router_take(f, &peer, got, sizeof(got));
        router_error(f, &peer, ID_A, why);
        for (int i = 0; i < 10 && outbox_batch_pending(f->ob, ID_A) == 1; i++)
                step_logged(d, 1000, log, sizeof(log));
        assert_int_equal(outbox_batch_pending(f->ob, ID_A), 0);
        snprintf(want, sizeof(want), "school.csv: the aggregator refused batch %s: %s", ID_A, why);
        if (strstr(log, want) == NULL)
                fail_msg("want \"%s\" in the log, got: %s", want, log);
        assert_int_equal(outbox_file_get(f->ob, f->file_id, &of), 1);
        assert_int_equal(of.refused_batches, 1);
        assert_true(of.refused_records == 1);
        assert_string_equal(of.refusal, why);
        outbox_file_clear(&of);

        /* Resends of B go on for a second; A never goes out again. */
        for (int64_t until = now_ms() + 1000; now_ms() < until;) {
                zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};

                assert_int_equal(deliver_step(d, 100), 0);
                while (zmq_poll(&it, 1, 0) == 1) {
                        router_take(f, &peer, got, sizeof(got));
                        assert_string_equal(got, "batch-b");
                }
        }
        router_ack(f, &peer, ID_B);
        step_until_answered(f, d, ID_B);
        assert_true(f->done_calls >= 1);
        receipt_text(f, text, sizeof(text));
        assert_non_null(strstr(text, "school.csv: 2 records, 1 accepted (1 changed), 0 rejected, "
                                     "1 records refused by the aggregator: batch id " ID_A));
        assert_non_null(strstr(text, "submit the file again (it gets new batch ids)"));
        deliver_destroy(&d);
}

/* A version-3 ack (or, with type PROTO_CHECKED, a "checked") of id with warnings. */
static void
router_ack3(struct fix *f, const struct wire_peer *peer, enum proto_type type, const char *id,
            uint32_t nrej, const struct proto_warning *w, uint32_t nwarn)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_ack3_begin(&pk, type, pstr_of(id), 1 - (nrej > 0), 1 - (nrej > 0), nrej, 0);
        for (uint32_t i = 0; i < nrej; i++)
                proto_reject_line_pack(&pk, 2,
                                       pstr_of("rule R01 大班额班数不超过班数: "
                                               "large_classes <= classes fails (40 > 38)"));
        proto_ack_stale_begin(&pk, 0);
        proto_ack_warnings_begin(&pk, nwarn);
        for (uint32_t i = 0; i < nwarn; i++)
                proto_warning_pack(&pk, &w[i]);
        assert_int_equal(wire_router_send(f->router, peer, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
}

static const struct proto_warning warn_r10 = {
    .unit = {"2111020001", 10},
    .period = {"2025", 4},
    .rule = {"R10", 3},
    .message = {"rule R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)", 76},
    .left = {"1500", 4},
    .right = {"1300", 4},
};

/*
 * A version-3 ack's warnings are kept with the file (the 7th item), and
 * the receipt prints them after its rejected lines and counts them in the
 * summary; a rejection by an error rule is an ordinary rejected line.
 */
static void
test_ack_with_warnings(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 60000, .max_ms = 60000, .window = 4};
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f);
        struct proto_warning w[2] = {warn_r10, warn_r10};
        struct wire_peer peer;
        char got[64], text[2048];

        assert_int_equal(strlen(warn_r10.message.p), warn_r10.message.len);
        w[1].unit = pstr_of("2111020002");
        w[1].message = pstr_of("rule R11 师生比: pupils <= teachers * 25 (900 > 750)");
        assert_int_equal(deliver_step(d, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        router_take(f, &peer, got, sizeof(got));
        router_ack3(f, &peer, PROTO_ACK, ID_A, 1, w, 2);
        router_ack3(f, &peer, PROTO_ACK, ID_B, 0, NULL, 0);
        step_until_answered(f, d, ID_A);
        step_until_answered(f, d, ID_B);
        assert_true(f->done_calls >= 1);
        receipt_text(f, text, sizeof(text));
        assert_string_equal(text,
                            "school.csv: 2 records, 1 accepted (1 changed), 1 rejected, 2 "
                            "warnings\n"
                            "school.csv:2: rule R01 大班额班数不超过班数: large_classes <= classes "
                            "fails (40 > 38)\n"
                            "school.csv: warning: unit 2111020001 period 2025: rule R10 "
                            "在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)\n"
                            "school.csv: warning: unit 2111020002 period 2025: rule R11 师生比: "
                            "pupils <= teachers * 25 (900 > 750)\n");
        deliver_destroy(&d);
}

/*
 * A dry run's batches are answered with "checked": recorded like an ack;
 * an "ack" for one is not its answer and is ignored.  An ordinary delivery
 * ignores a "checked" the same way.
 */
static void
test_dry_run_takes_checked(void **state)
{
        struct fix *f = *state;
        struct deliver_policy p = {
            .endpoint = f->endpoint, .first_ms = 60000, .max_ms = 60000, .window = 4, .dry_run = 1};
        struct deliver_policy q = p;
        struct deliver *d = deliver_new(f->ob, f->dealer, &p, file_done, f), *e;
        struct wire_peer peer;
        char got[64], text[2048];

        assert_int_equal(deliver_step(d, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        router_take(f, &peer, got, sizeof(got));
        router_ack3(f, &peer, PROTO_ACK, ID_A, 0, NULL, 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(deliver_step(d, 100), 0);
        assert_int_equal(outbox_batch_pending(f->ob, ID_A), 1);
        router_ack3(f, &peer, PROTO_CHECKED, ID_A, 0, &warn_r10, 1);
        step_until_answered(f, d, ID_A);
        deliver_destroy(&d);

        /* Not a dry run: B's "checked" is ignored, its "ack" taken. */
        q.dry_run = 0;
        e = deliver_new(f->ob, f->dealer, &q, file_done, f);
        assert_int_equal(deliver_step(e, 0), 0);
        router_take(f, &peer, got, sizeof(got));
        assert_string_equal(got, "batch-b");
        router_ack3(f, &peer, PROTO_CHECKED, ID_B, 0, NULL, 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(deliver_step(e, 100), 0);
        assert_int_equal(outbox_batch_pending(f->ob, ID_B), 1);
        router_ack3(f, &peer, PROTO_ACK, ID_B, 0, NULL, 0);
        step_until_answered(f, e, ID_B);
        deliver_destroy(&e);
        receipt_text(f, text, sizeof(text));
        assert_non_null(strstr(text, "school.csv: 2 records, 2 accepted (2 changed), 0 rejected, "
                                     "1 warning\n"));
}

/*
 * The fake aggregator of the explain tests, in a thread of its own (no
 * cmocka asserts there: what it saw is checked by the test after the
 * join).  It reads the action, drops the first `drop` copies (the
 * collector must resend the same bytes), and answers as told.
 */
struct fake_agg {
        struct fix *f;
        int drop;          /* copies to leave unanswered */
        int answer;        /* 0 none, 1 ack, 2 error, 3 error for another batch id then ack */
        const char *error; /* the error's message */
        int received;      /* copies received */
        int same_bytes;    /* every copy byte-identical to the first */
        int decoded;       /* the action decoded */
        char kind[16], unit[32], period[16], rule[16], text[128], id[64];
};

static void *
fake_agg_run(void *arg)
{
        struct fake_agg *a = arg;
        zmq_pollitem_t it = {.socket = a->f->router, .events = ZMQ_POLLIN};
        static char first[8192];
        size_t first_len = 0;
        struct wire_peer peer;

        a->same_bytes = 1;
        while (zmq_poll(&it, 1, 3000) == 1) {
                zmq_msg_t m;
                struct proto_action act;
                char err[128];
                msgpack_sbuffer sb;
                msgpack_packer pk;

                zmq_msg_init(&m);
                if (wire_router_recv(a->f->router, &peer, &m, ZMQ_DONTWAIT) != 0) {
                        zmq_msg_close(&m);
                        continue;
                }
                if (a->received++ == 0) {
                        first_len = zmq_msg_size(&m) < sizeof(first) ? zmq_msg_size(&m) : 0;
                        memcpy(first, zmq_msg_data(&m), first_len);
                        if (proto_action_decode(first, first_len, &act, err, sizeof(err)) == 0) {
                                a->decoded = 1;
                                snprintf(a->kind, sizeof(a->kind), "%.*s", (int)act.kind.len,
                                         act.kind.p);
                                snprintf(a->unit, sizeof(a->unit), "%.*s", (int)act.unit.len,
                                         act.unit.p);
                                snprintf(a->period, sizeof(a->period), "%.*s", (int)act.period.len,
                                         act.period.p);
                                snprintf(a->rule, sizeof(a->rule), "%.*s", (int)act.rule.len,
                                         act.rule.p);
                                snprintf(a->text, sizeof(a->text), "%.*s", (int)act.text.len,
                                         act.text.p);
                                snprintf(a->id, sizeof(a->id), "%.*s", (int)act.batch_id.len,
                                         act.batch_id.p);
                        }
                } else if (zmq_msg_size(&m) != first_len ||
                           memcmp(zmq_msg_data(&m), first, first_len) != 0) {
                        a->same_bytes = 0;
                }
                zmq_msg_close(&m);
                if (a->received <= a->drop || a->answer == 0)
                        continue;
                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                if (a->answer == 3) {
                        /* Another batch's answer first: not ours, ignored. */
                        proto_error_pack(&pk, pstr_of("0123456789abcdef0123456789abcdef"),
                                         "not this one");
                        if (wire_router_send(a->f->router, &peer, sb.data, sb.size) < 0)
                                fprintf(stderr, "fake aggregator: an answer was not sent\n");
                        msgpack_sbuffer_clear(&sb);
                }
                if (a->answer == 2) {
                        proto_error_pack(&pk, pstr_of(a->id), a->error);
                } else {
                        proto_ack3_begin(&pk, PROTO_ACK, pstr_of(a->id), 1, 0, 0, 0);
                        proto_ack_stale_begin(&pk, 0);
                        proto_ack_warnings_begin(&pk, 0);
                }
                if (wire_router_send(a->f->router, &peer, sb.data, sb.size) < 0)
                        fprintf(stderr, "fake aggregator: an answer was not sent\n");
                msgpack_sbuffer_destroy(&sb);
                break;
        }
        return NULL;
}

/* Run deliver_explain against a fake aggregator a; returns its result. */
static int
explain_with(struct fake_agg *a, int64_t timeout_ms, char *message, size_t len)
{
        struct deliver_policy p = {.endpoint = a->f->endpoint, .first_ms = 100, .max_ms = 200};
        struct deliver_explanation e = {.collector = "school-1",
                                        .unit = "2111020001",
                                        .period = "2025",
                                        .rule = "R10",
                                        .text = "新校区启用，学生数增加"};
        pthread_t t;
        int r;

        assert_int_equal(pthread_create(&t, NULL, fake_agg_run, a), 0);
        r = deliver_explain(a->f->dealer, &p, &e, timeout_ms, NULL, message, len);
        assert_int_equal(pthread_join(t, NULL), 0);
        return r;
}

/* explain: the action as sent, resent byte for byte until the ack comes. */
static void
test_explain_acked(void **state)
{
        struct fake_agg a = {.f = *state, .drop = 2, .answer = 3};
        char message[256] = "x";

        assert_int_equal(explain_with(&a, 10000, message, sizeof(message)), 1);
        assert_string_equal(message, "");
        assert_int_equal(a.received, 3);
        assert_true(a.same_bytes);
        assert_true(a.decoded);
        assert_string_equal(a.kind, "explain");
        assert_string_equal(a.unit, "2111020001");
        assert_string_equal(a.period, "2025");
        assert_string_equal(a.rule, "R10");
        assert_string_equal(a.text, "新校区启用，学生数增加");
        assert_int_equal(strlen(a.id), 32);
        assert_int_equal(strspn(a.id, "0123456789abcdef"), 32);
}

/* explain: an "error" for it is a refusal, with the aggregator's message. */
static void
test_explain_refused(void **state)
{
        struct fake_agg a = {
            .f = *state,
            .answer = 2,
            .error = "rule R10 does not fail for unit 2111020001 period 2025: there is nothing "
                     "to explain"};
        char message[256];

        assert_int_equal(explain_with(&a, 10000, message, sizeof(message)), 2);
        assert_string_equal(message, a.error);
        assert_int_equal(a.received, 1);
}

/* explain: no answer within the timeout; the action was sent more than once. */
static void
test_explain_unanswered(void **state)
{
        struct fake_agg a = {.f = *state, .answer = 0};
        char message[256];
        int64_t t0 = now_ms();

        assert_int_equal(explain_with(&a, 700, message, sizeof(message)), 0);
        assert_true(now_ms() - t0 >= 700);
        assert_true(a.received >= 2);
        assert_true(a.same_bytes);
}

/* review: a return goes out as an "action" of kind return, rule nil, the reason as text. */
static void
test_review_return_acked(void **state)
{
        struct fake_agg a = {.f = *state, .drop = 1, .answer = 1};
        struct deliver_policy p = {.endpoint = a.f->endpoint, .first_ms = 100, .max_ms = 200};
        struct deliver_review rv = {.collector = "county",
                                    .kind = "return",
                                    .unit = "2111020001",
                                    .period = "2025",
                                    .text = "第7行有误"};
        char message[256] = "x";
        pthread_t t;

        assert_int_equal(pthread_create(&t, NULL, fake_agg_run, &a), 0);
        assert_int_equal(
            deliver_review(a.f->dealer, &p, &rv, 10000, NULL, message, sizeof(message)), 1);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_string_equal(message, "");
        assert_int_equal(a.received, 2);
        assert_true(a.same_bytes);
        assert_true(a.decoded);
        assert_string_equal(a.kind, "return");
        assert_string_equal(a.text, "第7行有误");
}

/* A fake aggregator for "ask": answers another id's told first, then told or error. */
struct fake_ask {
        struct fix *f;
        int refuse;
        char unit[32], period[16];
};

static void *
fake_ask_run(void *arg)
{
        struct fake_ask *a = arg;
        zmq_pollitem_t it = {.socket = a->f->router, .events = ZMQ_POLLIN};
        struct pstr bl[2] = {pstr_of("indicator teachers (专任教师数) not stored"),
                             pstr_of("warning R10 (在校生数同比) not explained")};
        struct wire_peer peer;
        zmq_msg_t m;
        struct proto_ask q;
        struct proto_told t = {.state = pstr_of("open"),
                               .by = pstr_of("county"),
                               .comment = pstr_of("第7行有误"),
                               .at = 1733300000000000ULL,
                               .nblockers = 2,
                               .blockers = bl};
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[128];

        if (zmq_poll(&it, 1, 3000) != 1)
                return NULL;
        zmq_msg_init(&m);
        if (wire_router_recv(a->f->router, &peer, &m, ZMQ_DONTWAIT) != 0 ||
            proto_ask_decode(zmq_msg_data(&m), zmq_msg_size(&m), &q, err, sizeof(err)) != 0) {
                zmq_msg_close(&m);
                return NULL;
        }
        snprintf(a->unit, sizeof(a->unit), "%.*s", (int)q.unit.len, q.unit.p);
        snprintf(a->period, sizeof(a->period), "%.*s", (int)q.period.len, q.period.p);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        t.batch_id = pstr_of("0123456789abcdef0123456789abcdef");
        proto_told_pack(&pk, &t);
        if (wire_router_send(a->f->router, &peer, sb.data, sb.size) < 0)
                fprintf(stderr, "fake aggregator: an answer was not sent\n");
        msgpack_sbuffer_clear(&sb);
        if (a->refuse) {
                proto_error_pack(&pk, q.batch_id, "not authorized for unit 2111020001");
        } else {
                t.batch_id = q.batch_id;
                proto_told_pack(&pk, &t);
        }
        if (wire_router_send(a->f->router, &peer, sb.data, sb.size) < 0)
                fprintf(stderr, "fake aggregator: an answer was not sent\n");
        msgpack_sbuffer_destroy(&sb);
        zmq_msg_close(&m);
        return NULL;
}

/* status --unit: the told for our id (another id's ignored), or the error. */
static void
test_ask(void **state)
{
        struct fake_ask a = {.f = *state};
        struct deliver_policy p = {.endpoint = a.f->endpoint, .first_ms = 1000, .max_ms = 2000};
        struct proto_told t;
        char message[256];
        void *buf;
        pthread_t th;

        assert_int_equal(pthread_create(&th, NULL, fake_ask_run, &a), 0);
        assert_int_equal(deliver_ask(a.f->dealer, &p, "school", "2111020001", "2025", 10000, NULL,
                                     &t, &buf, message, sizeof(message)),
                         1);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_string_equal(a.unit, "2111020001");
        assert_string_equal(a.period, "2025");
        assert_int_equal(t.state.len, 4);
        assert_memory_equal(t.state.p, "open", 4);
        assert_true(t.at == 1733300000000000ULL);
        assert_int_equal(t.nblockers, 2);
        assert_memory_equal(t.blockers[1].p, "warning R10", 11);
        proto_told_free(&t);
        free(buf);

        a.refuse = 1;
        assert_int_equal(pthread_create(&th, NULL, fake_ask_run, &a), 0);
        assert_int_equal(deliver_ask(a.f->dealer, &p, "school", "2111020001", "2025", 10000, NULL,
                                     &t, &buf, message, sizeof(message)),
                         2);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_string_equal(message, "not authorized for unit 2111020001");
        assert_null(buf);
        assert_null(t.blockers);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_answered_by_another_process, setup, teardown),
            cmocka_unit_test_setup_teardown(test_resend_after_backoff, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ack_with_stale, setup, teardown),
            cmocka_unit_test_setup_teardown(test_v1_batch_sent_as_v2, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refused_batch_is_final, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ack_with_warnings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dry_run_takes_checked, setup, teardown),
            cmocka_unit_test_setup_teardown(test_explain_acked, setup, teardown),
            cmocka_unit_test_setup_teardown(test_explain_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_explain_unanswered, setup, teardown),
            cmocka_unit_test_setup_teardown(test_review_return_acked, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ask, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
