/*
 * Unit tests for lib/forms: forms.csv read against a small tree and
 * catalogue written here.  An absent file is no forms (0), a good file
 * loads row by row, each problem stops the load with "PATH:LINE: problem",
 * and forms_lists() answers the template's question: does this stage's
 * form list this indicator (yes for a stage without a form).
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
#include "forms.h"
#include "testutil.h"

static char path[256];
static struct config *cfg;

/* Stages: primary (S1), junior (S2); the district D has a stage no school has. */
static const char orgunits[] = "code,parent,level,name,stage,locality,ownership\n"
                               "C,,city,City,,,\n"
                               "D,C,district,District,senior,,\n"
                               "S1,D,school,School 1,primary,,\n"
                               "S2,D,school,School 2,junior,,\n";

static const char indicators[] = "code,name_zh,name_en,unit,kind,numerator,denominator,"
                                 "multiplier,decimals\n"
                                 "pupils,在校生数,,人,count,,,,\n"
                                 "area,面积,,m²,amount,,,,2\n"
                                 "teachers,专任教师数,,人,count,,,,\n"
                                 "ratio,生师比,,,ratio,pupils,teachers,1,2\n";

static int
setup(void **state)
{
        if (testutil_dir_setup(state) < 0 ||
            (cfg = testutil_config_write(testutil_dir(), orgunits, indicators)) == NULL)
                return -1;
        snprintf(path, sizeof path, "%s/forms.csv", testutil_dir());
        return 0;
}

static int
teardown(void **state)
{
        config_destroy(&cfg);
        return testutil_dir_teardown(state);
}

static int
ind(const char *code)
{
        return catalog_find(cfg->cat, code, strlen(code));
}

static void
test_absent(void **state)
{
        struct forms *f = (struct forms *)&f;
        char err[512] = "";

        (void)state;
        unlink(path);
        assert_int_equal(forms_load(path, cfg->cat, cfg->tree, &f, err, sizeof err), 0);
        assert_null(f);
        /* No forms: every indicator is on every stage's form. */
        assert_true(forms_lists(NULL, "primary", ind("area")));
        assert_false(forms_has_stage(NULL, "primary"));
        forms_destroy(&f);
        forms_destroy(NULL);
}

static void
test_good(void **state)
{
        struct forms *f = NULL;
        char err[512] = "";

        (void)state;
        testutil_put("forms.csv", "stage,indicator\r\nprimary,pupils\r\nprimary,area\r\n"
                                  "junior,teachers\r\n");
        assert_int_equal(forms_load(path, cfg->cat, cfg->tree, &f, err, sizeof err), 1);
        assert_non_null(f);
        assert_int_equal(f->n, 3);
        assert_int_equal(f->item[2].line, 4);
        assert_string_equal(f->item[2].stage, "junior");
        assert_int_equal(f->item[2].indicator, ind("teachers"));
        assert_true(forms_lists(f, "primary", ind("area")));
        assert_false(forms_lists(f, "primary", ind("teachers")));
        assert_false(forms_lists(f, "junior", ind("pupils")));
        assert_true(forms_has_stage(f, "junior"));
        /* A stage with no row (or none at all) has no form: everything. */
        assert_false(forms_has_stage(f, "kindergarten"));
        assert_true(forms_lists(f, "kindergarten", ind("pupils")));
        assert_true(forms_lists(f, "", ind("pupils")));
        forms_destroy(&f);
        assert_null(f);
}

static void
expect_error(const char *content, const char *want)
{
        struct forms *f = NULL;
        char err[512] = "", full[512];

        testutil_put("forms.csv", content);
        snprintf(full, sizeof full, "%s:%s", path, want);
        assert_int_equal(forms_load(path, cfg->cat, cfg->tree, &f, err, sizeof err), -1);
        assert_null(f);
        assert_string_equal(err, full);
}

static void
test_errors(void **state)
{
        (void)state;
        expect_error("", "1: empty file: expected the header stage,indicator");
        expect_error("indicator\n", "1: missing column \"stage\" (the header is stage,indicator)");
        /* A stage only a district has is no school's stage. */
        expect_error("stage,indicator\nsenior,pupils\n",
                     "2: unknown stage \"senior\" (no school in orgunits.csv has it)");
        expect_error("stage,indicator\nprimary,ratio\n",
                     "2: indicator \"ratio\" is a ratio, computed from pupils and teachers: "
                     "list those instead (a ratio is never submitted)");
        expect_error("stage,indicator\nprimary,pupils\nprimary,pupils\n",
                     "3: stage \"primary\" lists indicator \"pupils\" again (first at line 2)");
        expect_error("stage,indicator\nprimary,pupils,x\n",
                     "2: row has 3 fields, the header has 2");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_absent),
            cmocka_unit_test(test_good),
            cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
