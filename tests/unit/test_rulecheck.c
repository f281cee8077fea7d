/*
 * Unit tests for aggregator/rulecheck: error rules over a batch's values
 * laid over the stored ones, the violation table kept as values change
 * (a correction of the year before re-checks prev_year), level-scoped
 * rules on aggregates, and the rows a uow carries.  Expected values are
 * worked out by hand in the comments.
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

#include "config.h"
#include "orgtree.h"
#include "rulecheck.h"
#include "rules.h"
#include "state.h"
#include "testutil.h"

static const char rules_csv[] = "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                                "E1,图书不少于学生,books,>=,pupils,error,,,\n"
                                "E2,面积上限,area,<=,1000,error,,junior,\n"
                                "W1,学生同比,pupils,<=,prev_year(pupils) * 1.3,warning,,,\n"
                                "W2,生均图书,books_per_pupil,>=,2,warning,,,\n"
                                "L1,区入学率,ger,<=,150,warning,district,,\n"
                                "L2,区学生,pupils,<=,100,error,district,,zero\n";

struct fix {
        struct config *cfg;
        struct rules *rs;
        struct rulecheck *rc;
        struct state *s;
        int p2024, p2025;
        uint64_t version;
};

static int
unit(const struct fix *f, const char *code)
{
        return testutil_unit(f->cfg, code);
}

static int
ind(const struct fix *f, const char *code)
{
        int i = catalog_find(f->cfg->cat, code, strlen(code));

        assert_true(i >= 0);
        return i;
}

static int
rule(const struct fix *f, const char *code)
{
        const struct rule *r = rules_find(f->rs, code, strlen(code));

        assert_non_null(r);
        return (int)(r - f->rs->rule);
}

static int
setup(void **state)
{
        struct fix *f = calloc(1, sizeof(*f));
        char err[512];

        assert_non_null(f);
        f->cfg = testutil_state_config();
        f->rs = testutil_rules(f->cfg, rules_csv);
        f->rc = rulecheck_new(f->cfg, f->rs, err, sizeof(err));
        assert_non_null(f->rc);
        f->s = state_new(f->cfg);
        f->p2024 = state_period_intern(f->s, "2024", 4);
        f->p2025 = state_period_intern(f->s, "2025", 4);
        f->version = 1000;
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fix *f = *state;

        state_destroy(&f->s);
        rulecheck_destroy(&f->rc);
        rules_destroy(&f->rs);
        config_destroy(&f->cfg);
        free(f);
        return 0;
}

/* Store a value (text at the indicator's scale as a mantissa) and touch its pair. */
static void
put(struct fix *f, const char *u, int period, const char *i, uint64_t mant)
{
        uint64_t old;

        state_apply(f->s, unit(f, u), period, ind(f, i), mant, ++f->version, &old);
        rulecheck_touch(f->rc, f->s, unit(f, u), period);
}

/* The dirty row for (u, period, r), or fail. */
static struct rulecheck_row
dirty(const struct fix *f, const char *u, int period, const char *r)
{
        struct rulecheck_row row;

        for (size_t i = 0; i < rulecheck_dirty_count(f->rc); i++) {
                rulecheck_dirty_row(f->rc, i, &row);
                if (row.unit == unit(f, u) && row.period == period && row.rule == rule(f, r))
                        return row;
        }
        fail_msg("no dirty row for %s %d %s", u, period, r);
        return row;
}

static void
assert_num(rule_num v, const char *want)
{
        char buf[RULE_NUM_BUFSZ];

        rule_num_format(v, buf);
        assert_string_equal(buf, want);
}

static void
test_errors_with_overlay(void **state)
{
        struct fix *f = *state;
        int inds[3];
        uint64_t mants[3], vers[3] = {7, 7, 8};
        struct rulecheck_overlay ov = {0, inds, mants, vers, {NULL}};
        char why[1024];

        assert_int_equal(rulecheck_has_errors(f->rc), 1);
        /* S1 (primary) stores 100 pupils and 150 books. */
        put(f, "S1", f->p2024, "pupils", 100);
        put(f, "S1", f->p2024, "books", 150);
        rulecheck_settle(f->rc, f->s);
        state_view_get(f->s, unit(f, "S1"), f->p2024, &ov.stored);
        /* A batch bringing 90 books: 90 >= 100 fails. */
        inds[0] = ind(f, "books");
        mants[0] = 90;
        ov.n = 1;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 1);
        assert_string_equal(why, "rule E1 图书不少于学生: books >= pupils fails (90 < 100)");
        /* And 80 pupils with them: 90 >= 80 holds. */
        inds[1] = ind(f, "pupils");
        mants[1] = 80;
        ov.n = 2;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 0);
        /* Of two values of a key, the higher version counts (8 over 7)... */
        inds[2] = ind(f, "books");
        mants[2] = 70;
        ov.n = 3;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 1);
        assert_string_equal(why, "rule E1 图书不少于学生: books >= pupils fails (70 < 80)");
        /* ...as the state would store it: a later lower version does not (90 >= 80)... */
        vers[2] = 6;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 0);
        /* ...nor a later equal one. */
        vers[2] = 7;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 0);
        vers[2] = 8;
        /* E2 is for juniors: 1500.00 m² at S1 passes, at S6 fails; with E1 too. */
        inds[0] = ind(f, "area");
        mants[0] = 150000;
        ov.n = 1;
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S1"), f->p2024, &ov, why, sizeof(why)), 0);
        inds[1] = ind(f, "pupils");
        mants[1] = 5;
        inds[2] = ind(f, "books");
        mants[2] = 1;
        ov.n = 3;
        state_view_get(f->s, unit(f, "S6"), f->p2024, &ov.stored);
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "S6"), f->p2024, &ov, why, sizeof(why)), 2);
        assert_string_equal(why, "rule E1 图书不少于学生: books >= pupils fails (1 < 5); 1 more "
                                 "rule fails");
        /* A district is never refused by a rule. */
        assert_int_equal(
            rulecheck_errors(f->rc, f->s, unit(f, "D1"), f->p2024, &ov, why, sizeof(why)), 0);
}

static void
test_table_follows_values(void **state)
{
        struct fix *f = *state;
        struct rulecheck_row row;

        /* 2024: S1 100 pupils, 150 books: 1.5 books a pupil < 2 (W2). */
        put(f, "S1", f->p2024, "pupils", 100);
        put(f, "S1", f->p2024, "books", 150);
        /* 2025: 140 pupils > 100 * 1.3 = 130 (W1); no books: 0 a pupil (W2). */
        put(f, "S1", f->p2025, "pupils", 140);
        rulecheck_settle(f->rc, f->s);
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "W2")));
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2025, rule(f, "W1")));
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2025, rule(f, "W2")));
        assert_false(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "W1")));
        row = dirty(f, "S1", f->p2025, "W1");
        assert_int_equal(row.present, 1);
        assert_num(row.left, "140");
        assert_num(row.right, "130");
        row = dirty(f, "S1", f->p2024, "W2");
        assert_num(row.left, "1.5");
        assert_num(row.right, "2");
        /* D1 holds 100 pupils in 2024 and 140 in 2025: L2 (<= 100) fails for 2025 only. */
        assert_false(rulecheck_failing(f->rc, unit(f, "D1"), f->p2024, rule(f, "L2")));
        row = dirty(f, "D1", f->p2025, "L2");
        assert_num(row.left, "140");
        /* No population: no enrolment rate, L1 not checked. */
        assert_false(rulecheck_failing(f->rc, unit(f, "D1"), f->p2024, rule(f, "L1")));
        /* 4 violations: S1 2024 W2, S1 2025 W1 and W2, D1 2025 L2 (the city has no rules). */
        assert_int_equal(rulecheck_count(f->rc), 4);
        rulecheck_dirty_clear(f->rc);
        assert_int_equal(rulecheck_dirty_count(f->rc), 0);

        /* A correction of 2024 (110 pupils) re-checks 2025: 140 <= 143 holds now. */
        put(f, "S1", f->p2024, "pupils", 110);
        rulecheck_settle(f->rc, f->s);
        assert_false(rulecheck_failing(f->rc, unit(f, "S1"), f->p2025, rule(f, "W1")));
        row = dirty(f, "S1", f->p2025, "W1");
        assert_int_equal(row.present, 0);
        /* W2 of 2024 still fails, with 150 / 110 rounded to twelve places. */
        row = dirty(f, "S1", f->p2024, "W2");
        assert_int_equal(row.present, 1);
        assert_num(row.left, "1.363636363636");
        /* D1 2024 now 110 > 100: L2, a level error, is recorded, not enforced. */
        row = dirty(f, "D1", f->p2024, "L2");
        assert_int_equal(row.present, 1);
        assert_num(row.left, "110");
        rulecheck_dirty_clear(f->rc);

        /* D1's own population: 100 * 110 / 50 = 220 > 150 (L1). */
        put(f, "D1", f->p2024, "pop", 50);
        rulecheck_settle(f->rc, f->s);
        row = dirty(f, "D1", f->p2024, "L1");
        assert_num(row.left, "220");
        assert_num(row.right, "150");
        assert_int_equal(rulecheck_dirty_count(f->rc), 1);
        rulecheck_dirty_clear(f->rc);

        /* The same value again changes nothing. */
        rulecheck_touch(f->rc, f->s, unit(f, "S1"), f->p2024);
        rulecheck_settle(f->rc, f->s);
        assert_int_equal(rulecheck_dirty_count(f->rc), 0);
}

static void
test_leaves_then_levels(void **state)
{
        struct fix *f = *state;
        struct rulecheck_row row;

        /* S1 2024: 150 pupils, 100 books: E1 fails (stored without judgement, as after a rule
         * was added offline); D1 holds 150 pupils > 100 (L2). */
        put(f, "S1", f->p2024, "pupils", 150);
        put(f, "S1", f->p2024, "books", 100);
        rulecheck_settle_leaves(f->rc, f->s);
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "E1")));
        /* The district waits for the full settle; then L2 fails. */
        rulecheck_settle(f->rc, f->s);
        row = dirty(f, "D1", f->p2024, "L2");
        assert_int_equal(row.present, 1);
        assert_num(row.left, "150");
        rulecheck_dirty_clear(f->rc);

        /* Touched without a judgement: E1 is evaluated again and still fails. */
        put(f, "S1", f->p2024, "area", 100);
        rulecheck_settle_leaves(f->rc, f->s);
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "E1")));
        /* A pair named passed is taken at its word: E1 is not evaluated and goes. */
        put(f, "S1", f->p2024, "area", 200);
        rulecheck_passed(f->rc, unit(f, "S1"), f->p2024);
        rulecheck_settle_leaves(f->rc, f->s);
        assert_false(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "E1")));
        /* The word holds for one settle only: the next finds E1 failing again. */
        put(f, "S1", f->p2024, "area", 300);
        rulecheck_settle(f->rc, f->s);
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "E1")));
        /* The warnings are evaluated either way: W2 (100 / 150 < 2). */
        assert_true(rulecheck_failing(f->rc, unit(f, "S1"), f->p2024, rule(f, "W2")));
}

static void
count_row(void *ctx, const struct rulecheck_row *row)
{
        (void)row;
        ++*(int *)ctx;
}

static void
test_rebuild_and_warnings(void **state)
{
        struct fix *f = *state;
        struct rulecheck_row row;
        size_t n;
        int seen = 0;

        put(f, "S1", f->p2024, "pupils", 100);
        put(f, "S1", f->p2024, "books", 150);
        put(f, "S1", f->p2025, "pupils", 140);
        put(f, "D1", f->p2024, "pop", 50);
        rulecheck_settle(f->rc, f->s);
        n = rulecheck_count(f->rc);
        /* W2 2024, W1 + W2 2025, L2 2025, L1 2024 (100 * 100 / 50 = 200). */
        assert_int_equal(n, 5);
        rulecheck_rebuild(f->rc, f->s);
        assert_int_equal(rulecheck_full(f->rc), 1);
        assert_int_equal(rulecheck_count(f->rc), n);
        assert_int_equal(rulecheck_dirty_count(f->rc), n);
        for (size_t i = 0; i < n; i++) {
                rulecheck_dirty_row(f->rc, i, &row);
                assert_int_equal(row.present, 1);
        }
        rulecheck_dirty_clear(f->rc);
        assert_int_equal(rulecheck_full(f->rc), 0);
        /* The school-scoped warnings of S1 2025: W1 and W2. */
        assert_int_equal(rulecheck_warnings(f->rc, unit(f, "S1"), f->p2025, count_row, &seen), 2);
        assert_int_equal(seen, 2);
        /* A district's violations are not a school's warnings. */
        assert_int_equal(rulecheck_warnings(f->rc, unit(f, "D1"), f->p2025, count_row, &seen), 0);
}

static void
test_no_rules(void **state)
{
        struct fix *f = *state;
        struct rules empty = {NULL, 0, 0};
        struct rulecheck *rc;
        char err[256];

        rc = rulecheck_new(f->cfg, &empty, err, sizeof(err));
        assert_non_null(rc);
        assert_int_equal(rulecheck_has_errors(rc), 0);
        rulecheck_touch(rc, f->s, unit(f, "S1"), f->p2024);
        rulecheck_settle(rc, f->s);
        assert_int_equal(rulecheck_count(rc), 0);
        rulecheck_rebuild(rc, f->s);
        assert_int_equal(rulecheck_dirty_count(rc), 0);
        rulecheck_destroy(&rc);
        assert_null(rc);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_errors_with_overlay, setup, teardown),
            cmocka_unit_test_setup_teardown(test_table_follows_values, setup, teardown),
            cmocka_unit_test_setup_teardown(test_leaves_then_levels, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rebuild_and_warnings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_rules, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
