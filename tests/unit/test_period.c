/*
 * Unit tests for lib/period: the allowed shapes and the ones that look
 * close but are typos.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "period.h"

static const struct {
        const char *s;
        int ok;
} cases[] = {
    /* years */
    {"2024", 1},
    {"1900", 1},
    {"2199", 1},
    {"1899", 0},
    {"2200", 0},
    {"0000", 0},
    {"9999", 0},
    {"202", 0},
    {"20245", 0},
    /* half years */
    {"2025S1", 1},
    {"2025S2", 1},
    {"2025S0", 0},
    {"2025S3", 0},
    {"2025s1", 0},
    {"1899S1", 0},
    {"2200S2", 0},
    {"2025H1", 0},
    /* quarters */
    {"2025Q1", 1},
    {"2025Q2", 1},
    {"2025Q3", 1},
    {"2025Q4", 1},
    {"2025Q0", 0},
    {"2025Q5", 0},
    {"2025q3", 0},
    {"2199Q4", 1},
    {"2200Q1", 0},
    /* months */
    {"202501", 1},
    {"202509", 1},
    {"202510", 1},
    {"202512", 1},
    {"190001", 1},
    {"219912", 1},
    {"202500", 0},
    {"202513", 0},
    {"202599", 0},
    {"189912", 0},
    {"220001", 0},
    {"2025-01", 0},
    {"2025M1", 0},
    {"2025 1", 0},
    /* anything else */
    {"", 0},
    {"2025 ", 0},
    {" 2025", 0},
    {"202501 ", 0},
    {"abcd", 0},
    {"20a5", 0},
    {"2025Q", 0},
    {"2025S12", 0},
    {"2025Q1x", 0},
    {"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x95", 0}, /* fullwidth 2025 */
};

static void
test_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (period_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
                        print_error("case \"%s\"\n", cases[i].s);
                assert_int_equal(period_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok);
        }
}

/* Only len bytes count. */
static void
test_len(void **state)
{
        (void)state;
        assert_int_equal(period_valid("2024XX", 4), 1);
        assert_int_equal(period_valid("2025Q3trailing", 6), 1);
        assert_int_equal(period_valid("2025Q3", 5), 0);
        assert_int_equal(period_valid("2025\0"
                                      "1",
                                      6),
                         0);
}

/* The months each kind of period covers, counted from January of year 0. */
static void
test_months(void)
{
        static const struct {
                const char *s;
                int first, last;
        } months[] = {
            {"2024", 2024 * 12, 2024 * 12 + 11},       {"2025S1", 2025 * 12, 2025 * 12 + 5},
            {"2025S2", 2025 * 12 + 6, 2025 * 12 + 11}, {"2025Q1", 2025 * 12, 2025 * 12 + 2},
            {"2025Q3", 2025 * 12 + 6, 2025 * 12 + 8},  {"2025Q4", 2025 * 12 + 9, 2025 * 12 + 11},
            {"202501", 2025 * 12, 2025 * 12},          {"202512", 2025 * 12 + 11, 2025 * 12 + 11},
            {"1900", 1900 * 12, 1900 * 12 + 11},       {"219912", 2199 * 12 + 11, 2199 * 12 + 11},
        };

        for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
                int first = -1, last = -1;

                period_months(months[i].s, strlen(months[i].s), &first, &last);
                if (first != months[i].first || last != months[i].last)
                        print_error("%s: %d..%d\n", months[i].s, first, last);
                assert_int_equal(first, months[i].first);
                assert_int_equal(last, months[i].last);
        }
}

static void
test_months_case(void **state)
{
        (void)state;
        test_months();
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_table),
            cmocka_unit_test(test_len),
            cmocka_unit_test(test_months_case),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
