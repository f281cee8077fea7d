/*
 * Unit tests for aggregator/state.c: rollup semantics of the contract's
 * agg_value.  The expected numbers were worked out independently (Python
 * fractions over the MoE's 差异系数 formulas, docs/SQL.md "The 优质均衡
 * rule and where it comes from"), never by the code under test.  The tree
 * (tests/unit/data/state):
 *
 *   C ─┬─ D1 ── S1 S2 S3 S4 S5
 *      └─ D2 ─┬─ T1 ── S6 S7
 *             └─ S8
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "state.h"
#include "testutil.h"

struct fx {
        struct config *cfg;
        struct state *s;
        int period;
        uint64_t version;
};

static int
setup(void **ts)
{
        struct fx *f = calloc(1, sizeof(*f));

        f->cfg = testutil_state_config();
        f->s = state_new(f->cfg);
        f->period = state_period_intern(f->s, "2024", 4);
        f->version = 1000;
        *ts = f;
        return 0;
}

static int
teardown(void **ts)
{
        struct fx *f = *ts;

        state_destroy(&f->s);
        assert_null(f->s);
        config_destroy(&f->cfg);
        free(f);
        return 0;
}

static int
U(struct fx *f, const char *code)
{
        int i = orgtree_find(f->cfg->tree, code, strlen(code));

        assert_true(i >= 0);
        return i;
}

static int
I(struct fx *f, const char *code)
{
        int i = catalog_find(f->cfg->cat, code, strlen(code));

        assert_true(i >= 0);
        return i;
}

/* Store value text v (at the indicator's scale) with the next version. */
static enum state_result
put(struct fx *f, const char *unit, const char *ind, uint64_t mant)
{
        return state_apply(f->s, U(f, unit), f->period, I(f, ind), mant, ++f->version, NULL);
}

static void
row(struct fx *f, const char *unit, const char *ind, struct state_row *r)
{
        assert_int_equal(state_row(f->s, U(f, unit), f->period, I(f, ind), 0, r), 0);
}

static void
assert_close(double got, double want)
{
        double tol = fabs(want) * 1e-12 + 1e-15;

        if (fabs(got - want) > tol)
                fail_msg("got %.17g, want %.17g", got, want);
}

static void
moe_example(struct fx *f)
{
        static const char *schools[] = {"S1", "S2", "S3", "S4", "S5"};
        static const uint64_t pupils[] = {45, 37, 89, 76, 55};
        static const uint64_t books[] = {279, 137, 935, 160, 402};

        for (int i = 0; i < 5; i++) {
                assert_int_equal(put(f, schools[i], "pupils", pupils[i]), STATE_NEW);
                assert_int_equal(put(f, schools[i], "books", books[i]), STATE_NEW);
        }
}

/* The MoE worked example: county mean 1913/302, weighted CV 0.515. */
static void
test_weighted_cv_moe_example(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;

        moe_example(f);
        row(f, "D1", "books_per_pupil", &r);
        assert_string_equal(r.numerator, "1913");
        assert_string_equal(r.denominator, "302");
        assert_close(strtod(r.value, NULL), 6.3344370860927155);
        assert_int_equal(r.n_reporting, 5);
        assert_false(r.null_stats);
        assert_close(r.mean, 6.3344370860927155);
        assert_close(r.cv, 0.5152566298844764);
        assert_close(r.min, 2.1052631578947367);
        assert_close(r.max, 10.50561797752809);

        /* the city sees the same five schools */
        row(f, "C", "books_per_pupil", &r);
        assert_close(r.cv, 0.5152566298844764);
        row(f, "C", "pupils", &r);
        assert_string_equal(r.value, "302");
        assert_true(r.null_num && r.null_den);
}

/* Correcting the school with the highest ratio moves the maximum inward. */
/*
 * Who stored a value is kept with it: a sender whose older, different value
 * loses is told who holds the key.  An older identical value is stale with
 * the same mantissa (no news for its sender); an identical newer one raises
 * the version and keeps the first origin.
 */
static void
test_origin_and_stale(void **ts)
{
        struct fx *f = *ts;
        struct state_prev prev;
        int a = state_collector_intern(f->s, "school-a", 8);
        int b = state_collector_intern(f->s, "district-b", 10);

        assert_int_equal(a, 1);
        assert_int_equal(b, 2);
        assert_int_equal(state_collector_intern(f->s, "school-a", 8), a);
        assert_int_equal(state_collector_intern(f->s, "", 0), 0);
        assert_string_equal(state_collector_name(f->s, b), "district-b");
        assert_string_equal(state_collector_name(f->s, 0), "");
        assert_string_equal(state_collector_name(f->s, 999), "");

        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 10, 100, a, &prev),
            STATE_NEW);
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 12, 200, b, &prev),
            STATE_CHANGED);
        assert_int_equal(prev.mant, 10);
        assert_int_equal(prev.version, 100);
        assert_int_equal(prev.who, a);
        /* A late older correction from school-a: stale, and it says who and what won. */
        memset(&prev, 0, sizeof(prev));
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 11, 150, a, &prev),
            STATE_STALE);
        assert_int_equal(prev.mant, 12);
        assert_int_equal(prev.version, 200);
        assert_int_equal(prev.who, b);
        /* An old identical resend: stale too, with the same value. */
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 12, 190, a, &prev),
            STATE_STALE);
        assert_int_equal(prev.mant, 12);
        /* Identical at a higher version: raised, origin kept. */
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 12, 300, a, &prev),
            STATE_UNCHANGED);
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 11, 250, a, &prev),
            STATE_STALE);
        assert_int_equal(prev.version, 300);
        assert_int_equal(prev.who, b);
        /* Origins move with their cells when a row grows and shifts. */
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "pupils"), 5, 400, a, &prev),
            STATE_NEW);
        assert_int_equal(state_apply_by(f->s, U(f, "S1"), f->period, I(f, "books"), 1, 1, a, &prev),
                         STATE_STALE);
        assert_int_equal(prev.who, b);
        assert_int_equal(
            state_apply_by(f->s, U(f, "S1"), f->period, I(f, "pupils"), 1, 1, b, &prev),
            STATE_STALE);
        assert_int_equal(prev.who, a);
}

static void
test_correction_replaces_everywhere(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;
        uint64_t old = 0;

        moe_example(f);
        assert_int_equal(
            state_apply(f->s, U(f, "S3"), f->period, I(f, "books"), 300, ++f->version, &old),
            STATE_CHANGED);
        assert_int_equal(old, 935);
        row(f, "D1", "books_per_pupil", &r);
        assert_string_equal(r.numerator, "1278");
        assert_int_equal(r.n_reporting, 5);
        assert_close(r.mean, 4.231788079470198);
        assert_close(r.cv, 0.4540928439054346);
        assert_close(r.max, 7.3090909090909095);
        row(f, "C", "books", &r);
        assert_string_equal(r.value, "1278");
        assert_int_equal(r.n_reporting, 5);
        row(f, "S3", "books", &r);
        assert_string_equal(r.value, "300");
}

static void
test_versions(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;
        int s1 = U(f, "S1"), p = I(f, "pupils");
        uint64_t mant, version;

        assert_int_equal(state_apply(f->s, s1, f->period, p, 10, 50, NULL), STATE_NEW);
        /* a late retry of an older submission does not overwrite */
        assert_int_equal(state_apply(f->s, s1, f->period, p, 99, 40, NULL), STATE_STALE);
        assert_int_equal(state_apply(f->s, s1, f->period, p, 99, 50, NULL), STATE_STALE);
        /* the same value again changes nothing, but raises the version: */
        assert_int_equal(state_apply(f->s, s1, f->period, p, 10, 60, NULL), STATE_UNCHANGED);
        /* another value from between 50 and 60, delivered late, is older */
        assert_int_equal(state_apply(f->s, s1, f->period, p, 777, 55, NULL), STATE_STALE);
        assert_int_equal(state_get(f->s, s1, f->period, p, &mant, &version), 1);
        assert_int_equal(mant, 10);
        assert_int_equal(version, 60);
        assert_int_equal(state_apply(f->s, s1, f->period, p, 11, 70, NULL), STATE_CHANGED);
        row(f, "C", "pupils", &r);
        assert_string_equal(r.value, "11");
        assert_int_equal(r.n_reporting, 1);
        assert_int_equal(state_nvalues(f->s), 1);
}

/* Depth 3 below the city, and a district that submits its own population. */
static void
test_depth_and_district_denominator(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;

        put(f, "S6", "pupils", 100);
        put(f, "S7", "pupils", 300);
        put(f, "S8", "pupils", 200);
        put(f, "D2", "pop", 800);

        row(f, "T1", "pupils", &r);
        assert_string_equal(r.value, "400");
        assert_int_equal(r.n_reporting, 2);
        assert_close(r.mean, 200);
        assert_close(r.cv, 0.5); /* values 100, 300: σ = 100 */

        row(f, "D2", "ger", &r);
        assert_string_equal(r.numerator, "600");
        assert_string_equal(r.denominator, "800");
        assert_close(strtod(r.value, NULL), 75);
        /* D2 itself stores pop; S6, S7, S8 store pupils */
        assert_int_equal(r.n_reporting, 4);
        /* no leaf stores both: no leaf statistics */
        assert_true(r.null_stats);
        assert_true(r.null_cv);

        row(f, "C", "ger", &r);
        assert_close(strtod(r.value, NULL), 75);
        /* nothing stored at or below D1: no rows at all */
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "pupils"), 0, &r), -1);
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "ger"), 0, &r), -1);

        /* The sums alone, for the rules: the same rows, without formatting. */
        decimal_u128 sum = 0;

        assert_int_equal(state_agg_sum(f->s, U(f, "T1"), f->period, I(f, "pupils"), &sum), 1);
        assert_true(sum == 400);
        assert_int_equal(state_agg_sum(f->s, U(f, "C"), f->period, I(f, "pop"), &sum), 1);
        assert_true(sum == 800);
        assert_int_equal(state_agg_sum(f->s, U(f, "D1"), f->period, I(f, "pupils"), &sum), 0);
        assert_int_equal(state_agg_exists(f->s, U(f, "D2"), f->period, I(f, "ger")), 1);
        assert_int_equal(state_agg_exists(f->s, U(f, "D1"), f->period, I(f, "ger")), 0);
        /* Pending changes are applied first. */
        put(f, "S8", "pupils", 250);
        assert_int_equal(state_agg_sum(f->s, U(f, "D2"), f->period, I(f, "pupils"), &sum), 1);
        assert_true(sum == 650);
}

static void
test_ratio_edge_cases(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;

        put(f, "S1", "books", 50); /* numerator, no denominator */
        put(f, "S2", "books", 10);
        put(f, "S2", "pupils", 0); /* denominator 0 */

        row(f, "D1", "books_per_pupil", &r);
        assert_true(r.null_value); /* Σden = 0 */
        assert_string_equal(r.numerator, "60");
        assert_string_equal(r.denominator, "0");
        assert_int_equal(r.n_reporting, 2);
        assert_true(r.null_stats);

        row(f, "S1", "books_per_pupil", &r);
        assert_true(r.null_value);
        assert_true(r.null_stats);
        row(f, "S2", "books_per_pupil", &r);
        assert_true(r.null_value);

        put(f, "S3", "pupils", 20);
        put(f, "S3", "books", 0);
        row(f, "D1", "books_per_pupil", &r);
        assert_close(strtod(r.value, NULL), 3.0); /* 60 / 20 */
        assert_false(r.null_stats);
        assert_close(r.mean, 0); /* the one qualifying leaf has ratio 0 */
        assert_true(r.null_cv);  /* cv is NULL when the mean is 0 */
}

static void
test_amount_exact(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;

        put(f, "S1", "area", 1025); /* 10.25 at scale 2 */
        put(f, "S2", "area", 2050);
        put(f, "S3", "area", 3000);
        row(f, "D1", "area", &r);
        assert_string_equal(r.value, "60.75");
        assert_close(r.mean, 20.25);
        assert_close(r.cv, 0.3982637724093896);
        assert_close(r.min, 10.25);
        assert_close(r.max, 30);

        /* 0.1 + 0.2 - 0.1 drift cannot happen: corrections are exact */
        for (int i = 0; i < 1000; i++)
                put(f, "S1", "area", (uint64_t)(i % 7) * 10 + 1);
        put(f, "S1", "area", 1025);
        row(f, "C", "area", &r);
        assert_string_equal(r.value, "60.75");
        assert_close(r.cv, 0.3982637724093896);
}

/* Equal leaves: σ is exactly 0, not a rounding residue. */
static void
test_equal_leaves_cv_zero(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;
        static const char *s[] = {"S1", "S2", "S3", "S4", "S5"};

        for (int i = 0; i < 5; i++) {
                put(f, s[i], "pupils", 3 * (uint64_t)(i + 1));
                put(f, s[i], "books", 7 * (uint64_t)(i + 1));
        }
        row(f, "D1", "books_per_pupil", &r);
        assert_true(r.cv == 0.0);
        row(f, "S4", "pupils", &r);
        assert_string_equal(r.value, "12");
        assert_true(r.cv == 0.0);
        assert_close(r.mean, 12);
}

static void
test_dirty_rows(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;
        int seen_c = 0;

        put(f, "S6", "pupils", 5);
        /*
         * pupils and the two ratios using it, at T1, D2 and C: 9 totals,
         * and as many again in each of S6's three categories (junior, rural,
         * public).
         */
        assert_int_equal(state_dirty_count(f->s), 36);
        for (size_t i = 0; i < state_dirty_count(f->s); i++) {
                state_dirty_row(f->s, i, &r);
                assert_false(f->cfg->tree->u[r.unit].is_leaf);
                if (r.unit == U(f, "C") && r.indicator == I(f, "pupils") && r.slice == 0) {
                        assert_string_equal(r.value, "5");
                        seen_c = 1;
                }
        }
        assert_true(seen_c);
        state_dirty_clear(f->s);
        assert_int_equal(state_dirty_count(f->s), 0);
        put(f, "S6", "pupils", 5 + 0); /* unchanged: nothing dirty */
        assert_int_equal(state_dirty_count(f->s), 0);
        state_dirty_all(f->s);
        assert_int_equal(state_dirty_count(f->s), state_naggs(f->s));
}

/* Breakdowns by locality and ownership over the MoE example's schools. */
static void
test_breakdowns(void **ts)
{
        struct fx *f = *ts;
        struct state_row r;
        int rural = state_slice_find(f->s, "locality", "rural");
        int priv = state_slice_find(f->s, "ownership", "private");
        int urban = state_slice_find(f->s, "locality", "urban");
        int junior = state_slice_find(f->s, "stage", "junior");
        const char *dim, *cat;

        assert_true(rural > 0 && priv > 0 && urban > 0 && junior > 0);
        state_slice_name(f->s, rural, &dim, &cat);
        assert_string_equal(dim, "locality");
        assert_string_equal(cat, "rural");
        assert_int_equal(state_slice_find(f->s, "stage", "university"), -1);
        /* primary junior | urban town rural | public private */
        assert_int_equal(state_nslices(f->s), 1 + 2 + 3 + 2);

        moe_example(f);
        put(f, "D1", "pop", 1000); /* a district's own value belongs to no category */

        /* rural schools of D1: S4 (160 books, 76 pupils) and S5 (402, 55) */
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "books_per_pupil"), rural, &r),
                         0);
        assert_int_equal(r.slice, rural);
        assert_string_equal(r.numerator, "562");
        assert_string_equal(r.denominator, "131");
        assert_close(strtod(r.value, NULL), 4.290076335877862);
        assert_int_equal(r.n_reporting, 2);
        assert_close(r.cv, 0.5986524140481208);

        /* the one private school */
        assert_int_equal(state_row(f->s, U(f, "C"), f->period, I(f, "books_per_pupil"), priv, &r),
                         0);
        assert_close(r.mean, 7.3090909090909095);
        assert_true(r.cv == 0.0);

        assert_int_equal(state_row(f->s, U(f, "C"), f->period, I(f, "pupils"), urban, &r), 0);
        assert_string_equal(r.value, "82"); /* 45 + 37 */
        assert_int_equal(r.n_reporting, 2);

        /* the population counts in the totals, in no slice */
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "pop"), 0, &r), 0);
        assert_string_equal(r.value, "1000");
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "pop"), rural, &r), -1);
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "ger"), rural, &r), 0);
        assert_true(r.null_value); /* no population in the rural slice: den 0 */
        assert_string_equal(r.numerator, "131");

        /* nothing junior in D1, and leaves have no slice rows */
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "pupils"), junior, &r), -1);
        assert_int_equal(state_row(f->s, U(f, "S4"), f->period, I(f, "pupils"), rural, &r), -1);

        /* a correction moves the rural maximum inward: S5 books 402 -> 100 */
        put(f, "S5", "books", 100);
        assert_int_equal(state_row(f->s, U(f, "D1"), f->period, I(f, "books_per_pupil"), rural, &r),
                         0);
        assert_string_equal(r.numerator, "260");
        assert_close(r.max, 160.0 / 76.0);
}

static void
test_periods(void **ts)
{
        struct fx *f = *ts;

        assert_int_equal(state_period_intern(f->s, "2024", 4), f->period);
        int p2 = state_period_intern(f->s, "2025S1", 6);
        assert_int_not_equal(p2, f->period);
        assert_string_equal(state_period_name(f->s, p2), "2025S1");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_weighted_cv_moe_example, setup, teardown),
            cmocka_unit_test_setup_teardown(test_correction_replaces_everywhere, setup, teardown),
            cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_depth_and_district_denominator, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ratio_edge_cases, setup, teardown),
            cmocka_unit_test_setup_teardown(test_amount_exact, setup, teardown),
            cmocka_unit_test_setup_teardown(test_equal_leaves_cv_zero, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dirty_rows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_breakdowns, setup, teardown),
            cmocka_unit_test_setup_teardown(test_periods, setup, teardown),
            cmocka_unit_test_setup_teardown(test_origin_and_stale, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
