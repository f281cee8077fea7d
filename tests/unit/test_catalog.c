/*
 * Unit tests for lib/catalog and lib/config: a catalogue that exercises
 * every field (header shuffled, extra column, BOM, CRLF, quoting, forward
 * references), every load error with its exact "FILE:LINE: problem", and
 * the config directory loader on the fixture in data/config_ok.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog.h"
#include "config.h"
#include "testutil.h"
#include "util.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

/*
 * Indices by line: 0 pupils (2), 1 enrol_rate (3, a ratio naming pop and
 * pupils before pop is defined), 2 area (4), 3 pop (5), 4 per_pupil (6,
 * area / pupils), 5 self (7, pupils / pupils), 6 teachers (9, after a blank
 * line).
 */
static const char good[] =
    "\xef\xbb\xbf"
    "Kind , CODE,name_zh,name_en,unit,numerator,denominator,multiplier,decimals,comment\r\n"
    "count,pupils,在校生数,Pupils,人,,,,,\r\n"
    "ratio,enrol_rate,毛入学率,\"Gross enrolment rate, %\",%,pupils,pop,100,1,forward refs\r\n"
    "amount,area,校舍面积,Floor area,m2,,,,2,\r\n"
    "AMOUNT,pop,常住人口,\"Resident \"\"population\"\"\",人,,,,0,\r\n"
    "ratio,per_pupil,生均面积,Area per pupil,m2,area,pupils,,2,\r\n"
    "ratio,self,自比,Self ratio,,pupils,pupils,2.5e-1,,\r\n"
    "\r\n"
    "count,teachers, 专任教师数 , Teachers ,人,,,,0,\r\n";

static void
test_good(void **state)
{
        char path[256], err[512];
        struct catalog *c;

        (void)state;
        testutil_write(testutil_dir(), "good.csv", good, sizeof(good) - 1, path, sizeof(path));
        c = catalog_load(path, err, sizeof(err));
        if (c == NULL)
                print_error("%s\n", err);
        assert_non_null(c);
        assert_int_equal(c->n, 7);

        assert_string_equal(c->ind[0].code, "pupils");
        assert_string_equal(c->ind[0].name_zh, "在校生数");
        assert_string_equal(c->ind[0].name_en, "Pupils");
        assert_string_equal(c->ind[0].unit, "人");
        assert_int_equal(c->ind[0].kind, IND_COUNT);
        assert_int_equal(c->ind[0].scale, 0);
        assert_int_equal(c->ind[0].num, -1);
        assert_int_equal(c->ind[0].den, -1);
        assert_true(c->ind[0].multiplier == 1.0L);
        assert_string_equal(c->ind[0].multiplier_text, "1");
        assert_int_equal(c->ind[0].line, 2);
        /* pupils is used by enrol_rate (1), per_pupil (4) and self (5), once each. */
        assert_int_equal(c->ind[0].nratios, 3);
        assert_int_equal(c->ind[0].ratios[0], 1);
        assert_int_equal(c->ind[0].ratios[1], 4);
        assert_int_equal(c->ind[0].ratios[2], 5);

        assert_string_equal(c->ind[1].code, "enrol_rate");
        assert_string_equal(c->ind[1].name_en, "Gross enrolment rate, %");
        assert_int_equal(c->ind[1].kind, IND_RATIO);
        assert_int_equal(c->ind[1].num, 0);
        assert_int_equal(c->ind[1].den, 3);
        assert_true(c->ind[1].multiplier == 100.0L);
        assert_string_equal(c->ind[1].multiplier_text, "100");
        assert_int_equal(c->ind[1].scale, 1);
        assert_int_equal(c->ind[1].nratios, 0);
        assert_null(c->ind[1].ratios);
        assert_int_equal(c->ind[1].line, 3);

        assert_string_equal(c->ind[2].code, "area");
        assert_int_equal(c->ind[2].kind, IND_AMOUNT);
        assert_int_equal(c->ind[2].scale, 2);
        assert_int_equal(c->ind[2].nratios, 1);
        assert_int_equal(c->ind[2].ratios[0], 4);

        assert_string_equal(c->ind[3].code, "pop");
        assert_string_equal(c->ind[3].name_en, "Resident \"population\"");
        assert_int_equal(c->ind[3].kind, IND_AMOUNT);
        assert_int_equal(c->ind[3].scale, 0);
        assert_int_equal(c->ind[3].nratios, 1);
        assert_int_equal(c->ind[3].ratios[0], 1);

        assert_int_equal(c->ind[4].num, 2);
        assert_int_equal(c->ind[4].den, 0);
        assert_true(c->ind[4].multiplier == 1.0L);
        assert_string_equal(c->ind[4].multiplier_text, "1");

        assert_int_equal(c->ind[5].num, 0);
        assert_int_equal(c->ind[5].den, 0);
        assert_true(c->ind[5].multiplier == 0.25L);
        assert_string_equal(c->ind[5].multiplier_text, "2.5e-1");
        assert_int_equal(c->ind[5].scale, 0);

        assert_string_equal(c->ind[6].code, "teachers");
        assert_string_equal(c->ind[6].name_zh, "专任教师数");
        assert_string_equal(c->ind[6].name_en, "Teachers");
        assert_int_equal(c->ind[6].line, 9);
        assert_int_equal(c->ind[6].nratios, 0);

        assert_int_equal(catalog_find(c, "pop", 3), 3);
        assert_int_equal(catalog_find(c, "teachersX", 8), 6);
        assert_int_equal(catalog_find(c, "Pupils", 6), -1);
        assert_int_equal(catalog_find(c, "", 0), -1);

        assert_string_equal(indicator_kind_name(IND_COUNT), "count");
        assert_string_equal(indicator_kind_name(IND_AMOUNT), "amount");
        assert_string_equal(indicator_kind_name(IND_RATIO), "ratio");

        catalog_destroy(&c);
        assert_null(c);
        catalog_destroy(&c);
        catalog_destroy(NULL);
        unlink(path);
}

/* Only the columns whose values could all be empty may be left out. */
static void
test_minimal_header(void **state)
{
        static const char in[] =
            "code,name_zh,name_en,unit,kind\nn,数,N,人,count\na,额,A,元,amount\n";
        char path[256], err[512];
        struct catalog *c;

        (void)state;
        testutil_write(testutil_dir(), "min.csv", in, sizeof(in) - 1, path, sizeof(path));
        c = catalog_load(path, err, sizeof(err));
        assert_non_null(c);
        assert_int_equal(c->n, 2);
        assert_int_equal(c->ind[1].kind, IND_AMOUNT);
        assert_int_equal(c->ind[1].scale, 0);
        catalog_destroy(&c);
        unlink(path);
}

#define HDR       "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n"
#define CODE_RULE "codes are 1..64 characters of A-Z a-z 0-9 _ . -"

static const struct {
        const char *name;
        const char *in;
        const char *err; /* after "PATH:" */
} errors[] = {
    {"empty file", "",
     "1: empty file: expected the header "
     "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals"},
    {"missing kind", "code,name_zh,name_en,unit\n", "1: missing column \"kind\""},
    {"missing code", "name_zh,name_en,unit,kind\n", "1: missing column \"code\""},
    {"missing column on a later header line", "\n\r\ncode,name_zh,name_en,kind\n",
     "3: missing column \"unit\""},
    {"duplicate column", "code,name_zh,name_en,unit,kind, KIND \n", "1: duplicate column \"kind\""},
    {"duplicate code", HDR "a,,,,count,,,,\nb,,,,count,,,,\n\na,,,,amount,,,,\n",
     "5: duplicate code \"a\" (first defined on line 2)"},
    {"empty code", HDR "a,,,,count,,,,\n  ,,,,count,,,,\n", "3: empty code"},
    {"bad code", HDR "a b,,,,count,,,,\n", "2: bad code \"a b\": " CODE_RULE},
    {"bad code punctuation", HDR "ok,,,,count,,,,\na/b,,,,count,,,,\n",
     "3: bad code \"a/b\": " CODE_RULE},
    {"code of 65 bytes",
     HDR "A1234567890123456789012345678901234567890123456789012345678901234,,,,count,,,,\n",
     "2: bad code "
     "\"A123456789012345678901234567890123456789012345678901234567890123\": " CODE_RULE},
    {"unknown kind", HDR "a,,,,count,,,,\nb,,,,percent,,,,\n",
     "3: indicator \"b\" has unknown kind \"percent\" (count, amount or ratio)"},
    {"empty kind", HDR "a,,,,,,,,\n",
     "2: indicator \"a\" has unknown kind \"\" (count, amount or ratio)"},
    {"ratio with unknown numerator", HDR "a,,,,count,,,,\nr,,,,ratio,y,a,,\nb,,,,count,,,,\n",
     "3: ratio \"r\" names unknown numerator \"y\""},
    {"ratio with unknown denominator", HDR "a,,,,count,,,,\nr,,,,ratio,a,zz,,\n",
     "3: ratio \"r\" names unknown denominator \"zz\""},
    {"ratio naming a ratio", HDR "a,,,,count,,,,\nr1,,,,ratio,a,a,,\nr2,,,,ratio,r1,a,,\n",
     "4: ratio \"r2\" names ratio \"r1\" as its numerator; it must be a count or an amount"},
    {"ratio naming a later ratio", HDR "a,,,,count,,,,\nr2,,,,ratio,a,r1,,\nr1,,,,ratio,a,a,,\n",
     "3: ratio \"r2\" names ratio \"r1\" as its denominator; it must be a count or an amount"},
    {"ratio naming itself", HDR "r,,,,ratio,r,r,,\n",
     "2: ratio \"r\" names ratio \"r\" as its numerator; it must be a count or an amount"},
    {"ratio without numerator", HDR "a,,,,count,,,,\nr,,,,ratio,,a,,\n",
     "3: ratio \"r\" has no numerator"},
    {"ratio without denominator", HDR "a,,,,count,,,,\nr,,,,ratio,a, ,,\n",
     "3: ratio \"r\" has no denominator"},
    {"ratio without the columns", "code,name_zh,name_en,unit,kind\na,,,,count\nr,,,,ratio\n",
     "3: ratio \"r\" has no numerator"},
    {"zero multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,0,\n",
     "3: ratio \"r\" has a bad multiplier \"0\" (a positive number)"},
    {"negative multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,-100,\n",
     "3: ratio \"r\" has a bad multiplier \"-100\" (a positive number)"},
    {"text multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,hundred,\n",
     "3: ratio \"r\" has a bad multiplier \"hundred\" (a positive number)"},
    {"infinite multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,inf,\n",
     "3: ratio \"r\" has a bad multiplier \"inf\" (a positive number)"},
    {"nan multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,NaN,\n",
     "3: ratio \"r\" has a bad multiplier \"NaN\" (a positive number)"},
    {"hex multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,0x10,\n",
     "3: ratio \"r\" has a bad multiplier \"0x10\" (a positive number)"},
    {"overflowing multiplier", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,1e99999,\n",
     "3: ratio \"r\" has a bad multiplier \"1e99999\" (a positive number)"},
    {"multiplier with junk", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,100%,\n",
     "3: ratio \"r\" has a bad multiplier \"100%\" (a positive number)"},
    {"count with decimals", HDR "a,,,,count,,,,2\n",
     "2: count \"a\" has decimals \"2\"; counts are whole numbers (leave decimals empty or 0)"},
    {"amount with 5 decimals", HDR "a,,,,amount,,,,5\n",
     "2: amount \"a\" has bad decimals \"5\" (0..4)"},
    {"amount with negative decimals", HDR "a,,,,amount,,,,-1\n",
     "2: amount \"a\" has bad decimals \"-1\" (0..4)"},
    {"amount with text decimals", HDR "a,,,,amount,,,,two\n",
     "2: amount \"a\" has bad decimals \"two\" (0..4)"},
    {"amount with fractional decimals", HDR "a,,,,amount,,,,1.5\n",
     "2: amount \"a\" has bad decimals \"1.5\" (0..4)"},
    {"ratio with 11 decimals", HDR "a,,,,count,,,,\nr,,,,ratio,a,a,,11\n",
     "3: ratio \"r\" has bad decimals \"11\" (0..10)"},
    {"too few fields", HDR "a,,,,count\n", "2: row has 5 fields, the header has 9"},
    {"too many fields", HDR "a,,,,count,,,,,\n", "2: row has 10 fields, the header has 9"},
    /* Not UTF-8 and not GB18030 either (0xFF is neither's), so not text. */
    {"invalid utf-8", HDR "a,\xff,,,count,,,,\n",
     " not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)"},
    {"nul byte", HDR "a,,,,count,,,,\nb,x\0y,,,count,,,,\n", "3: field 2 contains a NUL byte"},
    {"unterminated quote", HDR "a,,,,count,,,,\nb,\"open,,,count,,,,\n",
     "3: unterminated quoted field"},
    {"stray quote", HDR "a,x\"y,,,count,,,,\n",
     "2: field 2 has a stray quote (quote the whole field and double the quotes inside it)"},
};

/* The NUL case needs its length given explicitly. */
static size_t
case_len(size_t i)
{
        if (strcmp(errors[i].name, "nul byte") == 0)
                return sizeof(HDR "a,,,,count,,,,\nb,x\0y,,,count,,,,\n") - 1;
        return strlen(errors[i].in);
}

static void
test_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                char path[256], err[1024], want[1024];
                struct catalog *c;

                testutil_write(testutil_dir(), "err.csv", errors[i].in, case_len(i), path,
                               sizeof(path));
                strcpy(err, "untouched");
                c = catalog_load(path, err, sizeof(err));
                snprintf(want, sizeof(want), "%s:%s", path, errors[i].err);
                if (c != NULL || strcmp(err, want) != 0)
                        print_error("case \"%s\": got \"%s\"\n", errors[i].name, err);
                assert_null(c);
                assert_string_equal(err, want);
                unlink(path);
        }
}

static void
test_too_many(void **state)
{
        size_t cap = 4098 * 32, len = 0;
        char *in = xmalloc(cap), path[256], err[512], want[512];
        struct catalog *c;

        (void)state;
        len += (size_t)snprintf(in + len, cap - len, HDR);
        for (int i = 0; i < 4096; i++)
                len += (size_t)snprintf(in + len, cap - len, "i%d,,,,count,,,,\n", i);
        testutil_write(testutil_dir(), "many.csv", in, len, path, sizeof(path));
        c = catalog_load(path, err, sizeof(err));
        assert_non_null(c);
        assert_int_equal(c->n, 4096);
        assert_int_equal(catalog_find(c, "i4095", 5), 4095);
        catalog_destroy(&c);

        /* The 4097th indicator, on line 4098, is one too many. */
        len += (size_t)snprintf(in + len, cap - len, "extra,,,,count,,,,\n");
        testutil_write(testutil_dir(), "many.csv", in, len, path, sizeof(path));
        c = catalog_load(path, err, sizeof(err));
        assert_null(c);
        snprintf(want, sizeof(want), "%s:4098: more than 4096 indicators", path);
        assert_string_equal(err, want);
        free(in);
        unlink(path);
}

static void
test_open_error(void **state)
{
        char err[256];

        (void)state;
        assert_null(catalog_load("/nonexistent/indicators.csv", err, sizeof(err)));
        assert_string_equal(err, "/nonexistent/indicators.csv: No such file or directory");
}

static void
test_config_ok(void **state)
{
        char err[512];
        struct config *cfg =
            config_load(SOURCE_ROOT "/tests/unit/data/config_ok", err, sizeof(err));

        (void)state;
        if (cfg == NULL)
                print_error("%s\n", err);
        assert_non_null(cfg);
        assert_string_equal(cfg->dir, SOURCE_ROOT "/tests/unit/data/config_ok");
        assert_int_equal(cfg->tree->n, 3);
        assert_string_equal(cfg->tree->u[cfg->tree->root].code, "211100");
        assert_string_equal(cfg->tree->u[1].name, "双台子区");
        assert_int_equal(orgtree_find(cfg->tree, "211102001", 9), 2);
        assert_int_equal(cfg->cat->n, 3);
        assert_int_equal(cfg->cat->ind[2].num, 0);
        assert_int_equal(cfg->cat->ind[2].den, 1);
        assert_int_equal(cfg->cat->ind[2].scale, 2);
        config_destroy(&cfg);
        assert_null(cfg);
        config_destroy(&cfg);
        config_destroy(NULL);
}

/* Errors from either file come back as the loader wrote them. */
static void
test_config_errors(void **state)
{
        static const char units[] = "code,parent,level,name\nC,,city,C\nD,X,district,D\n";
        static const char units_ok[] = "code,parent,level,name\nC,,city,C\n";
        static const char inds[] = HDR "a,,,,count,,,,\nr,,,,ratio,a,b,,\n";
        char path[256], err[512], want[512];

        (void)state;
        /* No files at all: the tree is loaded first. */
        assert_null(config_load(testutil_dir(), err, sizeof(err)));
        snprintf(want, sizeof(want), "%s/orgunits.csv: No such file or directory", testutil_dir());
        assert_string_equal(err, want);

        testutil_write(testutil_dir(), "orgunits.csv", units, sizeof(units) - 1, path,
                       sizeof(path));
        assert_null(config_load(testutil_dir(), err, sizeof(err)));
        snprintf(want, sizeof(want), "%s/orgunits.csv:3: unit \"D\" has unknown parent \"X\"",
                 testutil_dir());
        assert_string_equal(err, want);

        testutil_write(testutil_dir(), "orgunits.csv", units_ok, sizeof(units_ok) - 1, path,
                       sizeof(path));
        assert_null(config_load(testutil_dir(), err, sizeof(err)));
        snprintf(want, sizeof(want), "%s/indicators.csv: No such file or directory",
                 testutil_dir());
        assert_string_equal(err, want);

        testutil_write(testutil_dir(), "indicators.csv", inds, sizeof(inds) - 1, path,
                       sizeof(path));
        assert_null(config_load(testutil_dir(), err, sizeof(err)));
        snprintf(want, sizeof(want),
                 "%s/indicators.csv:3: ratio \"r\" names unknown denominator \"b\"",
                 testutil_dir());
        assert_string_equal(err, want);
        unlink(path);
        snprintf(path, sizeof(path), "%s/orgunits.csv", testutil_dir());
        unlink(path);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good),          cmocka_unit_test(test_minimal_header),
            cmocka_unit_test(test_errors),        cmocka_unit_test(test_too_many),
            cmocka_unit_test(test_open_error),    cmocka_unit_test(test_config_ok),
            cmocka_unit_test(test_config_errors),
        };

        return cmocka_run_group_tests(tests, testutil_dir_setup, testutil_dir_teardown);
}
