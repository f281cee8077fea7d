/*
 * Unit tests for lib/cfgload: the shared reader of config files.  A small
 * file of its own (two columns, one optional) read row by row, and every
 * problem the reader reports itself, with its exact "FILE:LINE: problem":
 * an empty file, a missing required column, a row with the wrong field
 * count, the row cap, a row function's own failure, a missing file (an
 * error, or no rows when the file is optional).  The helpers: quoting cut
 * at a character boundary, trimming, absent columns, codes.
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

#include "cfgload.h"

static char tmpdir[] = "/tmp/test_cfgload_XXXXXX";
static char path[512];

enum { F_CODE, F_NAME, F_NCOLS };
static const struct csvread_column cols[F_NCOLS] = {[F_CODE] = {"code", 1}, [F_NAME] = {"name", 0}};

struct loader {
        struct cfgload cl;
        int rows;
        char codes[8][16];
        char names[8][16];
};

static int
add(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        struct cfgload_field code = cfgload_column(row, col, F_CODE);
        struct cfgload_field name = cfgload_column(row, col, F_NAME);

        if (!cfgload_code_valid(code.s, code.len, 8)) {
                cfgload_fail(&ld->cl, row->line, "bad code \"%.*s\"",
                             cfgload_show(code.s, code.len), code.s);
                return -1;
        }
        snprintf(ld->codes[ld->rows], sizeof(ld->codes[0]), "%.*s", (int)code.len, code.s);
        snprintf(ld->names[ld->rows], sizeof(ld->names[0]), "%.*s", (int)name.len, name.s);
        ld->rows++;
        return 0;
}

static const struct cfgload_file file = {
    .cols = cols, .ncols = F_NCOLS, .header = "code,name", .max_rows = 3, .row = add};

static int
setup(void **state)
{
        (void)state;
        if (mkdtemp(tmpdir) == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/forms.csv", tmpdir);
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        unlink(path);
        return rmdir(tmpdir);
}

static void
write_file(const char *content)
{
        FILE *fp = fopen(path, "wb");

        assert_non_null(fp);
        assert_int_equal(fwrite(content, 1, strlen(content), fp), strlen(content));
        assert_int_equal(fclose(fp), 0);
}

/* Read path as `f` says; returns cfgload_read's result, the message in err. */
static int
load(const struct cfgload_file *f, struct loader *ld, char *err, size_t errlen)
{
        memset(ld, 0, sizeof(*ld));
        err[0] = '\0';
        ld->cl = (struct cfgload){.path = path, .err = err, .errlen = errlen};
        return cfgload_read(&ld->cl, f, ld);
}

static void
expect_error(const char *content, const char *problem)
{
        struct loader ld;
        char err[512], want[1024];

        write_file(content);
        assert_int_equal(load(&file, &ld, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:%s", path, problem);
        assert_string_equal(err, want);
}

static void
test_good(void **state)
{
        struct loader ld;
        char err[512];

        (void)state;
        /* Blank lines before the header, columns in another order, blanks. */
        write_file("\n name , code \n 一中 , s1\n,s2\n");
        assert_int_equal(load(&file, &ld, err, sizeof(err)), 0);
        assert_int_equal(ld.cl.header_line, 2);
        assert_int_equal(ld.rows, 2);
        assert_string_equal(ld.codes[0], "s1");
        assert_string_equal(ld.names[0], "一中");
        assert_string_equal(ld.codes[1], "s2");
        assert_string_equal(ld.names[1], "");

        /* The optional column left out: "" for every row. */
        write_file("code\ns3\n");
        assert_int_equal(load(&file, &ld, err, sizeof(err)), 0);
        assert_int_equal(ld.rows, 1);
        assert_string_equal(ld.names[0], "");
}

static void
test_errors(void **state)
{
        (void)state;
        expect_error("", "1: empty file: expected the header code,name");
        expect_error("name\nx\n", "1: missing column \"code\"");
        expect_error("code,name\ns1,a\ns2\n", "3: row has 1 fields, the header has 2");
        expect_error("code,name\na,1\nb,2\nc,3\nd,4\n", "5: more than 3 rows");
        expect_error("code,name\ns1,a\nnot a code!,b\n", "3: bad code \"not a code!\"");
}

static void
test_missing_file(void **state)
{
        struct cfgload_file optional = file;
        struct loader ld;
        char err[512];

        (void)state;
        unlink(path);
        assert_int_equal(load(&file, &ld, err, sizeof(err)), -1);
        assert_non_null(strstr(err, path));
        optional.optional = 1;
        assert_int_equal(load(&optional, &ld, err, sizeof(err)), 0);
        assert_int_equal(ld.rows, 0);
        assert_string_equal(err, "");
}

static void
test_helpers(void **state)
{
        char long_text[200];
        struct cfgload_field f;

        (void)state;
        /* 63 ASCII bytes then a 3-byte character: the cut falls before it. */
        memset(long_text, 'a', 63);
        strcpy(long_text + 63, "中文");
        assert_int_equal(cfgload_show(long_text, strlen(long_text)), 63);
        assert_int_equal(cfgload_show("short", 5), 5);
        memset(long_text, 'b', 100);
        assert_int_equal(cfgload_show(long_text, 100), CFGLOAD_SHOW_MAX);

        f = cfgload_trimmed("  x y \t", 7);
        assert_int_equal(f.len, 3);
        assert_memory_equal(f.s, "x y", 3);

        assert_true(cfgload_code_valid("A-1_b.2", 7, 7));
        assert_false(cfgload_code_valid("A-1_b.2", 7, 6));
        assert_false(cfgload_code_valid("", 0, 8));
        assert_false(cfgload_code_valid("a b", 3, 8));
        assert_false(cfgload_code_valid("中", 3, 8));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_missing_file),
            cmocka_unit_test(test_helpers),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
