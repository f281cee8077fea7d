/*
 * Unit tests for lib/orgtree.  The 4-level fixture (data/tree4.csv) and its
 * expected ancestors, leaf order and leaf slices are worked out by hand in
 * the comment above test_tree4; every load error is checked with its exact
 * "FILE:LINE: problem"; large trees check that loading stays iterative and
 * fast.
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

#include "orgtree.h"
#include "testutil.h"
#include "util.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static void
check_ints(const int *got, size_t n, const int *want, size_t wn)
{
        assert_int_equal(n, wn);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(got[i], want[i]);
}

/*
 * data/tree4.csv, by line (header shuffled, an extra column, BOM, CRLF, a
 * blank line 9, S6 on line 14 naming T3 defined on line 15):
 *
 *   idx code parent line   depth leaf  ancestors      leaf slice
 *    0  C    -       2     0     no    0              [0,7)
 *    1  D1   C       3     1     no    1 0            [0,3)
 *    2  D2   C       4     1     no    2 0            [3,6)
 *    3  T1   D1      5     2     no    3 1 0          [0,2)
 *    4  S1   T1      6     3     yes   4 3 1 0        [0,1)
 *    5  S2   T1      7     3     yes   5 3 1 0        [1,2)
 *    6  S3   D1      8     2     yes   6 1 0          [2,3)
 *    7  T2   D2      10    2     no    7 2 0          [3,4)
 *    8  S4   T2      11    3     yes   8 7 2 0        [3,4)
 *    9  D3   C       12    1     yes   9 0            [6,7)
 *   10  S5   D2      13    2     yes   10 2 0         [4,5)
 *   11  S6   T3      14    3     yes   11 12 2 0      [5,6)
 *   12  T3   D2      15    2     no    12 2 0         [5,6)
 *
 * Depth-first order with children in file order:
 *   C, D1, T1, S1, S2, S3, D2, T2, S4, S5, T3, S6, D3
 * so the leaves are S1 S2 S3 S4 S5 S6 D3 = 4 5 6 8 10 11 9.
 */
static void
test_tree4(void **state)
{
        static const struct {
                const char *code;
                int parent;
                unsigned depth;
                int leaf;
                unsigned long line;
                int anc[4];
                size_t nanc;
                size_t lo, hi;
        } want[] = {
            {"C", -1, 0, 0, 2, {0}, 1, 0, 7},
            {"D1", 0, 1, 0, 3, {1, 0}, 2, 0, 3},
            {"D2", 0, 1, 0, 4, {2, 0}, 2, 3, 6},
            {"T1", 1, 2, 0, 5, {3, 1, 0}, 3, 0, 2},
            {"S1", 3, 3, 1, 6, {4, 3, 1, 0}, 4, 0, 1},
            {"S2", 3, 3, 1, 7, {5, 3, 1, 0}, 4, 1, 2},
            {"S3", 1, 2, 1, 8, {6, 1, 0}, 3, 2, 3},
            {"T2", 2, 2, 0, 10, {7, 2, 0}, 3, 3, 4},
            {"S4", 7, 3, 1, 11, {8, 7, 2, 0}, 4, 3, 4},
            {"D3", 0, 1, 1, 12, {9, 0}, 2, 6, 7},
            {"S5", 2, 2, 1, 13, {10, 2, 0}, 3, 4, 5},
            {"S6", 12, 3, 1, 14, {11, 12, 2, 0}, 4, 5, 6},
            {"T3", 2, 2, 0, 15, {12, 2, 0}, 3, 5, 6},
        };
        static const int leaves[] = {4, 5, 6, 8, 10, 11, 9};
        char err[512];
        struct orgtree *t =
            orgtree_load(SOURCE_ROOT "/tests/unit/data/tree4.csv", err, sizeof(err));
        size_t n;
        const int *p;

        (void)state;
        if (t == NULL)
                print_error("%s\n", err);
        assert_non_null(t);
        assert_int_equal(t->n, 13);
        assert_int_equal(t->root, 0);
        assert_int_equal(t->nleaves, 7);
        for (int i = 0; i < 13; i++) {
                assert_string_equal(t->u[i].code, want[i].code);
                assert_int_equal(t->u[i].parent, want[i].parent);
                assert_int_equal(t->u[i].depth, want[i].depth);
                assert_int_equal(t->u[i].is_leaf, want[i].leaf);
                assert_int_equal(t->u[i].line, want[i].line);
                assert_int_equal(orgtree_find(t, want[i].code, strlen(want[i].code)), i);
                p = orgtree_ancestors(t, i, &n);
                check_ints(p, n, want[i].anc, want[i].nanc);
                p = orgtree_leaves(t, i, &n);
                check_ints(p, n, leaves + want[i].lo, want[i].hi - want[i].lo);
        }
        p = orgtree_leaves(t, 0, &n);
        check_ints(p, n, leaves, 7);

        /* Strings as written, trimmed, quotes undone; empty optional fields are "". */
        assert_string_equal(t->u[0].name, "City");
        assert_string_equal(t->u[0].parent_code, "");
        assert_string_equal(t->u[0].level, "city");
        assert_string_equal(t->u[0].stage, "");
        assert_string_equal(t->u[1].name, "District 1, north");
        assert_string_equal(t->u[4].name, "School \"One\"");
        assert_string_equal(t->u[4].stage, "primary");
        assert_string_equal(t->u[4].locality, "urban");
        assert_string_equal(t->u[4].ownership, "public");
        assert_string_equal(t->u[5].ownership, "private");
        assert_string_equal(t->u[8].stage, "kindergarten");
        assert_string_equal(t->u[11].parent_code, "T3");

        assert_int_equal(orgtree_find(t, "S7", 2), -1);
        assert_int_equal(orgtree_find(t, "S1x", 2), 4);
        assert_int_equal(orgtree_find(t, "", 0), -1);

        assert_int_equal(orgtree_contains(t, 0, 11), 1);  /* C contains S6 */
        assert_int_equal(orgtree_contains(t, 2, 11), 1);  /* D2 contains S6 */
        assert_int_equal(orgtree_contains(t, 12, 11), 1); /* T3 contains S6 */
        assert_int_equal(orgtree_contains(t, 11, 11), 1); /* itself */
        assert_int_equal(orgtree_contains(t, 1, 11), 0);  /* D1 does not */
        assert_int_equal(orgtree_contains(t, 11, 2), 0);  /* not upwards */
        assert_int_equal(orgtree_contains(t, 3, 6), 0);   /* T1 and S3 are siblings' kin */
        assert_int_equal(orgtree_contains(t, 1, 6), 1);
        assert_int_equal(orgtree_contains(t, 7, 8), 1);
        assert_int_equal(orgtree_contains(t, 12, 8), 0); /* same depth, other branch */
        assert_int_equal(orgtree_contains(t, 9, 9), 1);
        assert_int_equal(orgtree_contains(t, -1, 9), 0);
        assert_int_equal(orgtree_contains(t, 0, 13), 0);
        orgtree_destroy(&t);
        assert_null(t);
        orgtree_destroy(&t);
        orgtree_destroy(NULL);
}

/* A single unit is the root and the only leaf. */
static void
test_single(void **state)
{
        static const char in[] = "code,parent,level,name\nR,,city,Only\n";
        char path[256], err[512];
        struct orgtree *t;
        size_t n;
        const int *p;

        (void)state;
        testutil_write(testutil_dir(), "single.csv", in, sizeof(in) - 1, path, sizeof(path));
        t = orgtree_load(path, err, sizeof(err));
        assert_non_null(t);
        assert_int_equal(t->n, 1);
        assert_int_equal(t->root, 0);
        assert_int_equal(t->u[0].is_leaf, 1);
        assert_string_equal(t->u[0].stage, "");
        p = orgtree_ancestors(t, 0, &n);
        assert_int_equal(n, 1);
        assert_int_equal(p[0], 0);
        p = orgtree_leaves(t, 0, &n);
        assert_int_equal(n, 1);
        assert_int_equal(p[0], 0);
        orgtree_destroy(&t);
        unlink(path);
}

#define HDR "code,parent,level,name,stage,locality,ownership\n"

static const struct {
        const char *name;
        const char *in;
        const char *err; /* after "PATH:" */
} errors[] = {
    {"empty file", "",
     "1: empty file: expected the header code,parent,level,name,stage,locality,ownership"},
    {"header only", HDR, "1: no units"},
    {"missing parent column", "code,level,name\nC,city,X\n", "1: missing column \"parent\""},
    {"missing name column", "code,parent,level\nC,,city\n", "1: missing column \"name\""},
    {"missing column after blank lines", "\n\ncode,parent,name\n", "3: missing column \"level\""},
    {"duplicate column", "code,parent,level,name,Code\n", "1: duplicate column \"code\""},
    {"duplicate code", HDR "C,,city,C,,,\nD1,C,district,D,,,\nD1,C,district,E,,,\n",
     "4: duplicate code \"D1\" (first defined on line 3)"},
    {"duplicate of the root", HDR "C,,city,C,,,\nC,C,district,D,,,\n",
     "3: duplicate code \"C\" (first defined on line 2)"},
    {"unknown parent", HDR "C,,city,C,,,\nD1,C,district,D,,,\nS1,NOPE,school,S,,,\n",
     "4: unit \"S1\" has unknown parent \"NOPE\""},
    {"unknown parent named before the root", HDR "S1,D9,school,S,,,\nC,,city,C,,,\n",
     "2: unit \"S1\" has unknown parent \"D9\""},
    {"two-unit cycle", HDR "C,,city,C,,,\nA,B,district,A,,,\nB,A,district,B,,,\n",
     "3: unit \"A\" is in a cycle: A -> B -> A"},
    {"self cycle", HDR "C,,city,C,,,\nA,A,district,A,,,\n", "3: unit \"A\" is in a cycle: A -> A"},
    {"unit hanging below a cycle",
     HDR "C,,city,C,,,\nZ,X,school,Z,,,\nX,Y,town,X,,,\nY,X,town,Y,,,\n",
     "4: unit \"X\" is in a cycle: X -> Y -> X"},
    {"cycle named from its earliest member",
     HDR "C,,city,C,,,\nZ,Q,school,Z,,,\nP,Q,town,P,,,\nQ,P,town,Q,,,\n",
     "4: unit \"P\" is in a cycle: P -> Q -> P"},
    {"three-unit cycle", HDR "A,C,x,A,,,\nB,A,x,B,,,\nC,B,x,C,,,\nR,,city,R,,,\n",
     "2: unit \"A\" is in a cycle: A -> C -> B -> A"},
    {"long cycle cut short",
     HDR "R,,city,R,,,\nU01,U02,x,,,,\nU02,U03,x,,,,\nU03,U04,x,,,,\nU04,U05,x,,,,\n"
         "U05,U06,x,,,,\nU06,U07,x,,,,\nU07,U08,x,,,,\nU08,U09,x,,,,\nU09,U10,x,,,,\n"
         "U10,U11,x,,,,\nU11,U12,x,,,,\nU12,U13,x,,,,\nU13,U14,x,,,,\nU14,U01,x,,,,\n",
     "3: unit \"U01\" is in a cycle: U01 -> U02 -> U03 -> U04 -> U05 -> U06 -> U07 -> U08 -> "
     "U09 -> U10 -> U11 -> U12 -> ..."},
    {"no root", HDR "C,X,city,C,,,\nX,C,district,X,,,\n", "1: no root: every unit has a parent"},
    {"second root", HDR "C,,city,C,,,\nD1,C,district,D,,,\nS1,D1,school,S,,,\nR,,city,R,,,\n",
     "5: unit \"R\" is a second root (\"C\" on line 2 has an empty parent too)"},
    {"blank parent is empty", HDR "C,  ,city,C,,,\nR,\" \",city,R,,,\n",
     "3: unit \"R\" is a second root (\"C\" on line 2 has an empty parent too)"},
    {"empty code", HDR "C,,city,C,,,\n ,C,district,D,,,\n", "3: empty code"},
    {"bad code", HDR "C,,city,C,,,\nD 1,C,district,D,,,\n",
     "3: bad code \"D 1\": codes are 1..64 characters of A-Z a-z 0-9 _ . -"},
    {"non-ascii code", HDR "\xe7\x9b\x98,,city,C,,,\n",
     "2: bad code \"\xe7\x9b\x98\": codes are 1..64 characters of A-Z a-z 0-9 _ . -"},
    {"code of 65 bytes",
     HDR "C,,city,C,,,\n"
         "A1234567890123456789012345678901234567890123456789012345678901234,C,x,,,,\n",
     "3: bad code \"A123456789012345678901234567890123456789012345678901234567890123\": codes "
     "are 1..64 characters of A-Z a-z 0-9 _ . -"},
    {"too few fields", HDR "C,,city,C,,,\nD1,C,district\n",
     "3: row has 3 fields, the header has 7"},
    {"too many fields", HDR "C,,city,C,,,,\n", "2: row has 8 fields, the header has 7"},
    {"invalid utf-8", HDR "C,,city,\xff,,,\n",
     " not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)"},
    {"unterminated quote", HDR "C,,city,C,,,\nD1,C,district,\"D\n\n",
     "3: unterminated quoted field"},
};

static void
test_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                char path[256], err[1024], want[1024];
                struct orgtree *t;

                testutil_write(testutil_dir(), "err.csv", errors[i].in, strlen(errors[i].in), path,
                               sizeof(path));
                strcpy(err, "untouched");
                t = orgtree_load(path, err, sizeof(err));
                snprintf(want, sizeof(want), "%s:%s", path, errors[i].err);
                if (t != NULL || strcmp(err, want) != 0)
                        print_error("case \"%s\": got \"%s\"\n", errors[i].name, err);
                assert_null(t);
                assert_string_equal(err, want);
                unlink(path);
        }
}

static void
test_open_error(void **state)
{
        char err[256];

        (void)state;
        assert_null(orgtree_load("/nonexistent/orgunits.csv", err, sizeof(err)));
        assert_string_equal(err, "/nonexistent/orgunits.csv: No such file or directory");
}

/*
 * A million units: a city, 1000 districts, 999 schools each, with every
 * school listed before its district so parents resolve forward.  Unit
 * indices: schools of district d (0-based) are d*1000 .. d*1000+998, the
 * district itself d*1000+999, and the city last, 1000000.
 */
static void
test_million(void **state)
{
        size_t cap = 40 * 1000000, len = 0;
        char *in = xmalloc(cap), path[256], err[512];
        struct orgtree *t;
        int64_t t0, ms;
        size_t n;
        const int *p;

        (void)state;
        len += (size_t)snprintf(in + len, cap - len,
                                "code,parent,level,name,stage,locality,ownership\n");
        for (int d = 0; d < 1000; d++) {
                for (int s = 0; s < 999; s++)
                        len += (size_t)snprintf(in + len, cap - len, "S%d_%d,D%d,school,,,,\n", d,
                                                s, d);
                len += (size_t)snprintf(in + len, cap - len, "D%d,CITY,district,,,,\n", d);
        }
        len += (size_t)snprintf(in + len, cap - len, "CITY,,city,,,,\n");
        testutil_write(testutil_dir(), "million.csv", in, len, path, sizeof(path));
        free(in);

        t0 = now_ms();
        t = orgtree_load(path, err, sizeof(err));
        ms = now_ms() - t0;
        unlink(path);
        print_message("loaded 1000001 units in %lld ms\n", (long long)ms);
        if (t == NULL)
                print_error("%s\n", err);
        assert_non_null(t);
        /* Generous: well under a second unoptimised, several under sanitizers. */
        assert_true(ms < 15000);
        assert_int_equal(t->n, 1000001);
        assert_int_equal(t->root, 1000000);
        assert_int_equal(t->nleaves, 999000);
        assert_int_equal(orgtree_find(t, "D999", 4), 999999);
        assert_int_equal(orgtree_find(t, "S999_998", 8), 999998);
        p = orgtree_ancestors(t, 999998, &n);
        assert_int_equal(n, 3);
        assert_int_equal(p[0], 999998);
        assert_int_equal(p[1], 999999);
        assert_int_equal(p[2], 1000000);
        assert_int_equal(t->u[999998].depth, 2);
        assert_int_equal(t->u[999998].line, 1000000);
        /* District 500's leaves are its 999 schools, in file order. */
        p = orgtree_leaves(t, 500999, &n);
        assert_int_equal(n, 999);
        for (int s = 0; s < 999; s++)
                assert_int_equal(p[s], 500000 + s);
        p = orgtree_leaves(t, 1000000, &n);
        assert_int_equal(n, 999000);
        assert_int_equal(p[0], 0);
        assert_int_equal(p[998999], 999998);
        assert_int_equal(orgtree_contains(t, 500999, 500998), 1);
        assert_int_equal(orgtree_contains(t, 500999, 501000), 0);
        orgtree_destroy(&t);
}

/* Write a chain U0 <- U1 <- ... <- U(n-1) (U0 the root) and load it. */
static struct orgtree *
load_chain(int n, char *err, size_t errlen)
{
        size_t cap = (size_t)n * 32 + 64, len = 0;
        char *in = xmalloc(cap), path[256];
        struct orgtree *t;

        len += (size_t)snprintf(in + len, cap - len, "code,parent,level,name\nU0,,root,\n");
        for (int i = 1; i < n; i++)
                len += (size_t)snprintf(in + len, cap - len, "U%d,U%d,x,\n", i, i - 1);
        testutil_write(testutil_dir(), "chain.csv", in, len, path, sizeof(path));
        free(in);
        t = orgtree_load(path, err, errlen);
        unlink(path);
        return t;
}

static void
test_deep(void **state)
{
        char err[512], want[512];
        struct orgtree *t;
        size_t n;
        const int *p;

        (void)state;
        /* 3000 levels: no recursion, every list right. */
        t = load_chain(3000, err, sizeof(err));
        assert_non_null(t);
        assert_int_equal(t->u[2999].depth, 2999);
        p = orgtree_ancestors(t, 2999, &n);
        assert_int_equal(n, 3000);
        for (int i = 0; i < 3000; i++)
                assert_int_equal(p[i], 2999 - i);
        p = orgtree_leaves(t, 0, &n);
        assert_int_equal(n, 1);
        assert_int_equal(p[0], 2999);
        assert_int_equal(t->nleaves, 1);
        assert_int_equal(orgtree_contains(t, 0, 2999), 1);
        assert_int_equal(orgtree_contains(t, 2999, 0), 0);
        orgtree_destroy(&t);

        /*
         * 100000 levels would need 5e9 ancestor entries.  The running total
         * (i+1)(i+2)/2 first passes 2^26 at i = 11584 (11585 * 11586 / 2 =
         * 67111905), which is U11584 on line 11586.
         */
        t = load_chain(100000, err, sizeof(err));
        assert_null(t);
        snprintf(want, sizeof(want),
                 "%s/chain.csv:11586: unit \"U11584\" is 11584 levels deep: the tree is too deep "
                 "(its ancestor lists would exceed 67108864 entries)",
                 testutil_dir());
        assert_string_equal(err, want);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tree4),   cmocka_unit_test(test_single),
            cmocka_unit_test(test_errors),  cmocka_unit_test(test_open_error),
            cmocka_unit_test(test_million), cmocka_unit_test(test_deep),
        };

        return cmocka_run_group_tests(tests, testutil_dir_setup, testutil_dir_teardown);
}
