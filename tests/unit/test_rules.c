/*
 * Unit tests for lib/rules: exact decimal arithmetic, the expression
 * parser and its messages, prev_year across every kind of period, both
 * missing-value strategies, and rules.csv loading with its errors.  The
 * catalogue and tree are the sample city's (config/).
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

#include "catalog.h"
#include "orgtree.h"
#include "period.h"
#include "rules.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

static struct catalog *cat;
static struct orgtree *tree;
static char tmpdir[] = "/tmp/test_rules_XXXXXX";

static int
setup(void **state)
{
        char err[512];

        (void)state;
        cat = catalog_load(SOURCE_ROOT "/config/indicators.csv", err, sizeof(err));
        tree = orgtree_load(SOURCE_ROOT "/config/orgunits.csv", err, sizeof(err));
        if (cat == NULL || tree == NULL || mkdtemp(tmpdir) == NULL)
                return -1;
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        catalog_destroy(&cat);
        orgtree_destroy(&tree);
        return rmdir(tmpdir);
}

/* A value given as text; "" for a missing one. */
struct env {
        const char *cur[64]; /* by catalogue index */
        const char *prev[64];
};

static int
lookup(void *ctx, int indicator, int prev, rule_num *v)
{
        const struct env *e = ctx;
        const char *t;

        assert_true(indicator >= 0 && indicator < 64);
        t = prev ? e->prev[indicator] : e->cur[indicator];
        if (t == NULL || *t == '\0')
                return 0;
        assert_int_equal(rule_num_parse(t, strlen(t), v), 0);
        return 1;
}

static int
ind(const char *code)
{
        int i = catalog_find(cat, code, strlen(code));

        assert_true(i >= 0);
        return i;
}

/* Evaluate text with env; returns the formatted value, or "skip". */
static const char *
eval(const char *text, enum rule_missing missing, struct env *e)
{
        static char buf[RULE_NUM_BUFSZ];
        struct rule_expr x;
        char err[256];
        rule_num v;

        if (rule_expr_parse(text, strlen(text), cat, &x, err, sizeof(err)) != 0)
                fail_msg("%s: %s", text, err);
        if (rule_expr_eval(&x, missing, lookup, e, &v) != 0)
                strcpy(buf, "skip");
        else
                rule_num_format(v, buf);
        rule_expr_free(&x);
        return buf;
}

static void
test_numbers(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            {"0", "0"},
            {"-0", "0"},
            {"1.50", "1.5"},
            {"0.000000000001", "0.000000000001"},
            {"1000000", "1000000"},
            {"-2.25", "-2.25"},
            {"123456789012345678901234", "123456789012345678901234"},
        };
        rule_num v;
        char buf[RULE_NUM_BUFSZ];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(rule_num_parse(cases[i].in, strlen(cases[i].in), &v), 0);
                rule_num_format(v, buf);
                assert_string_equal(buf, cases[i].out);
        }
        /* Thirteen decimals, past 10^24, not numbers. */
        assert_int_equal(rule_num_parse("0.0000000000001", 15, &v), -1);
        assert_int_equal(rule_num_parse("1000000000000000000000001", 25, &v), -1);
        assert_int_equal(rule_num_parse("", 0, &v), -1);
        assert_int_equal(rule_num_parse(".", 1, &v), -1);
        assert_int_equal(rule_num_parse("1e3", 3, &v), -1);
        /* A stored value at its scale. */
        assert_int_equal(rule_num_from_decimal(56405, 1, &v), 0);
        rule_num_format(v, buf);
        assert_string_equal(buf, "5640.5");
}

static void
test_arithmetic(void **state)
{
        struct env e = {{0}, {0}};

        (void)state;
        /* Exact: no binary drift. */
        assert_string_equal(eval("0.1 + 0.2", RULE_MISSING_SKIP, &e), "0.3");
        assert_string_equal(eval("0.3 - 0.1 - 0.2", RULE_MISSING_SKIP, &e), "0");
        /* Precedence, parentheses, unary minus. */
        assert_string_equal(eval("1 + 2 * 3", RULE_MISSING_SKIP, &e), "7");
        assert_string_equal(eval("(1 + 2) * 3", RULE_MISSING_SKIP, &e), "9");
        assert_string_equal(eval("10 - 4 - 3", RULE_MISSING_SKIP, &e), "3");
        assert_string_equal(eval("-(2 - 5) * -2", RULE_MISSING_SKIP, &e), "-6");
        assert_string_equal(eval("24 / 4 / 2", RULE_MISSING_SKIP, &e), "3");
        /* Division at twelve places, half away from zero. */
        assert_string_equal(eval("1 / 3", RULE_MISSING_SKIP, &e), "0.333333333333");
        assert_string_equal(eval("2 / 3", RULE_MISSING_SKIP, &e), "0.666666666667");
        assert_string_equal(eval("-2 / 3", RULE_MISSING_SKIP, &e), "-0.666666666667");
        assert_string_equal(eval("1 / 8", RULE_MISSING_SKIP, &e), "0.125");
        assert_string_equal(eval("0.000000000001 / 2", RULE_MISSING_SKIP, &e), "0.000000000001");
        assert_string_equal(eval("0.000000000001 / 3", RULE_MISSING_SKIP, &e), "0");
        /* Products rounded to twelve places. */
        assert_string_equal(eval("0.000001 * 0.000001", RULE_MISSING_SKIP, &e), "0.000000000001");
        assert_string_equal(eval("0.0000005 * 0.000001", RULE_MISSING_SKIP, &e), "0.000000000001");
        assert_string_equal(eval("0.0000004 * 0.000001", RULE_MISSING_SKIP, &e), "0");
        assert_string_equal(eval("1.3 * 1000", RULE_MISSING_SKIP, &e), "1300");
        /* Large but in range; past the limit, or by zero: not checked. */
        assert_string_equal(eval("1000000000000 * 1000000000000", RULE_MISSING_SKIP, &e),
                            "1000000000000000000000000");
        assert_string_equal(eval("1000000000000 * 1000000000001", RULE_MISSING_SKIP, &e), "skip");
        assert_string_equal(eval("1 / 0", RULE_MISSING_SKIP, &e), "skip");
        assert_string_equal(eval("1 / (2 - 2)", RULE_MISSING_ZERO, &e), "skip");
        assert_string_equal(eval("100000000000000000000000 / 0.01", RULE_MISSING_SKIP, &e), "skip");
}

static void
test_operands(void **state)
{
        struct env e = {{0}, {0}};

        (void)state;
        e.cur[ind("pupils")] = "1500";
        e.cur[ind("teachers")] = "120";
        e.prev[ind("pupils")] = "1000";
        e.cur[ind("teach_area")] = "5640.5";
        assert_string_equal(eval("pupils / teachers", RULE_MISSING_SKIP, &e), "12.5");
        assert_string_equal(eval("prev_year(pupils) * 1.3", RULE_MISSING_SKIP, &e), "1300");
        assert_string_equal(eval("prev_year ( pupils )", RULE_MISSING_SKIP, &e), "1000");
        assert_string_equal(eval("teach_area/pupils", RULE_MISSING_SKIP, &e), "3.760333333333");
        /* Missing: skip leaves the rule unchecked; zero counts it as 0. */
        assert_string_equal(eval("pupils + dropouts", RULE_MISSING_SKIP, &e), "skip");
        assert_string_equal(eval("pupils + dropouts", RULE_MISSING_ZERO, &e), "1500");
        assert_string_equal(eval("prev_year(teachers)", RULE_MISSING_SKIP, &e), "skip");
        assert_string_equal(eval("prev_year(teachers)", RULE_MISSING_ZERO, &e), "0");
        /* Zero does not save a division by a missing value. */
        assert_string_equal(eval("pupils / dropouts", RULE_MISSING_ZERO, &e), "skip");
}

static void
test_prev_year(void **state)
{
        static const struct {
                const char *in, *prev, *next;
        } cases[] = {
            {"2025", "2024", "2026"},
            {"2025S1", "2024S1", "2026S1"},
            {"2025S2", "2024S2", "2026S2"},
            {"2025Q3", "2024Q3", "2026Q3"},
            {"202503", "202403", "202603"},
            {"202512", "202412", "202612"},
            {"2000", "1999", "2001"},
            {"1900", "", "1901"},
            {"2199Q4", "2198Q4", ""},
            {"2025H1", "", ""},
            {"20251", "", ""},
            {"202513", "", ""},
        };
        char out[PERIOD_BUFSZ];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = period_prev_year(cases[i].in, strlen(cases[i].in), out);

                assert_int_equal(n, strlen(cases[i].prev));
                if (n > 0)
                        assert_string_equal(out, cases[i].prev);
                n = period_next_year(cases[i].in, strlen(cases[i].in), out);
                assert_int_equal(n, strlen(cases[i].next));
                if (n > 0)
                        assert_string_equal(out, cases[i].next);
        }
}

static void
test_parse_errors(void **state)
{
        static const struct {
                const char *in, *msg;
        } cases[] = {
            {"", "empty expression"},
            {"pupil", "unknown indicator \"pupil\" at column 1"},
            {"pupils +", "a number, an indicator or \"(\" expected at column 9"},
            {"(pupils + 1", "\")\" expected to close the \"(\" at column 1 at column 12"},
            {"pupils)", "\")\" without a matching \"(\" at column 7"},
            {"pupils pupils", "an operator (+ - * /) expected at column 8"},
            {"1.2.3", "\"1.2.3\" is not a number"},
            {"prev_year(pupils", "\")\" expected after prev_year's indicator at column 17"},
            {"prev_year(nope)", "unknown indicator \"nope\" at column 11"},
            {"pupils % 2", "an operator (+ - * /) expected at column 8"},
            {"# 1", "unexpected \"#\""},
            {"pupils >= 1", "an operator (+ - * /) expected at column 8"},
        };
        char err[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct rule_expr x;

                err[0] = '\0';
                assert_int_equal(
                    rule_expr_parse(cases[i].in, strlen(cases[i].in), cat, &x, err, sizeof(err)),
                    -1);
                if (strstr(err, cases[i].msg) == NULL)
                        fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, err, cases[i].msg);
        }
}

static void
test_too_long(void **state)
{
        char text[RULE_EXPR_MAX * 2], err[256];
        struct rule_expr x;
        size_t n = 0;

        (void)state;
        /* 40 additions: 81 nodes, past RULE_NODES_MAX. */
        n += (size_t)sprintf(text + n, "1");
        for (int i = 0; i < 40; i++)
                n += (size_t)sprintf(text + n, "+1");
        assert_int_equal(rule_expr_parse(text, n, cat, &x, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "too long"));
        /* Deep parentheses stop at a bound, not at the stack's end. */
        n = 0;
        for (int i = 0; i < 200; i++)
                text[n++] = '(';
        assert_int_equal(rule_expr_parse(text, n, cat, &x, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "nested too deep"));
}

static void
write_rules(const char *content, char *path, size_t pathlen)
{
        FILE *fp;

        snprintf(path, pathlen, "%s/rules.csv", tmpdir);
        fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fputs(content, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

static void
test_load(void **state)
{
        char path[512], err[512];
        struct rules *rs;
        const struct rule *r;
        struct env e = {{0}, {0}};
        rule_num l, rt;
        char msg[RULE_MESSAGE_MAX];

        (void)state;
        write_rules("\xef\xbb\xbf"
                    "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                    "R01,大班额班数不超过班数,large_classes,<=,classes,error,,,\n"
                    "R02,在校生数同比,pupils,<=,prev_year(pupils) * 1.3,warning,school,primary,\n"
                    "R03,入园率,kg_ger_3yr,<=,150,warning,district,,zero\n",
                    path, sizeof(path));
        rs = rules_load(path, cat, tree, err, sizeof(err));
        if (rs == NULL)
                fail_msg("%s", err);
        assert_int_equal(rs->n, 3);
        assert_int_equal(rs->uses_prev, 1);
        r = rules_find(rs, "R01", 3);
        assert_non_null(r);
        assert_int_equal(r->severity, RULE_ERROR);
        assert_null(r->scope);
        assert_null(r->stage);
        assert_int_equal(r->missing, RULE_MISSING_SKIP);
        e.cur[ind("large_classes")] = "40";
        e.cur[ind("classes")] = "38";
        assert_int_equal(rule_eval(r, lookup, &e, &l, &rt), RULE_FAIL);
        rule_message(r, l, rt, 1, msg, sizeof(msg));
        assert_string_equal(
            msg, "rule R01 大班额班数不超过班数: large_classes <= classes fails (40 > 38)");
        e.cur[ind("classes")] = "40";
        assert_int_equal(rule_eval(r, lookup, &e, &l, &rt), RULE_PASS);
        e.cur[ind("classes")] = "";
        assert_int_equal(rule_eval(r, lookup, &e, &l, &rt), RULE_SKIP);

        r = rules_find(rs, "R02", 3);
        assert_string_equal(r->stage, "primary");
        assert_int_equal(r->uses_prev, 1);
        e.cur[ind("pupils")] = "1500";
        e.prev[ind("pupils")] = "1000";
        assert_int_equal(rule_eval(r, lookup, &e, &l, &rt), RULE_FAIL);
        rule_message(r, l, rt, 0, msg, sizeof(msg));
        assert_string_equal(
            msg, "rule R02 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)");

        r = rules_find(rs, "R03", 3);
        assert_string_equal(r->scope, "district");
        assert_int_equal(r->missing, RULE_MISSING_ZERO);
        assert_null(rules_find(rs, "R04", 3));
        rules_destroy(&rs);
        assert_null(rs);

        /* No file: an empty set. */
        assert_int_equal(unlink(path), 0);
        rs = rules_load_optional(tmpdir, cat, tree, err, sizeof(err));
        assert_non_null(rs);
        assert_int_equal(rs->n, 0);
        rules_destroy(&rs);
}

static void
test_load_errors(void **state)
{
        static const char hdr[] = "code,name_zh,left,op,right,severity,scope,stage,missing\n";
        static const struct {
                const char *row, *msg;
        } cases[] = {
            {"R1,名,pupils,=<,classes,error,,,", ":2: op \"=<\" must be one of"},
            {"R1,名,pupils,<=,classes,fatal,,,", ":2: severity \"fatal\" must be error or warning"},
            {"R1,名,pupils,<=,classes,error,,,maybe", ":2: missing \"maybe\" must be skip or zero"},
            {"R1,名,pupils,<=,classes,error,county,,", ":2: scope \"county\" is neither school"},
            {"R1,名,pupils,<=,classes,error,,college,", ":2: no school of orgunits.csv has stage"},
            {"R1,名,pupils,<=,classes,error,district,primary,", ":2: stage is for school rules"},
            {"R1,名,pupil,<=,classes,error,,,",
             ":2: left: unknown indicator \"pupil\" at column 1"},
            {"R1,名,pupils,<=,classes +,error,,,", ":2: right: a number, an indicator"},
            {"R1,名,pupils,<=,prev_year(pupils),error,,,",
             ":2: prev_year is allowed in warnings only"},
            {"R 1,名,pupils,<=,classes,error,,,", ":2: code \"R 1\" must be"},
            {"R1,,pupils,<=,classes,error,,,", ":2: rule R1 has no name_zh"},
            {"R1,名,pupils,<=,classes,error,,", ":2: 8 fields, the header has 9"},
            {"R1,名,pupils,<=,classes,error,,,\nR1,名,pupils,<=,classes,error,,,",
             ":3: rule R1 is defined twice"},
        };
        char path[512], err[512], buf[1024];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct rules *rs;

                snprintf(buf, sizeof(buf), "%s%s\n", hdr, cases[i].row);
                write_rules(buf, path, sizeof(path));
                err[0] = '\0';
                rs = rules_load(path, cat, tree, err, sizeof(err));
                assert_null(rs);
                if (strstr(err, cases[i].msg) == NULL || strstr(err, "rules.csv:") == NULL)
                        fail_msg("%s: got \"%s\", want \"%s\"", cases[i].row, err, cases[i].msg);
        }
        write_rules("code,name_zh,left,op\n", path, sizeof(path));
        assert_null(rules_load(path, cat, tree, err, sizeof(err)));
        assert_non_null(strstr(err, "rules.csv:1:"));
        write_rules("", path, sizeof(path));
        assert_null(rules_load(path, cat, tree, err, sizeof(err)));
        assert_non_null(strstr(err, "empty file"));
        assert_int_equal(unlink(path), 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_numbers),      cmocka_unit_test(test_arithmetic),
            cmocka_unit_test(test_operands),     cmocka_unit_test(test_prev_year),
            cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_too_long),
            cmocka_unit_test(test_load),         cmocka_unit_test(test_load_errors),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
