/*
 * Unit tests of lib/wire.c over real ZeroMQ sockets on 127.0.0.1, on an
 * ephemeral port: request/reply through DEALER -> ROUTER, extra frames
 * dropped, frames over ZMQ_MAXMSGSIZE never delivered, replies to unknown
 * peers dropped instead of failing; CURVE with the ZAP handler (lib/zap.c):
 * a registered key gets through under its name, an unknown key and a
 * plain-text client get nothing through.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zap.h"
#include "wire.h"

struct link {
        void *ctx;
        void *router;
        void *dealer;
};

/* A ROUTER on 127.0.0.1:* and a DEALER connected to it. */
static void
link_open(struct link *l, int64_t router_max, int64_t dealer_max)
{
        char endpoint[256];
        size_t len = sizeof(endpoint);

        l->ctx = zmq_ctx_new();
        assert_non_null(l->ctx);
        l->router = wire_router_bind(l->ctx, "tcp://127.0.0.1:*", router_max);
        assert_non_null(l->router);
        assert_int_equal(zmq_getsockopt(l->router, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
        assert_true(strncmp(endpoint, "tcp://127.0.0.1:", 16) == 0);
        l->dealer = wire_dealer_connect(l->ctx, endpoint, dealer_max);
        assert_non_null(l->dealer);
}

static void
link_close(struct link *l)
{
        wire_close(&l->dealer);
        wire_close(&l->router);
        assert_null(l->router);
        assert_int_equal(zmq_ctx_term(l->ctx), 0);
}

/* 1 when sock has a message within ms milliseconds. */
static int
readable(void *sock, long ms)
{
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};

        return zmq_poll(&it, 1, ms) == 1;
}

/* Receive one request on the ROUTER within 5 s and check its payload. */
static void
expect_request(struct link *l, struct wire_peer *peer, const char *want)
{
        zmq_msg_t msg;

        assert_true(readable(l->router, 5000));
        zmq_msg_init(&msg);
        assert_int_equal(wire_router_recv(l->router, peer, &msg, ZMQ_DONTWAIT), 0);
        assert_int_equal(zmq_msg_size(&msg), strlen(want));
        assert_memory_equal(zmq_msg_data(&msg), want, strlen(want));
        zmq_msg_close(&msg);
}

static void
test_roundtrip(void **state)
{
        struct link l;
        struct wire_peer peer;
        zmq_msg_t msg;

        (void)state;
        link_open(&l, 1024, 1024);
        assert_int_equal(wire_send(l.dealer, "submit-1", 8, 0), 0);
        memset(&peer, 0, sizeof(peer));
        expect_request(&l, &peer, "submit-1");
        /* libzmq gives an anonymous peer a 5-byte routing id. */
        assert_int_equal(peer.len, 5);

        assert_int_equal(wire_router_send(l.router, &peer, "ack-1", 5), 0);
        assert_true(readable(l.dealer, 5000));
        zmq_msg_init(&msg);
        assert_int_equal(wire_recv(l.dealer, &msg, ZMQ_DONTWAIT), 0);
        assert_int_equal(zmq_msg_size(&msg), 5);
        assert_memory_equal(zmq_msg_data(&msg), "ack-1", 5);
        zmq_msg_close(&msg);

        /* Nothing more is waiting, on either side. */
        zmq_msg_init(&msg);
        assert_int_equal(wire_recv(l.dealer, &msg, ZMQ_DONTWAIT), -1);
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(wire_router_recv(l.router, &peer, &msg, ZMQ_DONTWAIT), -1);
        assert_int_equal(errno, EAGAIN);
        zmq_msg_close(&msg);
        link_close(&l);
}

static void
test_extra_frames_dropped(void **state)
{
        struct link l;
        struct wire_peer peer;

        (void)state;
        link_open(&l, 1024, 1024);
        assert_int_equal(wire_send(l.dealer, "first", 5, ZMQ_SNDMORE), 0);
        assert_int_equal(wire_send(l.dealer, "extra", 5, ZMQ_SNDMORE), 0);
        assert_int_equal(wire_send(l.dealer, "extra2", 6, 0), 0);
        assert_int_equal(wire_send(l.dealer, "second", 6, 0), 0);
        expect_request(&l, &peer, "first");
        /* The extra frames went with the first message, not into the next. */
        expect_request(&l, &peer, "second");
        link_close(&l);
}

static void
test_over_maxmsg_not_delivered(void **state)
{
        struct link l;
        struct wire_peer peer;
        char *big = calloc(1, 4096);

        (void)state;
        link_open(&l, 1024, 1024);
        /* Connect first, so the small probe below is not what is refused. */
        assert_int_equal(wire_send(l.dealer, "hello", 5, 0), 0);
        expect_request(&l, &peer, "hello");

        assert_int_equal(wire_send(l.dealer, big, 1025, 0), 0);
        /* libzmq drops the connection on the header; nothing is delivered. */
        assert_false(readable(l.router, 1000));

        /* The DEALER reconnects and the link carries small messages again. */
        assert_int_equal(wire_send(l.dealer, "after", 5, 0), 0);
        expect_request(&l, &peer, "after");

        /* Exactly maxmsg bytes is still allowed. */
        assert_int_equal(wire_send(l.dealer, big, 1024, 0), 0);
        assert_true(readable(l.router, 5000));
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_int_equal(wire_router_recv(l.router, &peer, &msg, ZMQ_DONTWAIT), 0);
        assert_int_equal(zmq_msg_size(&msg), 1024);
        zmq_msg_close(&msg);

        /* A reply over the DEALER's cap is not delivered either. */
        assert_int_equal(wire_router_send(l.router, &peer, big, 1025), 0);
        assert_false(readable(l.dealer, 1000));
        free(big);
        link_close(&l);
}

static void
test_reply_to_departed_peer(void **state)
{
        struct link l;
        struct wire_peer ghost = {.id = {0, 1, 2, 3, 4}, .len = 5};

        (void)state;
        link_open(&l, 1024, 1024);
        /* ROUTER_MANDATORY is off: the reply is dropped, not an error. */
        assert_int_equal(wire_router_send(l.router, &ghost, "ack", 3), 0);
        link_close(&l);
}

static void
test_bad_endpoints(void **state)
{
        void *ctx = zmq_ctx_new();
        void *s, *first;
        char endpoint[256];
        size_t len = sizeof(endpoint);

        (void)state;
        assert_null(wire_router_bind(ctx, "nonsense://x", 1024));
        assert_null(wire_dealer_connect(ctx, "nonsense://x", 1024));
        /* A port already bound: the second bind fails and leaks no socket. */
        first = wire_router_bind(ctx, "tcp://127.0.0.1:*", 1024);
        assert_non_null(first);
        assert_int_equal(zmq_getsockopt(first, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
        assert_null(wire_router_bind(ctx, endpoint, 1024));
        wire_close(&first);
        assert_null(first);
        s = NULL;
        wire_close(&s);
        wire_close(NULL);
        assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* The one key the test's ZAP handler admits, as "school-7". */
static char admitted_public[41];

static int
admit_one(void *arg, const uint8_t key[32], char *user, size_t len)
{
        uint8_t want[32];

        (void)arg;
        zmq_z85_decode(want, admitted_public);
        if (memcmp(key, want, 32) != 0)
                return 0;
        snprintf(user, len, "school-7");
        return 1;
}

/* A CURVE client with its own fresh key pair (or plain text when plain). */
static void *
client(void *ctx, const char *endpoint, const char *server_public, int plain, char *public_out)
{
        struct wire_curve c = {0};

        assert_int_equal(zmq_curve_keypair(c.public_key, c.secret_key), 0);
        memcpy(c.server_key, server_public, 41);
        if (public_out)
                memcpy(public_out, c.public_key, 41);
        return wire_dealer_connect_curve(ctx, endpoint, 1024, plain ? NULL : &c);
}

static void
test_curve_and_zap(void **state)
{
        void *ctx = zmq_ctx_new(), *router, *good, *bad, *plain;
        struct wire_curve srv = {0};
        char endpoint[256];
        size_t len = sizeof(endpoint);
        struct zap *zap;
        struct wire_peer peer;
        zmq_msg_t msg;

        (void)state;
        assert_int_equal(zmq_curve_keypair(srv.public_key, srv.secret_key), 0);
        assert_non_null(zap = zap_start(ctx, "test", admit_one, NULL));
        router = wire_router_bind_curve(ctx, "tcp://127.0.0.1:*", 1024, &srv);
        assert_non_null(router);
        assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);

        bad = client(ctx, endpoint, srv.public_key, 0, NULL);
        plain = client(ctx, endpoint, srv.public_key, 1, NULL);
        good = client(ctx, endpoint, srv.public_key, 0, admitted_public);
        assert_int_equal(wire_send(bad, "bad", 3, 0), 0);
        assert_int_equal(wire_send(plain, "plain", 5, 0), 0);
        assert_int_equal(wire_send(good, "good", 4, 0), 0);

        /* Only the registered key's message arrives, with its name as User-Id. */
        assert_true(readable(router, 5000));
        zmq_msg_init(&msg);
        assert_int_equal(wire_router_recv(router, &peer, &msg, ZMQ_DONTWAIT), 0);
        assert_int_equal(zmq_msg_size(&msg), 4);
        assert_memory_equal(zmq_msg_data(&msg), "good", 4);
        assert_string_equal(zmq_msg_gets(&msg, "User-Id"), "school-7");
        zmq_msg_close(&msg);
        assert_false(readable(router, 1000));
        assert_true(zap_refused(zap) >= 1);

        wire_close(&good);
        wire_close(&bad);
        wire_close(&plain);
        wire_close(&router);
        zap_stop(&zap);
        assert_null(zap);
        assert_int_equal(zmq_ctx_term(ctx), 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip),
            cmocka_unit_test(test_extra_frames_dropped),
            cmocka_unit_test(test_over_maxmsg_not_delivered),
            cmocka_unit_test(test_reply_to_departed_peer),
            cmocka_unit_test(test_bad_endpoints),
            cmocka_unit_test(test_curve_and_zap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
