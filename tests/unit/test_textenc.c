/*
 * Unit tests for lib/textenc and for csvread reading through it: real GBK
 * and GB18030 bytes (written out as hex from the code tables), UTF-16 in
 * both byte orders with a BOM, the exact refusal message, the caps, and the
 * tab delimiter of Excel's "Unicode text".
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

#include "csvread.h"
#include "textenc.h"
#include "util.h"

/* Convert with enc, expect success, and compare the UTF-8 text. */
static void
check_text(const void *in, size_t len, enum textenc enc, const char *want, enum textenc want_enc)
{
        struct textenc_text t;
        char err[256] = "";

        assert_int_equal(textenc_to_utf8("t.csv", in, len, enc, 1 << 20, &t, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_int_equal(t.len, strlen(want));
        assert_memory_equal(t.p, want, t.len);
        assert_int_equal(t.enc, want_enc);
        free(t.owned);
}

static void
check_refused(const void *in, size_t len, enum textenc enc, const char *want)
{
        struct textenc_text t;
        char err[256] = "";

        assert_int_equal(textenc_to_utf8("t.csv", in, len, enc, 1 << 20, &t, err, sizeof(err)), -1);
        assert_string_equal(err, want);
        assert_null(t.owned);
}

static void
test_utf8_in_place(void **state)
{
        static const char plain[] = "unit,period\n学校,2024\n";
        static const char bom[] = "\xEF\xBB\xBFunit\n";
        struct textenc_text t;
        char err[64];

        (void)state;
        assert_int_equal(
            textenc_to_utf8("t", plain, strlen(plain), TEXTENC_AUTO, 1 << 20, &t, err, sizeof(err)),
            0);
        /* No copy: the text is the input. */
        assert_ptr_equal(t.p, plain);
        assert_null(t.owned);
        assert_int_equal(t.enc, TEXTENC_UTF8);
        assert_int_equal(
            textenc_to_utf8("t", bom, strlen(bom), TEXTENC_AUTO, 1 << 20, &t, err, sizeof(err)), 0);
        assert_ptr_equal(t.p, bom + 3);
        assert_int_equal(t.len, 5);
        check_text("", 0, TEXTENC_AUTO, "", TEXTENC_UTF8);
}

static void
test_gbk(void **state)
{
        /* 学校,盘锦市 then a line with 人数 and a full-width one (A3 B1). */
        static const unsigned char gbk[] = {0xD1, 0xA7, 0xD0, 0xA3, ',',  0xC5, 0xCC,
                                            0xBD, 0xF5, 0xCA, 0xD0, '\r', '\n', 0xC8,
                                            0xCB, 0xCA, 0xFD, ',',  0xA3, 0xB1, '\n'};

        (void)state;
        check_text(gbk, sizeof(gbk), TEXTENC_AUTO, "学校,盘锦市\r\n人数,１\n", TEXTENC_GB18030);
        check_text(gbk, sizeof(gbk), TEXTENC_GB18030, "学校,盘锦市\r\n人数,１\n", TEXTENC_GB18030);
}

static void
test_gb18030_four_byte(void **state)
{
        /* U+20000 𠀀 is 95 32 82 36 in GB18030, beyond GBK. */
        static const unsigned char gb[] = {'a', ',', 0x95, 0x32, 0x82, 0x36, '\n'};

        (void)state;
        check_text(gb, sizeof(gb), TEXTENC_AUTO, "a,\xF0\xA0\x80\x80\n", TEXTENC_GB18030);
}

static void
test_utf16(void **state)
{
        /* "学,1\n" as UTF-16LE and BE, with BOMs; 学 is U+5B66. */
        static const unsigned char le[] = {0xFF, 0xFE, 0x66, 0x5B, ',', 0, '1', 0, '\n', 0};
        static const unsigned char be[] = {0xFE, 0xFF, 0x5B, 0x66, 0, ',', 0, '1', 0, '\n'};
        /* 𠀀 as a surrogate pair, little-endian. */
        static const unsigned char pair[] = {0xFF, 0xFE, 0x40, 0xD8, 0x00, 0xDC};
        static const unsigned char nobom[] = {'a', 0, '\t', 0, 'b', 0};

        (void)state;
        check_text(le, sizeof(le), TEXTENC_AUTO, "学,1\n", TEXTENC_UTF16);
        check_text(be, sizeof(be), TEXTENC_AUTO, "学,1\n", TEXTENC_UTF16);
        check_text(be, sizeof(be), TEXTENC_UTF16, "学,1\n", TEXTENC_UTF16);
        check_text(pair, sizeof(pair), TEXTENC_AUTO, "\xF0\xA0\x80\x80", TEXTENC_UTF16);
        /* Forced UTF-16 without a BOM reads little-endian. */
        check_text(nobom, sizeof(nobom), TEXTENC_UTF16, "a\tb", TEXTENC_UTF16);
}

static void
test_refused(void **state)
{
        static const unsigned char lone80[] = {'u', 'n', 'i', 't', '\n', 'a', 0x80, '\n'};
        static const unsigned char ff[] = {0xFF};
        /* Valid GBK on line 1, then 0xFF on line 3 (CR LF and a lone CR). */
        static const unsigned char late[] = {0xD1, 0xA7, '\r', '\n', 'x', '\r', 'y', 0xFF, 'z'};
        /* An unpaired low surrogate on the second line of UTF-16LE. */
        static const unsigned char u16[] = {0xFF, 0xFE, 'a', 0, '\n', 0, 0x00, 0xDC};
        /* A lead byte cut off at the end of the file. */
        static const unsigned char cut[] = {'a', '\n', 0xD1};

        (void)state;
        check_refused(lone80, sizeof(lone80), TEXTENC_AUTO,
                      "t.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)");
        check_refused(ff, sizeof(ff), TEXTENC_AUTO,
                      "t.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at line 1)");
        check_refused(late, sizeof(late), TEXTENC_AUTO,
                      "t.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at line 3)");
        check_refused(cut, sizeof(cut), TEXTENC_AUTO,
                      "t.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)");
        check_refused(ff, sizeof(ff), TEXTENC_GB18030,
                      "t.csv: not GB18030 text (first bad byte at line 1)");
        check_refused(u16, sizeof(u16), TEXTENC_AUTO,
                      "t.csv: not UTF-16 text (first bad byte at line 2)");
}

static void
test_forced_utf8_not_checked(void **state)
{
        static const unsigned char bad[] = {'a', 0xFF};

        (void)state;
        /* csvread reports the row; the conversion passes it through. */
        check_text(bad, sizeof(bad), TEXTENC_UTF8, "a\xFF", TEXTENC_UTF8);
}

static void
test_cap(void **state)
{
        /* 4 KiB of 盘 in GBK is 6 KiB of UTF-8: over a 5 KiB cap. */
        size_t n = 4096;
        unsigned char *gbk = xmalloc(n);
        struct textenc_text t;
        char err[128];

        (void)state;
        for (size_t i = 0; i < n; i += 2) {
                gbk[i] = 0xC5;
                gbk[i + 1] = 0xCC;
        }
        assert_int_equal(
            textenc_to_utf8("big.csv", gbk, n, TEXTENC_AUTO, 5 << 10, &t, err, sizeof(err)), -1);
        assert_string_equal(err, "big.csv: larger than 0 MB once converted to UTF-8");
        assert_int_equal(
            textenc_to_utf8("big.csv", gbk, n, TEXTENC_AUTO, 6 << 10, &t, err, sizeof(err)), 0);
        assert_int_equal(t.len, 6 << 10);
        free(t.owned);
        free(gbk);
}

static void
test_utf8_stream(void **state)
{
        /* 中 (E4 B8 AD) split across every feed boundary stays valid. */
        static const unsigned char s[] = "ab\xE4\xB8\xAD"
                                         "cdefghijklmnop\xF0\xA0\x80\x80";
        struct textenc_utf8 v;

        (void)state;
        for (size_t cut = 0; cut <= sizeof(s) - 1; cut++) {
                memset(&v, 0, sizeof(v));
                assert_int_equal(textenc_utf8_feed(&v, s, cut), 0);
                assert_int_equal(textenc_utf8_feed(&v, s + cut, sizeof(s) - 1 - cut), 0);
                assert_int_equal(textenc_utf8_end(&v), 0);
        }
        /* Overlong, surrogate, beyond U+10FFFF, stray continuation, cut off. */
        static const char *const bad[] = {"\xC0\xAF",         "\xE0\x80\xAF", "\xED\xA0\x80",
                                          "\xF4\x90\x80\x80", "abcdefgh\x80", "\xE4\xB8"};
        static const size_t at[] = {0, 1, 1, 1, 8, 0};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(&v, 0, sizeof(v));
                textenc_utf8_feed(&v, bad[i], strlen(bad[i]));
                assert_int_equal(textenc_utf8_end(&v), -1);
                assert_int_equal(v.bad_at, at[i]);
        }
}

static void
test_parse_and_names(void **state)
{
        enum textenc e;

        (void)state;
        assert_int_equal(textenc_parse("UTF-8", &e), 0);
        assert_int_equal(e, TEXTENC_UTF8);
        assert_int_equal(textenc_parse("gbk", &e), 0);
        assert_int_equal(e, TEXTENC_GB18030);
        assert_int_equal(textenc_parse("utf-16", &e), 0);
        assert_int_equal(e, TEXTENC_UTF16);
        assert_int_equal(textenc_parse("latin1", &e), -1);
        assert_string_equal(textenc_name(TEXTENC_GB18030), "GB18030");
        assert_int_equal(textenc_line_of("a\r\nb\rc\nd", 8, TEXTENC_UTF8, 0), 4);
}

/* Write len bytes to a new temporary file; returns its path (static). */
static const char *
tmpfile_with(const void *buf, size_t len)
{
        static char path[64];
        int fd;

        strlcpyf(path, sizeof(path), "/tmp/test_textenc.XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t)len);
        close(fd);
        return path;
}

/* Read every row of r into "f1|f2;f1|f2;" form (static buffer). */
static const char *
rows_of(struct csvread *r)
{
        static char out[512];
        struct csvrow row;
        char err[128];

        out[0] = '\0';
        while (csvread_next(r, &row, err, sizeof(err)) == CSVREAD_ROW) {
                size_t used = strlen(out);

                for (size_t i = 0; i < row.nfields; i++)
                        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s",
                                                 i ? "|" : "", row.fields[i]);
                snprintf(out + used, sizeof(out) - used, "@%lu;", row.line);
        }
        return out;
}

static void
test_csvread_files(void **state)
{
        /* Excel's "Unicode text": UTF-16LE, BOM, tabs, CR LF. */
        static const unsigned char u16[] = {0xFF, 0xFE, 'u',  0, '\t', 0, 0x66, 0x5B, '\r', 0,
                                            '\n', 0,    '1',  0, '\t', 0, ' ',  0,    '2',  0,
                                            '\r', 0,    '\n', 0, '\t', 0, '3',  0};
        /* 盘 and 锦: short GBK text can be valid UTF-8 (学 D1 A7 is), these are not. */
        static const unsigned char gbk[] = {'a', ',',  0xC5, 0xCC, '\n', '\n', '1', ',',
                                            '"', 0xBD, 0xF5, ',',  'x',  '"',  '\n'};
        static const unsigned char bad[] = {'a', '\n', 'b', 0xFF, '\n'};
        char err[256];
        const char *path;
        struct csvread *r;

        (void)state;
        path = tmpfile_with(u16, sizeof(u16));
        r = csvread_open(path, err, sizeof(err));
        assert_non_null(r);
        /* A tab is data: the empty first field of line 3 stays. */
        assert_string_equal(rows_of(r), "u|学@1;1|2@2;|3@3;");
        assert_int_equal(csvread_delimiter(r), '\t');
        assert_int_equal(csvread_encoding(r), TEXTENC_UTF16);
        csvread_close(&r);
        unlink(path);

        path = tmpfile_with(gbk, sizeof(gbk));
        r = csvread_open(path, err, sizeof(err));
        assert_non_null(r);
        assert_string_equal(rows_of(r), "a|盘@1;1|锦,x@3;");
        assert_int_equal(csvread_delimiter(r), ',');
        assert_int_equal(csvread_encoding(r), TEXTENC_GB18030);
        csvread_close(&r);
        r = csvread_open_enc(path, TEXTENC_UTF8, err, sizeof(err));
        assert_non_null(r);
        /* Forced UTF-8: the GBK rows are bad rows, as before detection. */
        assert_string_equal(rows_of(r), "");
        csvread_close(&r);
        unlink(path);

        path = tmpfile_with(bad, sizeof(bad));
        r = csvread_open(path, err, sizeof(err));
        assert_null(r);
        assert_true(strncmp(err, path, strlen(path)) == 0);
        assert_string_equal(err + strlen(path),
                            ": not UTF-8, UTF-16 or GB18030 text (first bad byte at line 2)");
        unlink(path);

        r = csvread_open_mem_enc("m.csv", gbk, sizeof(gbk), TEXTENC_AUTO, err, sizeof(err));
        assert_non_null(r);
        assert_string_equal(rows_of(r), "a|盘@1;1|锦,x@3;");
        csvread_close(&r);
        assert_null(
            csvread_open_mem_enc("m.csv", bad, sizeof(bad), TEXTENC_AUTO, err, sizeof(err)));
        assert_string_equal(err, "m.csv: not UTF-8, UTF-16 or GB18030 text (first bad byte at "
                                 "line 2)");
}

static void
test_csvread_utf8_file_streams(void **state)
{
        /* A UTF-8 file over several chunks, 中 across the first boundary. */
        size_t n = 3 * 65536 + 17;
        char *text = xmalloc(n + 1), err[128];
        const char *path;
        struct csvread *r;
        struct csvrow row;
        unsigned long rows = 0;

        (void)state;
        memset(text, 'x', n);
        for (size_t i = 99; i < n; i += 100)
                text[i] = '\n';
        memcpy(text + 65535, "\xE4\xB8\xAD", 3);
        text[n] = '\0';
        path = tmpfile_with(text, n);
        r = csvread_open(path, err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(csvread_encoding(r), TEXTENC_UTF8);
        while (csvread_next(r, &row, err, sizeof(err)) == CSVREAD_ROW)
                rows++;
        assert_int_equal(rows, (n + 99) / 100);
        csvread_close(&r);
        unlink(path);
        free(text);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_utf8_in_place),
            cmocka_unit_test(test_gbk),
            cmocka_unit_test(test_gb18030_four_byte),
            cmocka_unit_test(test_utf16),
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_forced_utf8_not_checked),
            cmocka_unit_test(test_cap),
            cmocka_unit_test(test_utf8_stream),
            cmocka_unit_test(test_parse_and_names),
            cmocka_unit_test(test_csvread_files),
            cmocka_unit_test(test_csvread_utf8_file_streams),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
