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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deliver.h"
#include "outbox.h"
#include "proto.h"
#include "zsock.h"

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
        f->router = zsock_router_bind(f->ctx, "tcp://127.0.0.1:*", 1 << 20);
        assert_non_null(f->router);
        assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
        f->dealer = zsock_dealer_connect(f->ctx, f->endpoint, 1 << 20);
        assert_non_null(f->dealer);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fix *f = *state;
        char p[160];

        zsock_close(&f->dealer);
        zsock_close(&f->router);
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

/* Receive one message at the ROUTER (waiting up to 5 s); returns its text. */
static void
router_take(struct fix *f, struct zsock_peer *peer, char *buf, size_t cap)
{
        zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
        zmq_msg_t m;

        assert_int_equal(zmq_poll(&it, 1, 5000), 1);
        zmq_msg_init(&m);
        assert_int_equal(zsock_router_recv(f->router, peer, &m, ZMQ_DONTWAIT), 0);
        assert_true(zmq_msg_size(&m) < cap);
        memcpy(buf, zmq_msg_data(&m), zmq_msg_size(&m));
        buf[zmq_msg_size(&m)] = '\0';
        zmq_msg_close(&m);
}

static void
router_ack(struct fix *f, const struct zsock_peer *peer, const char *id)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_ack_begin(&pk, (struct pstr){id, (uint32_t)strlen(id)}, 1, 1, 0);
        assert_int_equal(zsock_router_send(f->router, peer, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
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
        struct zsock_peer peer;
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
        assert_int_equal(outbox_ack(f->peer, ID_B, 1, 1, NULL, 0, &fid), 1);
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
        struct zsock_peer peer;
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

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_answered_by_another_process, setup, teardown),
            cmocka_unit_test_setup_teardown(test_resend_after_backoff, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
