/*
 * xlsx_build: libzip writing into a memory source, read back whole.
 */
#include "xlsx_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

int
xlsx_build(const struct xlsx_part *parts, size_t n, int compress, void **out, size_t *outlen)
{
        zip_error_t ze;
        zip_source_t *src;
        zip_t *za;
        zip_int64_t size;
        void *buf;

        zip_error_init(&ze);
        if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL)
                return -1;
        zip_source_keep(src);
        if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL) {
                zip_source_free(src);
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                zip_source_t *s = zip_source_buffer(za, parts[i].data, parts[i].len, 0);
                zip_int64_t idx;

                if (s == NULL || (idx = zip_file_add(za, parts[i].name, s, ZIP_FL_OVERWRITE)) < 0) {
                        zip_source_free(s);
                        zip_discard(za);
                        zip_source_free(src);
                        return -1;
                }
                zip_set_file_compression(za, (zip_uint64_t)idx,
                                         compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
        }
        if (zip_close(za) < 0) {
                zip_discard(za);
                zip_source_free(src);
                return -1;
        }
        if (zip_source_open(src) < 0) {
                zip_source_free(src);
                return -1;
        }
        zip_source_seek(src, 0, SEEK_END);
        size = zip_source_tell(src);
        zip_source_seek(src, 0, SEEK_SET);
        buf = malloc(size > 0 ? (size_t)size : 1);
        if (buf == NULL || size < 0 || zip_source_read(src, buf, (zip_uint64_t)size) != size) {
                free(buf);
                zip_source_close(src);
                zip_source_free(src);
                return -1;
        }
        zip_source_close(src);
        zip_source_free(src);
        *out = buf;
        *outlen = (size_t)size;
        return 0;
}

int
xlsx_build_simple(const char *sheet_xml, const char *sst_xml, const char *styles_xml, void **out,
                  size_t *outlen)
{
        return xlsx_build_sheet(sheet_xml, sst_xml, styles_xml, 1, out, outlen);
}

int
xlsx_build_sheet(const char *sheet_xml, const char *sst_xml, const char *styles_xml, int compress,
                 void **out, size_t *outlen)
{
        static const char wb[] =
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
            "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
            "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
            "<sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
        static const char rels[] =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/"
            "2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";
        struct xlsx_part parts[5] = {
            {"xl/workbook.xml", wb, sizeof(wb) - 1},
            {"xl/_rels/workbook.xml.rels", rels, sizeof(rels) - 1},
            {"xl/worksheets/sheet1.xml", sheet_xml, strlen(sheet_xml)},
        };
        size_t n = 3;

        if (sst_xml != NULL)
                parts[n++] = (struct xlsx_part){"xl/sharedStrings.xml", sst_xml, strlen(sst_xml)};
        if (styles_xml != NULL)
                parts[n++] = (struct xlsx_part){"xl/styles.xml", styles_xml, strlen(styles_xml)};
        return xlsx_build(parts, n, compress, out, outlen);
}
