/*
 * Unit tests for lib/decimal: every edge of the parser, worked out by hand,
 * and exact formatting of 128-bit sums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"
#include "util.h"

#define OK   DECIMAL_OK
#define EMP  DECIMAL_EMPTY
#define SYN  DECIMAL_SYNTAX
#define NF   DECIMAL_NONFINITE
#define NEG  DECIMAL_NEGATIVE
#define RNG  DECIMAL_RANGE
#define PREC DECIMAL_TOO_PRECISE

static const struct {
        const char *s;
        unsigned scale;
        int status;
        uint64_t mant; /* checked when status is OK */
} parse_cases[] = {
    /* plain integers and blanks */
    {"0", 0, OK, 0},
    {"17", 0, OK, 17},
    {" 17 ", 0, OK, 17},
    {"\t42\r\n", 0, OK, 42},
    {"+5", 0, OK, 5},
    {"007", 0, OK, 7},
    {"000000000000000000000000000123", 0, OK, 123},
    /* trailing fraction zeros are not precision */
    {"3.00", 0, OK, 3},
    {"3.", 0, OK, 3},
    {"0.00000", 0, OK, 0},
    {"12.3400", 2, OK, 1234},
    /* fractions at each scale */
    {".5", 1, OK, 5},
    {"0.5", 0, PREC, 0},
    {"12.34", 2, OK, 1234},
    {"12.345", 2, PREC, 0},
    {"12.34", 4, OK, 123400},
    {"0.0001", 4, OK, 1},
    {"0.00001", 4, PREC, 0},
    {"0.000010", 4, PREC, 0},
    {"0.00010", 4, OK, 1},
    /* exponents */
    {"1.5e2", 0, OK, 150},
    {"1E+15", 0, OK, 1000000000000000ULL},
    {"2e3", 0, OK, 2000},
    {"1e0", 0, OK, 1},
    {"1e-0", 0, OK, 1},
    {"1e+000", 0, OK, 1},
    {"5e-1", 1, OK, 5},
    {"5e-1", 0, PREC, 0},
    {"50e-1", 0, OK, 5},
    {"1.23456e2", 4, OK, 1234560},
    {"1.234567e2", 4, OK, 1234567},
    {"1.2345678e2", 4, PREC, 0},
    {"123000000000000000000e-10", 0, OK, 12300000000ULL},
    {"0.000000000000000000001e21", 0, OK, 1},
    {"1e999", 0, RNG, 0},
    {"1e-999", 4, PREC, 0},
    {"0e999", 0, OK, 0},
    /* the 1e15 limit, exactly */
    {"1000000000000000", 0, OK, 1000000000000000ULL},
    {"1000000000000000.0000", 4, OK, 10000000000000000000ULL},
    {"1e15", 4, OK, 10000000000000000000ULL},
    {"0.1e16", 0, OK, 1000000000000000ULL},
    {"10e14", 0, OK, 1000000000000000ULL},
    {"999999999999999.9999", 4, OK, 9999999999999999999ULL},
    {"1000000000000000.0001", 4, RNG, 0},
    {"1000000000000001", 0, RNG, 0},
    {"1.0000000000000001e15", 0, RNG, 0},
    {"1e16", 0, RNG, 0},
    {"2e15", 0, RNG, 0},
    {"12345678901234567890", 0, RNG, 0},
    {"99999999999999999999999999999999999999999", 0, RNG, 0},
    /* significant digits around the 19 a valid value can have */
    {"1234567890123456789e-4", 4, OK, 1234567890123456789ULL},
    {"9000000000000000009e-4", 4, OK, 9000000000000000009ULL},
    {"12345678901234567891e-5", 4, PREC, 0},
    {"100000000000000000001e-6", 4, PREC, 0},
    {"1000000000000000000000e-6", 0, OK, 1000000000000000ULL},
    {"0.0000000000000000001e19", 0, OK, 1},
    /* zeros between significant digits */
    {"101", 0, OK, 101},
    {"1001.001", 4, OK, 10010010},
    {"100.10", 2, OK, 10010},
    {"0.0105", 4, OK, 105},
    /* range is decided before precision */
    {"1234567890123456.5", 0, RNG, 0},
    /* zero in every sign and shape */
    {"-0", 0, OK, 0},
    {"-0.0", 0, OK, 0},
    {"+0", 0, OK, 0},
    {"-0e5", 0, OK, 0},
    {"-.0", 0, OK, 0},
    /* negatives, checked before range and precision */
    {"-1", 0, NEG, 0},
    {"-1e20", 0, NEG, 0},
    {"-0.001", 0, NEG, 0},
    {" -7 ", 2, NEG, 0},
    /* empty */
    {"", 0, EMP, 0},
    {"   ", 0, EMP, 0},
    {"\t\r\n", 3, EMP, 0},
    /* not a number */
    {"abc", 0, SYN, 0},
    {"1,000", 0, SYN, 0},
    {"1 000", 0, SYN, 0},
    {".", 0, SYN, 0},
    {"-", 0, SYN, 0},
    {"+", 0, SYN, 0},
    {"- 5", 0, SYN, 0},
    {"e5", 0, SYN, 0},
    {".e5", 0, SYN, 0},
    {"1e", 0, SYN, 0},
    {"1e+", 0, SYN, 0},
    {"1e1000", 0, SYN, 0},
    {"1e0001", 0, SYN, 0},
    {"1e5x", 0, SYN, 0},
    {"0x10", 0, SYN, 0},
    {"1.2.3", 0, SYN, 0},
    {"--1", 0, SYN, 0},
    {"+-1", 0, SYN, 0},
    {"1-", 0, SYN, 0},
    {"1e2.5", 0, SYN, 0},
    {"\xd9\xa1", 0, SYN, 0},     /* Arabic-Indic digit one */
    {"\xef\xbc\x91", 0, SYN, 0}, /* fullwidth digit one */
    {"nanx", 0, SYN, 0},
    {"in", 0, SYN, 0},
    {"infinit", 0, SYN, 0},
    {"nan1", 0, SYN, 0},
    /* not finite, any case, any sign */
    {"nan", 0, NF, 0},
    {"NaN", 0, NF, 0},
    {"-nan", 0, NF, 0},
    {"+NAN", 0, NF, 0},
    {"inf", 0, NF, 0},
    {"-Inf", 0, NF, 0},
    {"INFINITY", 0, NF, 0},
    {"-infinity", 0, NF, 0},
    {"  Infinity  ", 4, NF, 0},
    /* a scale beyond the maximum is a caller error, reported as syntax */
    {"1", 5, SYN, 0},
};

static void
test_parse_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
                uint64_t m = 0xdeadbeef;
                int rc = decimal_parse(parse_cases[i].s, strlen(parse_cases[i].s),
                                       parse_cases[i].scale, &m);

                if (rc != parse_cases[i].status || (rc == OK && m != parse_cases[i].mant))
                        print_error("case \"%s\" scale %u: status %d mant %llu\n", parse_cases[i].s,
                                    parse_cases[i].scale, rc, (unsigned long long)m);
                assert_int_equal(rc, parse_cases[i].status);
                if (rc == OK)
                        assert_int_equal(m, parse_cases[i].mant);
        }
}

/* Only len bytes are read: the text need not be terminated. */
static void
test_parse_len(void **state)
{
        uint64_t m;

        (void)state;
        assert_int_equal(decimal_parse("123", 2, 0, &m), OK);
        assert_int_equal(m, 12);
        assert_int_equal(decimal_parse("1.5x", 3, 1, &m), OK);
        assert_int_equal(m, 15);
        assert_int_equal(decimal_parse("", 0, 0, &m), EMP);
}

/* Very long inputs: no accumulation overflow, no quadratic work. */
static void
test_parse_long_inputs(void **state)
{
        size_t n = 200000;
        char *s = xmalloc(n + 8);
        uint64_t m;

        (void)state;
        memset(s, '0', n);
        s[n] = '1';
        assert_int_equal(decimal_parse(s, n + 1, 0, &m), OK);
        assert_int_equal(m, 1);
        /* 0.000...01 with 200000 zeros is far too precise. */
        s[0] = '.';
        assert_int_equal(decimal_parse(s, n + 1, 4, &m), PREC);
        /* 1 followed by 200000 zeros is far too large. */
        memset(s, '0', n + 1);
        s[0] = '1';
        assert_int_equal(decimal_parse(s, n + 1, 0, &m), RNG);
        /* ... unless an exponent brings it back: 1000...0e-999 is still huge. */
        memcpy(s + n + 1, "e-999", 5);
        assert_int_equal(decimal_parse(s, n + 6, 0, &m), RNG);
        /* 200001 significant digits scaled down by e-999 stay too large. */
        memset(s, '7', n + 1);
        assert_int_equal(decimal_parse(s, n + 6, 0, &m), RNG);
        free(s);
}

static const struct {
        decimal_u128 mant;
        unsigned scale;
        const char *text;
} format_cases[] = {
    {0, 0, "0"},
    {0, 4, "0"},
    {7, 0, "7"},
    {1000, 0, "1000"},
    {1234, 2, "12.34"},
    {1230, 2, "12.3"},
    {1200, 2, "12"},
    {5, 4, "0.0005"},
    {50, 4, "0.005"},
    {123450, 4, "12.345"},
    {10000000000000000000ULL, 4, "1000000000000000"},
    {9999999999999999999ULL, 4, "999999999999999.9999"},
    {18446744073709551615ULL, 0, "18446744073709551615"},
    {18446744073709551615ULL, 4, "1844674407370955.1615"},
    {10000000000000000000ULL, 0, "10000000000000000000"},
    {9, 0, "9"},
    {10, 0, "10"},
    {99, 0, "99"},
    {100, 0, "100"},
    {100, 2, "1"},
    {101, 2, "1.01"},
    {1005, 4, "0.1005"},
    {10050, 4, "1.005"},
    {10010, 4, "1.001"},
    {9999, 4, "0.9999"},
};

static void
test_format(void **state)
{
        char buf[DECIMAL_BUFSZ];
        decimal_u128 max = ~(decimal_u128)0;

        (void)state;
        for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
                size_t n = decimal_format(format_cases[i].mant, format_cases[i].scale, buf);

                assert_string_equal(buf, format_cases[i].text);
                assert_int_equal(n, strlen(format_cases[i].text));
        }
        /* Beyond 64 bits: 2^64 * 1000 + 1, and the largest u128. */
        assert_int_equal(decimal_format(((decimal_u128)1 << 64) * 1000 + 1, 0, buf), 23);
        assert_string_equal(buf, "18446744073709551616001");
        decimal_format(((decimal_u128)1 << 64) * 1000 + 1, 3, buf);
        assert_string_equal(buf, "18446744073709551616.001");
        /* 2^64 itself, the first value of the wide path. */
        decimal_format((decimal_u128)1 << 64, 0, buf);
        assert_string_equal(buf, "18446744073709551616");
        decimal_format((decimal_u128)1 << 64, 4, buf);
        assert_string_equal(buf, "1844674407370955.1616");
        /* Chunks of 19 digits keep their inner zeros: 10^20, 10^38, 2^64 * 10^19 + 5. */
        decimal_format((decimal_u128)10000000000ULL * 10000000000ULL, 0, buf);
        assert_string_equal(buf, "100000000000000000000");
        decimal_format((decimal_u128)10000000000000000000ULL * 10000000000000000000ULL, 0, buf);
        assert_string_equal(buf, "100000000000000000000000000000000000000");
        decimal_format(((decimal_u128)1 << 64) * 10000000000000000000ULL + 5, 0, buf);
        assert_string_equal(buf, "184467440737095516160000000000000000005");
        decimal_format(max, 0, buf);
        assert_string_equal(buf, "340282366920938463463374607431768211455");
        decimal_format(max, 4, buf);
        assert_string_equal(buf, "34028236692093846346337460743176821.1455");
        assert_true(strlen(buf) < DECIMAL_BUFSZ);
}

/* Parse then format gives the canonical text back. */
static void
test_round_trip(void **state)
{
        static const struct {
                const char *in;
                unsigned scale;
                const char *out;
        } rt[] = {
            {"1.50", 2, "1.5"}, {"2e3", 0, "2000"},          {"0.0100", 4, "0.01"},
            {"-0.0", 3, "0"},   {" 17 ", 0, "17"},           {"1E+15", 4, "1000000000000000"},
            {".25", 2, "0.25"}, {"123.4567", 4, "123.4567"},
        };
        char buf[DECIMAL_BUFSZ];

        (void)state;
        for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
                uint64_t m;

                assert_int_equal(decimal_parse(rt[i].in, strlen(rt[i].in), rt[i].scale, &m), OK);
                decimal_format(m, rt[i].scale, buf);
                assert_string_equal(buf, rt[i].out);
        }
}

static void
test_to_ld(void **state)
{
        (void)state;
        assert_true(decimal_to_ld(0, 0) == 0.0L);
        assert_true(decimal_to_ld(12345, 2) > 123.449999L && decimal_to_ld(12345, 2) < 123.450001L);
        assert_true(decimal_to_ld(10000000000000000000ULL, 4) == 1e15L);
        assert_true(decimal_to_ld(1, 4) > 0.000099999L && decimal_to_ld(1, 4) < 0.000100001L);
        /* 2^64 * 1000 as a sum is exact in long double (64-bit mantissa). */
        assert_true(decimal_to_ld(((decimal_u128)1 << 64) * 1000, 3) == 18446744073709551616.0L);
}

/* Every refusal's words, as a school reads them from either daemon. */
static void
test_refusal(void **state)
{
        static const struct {
                int st, count;
                const char *want;
        } cases[] = {
            {DECIMAL_EMPTY, 1, "empty value for \"pupils\""},
            {DECIMAL_SYNTAX, 1, "value \"x\" is not a number"},
            {DECIMAL_NONFINITE, 1, "value \"x\" is not a finite number"},
            {DECIMAL_NEGATIVE, 1, "negative value \"x\""},
            {DECIMAL_RANGE, 1, "value \"x\" is beyond ±1e15"},
            {DECIMAL_TOO_PRECISE, 1, "value \"x\" is not a whole number; \"pupils\" is a count"},
            {DECIMAL_TOO_PRECISE, 0, "value \"x\" has more than 2 decimals allowed for \"pupils\""},
        };
        char why[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                decimal_refusal(cases[i].st, "\"x\"", "\"pupils\"", cases[i].count, 2, why,
                                sizeof(why));
                assert_string_equal(why, cases[i].want);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_table),       cmocka_unit_test(test_parse_len),
            cmocka_unit_test(test_parse_long_inputs), cmocka_unit_test(test_format),
            cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_to_ld),
            cmocka_unit_test(test_refusal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
