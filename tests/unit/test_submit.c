/*
 * Unit tests for collector/submit: CSV text in, exact records out.  Every
 * expected record below is written out by hand from the fixture above it.
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

#include "submit.h"

#define BASE 1700000000000000ULL

static struct submission *
read_text(const char *text, const char *unit, const char *period)
{
        char err[256] = "";
        struct submission *s =
            submit_read_mem("t.csv", text, strlen(text), unit, period, BASE, err, sizeof(err));

        assert_non_null(s);
        return s;
}

/* Read text forced to UTF-8: rows with bad bytes are bad rows, as before detection. */
static struct submission *
read_utf8(const char *text)
{
        struct submit_opts o = {.encoding = TEXTENC_UTF8, .version_base = BASE};
        char err[256] = "";
        struct submission *s = submit_buffer("t.csv", text, strlen(text), &o, err, sizeof(err));

        assert_non_null(s);
        return s;
}

static void
check_rec(const struct submission *s, size_t i, unsigned long line, const char *unit,
          const char *period, const char *indicator, const char *value)
{
        const struct submit_record *r;

        assert_true(i < s->n);
        r = &s->rec[i];
        assert_int_equal(r->line, line);
        assert_string_equal(r->unit, unit);
        assert_string_equal(r->period, period);
        assert_string_equal(r->indicator, indicator);
        assert_string_equal(r->value, value);
        assert_null(r->raw);
        assert_null(r->reason);
}

static void
check_rej(const struct submission *s, size_t i, unsigned long line, const char *raw,
          const char *reason)
{
        const struct submit_record *r;

        assert_true(i < s->n);
        r = &s->rec[i];
        assert_int_equal(r->line, line);
        assert_non_null(r->reason);
        assert_string_equal(r->reason, reason);
        assert_non_null(r->raw);
        assert_string_equal(r->raw, raw);
        assert_string_equal(r->indicator, "");
        assert_string_equal(r->value, "");
}

static void
test_basic_and_versions(void **state)
{
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         "2111020001,2024,pupils,1200\n"
                                         "2111020001,2024,teachers,70\n"
                                         "2111020001,2024,pupils,1210\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 3);
        assert_int_equal(s->nrejected, 0);
        check_rec(s, 0, 2, "2111020001", "2024", "pupils", "1200");
        check_rec(s, 1, 3, "2111020001", "2024", "teachers", "70");
        check_rec(s, 2, 4, "2111020001", "2024", "pupils", "1210");
        assert_true(s->rec[0].version == BASE);
        assert_true(s->rec[1].version == BASE + 1);
        assert_true(s->rec[2].version == BASE + 2);
        submission_destroy(&s);
        assert_null(s);
}

static void
test_bom_crlf(void **state)
{
        struct submission *s = read_text("\xEF\xBB\xBFunit,period,indicator,value\r\n"
                                         "2111030002,2025S1,classes,27\r\n"
                                         "\r\n"
                                         "2111030002,2025S1,teachers,55\r\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 2);
        check_rec(s, 0, 2, "2111030002", "2025S1", "classes", "27");
        check_rec(s, 1, 4, "2111030002", "2025S1", "teachers", "55");
        submission_destroy(&s);
}

static void
test_quoted_fields(void **state)
{
        /* An extra name column with commas, doubled quotes and a line break
         * inside quotes; the value column holds a quoted number with a
         * thousands separator, which is normalised, the cell kept in raw. */
        struct submission *s = read_text("name,unit,period,indicator,value\n"
                                         "\"盘锦市\"\"实验\"\"小学, 东校区\",211102,2024,"
                                         "pupils,\"1,234\"\n"
                                         "\"第一行\r\n第二行\",211102,2024,\"teach_area\","
                                         "\" 3456.78 \"\n"
                                         "x,211102,2024,classes,30\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 3);
        assert_string_equal(s->rec[0].value, "1234");
        assert_string_equal(s->rec[0].raw, "211102,2024,pupils,1,234");
        assert_null(s->rec[0].reason);
        check_rec(s, 1, 3, "211102", "2024", "teach_area", "3456.78");
        check_rec(s, 2, 5, "211102", "2024", "classes", "30");
        submission_destroy(&s);
}

/* All 24 orders of the four columns give the same record. */
static void
test_every_column_order(void **state)
{
        static const char *const name[4] = {"unit", "period", "indicator", "value"};
        static const char *const cell[4] = {"2111040003", "2024Q3", "dropouts", "0"};
        int perm[4] = {0, 1, 2, 3}, seen = 0;

        (void)state;
        for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                        for (int c = 0; c < 4; c++)
                                for (int d = 0; d < 4; d++) {
                                        char text[256];
                                        struct submission *s;

                                        if (a == b || a == c || a == d || b == c || b == d ||
                                            c == d)
                                                continue;
                                        perm[0] = a, perm[1] = b, perm[2] = c, perm[3] = d;
                                        snprintf(text, sizeof(text), "%s,%s,%s,%s\n%s,%s,%s,%s\n",
                                                 name[perm[0]], name[perm[1]], name[perm[2]],
                                                 name[perm[3]], cell[perm[0]], cell[perm[1]],
                                                 cell[perm[2]], cell[perm[3]]);
                                        s = read_text(text, NULL, NULL);
                                        assert_int_equal(s->n, 1);
                                        check_rec(s, 0, 2, "2111040003", "2024Q3", "dropouts", "0");
                                        submission_destroy(&s);
                                        seen++;
                                }
        assert_int_equal(seen, 24);
}

static void
test_header_case_and_blanks(void **state)
{
        struct submission *s = read_text(" Unit ,PERIOD,\tIndicator , VaLuE\n"
                                         "  211122 , 2024 ,\tpop_3to5 , 10385 \n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        check_rec(s, 0, 2, "211122", "2024", "pop_3to5", "10385");
        submission_destroy(&s);
}

static void
test_flags_replace_columns(void **state)
{
        struct submission *s = read_text("indicator,value\n"
                                         "pupils,800\n"
                                         "teachers,51\n",
                                         "2111220101", "2025S1");

        (void)state;
        assert_int_equal(s->n, 2);
        check_rec(s, 0, 2, "2111220101", "2025S1", "pupils", "800");
        check_rec(s, 1, 3, "2111220101", "2025S1", "teachers", "51");
        submission_destroy(&s);
}

static void
test_flags_fill_empty_cells(void **state)
{
        /* With the columns present, an empty (or blank) cell takes the flag;
         * a filled cell keeps its own value. */
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         ",,pupils,800\n"
                                         "2111020009,  ,classes,18\n"
                                         " ,2023,teachers,51\n",
                                         "2111220101", "2025S1");

        (void)state;
        assert_int_equal(s->n, 3);
        check_rec(s, 0, 2, "2111220101", "2025S1", "pupils", "800");
        check_rec(s, 1, 3, "2111020009", "2025S1", "classes", "18");
        check_rec(s, 2, 4, "2111220101", "2023", "teachers", "51");
        submission_destroy(&s);
}

static void
test_empty_cells_without_flags(void **state)
{
        /* Without flags empty cells stay empty: the aggregator rejects them. */
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         ",,,\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        assert_int_equal(s->nrejected, 0);
        check_rec(s, 0, 2, "", "", "", "");
        submission_destroy(&s);
}

static void
test_missing_one_column(void **state)
{
        struct submission *s = read_text("unit,period,Indicator\n"
                                         "211102,2024,pupils\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        assert_int_equal(s->nrejected, 1);
        check_rej(s, 0, 1, "unit,period,Indicator", "missing column \"value\"");
        assert_true(s->rec[0].version == BASE);
        submission_destroy(&s);
}

static void
test_missing_several_columns(void **state)
{
        struct submission *s = read_text("indicator,value,note\n"
                                         "pupils,1,x\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "indicator,value,note", "missing columns \"unit\", \"period\"");
        assert_string_equal(s->rec[0].unit, "");
        assert_string_equal(s->rec[0].period, "");
        submission_destroy(&s);

        /* --unit covers one of them; the rejection carries the flag's unit. */
        s = read_text("indicator,value\npupils,1\n", "211102", NULL);
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "indicator,value", "missing column \"period\"");
        assert_string_equal(s->rec[0].unit, "211102");
        submission_destroy(&s);

        s = read_text("school,year\n", NULL, NULL);
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "school,year",
                  "missing columns \"unit\", \"period\", \"indicator\", \"value\"");
        submission_destroy(&s);
}

static void
test_duplicate_column(void **state)
{
        struct submission *s = read_text("unit,period,UNIT,indicator,value\n"
                                         "1,2024,1,pupils,5\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "unit,period,UNIT,indicator,value", "duplicate column \"unit\"");
        submission_destroy(&s);

        s = read_text("value,unit,period,indicator,value,period\n", NULL, NULL);
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "value,unit,period,indicator,value,period",
                  "duplicate columns \"period\", \"value\"");
        submission_destroy(&s);
}

static void
test_field_count(void **state)
{
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         "211102,2024,pupils,10,extra\n"
                                         "211102,2024,pupils\n"
                                         "lonely\n"
                                         "211102,2024,classes,3\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 4);
        assert_int_equal(s->nrejected, 3);
        check_rej(s, 0, 2, "211102,2024,pupils,10,extra", "row has 5 fields, the header has 4");
        check_rej(s, 1, 3, "211102,2024,pupils", "row has 3 fields, the header has 4");
        check_rej(s, 2, 4, "lonely", "row has 1 field, the header has 4");
        check_rec(s, 3, 5, "211102", "2024", "classes", "3");
        assert_true(s->rec[3].version == BASE + 3);
        submission_destroy(&s);
}

static void
test_nul_byte(void **state)
{
        static const char text[] = "unit,period,indicator,value\n"
                                   "211102,2024,pup\0ils,1\n"
                                   "211102,2024,classes,2\n";
        char err[64];
        struct submission *s =
            submit_read_mem("t.csv", text, sizeof(text) - 1, NULL, NULL, BASE, err, sizeof(err));

        (void)state;
        assert_non_null(s);
        assert_int_equal(s->n, 2);
        check_rej(s, 0, 2, "", "field 3 contains a NUL byte");
        check_rec(s, 1, 3, "211102", "2024", "classes", "2");
        assert_true(s->rec[1].version == BASE + 1);
        submission_destroy(&s);
}

static void
test_invalid_utf8(void **state)
{
        static const char text[] = "unit,period,indicator,value\n"
                                   "211102,2024,pupils,\xC3\x28\n"
                                   "211102,2024,classes,2\n";
        char err[256] = "";
        struct submission *s;

        (void)state;
        /* Detected: neither UTF-8 nor GB18030, so the file is refused. */
        assert_null(
            submit_read_mem("t.csv", text, strlen(text), NULL, NULL, BASE, err, sizeof(err)));
        assert_string_equal(err,
                            "t.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)");
        /* Forced UTF-8: the row is bad and the others are read. */
        s = read_utf8(text);
        assert_int_equal(s->n, 2);
        check_rej(s, 0, 2, "", "field 4 is not valid UTF-8");
        check_rec(s, 1, 3, "211102", "2024", "classes", "2");
        submission_destroy(&s);
}

static void
test_unterminated_quote(void **state)
{
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         "211102,2024,pupils,1\n"
                                         "211102,2024,\"classes,2\n"
                                         "211102,2024,teachers,3\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 2);
        check_rec(s, 0, 2, "211102", "2024", "pupils", "1");
        check_rej(s, 1, 3, "", "unterminated quoted field");
        submission_destroy(&s);
}

static void
test_stray_quote(void **state)
{
        /* csvread skips the bad row and goes on with the next one. */
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         "211102,2024,pup\"ils,1\n"
                                         "211102,2024,classes,2\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 2);
        check_rej(s, 0, 2, "",
                  "field 3 has a stray quote (quote the whole field and double the quotes "
                  "inside it)");
        check_rec(s, 1, 3, "211102", "2024", "classes", "2");
        submission_destroy(&s);
}

static void
test_bad_header_row(void **state)
{
        /* A header csvread cannot read leaves nothing to map the rows by. */
        struct submission *s = read_utf8("unit,period,indicator,val\xFFue\n"
                                         "211102,2024,classes,2\n");

        (void)state;
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "", "field 4 is not valid UTF-8");
        submission_destroy(&s);
}

static void
test_empty_and_header_only(void **state)
{
        struct submission *s = read_text("", NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "", "no header row (the file is empty)");
        submission_destroy(&s);

        s = read_text("unit,period,indicator,value\r\n", NULL, NULL);
        assert_int_equal(s->n, 0);
        assert_int_equal(s->nrejected, 0);
        submission_destroy(&s);
}

static void
test_long_field(void **state)
{
        char text[1024], value[301];
        struct submission *s;

        (void)state;
        memset(value, '7', 300);
        value[300] = '\0';
        snprintf(text, sizeof(text), "unit,period,indicator,value\n211102,2024,pupils,%s\n", value);
        s = read_text(text, NULL, NULL);
        assert_int_equal(s->n, 1);
        assert_string_equal(s->rec[0].reason, "value is longer than 256 bytes");
        assert_int_equal(strlen(s->rec[0].raw), strlen("211102,2024,pupils,") + 300);
        submission_destroy(&s);

        /* Exactly 256 bytes still fits the wire. */
        value[256] = '\0';
        snprintf(text, sizeof(text), "unit,period,indicator,value\n211102,2024,pupils,%s\n", value);
        s = read_text(text, NULL, NULL);
        assert_int_equal(s->n, 1);
        check_rec(s, 0, 2, "211102", "2024", "pupils", value);
        submission_destroy(&s);
}

static void
test_raw_cut_on_character(void **state)
{
        /* Row: "a" + 700 × 中 (3 bytes each), then the same again, then 3
         * short fields: 5 fields for a 4-column header.  raw keeps 4096 bytes
         * at most: 2101 bytes + "," leave 1994 for the second field, "a" and
         * 664 whole characters (1993 bytes) and one byte of the 665th, which
         * is dropped: 4095 bytes. */
        size_t big = 1 + 700 * 3;
        char *text = malloc(64 + 2 * big + 16), *p;
        char *want = malloc(4096 + 1), *w;
        struct submission *s;

        (void)state;
        p = text + sprintf(text, "unit,period,indicator,value\n");
        for (int f = 0; f < 2; f++) {
                *p++ = 'a';
                for (int i = 0; i < 700; i++)
                        p += sprintf(p, "中");
                *p++ = ',';
        }
        p += sprintf(p, "x,y,z\n");
        w = want;
        *w++ = 'a';
        for (int i = 0; i < 700; i++)
                w += sprintf(w, "中");
        *w++ = ',';
        *w++ = 'a';
        for (int i = 0; i < 664; i++)
                w += sprintf(w, "中");
        *w = '\0';
        assert_int_equal(strlen(want), 4095);

        s = read_text(text, NULL, NULL);
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 2, want, "row has 5 fields, the header has 4");
        submission_destroy(&s);
        free(text);
        free(want);
}

static void
test_read_file(void **state)
{
        char dir[] = "/tmp/test_submit.XXXXXX", path[64], err[256] = "";
        struct submission *s;
        FILE *fp;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/s.csv", dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("\xEF\xBB\xBFvalue,indicator\r\n12,classes\r\n", fp);
        fclose(fp);

        s = submit_read(path, "2111030007", "2024", 42, err, sizeof(err));
        assert_non_null(s);
        assert_int_equal(s->n, 1);
        check_rec(s, 0, 2, "2111030007", "2024", "classes", "12");
        assert_true(s->rec[0].version == 42);
        submission_destroy(&s);

        unlink(path);
        s = submit_read(path, NULL, NULL, 42, err, sizeof(err));
        assert_null(s);
        assert_non_null(strstr(err, path));
        rmdir(dir);
}

static void
test_flag_too_long(void **state)
{
        char flag[300], err[256] = "";
        struct submission *s;

        (void)state;
        memset(flag, 'u', 299);
        flag[299] = '\0';
        s = submit_read_mem("t.csv", "x", 1, flag, NULL, 0, err, sizeof(err));
        assert_null(s);
        assert_string_equal(err, "t.csv: --unit is longer than 256 bytes");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_basic_and_versions),
            cmocka_unit_test(test_bom_crlf),
            cmocka_unit_test(test_quoted_fields),
            cmocka_unit_test(test_every_column_order),
            cmocka_unit_test(test_header_case_and_blanks),
            cmocka_unit_test(test_flags_replace_columns),
            cmocka_unit_test(test_flags_fill_empty_cells),
            cmocka_unit_test(test_empty_cells_without_flags),
            cmocka_unit_test(test_missing_one_column),
            cmocka_unit_test(test_missing_several_columns),
            cmocka_unit_test(test_duplicate_column),
            cmocka_unit_test(test_field_count),
            cmocka_unit_test(test_nul_byte),
            cmocka_unit_test(test_invalid_utf8),
            cmocka_unit_test(test_unterminated_quote),
            cmocka_unit_test(test_stray_quote),
            cmocka_unit_test(test_bad_header_row),
            cmocka_unit_test(test_empty_and_header_only),
            cmocka_unit_test(test_long_field),
            cmocka_unit_test(test_raw_cut_on_character),
            cmocka_unit_test(test_read_file),
            cmocka_unit_test(test_flag_too_long),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
