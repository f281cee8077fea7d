/*
 * Unit tests for aggregator/ingest.c: every rejection the contract lists
 * gets a reason naming the offending text, and good records resolve to the
 * right key and exact mantissa.  Config: tests/unit/data/state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "ingest.h"
#include "keys.h"
#include "orgtree.h"
#include "state.h"
#include "testutil.h"

static struct pstr
S(const char *s) {
        return pstr_of(s);
}

/* Check a record; returns the reason, or "" when accepted. */
static const char *
check(const char *unit, const char *period, const char *ind, const char *value,
      struct ingest_key *k)
{
        static char why[INGEST_REASON_MAX];
        struct proto_record r = {.line = 2, .version = 1};

        r.unit = S(unit);
        r.period = S(period);
        r.indicator = S(ind);
        r.value = S(value);
        if (ingest_check(testutil_st, testutil_cfg, NULL, &r, k, why, sizeof(why)) == 0)
                return "";
        return why;
}

static void
test_accepts(void **ts)
{
        struct ingest_key k;

        (void)ts;
        assert_string_equal(check("S1", "2024", "pupils", "1260", &k), "");
        assert_int_equal(k.unit, orgtree_find(testutil_cfg->tree, "S1", 2));
        assert_int_equal(k.indicator, catalog_find(testutil_cfg->cat, "pupils", 6));
        assert_string_equal(state_period_name(testutil_st, k.period), "2024");
        assert_int_equal(k.mant, 1260);
        assert_string_equal(check("S1", "2025S1", "area", " 5640.5 ", &k), "");
        assert_int_equal(k.mant, 564050);
        assert_string_equal(check("D2", "202409", "pop", "3.00", &k), "");
        assert_int_equal(k.mant, 3);
        assert_string_equal(check("S1", "2025Q4", "pupils", "1000", &k), "");
        assert_int_equal(k.mant, 1000);
        assert_string_equal(check("S1", "2024", "pupils", "1000000000000000", &k), "");
}

static void
test_rejects(void **ts)
{
        static const struct {
                const char *unit, *period, *ind, *value, *want;
        } cases[] = {
            {"S9", "2024", "pupils", "1", "unknown unit \"S9\""},
            {"", "2024", "pupils", "1", "empty unit"},
            {"S1", "2024", "desks", "1", "unknown indicator \"desks\""},
            {"S1", "2024", "books_per_pupil", "1",
             "indicator \"books_per_pupil\" is a ratio and is derived, never submitted; submit "
             "\"books\" and \"pupils\" instead"},
            {"S1", "2024Q5", "pupils", "1", "bad period \"2024Q5\""},
            {"S1", "202413", "pupils", "1", "bad period \"202413\""},
            {"S1", "24", "pupils", "1", "bad period \"24\""},
            {"S1", "2024", "pupils", "", "empty value for \"pupils\""},
            {"S1", "2024", "pupils", "  ", "empty value for \"pupils\""},
            {"S1", "2024", "pupils", "abc", "value \"abc\" is not a number"},
            {"S1", "2024", "pupils", "NaN", "value \"NaN\" is not a finite number"},
            {"S1", "2024", "pupils", "-inf", "value \"-inf\" is not a finite number"},
            {"S1", "2024", "pupils", "-5", "negative value \"-5\""},
            {"S1", "2024", "pupils", "12.5",
             "value \"12.5\" is not a whole number; \"pupils\" is a count"},
            {"S1", "2024", "area", "1.234",
             "value \"1.234\" has more than 2 decimals allowed for \"area\""},
            {"S1", "2024", "pupils", "2e15", "value \"2e15\" is beyond ±1e15"},
            {"S1", "2024", "pupils", "1000000000000001", "is beyond ±1e15"},
        };
        struct ingest_key k;

        (void)ts;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *why =
                    check(cases[i].unit, cases[i].period, cases[i].ind, cases[i].value, &k);

                if (strstr(why, cases[i].want) == NULL)
                        fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i, cases[i].value, why,
                                 cases[i].want);
        }
}

static void
test_collector_reason_and_hostile_text(void **ts)
{
        struct proto_record r = {.line = 7};
        struct ingest_key k;
        char why[INGEST_REASON_MAX];
        static const char bad[] = {'a', (char)0xff, 'b', 0, 'c'};
        char *t;

        (void)ts;
        r.reason = S("row has 5 fields, the header has 4");
        assert_int_equal(ingest_check(testutil_st, testutil_cfg, NULL, &r, &k, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "row has 5 fields, the header has 4");

        /* invalid UTF-8 and NUL never reach PostgreSQL as text */
        t = ingest_text(bad, sizeof(bad));
        assert_string_equal(t, "a\xef\xbf\xbd"
                               "b\xef\xbf\xbd"
                               "c");
        free(t);

        /* a long unit is quoted clipped */
        char longunit[200];
        memset(longunit, 'x', sizeof(longunit) - 1);
        longunit[sizeof(longunit) - 1] = '\0';
        assert_non_null(strstr(check(longunit, "2024", "pupils", "1", &k), "...\""));
        assert_true(strlen(check(longunit, "2024", "pupils", "1", &k)) < 100);

        /* control characters are shown, never sent to a terminal or a log as they are */
        assert_string_equal(check("S\x1b[2J\r\n\a\xc2\x85", "2024", "pupils", "1", &k),
                            "unknown unit \"S\\x1b[2J\\x0d\\x0a\\x07\\u0085\"");

        /* a collector's own reason: kept printable and short, never in the server's words */
        r.reason = S("refused by PostgreSQL: duplicate key");
        assert_int_equal(ingest_check(testutil_st, testutil_cfg, NULL, &r, &k, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "the collector says: refused by PostgreSQL: duplicate key");
        r.reason = S("  Refused By PostgreSQL: x");
        assert_int_equal(ingest_check(testutil_st, testutil_cfg, NULL, &r, &k, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "the collector says:   Refused By PostgreSQL: x");
        r.reason = S("bad\x1b]0;pwned\x07row");
        assert_int_equal(ingest_check(testutil_st, testutil_cfg, NULL, &r, &k, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "bad\\x1b]0;pwned\\x07row");
        char longreason[4000];
        memset(longreason, 'y', sizeof(longreason));
        r.reason = (struct pstr){longreason, sizeof(longreason)};
        assert_int_equal(ingest_check(testutil_st, testutil_cfg, NULL, &r, &k, why, sizeof(why)),
                         -1);
        assert_int_equal(strlen(why), INGEST_CLIENT_REASON_MAX + 3);
        assert_string_equal(why + INGEST_CLIENT_REASON_MAX, "...");
}

/*
 * Authorization by a real registered collector, at every level: a school's
 * key writes its school only, a district's its district and the schools
 * below, never the city's own values (its population) nor another
 * district's.  Units with children are checked like leaves.
 */
static void
test_authorization_by_level(void **ts)
{
        int school_units[] = {orgtree_find(testutil_cfg->tree, "S1", 2)};
        int district_units[] = {orgtree_find(testutil_cfg->tree, "D1", 2)};
        struct collector school = {.name = "school-s1", .units = school_units, .nunits = 1};
        struct collector district = {.name = "district-d1", .units = district_units, .nunits = 1};
        const struct {
                const struct collector *who;
                const char *unit, *ind, *want;
        } cases[] = {
            {&school, "S1", "pupils", ""},
            {&school, "S2", "pupils", "not authorized for unit S2"},
            {&school, "D1", "pop", "not authorized for unit D1"},
            {&school, "C", "pop", "not authorized for unit C"},
            {&district, "D1", "pop", ""},
            {&district, "S3", "pupils", ""},
            {&district, "C", "pop", "not authorized for unit C"},
            {&district, "D2", "pop", "not authorized for unit D2"},
            {&district, "T1", "pop", "not authorized for unit T1"},
            {&district, "S8", "pupils", "not authorized for unit S8"},
        };
        char why[INGEST_REASON_MAX];

        (void)ts;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct proto_record r = {.line = 2, .version = 1};
                struct ingest_key k;
                int rc;

                r.unit = S(cases[i].unit);
                r.period = S("2024");
                r.indicator = S(cases[i].ind);
                r.value = S("10");
                rc =
                    ingest_check(testutil_st, testutil_cfg, cases[i].who, &r, &k, why, sizeof(why));
                if (*cases[i].want == '\0') {
                        assert_int_equal(rc, 0);
                } else {
                        assert_int_equal(rc, -1);
                        assert_string_equal(why, cases[i].want);
                }
        }
}

/*
 * Excel's display of a long number ("1.23457E+11") has lost digits: refused,
 * saying what to do.  Periods outside the configured years are refused, so
 * no client fills the period table the others share.
 */
static void
test_scientific_and_period_window(void **ts)
{
        struct ingest_key k;

        (void)ts;
        assert_string_equal(check("S1", "2024", "pupils", "1.23457E+11", &k),
                            "value \"1.23457E+11\" is in scientific notation, so Excel has "
                            "rounded it; format the column as a number and export again");
        assert_string_equal(check("S1", "2024", "pupils", "2e3", &k),
                            "value \"2e3\" is in scientific notation, so Excel has rounded it; "
                            "format the column as a number and export again");
        testutil_cfg->period_year_min = 2000;
        testutil_cfg->period_year_max = 2027;
        assert_string_equal(check("S1", "1999", "pupils", "1", &k),
                            "period \"1999\" is outside the years this server accepts (2000 to "
                            "2027)");
        assert_string_equal(check("S1", "2028Q1", "pupils", "1", &k),
                            "period \"2028Q1\" is outside the years this server accepts (2000 to "
                            "2027)");
        assert_string_equal(check("S1", "2000", "pupils", "1", &k), "");
        assert_string_equal(check("S1", "202712", "pupils", "1", &k), "");
        testutil_cfg->period_year_min = testutil_cfg->period_year_max = 0;
        assert_string_equal(check("S1", "1999", "pupils", "1", &k), "");
}

/* With periods.csv, its list decides, not the window; the reason names the file. */
static void
test_periods_list(void **ts)
{
        struct ingest_key k;

        (void)ts;
        testutil_cfg->period_year_min = 2000;
        testutil_cfg->period_year_max = 2027;
        testutil_cfg->periods = strmap_new(4);
        assert_int_equal(strmap_put(testutil_cfg->periods, "2024", 4, 0), 0);
        assert_int_equal(strmap_put(testutil_cfg->periods, "2025S1", 6, 1), 1);
        assert_string_equal(check("S1", "2024", "pupils", "1", &k), "");
        assert_string_equal(check("S1", "2025S1", "pupils", "1", &k), "");
        assert_string_equal(check("S1", "2025", "pupils", "1", &k),
                            "period \"2025\" is not open: it is not in periods.csv, the list of "
                            "periods this server accepts");
        assert_string_equal(check("S1", "2025S2", "pupils", "1", &k),
                            "period \"2025S2\" is not open: it is not in periods.csv, the list "
                            "of periods this server accepts");
        /* The format is checked first, with its own reason. */
        assert_string_equal(check("S1", "2025S3", "pupils", "1", &k),
                            "bad period \"2025S3\" (use YYYY, YYYYS1-S2, YYYYQ1-Q4 or YYYYMM)");
        strmap_destroy(&testutil_cfg->periods);
        testutil_cfg->period_year_min = testutil_cfg->period_year_max = 0;
}

/* Versions ahead of the server's clock by more than the skew are refused, saying how far. */
static void
test_version_skew(void **ts)
{
        const int64_t now = 1733300000000000; /* microseconds since 1970 */
        const uint64_t v = (uint64_t)now * 1024;
        char why[INGEST_REASON_MAX];

        (void)ts;
        assert_int_equal(ingest_version_check(v, now, 300, why, sizeof(why)), 0);
        assert_int_equal(ingest_version_check(v + 300000000ull * 1024, now, 300, why, sizeof(why)),
                         0);
        assert_int_equal(ingest_version_check(v + 301000000ull * 1024, now, 300, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "version is 5 minutes ahead of the server clock; fix this "
                                 "machine's clock");
        assert_int_equal(ingest_version_check(v + 90000000ull * 1024, now, 0, why, sizeof(why)),
                         -1);
        assert_string_equal(why, "version is 90 seconds ahead of the server clock; fix this "
                                 "machine's clock");
        assert_int_equal(
            ingest_version_check(v + 3ull * 86400 * 1000000 * 1024, now, 300, why, sizeof(why)),
            -1);
        assert_string_equal(why, "version is 3 days ahead of the server clock; fix this "
                                 "machine's clock");
        assert_int_equal(
            ingest_version_check(v + 5ull * 3600 * 1000000 * 1024, now, 300, why, sizeof(why)), -1);
        assert_string_equal(why, "version is 5 hours ahead of the server clock; fix this "
                                 "machine's clock");
        assert_int_equal(ingest_version_check(v + 10ull * 365 * 86400 * 1000000 * 1024, now, 300,
                                              why, sizeof(why)),
                         -1);
        assert_string_equal(why, "version is 10 years ahead of the server clock; fix this "
                                 "machine's clock");
        /* Rounded to the unit: 3 days less a second is 3 days, 2.4 hours 2 hours. */
        assert_int_equal(ingest_version_check(v + (3ull * 86400 - 1) * 1000000 * 1024, now, 300,
                                              why, sizeof(why)),
                         -1);
        assert_string_equal(why, "version is 3 days ahead of the server clock; fix this "
                                 "machine's clock");
        assert_int_equal(
            ingest_version_check(v + 8640ull * 1000000 * 1024, now, 300, why, sizeof(why)), -1);
        assert_string_equal(why, "version is 2 hours ahead of the server clock; fix this "
                                 "machine's clock");
        /* Small versions (a client counting from 1) are never ahead. */
        assert_int_equal(ingest_version_check(1, now, 300, why, sizeof(why)), 0);
        assert_int_equal(ingest_version_check(INT64_MAX, now, 300, why, sizeof(why)), -1);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accepts),
            cmocka_unit_test(test_rejects),
            cmocka_unit_test(test_collector_reason_and_hostile_text),
            cmocka_unit_test(test_version_skew),
            cmocka_unit_test(test_scientific_and_period_window),
            cmocka_unit_test(test_periods_list),
            cmocka_unit_test(test_authorization_by_level),
        };

        return cmocka_run_group_tests(tests, testutil_state_setup, testutil_state_teardown);
}
