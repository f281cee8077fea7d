/*
 * Unit tests for lib/arena: every copy keeps its bytes and its NUL while
 * later copies fill the block, overflow into new blocks or get a block of
 * their own for being longer than the block size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

#define BLOCK 64
#define NCOPY 200

static void
test_copies_stay(void **state)
{
        struct arena *a = arena_new(BLOCK);
        char src[3 * BLOCK];
        char *copy[NCOPY];
        size_t len[NCOPY];

        (void)state;
        for (size_t i = 0; i < sizeof(src); i++)
                src[i] = (char)('a' + i % 26);
        /*
         * Lengths 0 to nearly 3 blocks, so copies fit, just miss and exceed a
         * block; each from one of the first 5 bytes, within src.
         */
        for (size_t i = 0; i < NCOPY; i++) {
                len[i] = (i * 7) % (sizeof(src) - 4);
                copy[i] = arena_copy(a, src + i % 5, len[i]);
        }
        for (size_t i = 0; i < NCOPY; i++) {
                assert_memory_equal(copy[i], src + i % 5, len[i]);
                assert_int_equal(copy[i][len[i]], '\0');
        }
        arena_destroy(&a);
        assert_null(a);
}

static void
test_edges(void **state)
{
        struct arena *a = arena_new(BLOCK);
        char exact[BLOCK];
        char *e, *s, *z;

        (void)state;
        memset(exact, 'x', sizeof(exact) - 1);
        exact[BLOCK - 1] = '\0';
        /* A string that fills a block with its NUL, then one after it. */
        e = arena_str(a, exact);
        s = arena_str(a, "after");
        z = arena_copy(a, NULL, 0);
        assert_string_equal(e, exact);
        assert_string_equal(s, "after");
        assert_string_equal(z, "");
        /* The source need not be terminated: only len bytes are copied. */
        assert_string_equal(arena_copy(a, "abcdef", 3), "abc");
        arena_destroy(&a);
        arena_destroy(&a);
        arena_destroy(NULL);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_copies_stay),
            cmocka_unit_test(test_edges),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
