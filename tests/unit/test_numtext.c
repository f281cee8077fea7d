/*
 * Unit tests for lib/numtext: each case is what a school typed and what the
 * aggregator must receive, or the reason the collector refuses it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"
#include "numtext.h"

/* Normalise in and expect out; also that out is what decimal_parse takes. */
static void
check_ok(const char *in, const char *want)
{
        char buf[256], why[256] = "";
        size_t n = 0;
        const char *p = numtext_normalize(in, strlen(in), buf, &n, why, sizeof(why));

        if (p == NULL)
                fail_msg("\"%s\" refused: %s", in, why);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(p, want, n);
}

static void
check_refused(const char *in, const char *want)
{
        char buf[256], why[256] = "";
        size_t n = 0;

        assert_null(numtext_normalize(in, strlen(in), buf, &n, why, sizeof(why)));
        assert_string_equal(why, want);
}

static void
test_plain_not_copied(void **state)
{
        static const char v[] = " 1260 ";
        char buf[16], why[64];
        size_t n;

        (void)state;
        assert_ptr_equal(numtext_normalize(v, strlen(v), buf, &n, why, sizeof(why)), v + 1);
        assert_int_equal(n, 4);
        check_ok("5640.50", "5640.50");
        check_ok("-3", "-3");
        check_ok("", "");
        check_ok("   ", "");
}

static void
test_fullwidth(void **state)
{
        (void)state;
        check_ok("１２６０", "1260");
        check_ok("５６４０．５", "5640.5");
        check_ok("－１２", "-12");
        check_ok("＋７", "+7");
        check_ok("１，２６０", "1260");
        /* Mixed full-width and ASCII, as an IME switched mid-word. */
        check_ok("1２6０.5", "1260.5");
}

static void
test_trim(void **state)
{
        (void)state;
        check_ok("\xE3\x80\x80"
                 "1260\xE3\x80\x80",
                 "1260");
        check_ok("\xC2\xA0 74 \t\r", "74");
        check_ok("\xE3\x80\x80\xE3\x80\x80", "");
}

static void
test_thousands(void **state)
{
        (void)state;
        check_ok("1,260", "1260");
        check_ok("12,345.5", "12345.5");
        check_ok("1,234,567", "1234567");
        check_ok("-1,260", "-1260");
        check_refused("12,5", "value \"12,5\": a comma may only separate thousands, in groups of "
                              "three digits (1,260 or 12,345.5); write a decimal point as \".\"");
        check_refused("1,26", "value \"1,26\": a comma may only separate thousands, in groups of "
                              "three digits (1,260 or 12,345.5); write a decimal point as \".\"");
        check_refused("1,2345", "value \"1,2345\": a comma may only separate thousands, in groups "
                                "of three digits (1,260 or 12,345.5); write a decimal point as "
                                "\".\"");
        check_refused("1234,567", "value \"1234,567\": a comma may only separate thousands, in "
                                  "groups of three digits (1,260 or 12,345.5); write a decimal "
                                  "point as \".\"");
        check_refused(",123", "value \",123\": a comma may only separate thousands, in groups of "
                              "three digits (1,260 or 12,345.5); write a decimal point as \".\"");
        check_refused("1,", "value \"1,\": a comma may only separate thousands, in groups of "
                            "three digits (1,260 or 12,345.5); write a decimal point as \".\"");
        check_refused("１，２６", "value \"１，２６\": a comma may only separate thousands, in "
                                  "groups of three digits (1,260 or 12,345.5); write a decimal "
                                  "point as \".\"");
}

static void
test_scientific(void **state)
{
        (void)state;
        check_refused("1.23457E+11", NUMTEXT_SCIENTIFIC);
        check_refused("1e5", NUMTEXT_SCIENTIFIC);
        check_refused("2E-3", NUMTEXT_SCIENTIFIC);
        /* Full-width Ｅ is not mapped: not a number, the aggregator refuses it. */
        check_ok(" １．２３Ｅ＋１１ ", "１．２３Ｅ＋１１");
}

static void
test_not_numbers_pass(void **state)
{
        (void)state;
        /* The aggregator refuses these, quoting them as typed. */
        check_ok(" abc ", "abc");
        check_ok("N/A", "N/A");
        check_ok("1.2.3", "1.2.3");
        check_ok("1.234,5", "1.234,5");
        check_ok("e5", "e5");
        check_ok("１２abc", "１２abc");
        check_ok("inf", "inf");
}

static void
test_output_parses(void **state)
{
        /* The last is an ideographic space, then 74. */
        static const char *const in[] = {"１，２６０", "12,345.5", "－０", "　74"};
        static const uint64_t want[] = {1260, 123455, 0, 74};
        static const unsigned scale[] = {0, 1, 0, 0};

        (void)state;
        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                char buf[64], why[64];
                size_t n;
                uint64_t m = 0;
                const char *p = numtext_normalize(in[i], strlen(in[i]), buf, &n, why, sizeof(why));

                assert_non_null(p);
                assert_int_equal(decimal_parse(p, n, scale[i], &m), DECIMAL_OK);
                assert_int_equal(m, want[i]);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_plain_not_copied),
            cmocka_unit_test(test_fullwidth),
            cmocka_unit_test(test_trim),
            cmocka_unit_test(test_thousands),
            cmocka_unit_test(test_scientific),
            cmocka_unit_test(test_not_numbers_pass),
            cmocka_unit_test(test_output_parses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
