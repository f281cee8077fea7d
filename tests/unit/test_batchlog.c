/*
 * Unit tests for aggregator/batchlog.c: a resend (same key, same digest) is
 * told from a reused id (same key, other digest), the first digest stays,
 * a lookup remembers nothing, and a full set forgets its oldest entry first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batchlog.h"

/* A key in set 0 (the set comes from bits 40 and up), distinct per i. */
static uint64_t
key0(uint64_t i)
{
        return i + 1;
}

static void
test_resend_and_reuse(void **ts)
{
        struct batchlog *l = batchlog_new();

        (void)ts;
        /* batchlog_has only looks. */
        assert_int_equal(batchlog_has(l, 0x1234567890abcdefull, 7), 0);
        assert_int_equal(batchlog_has(l, 0x1234567890abcdefull, 7), 0);
        assert_int_equal(batchlog_check(l, 0x1234567890abcdefull, 7), BATCHLOG_NEW);
        assert_int_equal(batchlog_has(l, 0x1234567890abcdefull, 7), 1);
        assert_int_equal(batchlog_has(l, 0x1234567890abcdefull, 8), 0);
        assert_int_equal(batchlog_check(l, 0x1234567890abcdefull, 7), BATCHLOG_SAME);
        assert_int_equal(batchlog_check(l, 0x1234567890abcdefull, 8), BATCHLOG_OTHER);
        /* The first batch keeps its id: its resend is still a resend. */
        assert_int_equal(batchlog_check(l, 0x1234567890abcdefull, 7), BATCHLOG_SAME);
        assert_int_equal(batchlog_check(l, 0, 1), BATCHLOG_NEW);
        assert_int_equal(batchlog_check(l, 0, 1), BATCHLOG_SAME);
        assert_int_equal(batchlog_has(l, 0, 1), 1);
        batchlog_destroy(&l);
        assert_null(l);
        batchlog_destroy(&l);
}

static void
test_oldest_forgotten(void **ts)
{
        struct batchlog *l = batchlog_new();

        (void)ts;
        for (uint64_t i = 0; i < BATCHLOG_WAYS; i++)
                assert_int_equal(batchlog_check(l, key0(i), i), BATCHLOG_NEW);
        for (uint64_t i = 0; i < BATCHLOG_WAYS; i++)
                assert_int_equal(batchlog_check(l, key0(i), i), BATCHLOG_SAME);
        /* One more in the same set pushes out the first. */
        assert_int_equal(batchlog_check(l, key0(BATCHLOG_WAYS), 99), BATCHLOG_NEW);
        assert_int_equal(batchlog_check(l, key0(0), 1234), BATCHLOG_NEW);
        assert_int_equal(batchlog_check(l, key0(2), 2), BATCHLOG_SAME);
        /* Other sets are untouched. */
        assert_int_equal(batchlog_check(l, (uint64_t)1 << 40, 5), BATCHLOG_NEW);
        assert_int_equal(batchlog_check(l, key0(BATCHLOG_WAYS), 99), BATCHLOG_SAME);
        batchlog_destroy(&l);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_resend_and_reuse),
            cmocka_unit_test(test_oldest_forgotten),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
