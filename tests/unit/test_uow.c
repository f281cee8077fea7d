/*
 * Unit tests for aggregator/uow.c: what a batch puts into a uow always
 * decodes at the sink, whatever bytes a client sent (invalid UTF-8 grows
 * threefold when it is made text, and must still fit the sink's caps),
 * and a batch keeps the raw rows of its first UOW_REJECTS_IN_FULL
 * rejections only.  Config: tests/unit/data/state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "proto.h"
#include "review.h"
#include "state.h"
#include "testutil.h"
#include "uow.h"

/* Take sub into a new uow, encode it and decode it as the sink does. */
static void
take_and_decode(const struct proto_submit *sub, struct proto_uow *out)
{
        struct wire_peer peer;
        struct uow *u = uow_new(1);
        char err[256];

        memset(&peer, 0, sizeof(peer));
        uow_batch_take(u, testutil_st, testutil_cfg, NULL, NULL, NULL, sub->collector, sub, &peer,
                       1, 0, 300);
        uow_encode(u, testutil_st, testutil_cfg, NULL, "agg", 1);
        if (proto_uow_decode(u->wire.data, u->wire.size, out, err, sizeof(err)) < 0)
                fail_msg("the sink would drop this uow: %s", err);
        uow_destroy(&u);
}

static void
test_invalid_utf8_at_the_caps(void **ts)
{
        static char source[PROTO_MAX_TEXT], raw[PROTO_MAX_TEXT], unit[PROTO_MAX_FIELD];
        static char name[PROTO_MAX_ID];
        struct proto_record r[2];
        struct proto_submit sub;
        struct proto_uow u;

        (void)ts;
        memset(source, 0xff, sizeof(source));
        memset(raw, 0xfe, sizeof(raw));
        memset(unit, 0xc3, sizeof(unit));
        memset(name, 0x80, sizeof(name));
        memset(r, 0, sizeof(r));
        r[0].line = 2;
        r[0].raw = (struct pstr){raw, sizeof(raw)};
        r[0].reason = pstr_of("row has 5 fields, the header has 4");
        r[1].line = 3;
        r[1].unit = (struct pstr){unit, sizeof(unit)};
        r[1].period = pstr_of("2024");
        r[1].indicator = pstr_of("pupils");
        r[1].value = pstr_of("1");
        sub.collector = (struct pstr){name, sizeof(name)};
        sub.batch_id = pstr_of("b1");
        sub.source = (struct pstr){source, sizeof(source)};
        sub.nrec = 2;
        sub.rec = r;
        take_and_decode(&sub, &u);
        assert_int_equal(u.nbatches, 1);
        assert_int_equal(u.nrejects, 2);
        assert_true(u.batches[0].source.len <= PROTO_MAX_TEXT);
        assert_true(u.batches[0].collector.len <= PROTO_MAX_ID);
        assert_true(u.rejects[0].raw.len <= PROTO_MAX_TEXT);
        assert_true(u.rejects[1].unit.len <= PROTO_MAX_FIELD);
        /* Cut at a character: whole U+FFFD, never a part of one. */
        assert_int_equal(u.batches[0].source.len % 3, 0);
        proto_uow_free(&u);
}

static void
test_raw_kept_for_the_first_rejections(void **ts)
{
        enum { N = UOW_REJECTS_IN_FULL + 5 };
        static struct proto_record r[N];
        struct proto_submit sub;
        struct proto_uow u;

        (void)ts;
        for (uint32_t i = 0; i < N; i++) {
                memset(&r[i], 0, sizeof(r[i]));
                r[i].line = i + 2;
                r[i].raw = pstr_of("a,b,c,d,e");
                r[i].reason = pstr_of("row has 5 fields, the header has 4");
        }
        sub.collector = pstr_of("c");
        sub.batch_id = pstr_of("b2");
        sub.source = pstr_of("f.csv");
        sub.nrec = N;
        sub.rec = r;
        take_and_decode(&sub, &u);
        assert_int_equal(u.nrejects, N);
        assert_non_null(u.rejects[UOW_REJECTS_IN_FULL - 1].raw.p);
        assert_null(u.rejects[UOW_REJECTS_IN_FULL].raw.p);
        assert_int_equal(u.rejects[N - 1].reason.len, 34);
        assert_memory_equal(u.rejects[N - 1].reason.p, "row has 5 fields, the header has 4", 34);
        proto_uow_free(&u);
}

/* An ack lists UOW_STALE_IN_ACK stale records of a batch and counts the rest. */
static void
test_stale_capped(void **ts)
{
        struct wire_peer peer = {.len = 0};
        struct uow *u = uow_new(1);
        uint32_t bi;
        size_t bytes;

        (void)ts;
        bi = uow_batch_add(u, &peer, pstr_of("b3"), pstr_of("c"), pstr_of("f.csv"), 1);
        for (uint32_t i = 0; i < UOW_STALE_IN_ACK; i++)
                uow_stale_add(u, bi, i + 2, "12", "other", 7);
        bytes = u->bytes;
        for (uint32_t i = 0; i < 250; i++)
                uow_stale_add(u, bi, UOW_STALE_IN_ACK + 2 + i, "12", "other", 7);
        assert_int_equal(u->batches[bi].nstale, UOW_STALE_IN_ACK);
        assert_int_equal(u->batches[bi].nstale_more, 250);
        /* The ones counted cost the uow nothing. */
        assert_int_equal(u->bytes, bytes);
        uow_destroy(&u);
}

/*
 * A unit and period that is submitted or approved refuses its value
 * records, per record, with the lock's words; other units and periods of
 * the batch are stored; the actions carry their time.
 */
static void
test_review_lock(void **ts)
{
        struct proto_review_row row = {pstr_of("S1"),     pstr_of("2024"), pstr_of("approved"),
                                       pstr_of("county"), pstr_of(NULL),   1733300000000000ULL};
        struct proto_record r[3];
        struct proto_submit sub;
        struct proto_action act = {.kind = pstr_of("approve"),
                                   .unit = pstr_of("S1"),
                                   .period = pstr_of("2024"),
                                   .at = 1733300000000000ULL};
        struct proto_uow d;
        struct wire_peer peer;
        struct review *rv = review_new(testutil_cfg, NULL, NULL);
        struct uow *u = uow_new(1);
        char err[256];
        uint32_t bi;

        (void)ts;
        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(review_load(rv, testutil_st, &row, err, sizeof(err)), 0);
        memset(r, 0, sizeof(r));
        memset(&peer, 0, sizeof(peer));
        for (int i = 0; i < 3; i++) {
                r[i].line = (uint32_t)i + 2;
                r[i].version = 5;
                r[i].indicator = pstr_of("pupils");
                r[i].value = pstr_of("10");
        }
        r[0].unit = pstr_of("S1");
        r[0].period = pstr_of("2024");
        r[1].unit = pstr_of("S2");
        r[1].period = pstr_of("2024");
        r[2].unit = pstr_of("S1");
        r[2].period = pstr_of("2023");
        sub.collector = pstr_of("c");
        sub.batch_id = pstr_of("b-lock");
        sub.source = pstr_of("f.csv");
        sub.nrec = 3;
        sub.rec = r;
        sub.version = 3;
        uow_batch_take(u, testutil_st, testutil_cfg, NULL, rv, NULL, sub.collector, &sub, &peer, 1,
                       0, 300);
        assert_int_equal(u->batches[0].nrej, 1);
        assert_int_equal(u->batches[0].rej[0].line, 2);
        assert_string_equal(u->batches[0].rej[0].reason,
                            "unit S1 period 2024 is approved by county at 2024-12-04 08:13:20 "
                            "+0000; ask county to return it");
        assert_int_equal(u->batches[0].accepted, 2);
        bi = uow_batch_add(u, &peer, pstr_of("b-act"), pstr_of("county"), pstr_of("approve"), 2);
        uow_action_add(u, bi, &act);
        uow_encode(u, testutil_st, testutil_cfg, NULL, "agg", 1);
        if (proto_uow_decode(u->wire.data, u->wire.size, &d, err, sizeof(err)) < 0)
                fail_msg("the sink would drop this uow: %s", err);
        assert_int_equal(d.nrejects, 1);
        assert_int_equal(d.nvalues, 2);
        assert_int_equal(d.nactions, 1);
        assert_true(d.actions[0].at == 1733300000000000ULL);
        proto_uow_free(&d);
        uow_destroy(&u);
        review_destroy(&rv);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_invalid_utf8_at_the_caps),
            cmocka_unit_test(test_raw_kept_for_the_first_rejections),
            cmocka_unit_test(test_stale_capped),
            cmocka_unit_test(test_review_lock),
        };

        return cmocka_run_group_tests(tests, testutil_state_setup, testutil_state_teardown);
}
