/*
 * Unit tests for lib/xlsx: workbooks made here with libzip
 * (tests/fuzz/xlsx_build.c) from XML written out by hand, read back cell by
 * cell; the General number text against 10,000 random decimals; the caps
 * (a zip bomb, a million and one cells, entity declarations) and malformed
 * parts, each with the message a school would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "xlsx.h"
#include "xlsx_build.h"

#define NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""

static const char sst[] = "<sst " NS "><si><t>unit</t></si><si><t>period</t></si>"
                          "<si><r><t>在校</t></r><r><rPr><b/></rPr><t>生数</t></r>"
                          "<rPh sb=\"0\" eb=\"1\"><t>zai</t></rPh></si>"
                          "<si><t xml:space=\"preserve\"> a &amp; b </t></si></sst>";

static const char styles[] =
    "<styleSheet " NS "><numFmts count=\"2\">"
    "<numFmt numFmtId=\"164\" formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"#,##0.00_);[Red]\\(#,##0.00\\)\"/></numFmts>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
    "<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/>"
    "<xf numFmtId=\"165\"/><xf numFmtId=\"31\"/></cellXfs></styleSheet>";

/* Build a one-sheet workbook and read it; the caller destroys the sheet. */
static struct xlsx_sheet *
read_sheet(const char *sheet_xml, const char *sst_xml, const char *styles_xml, char *err,
           size_t errlen)
{
        void *zip;
        size_t len;
        struct xlsx_sheet *sh;

        assert_int_equal(xlsx_build_simple(sheet_xml, sst_xml, styles_xml, &zip, &len), 0);
        sh = xlsx_read("t.xlsx", zip, len, NULL, err, errlen);
        free(zip);
        return sh;
}

static void
check_cell(const struct xlsx_row *r, size_t col, int type, const char *text)
{
        assert_true(col < r->ncells);
        assert_int_equal(r->types[col], type);
        assert_string_equal(r->fields[col], text);
        assert_int_equal(r->lens[col], strlen(text));
}

static void
test_cells(void **state)
{
        static const char sheet[] =
            "<worksheet " NS "><sheetData>"
            "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
            "<c r=\"D1\" t=\"s\"><v>2</v></c><c r=\"E1\" t=\"s\"><v>3</v></c></row>"
            "<row r=\"3\" spans=\"1:6\"><c r=\"A3\"><v>2121100001</v></c>"
            "<c r=\"B3\" t=\"inlineStr\"><is><r><t>20</t></r><r><t>24</t></r></is></c>"
            "<c r=\"C3\" s=\"3\"/>"
            "<c r=\"D3\" s=\"3\"><f>D2+1</f><v>5640.4999999999991</v></c>"
            "<c r=\"E3\" t=\"str\"><f>A1</f><v>text result</v></c>"
            "<c r=\"F3\" t=\"b\"><v>1</v></c></row>"
            "<row><c s=\"1\"><v>45536</v></c><c s=\"2\"><v>45536.5</v></c><c s=\"4\"><v>1</v></c>"
            "<c t=\"e\"><v>#DIV/0!</v></c><c t=\"d\"><v>2024-09-01</v></c><c><v>1e15</v></c></row>"
            "<row r=\"7\"><c r=\"B7\" s=\"99\"><v>0.1</v></c></row>"
            "<row r=\"8\"><c r=\"A8\" t=\"s\"/></row>"
            "</sheetData></worksheet>";
        char err[256] = "";
        struct xlsx_sheet *sh = read_sheet(sheet, sst, styles, err, sizeof(err));
        const struct xlsx_row *r;

        (void)state;
        if (sh == NULL)
                fail_msg("%s", err);
        assert_string_equal(sh->name, "Sheet1");
        /* Row 8 has no value: it is not there. */
        assert_int_equal(sh->nrows, 4);

        r = &sh->rows[0];
        assert_int_equal(r->row, 1);
        assert_int_equal(r->ncells, 5);
        check_cell(r, 0, XLSX_TEXT, "unit");
        check_cell(r, 1, XLSX_TEXT, "period");
        check_cell(r, 2, XLSX_EMPTY, "");
        /* Rich-text runs joined, the phonetic run left out. */
        check_cell(r, 3, XLSX_TEXT, "在校生数");
        check_cell(r, 4, XLSX_TEXT, " a & b ");

        r = &sh->rows[1];
        assert_int_equal(r->row, 3);
        assert_int_equal(r->ncells, 6);
        check_cell(r, 0, XLSX_NUMBER, "2121100001");
        check_cell(r, 1, XLSX_TEXT, "2024");
        check_cell(r, 2, XLSX_EMPTY, "");
        /* A formula's cached value, at most 15 significant digits. */
        check_cell(r, 3, XLSX_NUMBER, "5640.5");
        check_cell(r, 4, XLSX_TEXT, "text result");
        check_cell(r, 5, XLSX_BOOL, "TRUE");

        /* A row without r follows the one before; cells without r follow too. */
        r = &sh->rows[2];
        assert_int_equal(r->row, 4);
        check_cell(r, 0, XLSX_DATE, "45536");
        check_cell(r, 1, XLSX_DATE, "45536.5");
        check_cell(r, 2, XLSX_DATE, "1"); /* built-in 31: a Chinese date format */
        check_cell(r, 3, XLSX_ERROR, "#DIV/0!");
        check_cell(r, 4, XLSX_DATE, "2024-09-01");
        check_cell(r, 5, XLSX_NUMBER, "1000000000000000");

        /* A style index past the styles is no date. */
        r = &sh->rows[3];
        assert_int_equal(r->row, 7);
        check_cell(r, 0, XLSX_EMPTY, "");
        check_cell(r, 1, XLSX_NUMBER, "0.1");
        xlsx_sheet_destroy(&sh);
        assert_null(sh);
}

static void
test_number_text(void **state)
{
        static const struct {
                double v;
                const char *text;
        } cases[] = {
            {5640.5, "5640.5"},
            {5640.499999999999, "5640.5"},
            {0.1 + 0.2, "0.3"},
            {-0.0, "0"},
            {1e15, "1000000000000000"},
            {123456789012345678.0, "123456789012346000"},
            {1e-5, "0.00001"},
            {-1.5e-7, "-0.00000015"},
            {100, "100"},
            {2121100001, "2121100001"},
        };
        char buf[XLSX_NUMBUF];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(xlsx_number_text(cases[i].v, buf), strlen(cases[i].text));
                assert_string_equal(buf, cases[i].text);
        }
        assert_true(xlsx_number_text(1.7976931348623157e308, buf) < XLSX_NUMBUF);
        assert_true(xlsx_number_text(-4.9e-324, buf) < XLSX_NUMBUF);
}

/*
 * 10,000 random decimals of at most 15 significant digits, from 1e-6 to
 * 1e15: the text of the double nearest each is the decimal itself.
 */
static void
test_number_round_trip(void **state)
{
        unsigned long long seed = 20261204;

        (void)state;
        for (int k = 0; k < 10000; k++) {
                char digits[16], want[48], buf[XLSX_NUMBUF];
                int nd, point, n = 0;

                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                nd = 1 + (int)((seed >> 33) % 15);
                point = -6 + (int)((seed >> 20) % 22); /* digits before the point */
                for (int i = 0; i < nd; i++) {
                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        digits[i] = (char)('0' + (seed >> 40) % 10);
                }
                digits[0] = digits[0] == '0' ? '7' : digits[0];
                /* Trailing zeros are not significant: drop them. */
                while (nd > 1 && digits[nd - 1] == '0')
                        nd--;
                if (point <= 0) {
                        n += sprintf(want + n, "0.");
                        for (int i = 0; i < -point; i++)
                                want[n++] = '0';
                        memcpy(want + n, digits, (size_t)nd);
                        n += nd;
                } else if (point >= nd) {
                        memcpy(want + n, digits, (size_t)nd);
                        n += nd;
                        for (int i = nd; i < point; i++)
                                want[n++] = '0';
                } else {
                        memcpy(want + n, digits, (size_t)point);
                        n += point;
                        want[n++] = '.';
                        memcpy(want + n, digits + point, (size_t)(nd - point));
                        n += nd - point;
                }
                want[n] = '\0';
                xlsx_number_text(strtod(want, NULL), buf);
                if (strcmp(buf, want) != 0)
                        fail_msg("%s read back as %s", want, buf);
        }
}

static void
test_cell_ref(void **state)
{
        char ref[XLSX_REFBUF];

        (void)state;
        xlsx_cell_ref(0, 1, ref);
        assert_string_equal(ref, "A1");
        xlsx_cell_ref(2, 7, ref);
        assert_string_equal(ref, "C7");
        xlsx_cell_ref(25, 10, ref);
        assert_string_equal(ref, "Z10");
        xlsx_cell_ref(26, 10, ref);
        assert_string_equal(ref, "AA10");
        xlsx_cell_ref(16383, 1048576, ref);
        assert_string_equal(ref, "XFD1048576");
}

static void
test_sheet_by_name(void **state)
{
        static const char wb[] = "<workbook " NS " xmlns:r=\"urn:r\"><sheets>"
                                 "<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/>"
                                 "<sheet name=\"数据\" sheetId=\"2\" r:id=\"rId7\"/>"
                                 "</sheets></workbook>";
        static const char rels[] = "<Relationships>"
                                   "<Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/>"
                                   "<Relationship Id=\"rId7\" Target=\"/xl/worksheets/s2.xml\"/>"
                                   "</Relationships>";
        static const char s1[] = "<worksheet><sheetData><row><c><v>1</v></c></row>"
                                 "</sheetData></worksheet>";
        /* A prefixed namespace, as some generators write it. */
        static const char s2[] = "<x:worksheet xmlns:x=\"urn:x\"><x:sheetData><x:row r=\"2\">"
                                 "<x:c r=\"B2\"><x:v>2</x:v></x:c></x:row></x:sheetData>"
                                 "</x:worksheet>";
        const struct xlsx_part parts[] = {
            {"xl/workbook.xml", wb, sizeof(wb) - 1},
            {"xl/_rels/workbook.xml.rels", rels, sizeof(rels) - 1},
            {"xl/worksheets/sheet1.xml", s1, sizeof(s1) - 1},
            {"xl/worksheets/s2.xml", s2, sizeof(s2) - 1},
        };
        void *zip;
        size_t len;
        char err[256];
        struct xlsx_sheet *sh;

        (void)state;
        assert_int_equal(xlsx_build(parts, 4, 0, &zip, &len), 0);
        sh = xlsx_read("t.xlsx", zip, len, "数据", err, sizeof(err));
        assert_non_null(sh);
        assert_string_equal(sh->name, "数据");
        assert_int_equal(sh->nrows, 1);
        assert_int_equal(sh->rows[0].row, 2);
        check_cell(&sh->rows[0], 1, XLSX_NUMBER, "2");
        xlsx_sheet_destroy(&sh);
        sh = xlsx_read("t.xlsx", zip, len, NULL, err, sizeof(err));
        assert_non_null(sh);
        assert_string_equal(sh->name, "Sheet1");
        xlsx_sheet_destroy(&sh);
        assert_null(xlsx_read("t.xlsx", zip, len, "Sheet3", err, sizeof(err)));
        assert_string_equal(err,
                            "t.xlsx: no sheet \"Sheet3\" (the sheets are \"Sheet1\", \"数据\")");
        free(zip);
}

/* Expect sheet_xml (with sst_xml) refused with want. */
static void
check_refused(const char *sheet_xml, const char *sst_xml, const char *want)
{
        char err[512] = "";
        struct xlsx_sheet *sh = read_sheet(sheet_xml, sst_xml, NULL, err, sizeof(err));

        assert_null(sh);
        assert_string_equal(err, want);
}

static void
test_malformed(void **state)
{
        (void)state;
        check_refused("<worksheet><sheetData><row r=\"1\">\n<c r=\"A1\"><v>1</v></row>"
                      "</sheetData></worksheet>",
                      NULL,
                      "t.xlsx: xl/worksheets/sheet1.xml line 2: malformed XML: mismatched tag");
        check_refused("<worksheet><sheetData><row r=\"2\"><c r=\"A3\"><v>1</v></c></row>"
                      "</sheetData></worksheet>",
                      NULL, "t.xlsx: xl/worksheets/sheet1.xml: bad cell reference \"A3\" in row 2");
        check_refused("<worksheet><sheetData><row><c t=\"s\"><v>5</v></c></row>"
                      "</sheetData></worksheet>",
                      "<sst><si><t>a</t></si></sst>",
                      "t.xlsx: xl/worksheets/sheet1.xml: cell A1 points at shared string "
                      "\"5\", which does not exist");
        check_refused("<worksheet><sheetData><row><c><v>12abc</v></c></row>"
                      "</sheetData></worksheet>",
                      NULL,
                      "t.xlsx: xl/worksheets/sheet1.xml: cell A1 holds \"12abc\", which is not "
                      "a number");
        check_refused("<worksheet><sheetData><row r=\"0\"/></sheetData></worksheet>", NULL,
                      "t.xlsx: xl/worksheets/sheet1.xml: bad row number \"0\"");
}

static void
test_entities_refused(void **state)
{
        (void)state;
        /* The start of a billion-laughs document. */
        check_refused("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                      "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>&lol2;</t></is>"
                      "</c></row></sheetData></worksheet>",
                      NULL,
                      "t.xlsx: xl/worksheets/sheet1.xml: has a DOCTYPE, which no workbook has "
                      "(refused: entity expansion)");
        check_refused("<worksheet><sheetData/></worksheet>",
                      "<!DOCTYPE sst SYSTEM \"file:///etc/passwd\"><sst/>",
                      "t.xlsx: xl/sharedStrings.xml: has a DOCTYPE, which no workbook has "
                      "(refused: entity expansion)");
}

static void
test_not_a_workbook(void **state)
{
        static const char junk[] = "PK\x03\x04 not really a zip";
        const struct xlsx_part only[] = {{"a.txt", "x", 1}};
        void *zip;
        size_t len;
        char err[256];

        (void)state;
        assert_int_equal(xlsx_is_zip(junk, sizeof(junk) - 1), 1);
        assert_int_equal(xlsx_is_zip("unit,period", 11), 0);
        assert_null(xlsx_read("t.xlsx", junk, sizeof(junk) - 1, NULL, err, sizeof(err)));
        assert_true(
            strncmp(err, "t.xlsx: not an .xlsx workbook (the zip archive cannot be read", 61) == 0);
        assert_int_equal(xlsx_build(only, 1, 0, &zip, &len), 0);
        assert_null(xlsx_read("t.xlsx", zip, len, NULL, err, sizeof(err)));
        assert_string_equal(err, "t.xlsx: not an .xlsx workbook (no xl/workbook.xml)");
        free(zip);
}

static void
test_zip_bomb(void **state)
{
        /* 60 MB of one byte deflates to about 60 KB: past the unpacked cap. */
        size_t big = (size_t)60 << 20;
        char *xml = xmalloc(big + 1), err[256];
        void *zip;
        size_t len;
        struct xlsx_sheet *sh;

        (void)state;
        memset(xml, ' ', big);
        memcpy(xml, "<worksheet>", 11);
        xml[big] = '\0';
        assert_int_equal(xlsx_build_simple(xml, NULL, NULL, &zip, &len), 0);
        free(xml);
        assert_true(len < ((size_t)1 << 20));
        sh = xlsx_read("bomb.xlsx", zip, len, NULL, err, sizeof(err));
        assert_null(sh);
        assert_string_equal(err, "bomb.xlsx: the workbook is larger than 50 MB unpacked");
        free(zip);
}

static void
test_cell_cap(void **state)
{
        /* One row of 16384 cells, 62 rows: 1,015,808 cells, past the cap. */
        static const char cell[] = "<c><v>1</v></c>";
        size_t ncells = (size_t)16384 * 62, cap = ncells * (sizeof(cell) - 1) + 62 * 16 + 64;
        char *xml = xmalloc(cap), err[256];
        size_t n = 0;
        void *zip;
        size_t len;

        (void)state;
        n += (size_t)sprintf(xml + n, "<worksheet><sheetData>");
        for (int r = 0; r < 62; r++) {
                n += (size_t)sprintf(xml + n, "<row>");
                for (int c = 0; c < 16384; c++) {
                        memcpy(xml + n, cell, sizeof(cell) - 1);
                        n += sizeof(cell) - 1;
                }
                n += (size_t)sprintf(xml + n, "</row>");
        }
        sprintf(xml + n, "</sheetData></worksheet>");
        assert_int_equal(xlsx_build_simple(xml, NULL, NULL, &zip, &len), 0);
        free(xml);
        assert_null(xlsx_read("cells.xlsx", zip, len, NULL, err, sizeof(err)));
        assert_string_equal(err, "cells.xlsx: the sheet has more than 1000000 cells");
        free(zip);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cells),
            cmocka_unit_test(test_number_text),
            cmocka_unit_test(test_number_round_trip),
            cmocka_unit_test(test_cell_ref),
            cmocka_unit_test(test_sheet_by_name),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_entities_refused),
            cmocka_unit_test(test_not_a_workbook),
            cmocka_unit_test(test_zip_bomb),
            cmocka_unit_test(test_cell_cap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
