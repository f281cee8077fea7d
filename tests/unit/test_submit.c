/*
 * Unit tests for collector/submit: CSV text in, exact records out.  Every
 * expected record below is written out by hand from the fixture above it.
 */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "numtext.h"
#include "proto.h"
#include "submit.h"
#include "xlsx_build.h"
#include "wire.h"

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

/* A file with more rows than the cap is refused whole, naming the file and the limit. */
static void
test_row_limit(void **state)
{
        const char *text = "unit,period,indicator,value\n"
                           "2111000001,2024,pupils,1\n"
                           "2111000001,2024,\"bad\"x,2\n"
                           "2111000001,2024,classes,3\n";
        struct submit_opts o = {.version_base = BASE, .max_rows = 4};
        char err[512] = "";
        struct submission *s;

        (void)state;
        /* Four rows, bad one included: at the cap, read. */
        s = submit_buffer("t.csv", text, strlen(text), &o, err, sizeof(err));
        assert_non_null(s);
        assert_int_equal(s->n, 3);
        submission_destroy(&s);
        /* Three allowed: refused as a whole. */
        o.max_rows = 3;
        s = submit_buffer("t.csv", text, strlen(text), &o, err, sizeof(err));
        assert_null(s);
        assert_string_equal(err, "t.csv: more than 3 rows (line 4 is past the limit); nothing of "
                                 "it was sent: split it into files of at most 3 rows (the limit "
                                 "is EDUSTAT_MAX_ROWS)");
        /* The environment sets the default. */
        o.max_rows = 0;
        setenv("EDUSTAT_MAX_ROWS", "2", 1);
        s = submit_buffer("t.csv", text, strlen(text), &o, err, sizeof(err));
        unsetenv("EDUSTAT_MAX_ROWS");
        assert_null(s);
        assert_non_null(strstr(err, "more than 2 rows (line 3 is past"));
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

/* ---- wide files, normalised values, workbooks ---- */

static char catdir[64];
static struct submit_catalog cat;

/*
 * A small catalogue in a temporary config directory, as EDUSTAT_CONFIG,
 * saved in GBK as Excel on a Chinese Windows saves it: the wide headers
 * that match its Chinese names show the config loader decoded it.
 */
static int
cat_setup(void **state)
{
        char path[128], gbk[1024];
        FILE *fp;
        iconv_t cd;

        (void)state;
        strcpy(catdir, "/tmp/test_submit_cfg.XXXXXX");
        if (mkdtemp(catdir) == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/indicators.csv", catdir);
        if ((fp = fopen(path, "w")) == NULL)
                return -1;
        {
                static const char utf8[] =
                    "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n"
                    "pupils,在校生数,Pupils,人,count,,,,\n"
                    "teachers,专任教师数,Teachers,人,count,,,,\n"
                    "large_classes,大班额班级数(56人及以上),Large classes,个,count,,,,\n"
                    "teach_area,教学用房面积,Teaching area,m2,amount,,,,2\n"
                    "ptr,生师比,Pupil-teacher ratio,,ratio,pupils,teachers,1,2\n";
                char *in = (char *)(uintptr_t)utf8, *out = gbk;
                size_t inleft = sizeof(utf8) - 1, outleft = sizeof(gbk);

                cd = iconv_open("GB18030", "UTF-8");
                if (cd == (iconv_t)-1 || iconv(cd, &in, &inleft, &out, &outleft) == (size_t)-1) {
                        fclose(fp);
                        return -1;
                }
                iconv_close(cd);
                fwrite(gbk, 1, sizeof(gbk) - outleft, fp);
        }
        fclose(fp);
        memset(&cat, 0, sizeof(cat));
        cat.dir = catdir;
        return 0;
}

static int
cat_teardown(void **state)
{
        char path[128];

        (void)state;
        submit_catalog_clear(&cat);
        snprintf(path, sizeof(path), "%s/indicators.csv", catdir);
        unlink(path);
        rmdir(catdir);
        return 0;
}

static struct submission *
read_wide(const void *buf, size_t len, const char *unit, const char *period, char *err,
          size_t errlen)
{
        struct submit_opts o = {.unit = unit,
                                .period = period,
                                .catalog = submit_catalog_get,
                                .catalog_arg = &cat,
                                .version_base = BASE};

        return submit_buffer("w.csv", buf, len, &o, err, errlen);
}

static void
check_cell_rej(const struct submission *s, size_t i, unsigned long line, enum submit_place place,
               const char *indicator, const char *raw, const char *reason)
{
        const struct submit_record *r;

        assert_true(i < s->n);
        r = &s->rec[i];
        assert_int_equal(r->line, line);
        assert_int_equal(r->place, place);
        assert_string_equal(r->indicator, indicator);
        assert_string_equal(r->value, "");
        assert_non_null(r->raw);
        assert_string_equal(r->raw, raw);
        assert_non_null(r->reason);
        assert_string_equal(r->reason, reason);
}

static void
test_wide(void **state)
{
        static const char text[] =
            "学校名称,unit,在校生数,teachers,大班额班级数(56人及以上)（large_classes）,"
            " 教学用房面积(teach_area) ,备注\n"
            "一小,2121100001,1260,74,,\"5,640.50\",\n"
            "二小,2121100002,１２６０,abc,3,5640.505,note\n"
            "三小,2121100003,,,,,\n";
        char err[256] = "";
        struct submission *s = read_wide(text, strlen(text), NULL, "2024", err, sizeof(err));

        (void)state;
        if (s == NULL)
                fail_msg("%s", err);
        assert_string_equal(s->layout, "wide");
        assert_string_equal(s->ignored, "\"学校名称\", \"备注\"");
        assert_int_equal(s->n, 7);
        assert_int_equal(s->nrejected, 2);
        check_rec(s, 0, 2, "2121100001", "2024", "pupils", "1260");
        check_rec(s, 1, 2, "2121100001", "2024", "teachers", "74");
        /* Empty cells are no record; a normalised value keeps the cell in raw. */
        assert_string_equal(s->rec[2].indicator, "teach_area");
        assert_string_equal(s->rec[2].value, "5640.50");
        assert_string_equal(s->rec[2].raw, "2121100001,2024,teach_area,5,640.50");
        assert_string_equal(s->rec[3].value, "1260");
        assert_string_equal(s->rec[3].raw, "2121100002,2024,pupils,１２６０");
        check_cell_rej(s, 4, 3, SUBMIT_AT_COLUMN, "teachers", "2121100002,2024,teachers,abc",
                       "teachers: value \"abc\" is not a number");
        check_rec(s, 5, 3, "2121100002", "2024", "large_classes", "3");
        check_cell_rej(s, 6, 3, SUBMIT_AT_COLUMN, "teach_area",
                       "2121100002,2024,teach_area,5640.505",
                       "教学用房面积(teach_area): value \"5640.505\" has more than 2 decimals "
                       "allowed for \"teach_area\"");
        /* Versions count every record, rejected ones too. */
        assert_true(s->rec[6].version == BASE + 6);
        submission_destroy(&s);
}

/*
 * The headers `edustat-collector template` writes: name_zh, the unit of
 * measure in full-width parentheses, then the code in the last ASCII ones;
 * a name that has parentheses of its own (大班额班级数(56人及以上)) too.
 */
static void
test_wide_template_headers(void **state)
{
        static const char text[] = "unit,学校名称,period,在校生数（人）(pupils),大班额班级数("
                                   "56人及以上)（个）(large_classes),"
                                   "教学用房面积（m2）(teach_area)\r\n"
                                   "2121100001,一小,2024,1260,3,5640.5\r\n";
        char err[256] = "";
        struct submission *s = read_wide(text, strlen(text), NULL, NULL, err, sizeof(err));

        (void)state;
        if (s == NULL)
                fail_msg("%s", err);
        assert_string_equal(s->layout, "wide");
        assert_string_equal(s->ignored, "\"学校名称\"");
        assert_int_equal(s->n, 3);
        assert_int_equal(s->nrejected, 0);
        check_rec(s, 0, 2, "2121100001", "2024", "pupils", "1260");
        check_rec(s, 1, 2, "2121100001", "2024", "large_classes", "3");
        check_rec(s, 2, 2, "2121100001", "2024", "teach_area", "5640.5");
        submission_destroy(&s);
}

static void
test_wide_headers_refused(void **state)
{
        static const char dup[] = "unit,pupils,在校生数\n1,2,3\n";
        static const char ratio[] = "unit,生师比\n1,16.5\n";
        static const char noperiod[] = "unit,pupils\n1,2\n";
        static const char none[] = "unit,period,学校名称\n1,2024,x\n";
        char err[256] = "";
        struct submission *s;

        (void)state;
        s = read_wide(dup, strlen(dup), NULL, "2024", err, sizeof(err));
        assert_int_equal(s->n, 1);
        check_rej(s, 0, 1, "unit,pupils,在校生数",
                  "columns \"pupils\" and \"在校生数\" both name indicator \"pupils\"");
        submission_destroy(&s);
        s = read_wide(ratio, strlen(ratio), NULL, "2024", err, sizeof(err));
        assert_int_equal(s->n, 1);
        check_cell_rej(s, 0, 2, SUBMIT_AT_COLUMN, "ptr", "1,2024,ptr,16.5",
                       "生师比: indicator \"ptr\" is a ratio and is derived, never submitted; "
                       "submit \"pupils\" and \"teachers\" instead");
        submission_destroy(&s);
        s = read_wide(noperiod, strlen(noperiod), NULL, NULL, err, sizeof(err));
        check_rej(s, 0, 1, "unit,pupils", "missing column \"period\"");
        submission_destroy(&s);
        /* Nothing names an indicator: what a long header lacks. */
        s = read_wide(none, strlen(none), NULL, NULL, err, sizeof(err));
        check_rej(s, 0, 1, "unit,period,学校名称", "missing columns \"indicator\", \"value\"");
        submission_destroy(&s);
}

static void
test_wide_without_catalogue(void **state)
{
        static const char text[] = "unit,period,在校生数\n1,2024,5\n";
        struct submit_catalog none = {.dir = "/nonexistent"};
        struct submit_opts o = {.catalog = submit_catalog_get, .catalog_arg = &none};
        char err[512] = "";

        (void)state;
        assert_null(submit_buffer("w.csv", text, strlen(text), &o, err, sizeof(err)));
        assert_string_equal(err, "w.csv: the header has no \"indicator\" and \"value\" columns, so "
                                 "the file is wide (a column per indicator), and reading it needs "
                                 "the indicator catalogue: /nonexistent/indicators.csv: No such "
                                 "file or directory (set EDUSTAT_CONFIG to the config directory)");
        submit_catalog_clear(&none);
}

static void
test_wide_encodings(void **state)
{
        /* GBK: "unit,在校生数\n7,12\n"; and Excel's Unicode text of the same. */
        static const unsigned char gbk[] = {'u',  'n',  'i',  't',  ',',  0xD4, 0xDA,
                                            0xD0, 0xA3, 0xC9, 0xFA, 0xCA, 0xFD, '\n',
                                            '7',  ',',  '1',  '2',  '\n'};
        static const unsigned char u16[] = {
            0xFF, 0xFE, 'u',  0,    'n',  0, 'i',  0, 't', 0, '\t', 0, 0x28, 0x57, 0x21, 0x68,
            0x1F, 0x75, 0x70, 0x65, '\r', 0, '\n', 0, '7', 0, '\t', 0, '1',  0,    '2',  0};
        char err[256] = "";
        struct submission *s;

        (void)state;
        s = read_wide(gbk, sizeof(gbk), NULL, "2024", err, sizeof(err));
        if (s == NULL)
                fail_msg("%s", err);
        assert_int_equal(s->encoding, TEXTENC_GB18030);
        assert_int_equal(s->n, 1);
        check_rec(s, 0, 2, "7", "2024", "pupils", "12");
        submission_destroy(&s);
        s = read_wide(u16, sizeof(u16), NULL, "2024", err, sizeof(err));
        if (s == NULL)
                fail_msg("%s", err);
        assert_int_equal(s->encoding, TEXTENC_UTF16);
        assert_int_equal(s->n, 1);
        check_rec(s, 0, 2, "7", "2024", "pupils", "12");
        submission_destroy(&s);
}

static void
test_long_values_normalised(void **state)
{
        struct submission *s = read_text("unit,period,indicator,value\n"
                                         "1,2024,pupils,1.23457E+11\n"
                                         "1,2024,pupils,12,5\n"
                                         "1,2024,pupils,\"12,5\"\n"
                                         "1,2024,teach_area,\xE3\x80\x80\xEF\xBC\x95\xEF\xBC\x8E"
                                         "5\n",
                                         NULL, NULL);

        (void)state;
        assert_int_equal(s->n, 4);
        check_rej(s, 0, 2, "1,2024,pupils,1.23457E+11", NUMTEXT_SCIENTIFIC);
        check_rej(s, 1, 3, "1,2024,pupils,12,5", "row has 5 fields, the header has 4");
        check_rej(s, 2, 4, "1,2024,pupils,12,5",
                  "value \"12,5\": a comma may only separate thousands, in groups of three "
                  "digits (1,260 or 12,345.5); write a decimal point as \".\"");
        assert_string_equal(s->rec[3].value, "5.5");
        /* raw is the cell as typed, its ideographic space too. */
        assert_string_equal(s->rec[3].raw, "1,2024,teach_area,\xE3\x80\x80５．5");
        submission_destroy(&s);
}

/* Read a one-sheet workbook through submit, with the catalogue. */
static struct submission *
read_book(const char *sheet_xml, const char *styles_xml, const char *sheet, char *err,
          size_t errlen)
{
        struct submit_opts o = {.sheet = sheet,
                                .catalog = submit_catalog_get,
                                .catalog_arg = &cat,
                                .version_base = BASE};
        struct submission *s;
        void *zip;
        size_t len;

        assert_int_equal(xlsx_build_simple(sheet_xml, NULL, styles_xml, &zip, &len), 0);
        s = submit_buffer("b.xlsx", zip, len, &o, err, errlen);
        free(zip);
        return s;
}

#define IS(col, text) "<c r=\"" col "\" t=\"inlineStr\"><is><t>" text "</t></is></c>"

static const char book_styles[] = "<styleSheet><cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/>"
                                  "</cellXfs></styleSheet>";

static void
test_xlsx_long(void **state)
{
        static const char sheet[] =
            "<worksheet><sheetData>"
            "<row r=\"2\">" IS("A2", "unit") IS("B2", "period") IS("C2", "indicator") IS(
                "D2",
                "value") "</row>"
                         "<row r=\"3\"><c r=\"A3\"><v>2121100001</v></c><c "
                         "r=\"B3\"><v>2024</v></c>" IS(
                             "C3",
                             "teach_area") "<c r=\"D3\"><v>5640.4999999999991</v></c></row>"
                                           "<row r=\"4\"><c r=\"A4\"><v>2121100001</v></c><c "
                                           "r=\"B4\"><v>2024</v></c>" IS(
                                               "C4",
                                               "pupils") "<c r=\"D4\" "
                                                         "s=\"1\"><v>45536</v></c></row>"
                                                         "<row r=\"5\"><c "
                                                         "r=\"A5\"><v>2121100001</v></c><c "
                                                         "r=\"B5\"><v>2024</v></c>" IS("C5",
                                                                                       "teachers")
                                                             IS("D5",
                                                                "1,260") "</row>"
                                                                         "<row r=\"6\"><c "
                                                                         "r=\"A6\"><v>2121100001</"
                                                                         "v></c><c "
                                                                         "r=\"B6\"><v>2024</v></"
                                                                         "c>" IS(
                                                                             "C6",
                                                                             "teachers") "<c "
                                                                                         "r=\"D6\">"
                                                                                         "<v>7.5</"
                                                                                         "v></c></"
                                                                                         "row>"
                                                                                         "</"
                                                                                         "sheetData"
                                                                                         "></"
                                                                                         "worksheet"
                                                                                         ">";
        char err[256] = "";
        struct submission *s = read_book(sheet, book_styles, NULL, err, sizeof(err));

        (void)state;
        if (s == NULL)
                fail_msg("%s", err);
        assert_string_equal(s->layout, "long");
        assert_int_equal(s->n, 4);
        check_rec(s, 0, 3, "2121100001", "2024", "teach_area", "5640.5");
        check_cell_rej(s, 1, 4, SUBMIT_AT_CELL, "pupils", "2121100001,2024,pupils,45536",
                       "Sheet1!D4: the cell holds a date (the number format is a date format); "
                       "type the number, or format the column as a number");
        assert_string_equal(s->rec[2].value, "1260");
        check_cell_rej(s, 3, 6, SUBMIT_AT_CELL, "teachers", "2121100001,2024,teachers,7.5",
                       "Sheet1!D6: value \"7.5\" is not a whole number; \"teachers\" is a count");
        submission_destroy(&s);
}

static void
test_xlsx_wide(void **state)
{
        static const char sheet[] =
            "<worksheet><sheetData>"
            "<row r=\"1\">" IS("A1", "unit") IS("B1", "学校名称") IS("C1", "在校生数")
                IS("D1",
                   "teachers") "</row>"
                               "<row r=\"2\"><c r=\"A2\"><v>2121100001</v></c>" IS(
                                   "B2",
                                   "一小") "<c r=\"C2\">"
                                           "<v>1260</v></c><c r=\"D2\" t=\"b\"><v>0</v></c></row>"
                                           "<row r=\"3\"><c r=\"A3\"><v>2121100002</v></c><c "
                                           "r=\"C3\"><v>1e-7</v></c></row>"
                                           "</sheetData></worksheet>";
        struct submit_opts o = {.period = "2024",
                                .catalog = submit_catalog_get,
                                .catalog_arg = &cat,
                                .version_base = BASE};
        char err[256] = "";
        struct submission *s;
        void *zip;
        size_t len;

        (void)state;
        assert_int_equal(xlsx_build_simple(sheet, NULL, NULL, &zip, &len), 0);
        s = submit_buffer("b.xlsx", zip, len, &o, err, sizeof(err));
        free(zip);
        if (s == NULL)
                fail_msg("%s", err);
        assert_string_equal(s->layout, "wide");
        assert_string_equal(s->ignored, "\"学校名称\"");
        assert_int_equal(s->n, 3);
        check_rec(s, 0, 2, "2121100001", "2024", "pupils", "1260");
        check_cell_rej(s, 1, 2, SUBMIT_AT_CELL, "teachers", "2121100001,2024,teachers,FALSE",
                       "Sheet1!D2: the cell holds TRUE or FALSE, not a number");
        check_cell_rej(s, 2, 3, SUBMIT_AT_CELL, "pupils", "2121100002,2024,pupils,0.0000001",
                       "Sheet1!C3: value \"0.0000001\" is not a whole number; \"pupils\" is a "
                       "count");
        submission_destroy(&s);

        /* No such sheet: the file is refused, the message lists the sheets. */
        o.sheet = "数据";
        assert_int_equal(xlsx_build_simple(sheet, NULL, NULL, &zip, &len), 0);
        assert_null(submit_buffer("b.xlsx", zip, len, &o, err, sizeof(err)));
        assert_string_equal(err, "b.xlsx: no sheet \"数据\" (the sheets are \"Sheet1\")");
        free(zip);
}

/* ------------------------------------- the collector's commands, end to end */

/*
 * The tests below run the edustat-collector binary built beside this test
 * (../edustat-collector from the test's own directory) against a fake
 * aggregator played here, a ROUTER on 127.0.0.1 over plain text, and read
 * what it prints.  They are skipped when the binary is not there.
 */
struct agg_play {
        int answer; /* 0 never answer; 1 answer "checked"/"ack"; 2 answer "error" */
        int checks, actions, others;
        char text[256]; /* an action's text */
};

struct run_out {
        int status; /* exit status, or 128 + signal */
        char out[4096], err[4096];
};

static char bin_path[600];

static int
bin_find(void)
{
        char self[512];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n <= 0)
                return -1;
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) == NULL)
                return -1;
        *slash = '\0';
        snprintf(bin_path, sizeof(bin_path), "%s/../edustat-collector", self);
        return access(bin_path, X_OK);
}

static void
file_slurp(const char *path, char *buf, size_t cap)
{
        FILE *fp = fopen(path, "r");
        size_t n = 0;

        if (fp != NULL) {
                n = fread(buf, 1, cap - 1, fp);
                fclose(fp);
        }
        buf[n] = '\0';
}

/* Answer one message at the fake aggregator as p says. */
static void
agg_answer(void *router, const struct wire_peer *peer, const void *buf, size_t len,
           struct agg_play *p)
{
        struct proto_submit sub;
        struct proto_action act;
        char err[256];
        msgpack_sbuffer sb;
        msgpack_packer pk;
        struct proto_warning w = {
            .unit = pstr_of("2111020001"),
            .period = pstr_of("2025"),
            .rule = pstr_of("R10"),
            .message = pstr_of("rule R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 "
                               "(1500 > 1300)"),
            .left = pstr_of("1500"),
            .right = pstr_of("1300"),
        };

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (proto_peek(buf, len) == PROTO_CHECK &&
            proto_submit_decode(buf, len, &sub, err, sizeof(err)) == 0 && sub.dry_run) {
                p->checks++;
                if (p->answer == 2) {
                        proto_error_pack(&pk, sub.batch_id, "not authorized for unit 2111020001");
                } else {
                        /* Line 2 accepted, 4 rejected by an error rule, 3 the collector's. */
                        proto_ack3_begin(&pk, PROTO_CHECKED, sub.batch_id, 1, 1, 1, 0);
                        proto_reject_line_pack(&pk, 4,
                                               pstr_of("rule R01 大班额班数不超过班数: "
                                                       "large_classes <= classes fails (40 > 38)"));
                        proto_ack_stale_begin(&pk, 0);
                        proto_ack_warnings_begin(&pk, 1);
                        proto_warning_pack(&pk, &w);
                }
                proto_submit_free(&sub);
        } else if (proto_peek(buf, len) == PROTO_ACTION &&
                   proto_action_decode(buf, len, &act, err, sizeof(err)) == 0) {
                p->actions++;
                snprintf(p->text, sizeof(p->text), "%.*s", (int)act.text.len, act.text.p);
                if (p->answer == 2) {
                        proto_error_pack(&pk, act.batch_id,
                                         "rule R10 does not fail for unit 2111020001 period "
                                         "2025: there is nothing to explain");
                } else {
                        proto_ack3_begin(&pk, PROTO_ACK, act.batch_id, 1, 0, 0, 0);
                        proto_ack_stale_begin(&pk, 0);
                        proto_ack_warnings_begin(&pk, 0);
                }
        } else {
                p->others++;
        }
        if (p->answer != 0 && sb.size > 0 && wire_router_send(router, peer, sb.data, sb.size) < 0)
                fprintf(stderr, "fake aggregator: the answer was not sent\n");
        msgpack_sbuffer_destroy(&sb);
}

/*
 * Run the collector with args (NULL-terminated, after the program name),
 * the aggregator at a fresh ROUTER playing p, in dir; its output into o.
 */
static void
collector_run(const char *dir, const char *const *args, struct agg_play *p, struct run_out *o)
{
        void *ctx = zmq_ctx_new(), *router;
        char endpoint[256], outp[256], errp[256];
        char *argv[32];
        size_t len = sizeof(endpoint), n = 0;
        pid_t pid;
        int st;

        router = wire_router_bind(ctx, "tcp://127.0.0.1:*", 1 << 20);
        assert_non_null(router);
        assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
        snprintf(outp, sizeof(outp), "%s/stdout", dir);
        snprintf(errp, sizeof(errp), "%s/stderr", dir);
        /* Copies, as execv wants them writable. */
        argv[n++] = strdup(bin_path);
        for (; *args != NULL && n < 28; args++)
                argv[n++] = strdup(*args);
        argv[n++] = NULL;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

                if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || chdir(dir) < 0)
                        _exit(99);
                setenv("EDUSTAT_INSECURE", "1", 1);
                setenv("EDUSTAT_AGGREGATOR", endpoint, 1);
                setenv("EDUSTAT_COLLECTOR_NAME", "school-1", 1);
                unsetenv("EDUSTAT_OUTBOX");
                unsetenv("EDUSTAT_TIMEOUT");
                execv(bin_path, argv);
                _exit(98);
        }
        for (;;) {
                zmq_pollitem_t it = {.socket = router, .events = ZMQ_POLLIN};
                pid_t w = waitpid(pid, &st, WNOHANG);

                if (w == pid)
                        break;
                assert_true(w == 0);
                if (zmq_poll(&it, 1, 50) == 1) {
                        struct wire_peer peer;
                        zmq_msg_t m;

                        zmq_msg_init(&m);
                        if (wire_router_recv(router, &peer, &m, ZMQ_DONTWAIT) == 0)
                                agg_answer(router, &peer, zmq_msg_data(&m), zmq_msg_size(&m), p);
                        zmq_msg_close(&m);
                }
        }
        for (size_t i = 0; argv[i] != NULL; i++)
                free(argv[i]);
        o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        file_slurp(outp, o->out, sizeof(o->out));
        file_slurp(errp, o->err, sizeof(o->err));
        wire_close(&router);
        zmq_ctx_term(ctx);
}

static const char dry_csv[] = "unit,period,indicator,value\n"
                              "2111020001,2025,pupils,1500\n"
                              "2111020001,2025,classes,38,extra\n"
                              "2111020001,2025,large_classes,40\n";

/* A fresh directory with school.csv; the test's outbox path would be dir/outbox.db. */
static void
dry_dir(char *dir, size_t cap)
{
        char path[256];
        FILE *fp;

        snprintf(dir, cap, "/tmp/test_submit_cmd.XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/school.csv", dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(dry_csv, fp);
        fclose(fp);
}

static void
dir_remove(const char *dir)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/*
 * submit --dry-run: checks, not submits; the receipt a submit would give,
 * marked as a dry run; exit 1 as something would be rejected; and the
 * outbox file (named, and the default one) is never created.
 */
static void
test_dry_run(void **state)
{
        struct agg_play p = {.answer = 1};
        struct run_out o;
        char dir[64], ob[128];

        (void)state;
        if (bin_find() < 0)
                skip();
        dry_dir(dir, sizeof(dir));
        snprintf(ob, sizeof(ob), "%s/outbox.db", dir);
        collector_run(dir,
                      (const char *[]){"submit", "--dry-run", "--outbox", ob, "school.csv", NULL},
                      &p, &o);
        assert_int_equal(o.status, 1);
        assert_int_equal(p.checks, 1);
        assert_int_equal(p.others, 0);
        assert_string_equal(o.out, "school.csv: dry run: 3 records, 1 accepted (1 changed), 2 "
                                   "rejected, 1 warning; nothing was stored\n");
        assert_non_null(strstr(o.err, "school.csv:3: row has 5 fields, the header has 4\n"
                                      "school.csv:4: rule R01 大班额班数不超过班数: large_classes "
                                      "<= classes fails (40 > 38)\n"
                                      "school.csv: warning: unit 2111020001 period 2025: rule "
                                      "R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 "
                                      "> 1300)\n"));
        assert_int_equal(access(ob, F_OK), -1);
        assert_int_equal(access("edustat-outbox.db", F_OK), -1);
        {
                char def[128];

                snprintf(def, sizeof(def), "%s/edustat-outbox.db", dir);
                assert_int_equal(access(def, F_OK), -1);
        }
        dir_remove(dir);
}

/* A dry run without an answer: exit 3, "not checked", still no outbox file. */
static void
test_dry_run_unanswered(void **state)
{
        struct agg_play p = {.answer = 0};
        struct run_out o;
        char dir[64], def[128];

        (void)state;
        if (bin_find() < 0)
                skip();
        dry_dir(dir, sizeof(dir));
        collector_run(dir,
                      (const char *[]){"submit", "--dry-run", "--timeout", "1", "school.csv", NULL},
                      &p, &o);
        assert_int_equal(o.status, 3);
        assert_true(p.checks >= 1);
        assert_string_equal(o.out, "school.csv: dry run: 3 records, not checked; nothing was "
                                   "stored\n");
        assert_non_null(strstr(o.err, "dry run not answered"));
        snprintf(def, sizeof(def), "%s/edustat-outbox.db", dir);
        assert_int_equal(access(def, F_OK), -1);

        /* Refused: exit 3, the aggregator's message in the receipt. */
        p.answer = 2;
        collector_run(dir, (const char *[]){"submit", "--dry-run", "school.csv", NULL}, &p, &o);
        assert_int_equal(o.status, 3);
        assert_non_null(strstr(o.out, "school.csv: dry run: 3 records, 0 accepted (0 changed), 1 "
                                      "rejected, 3 records refused by the aggregator: not "
                                      "authorized for unit 2111020001; nothing was stored\n"));
        assert_int_equal(access(def, F_OK), -1);
        dir_remove(dir);
}

/* explain: exit 0 and "explained: ..." after the ack; usage errors exit 2. */
static void
test_explain_command(void **state)
{
        struct agg_play p = {.answer = 1};
        struct run_out o;
        char dir[64], big[4200];

        (void)state;
        if (bin_find() < 0)
                skip();
        dry_dir(dir, sizeof(dir));
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "2111020001", "--period", "2025",
                                       "--rule", "R10", "新校区启用", NULL},
                      &p, &o);
        assert_int_equal(o.status, 0);
        assert_string_equal(o.out, "explained: unit 2111020001 period 2025 rule R10\n");
        assert_int_equal(p.actions, 1);
        assert_string_equal(p.text, "新校区启用");
        /* --text says the same. */
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "2111020001", "--period", "2025",
                                       "--rule", "R10", "--text", "合并办学", NULL},
                      &p, &o);
        assert_int_equal(o.status, 0);
        assert_string_equal(p.text, "合并办学");

        /* Refused: the aggregator's message, exit 3. */
        p.answer = 2;
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "2111020001", "--period", "2025",
                                       "--rule", "R10", "x", NULL},
                      &p, &o);
        assert_int_equal(o.status, 3);
        assert_string_equal(o.out, "");
        assert_non_null(strstr(o.err, "explain refused: rule R10 does not fail for unit "
                                      "2111020001 period 2025: there is nothing to explain\n"));

        /* No answer: exit 3, not confirmed, may be run again. */
        p.answer = 0;
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "2111020001", "--period", "2025",
                                       "--rule", "R10", "--timeout", "1", "x", NULL},
                      &p, &o);
        assert_int_equal(o.status, 3);
        assert_non_null(strstr(o.err, "not confirmed"));
        assert_non_null(strstr(o.err, "run the same explain again"));

        /* Usage: nothing is sent. */
        p.actions = 0;
        memset(big, 'a', 4097);
        big[4097] = '\0';
        collector_run(
            dir, (const char *[]){"explain", "--unit", "U", "--period", "2025", "x", NULL}, &p, &o);
        assert_int_equal(o.status, 2);
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "U", "--period", "2025", "--rule",
                                       "R10", "  ", NULL},
                      &p, &o);
        assert_int_equal(o.status, 2);
        collector_run(dir,
                      (const char *[]){"explain", "--unit", "U", "--period", "2025", "--rule",
                                       "R10", big, NULL},
                      &p, &o);
        assert_int_equal(o.status, 2);
        collector_run(
            dir,
            (const char *[]){"explain", "--unit", "U", "--period", "2025", "--rule", "R10", NULL},
            &p, &o);
        assert_int_equal(o.status, 2);
        assert_int_equal(p.actions, 0);
        dir_remove(dir);
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
            cmocka_unit_test(test_row_limit),
            cmocka_unit_test(test_raw_cut_on_character),
            cmocka_unit_test(test_read_file),
            cmocka_unit_test(test_flag_too_long),
            cmocka_unit_test(test_long_values_normalised),
            cmocka_unit_test_setup_teardown(test_wide_template_headers, cat_setup, cat_teardown),
            cmocka_unit_test_setup_teardown(test_wide, cat_setup, cat_teardown),
            cmocka_unit_test_setup_teardown(test_wide_headers_refused, cat_setup, cat_teardown),
            cmocka_unit_test(test_wide_without_catalogue),
            cmocka_unit_test_setup_teardown(test_wide_encodings, cat_setup, cat_teardown),
            cmocka_unit_test_setup_teardown(test_xlsx_long, cat_setup, cat_teardown),
            cmocka_unit_test_setup_teardown(test_xlsx_wide, cat_setup, cat_teardown),
            cmocka_unit_test(test_dry_run),
            cmocka_unit_test(test_dry_run_unanswered),
            cmocka_unit_test(test_explain_command),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
