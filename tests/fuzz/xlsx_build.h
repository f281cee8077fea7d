/*
 * xlsx_build: make an .xlsx archive in memory from its parts, with libzip,
 * for the tests of lib/xlsx and for its fuzz target (which builds archives
 * around fuzzed XML, since fuzzed archive bytes rarely get past the zip
 * layer and its CRC checks).
 */
#ifndef EDUSTAT_XLSX_BUILD_H
#define EDUSTAT_XLSX_BUILD_H

#include <stddef.h>

/* One entry of the archive: its name and its bytes. */
struct xlsx_part {
        const char *name;
        const void *data;
        size_t len;
};

/*
 * Zip parts[0..n) into an owned buffer (free() it): deflated when
 * compress is set, else stored.  Returns 0, or -1 when libzip fails.
 */
int xlsx_build(const struct xlsx_part *parts, size_t n, int compress, void **out, size_t *outlen);

/*
 * A minimal workbook, deflated: one sheet named "Sheet1" whose part is
 * sheet_xml, with the shared strings sst_xml and the styles styles_xml
 * (each may be NULL for none).  Returns as xlsx_build.
 */
int xlsx_build_simple(const char *sheet_xml, const char *sst_xml, const char *styles_xml,
                      void **out, size_t *outlen);

/* The same, stored or deflated as compress says. */
int xlsx_build_sheet(const char *sheet_xml, const char *sst_xml, const char *styles_xml,
                     int compress, void **out, size_t *outlen);

#endif
