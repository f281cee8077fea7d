/*
 * libFuzzer target for lib/xlsx.c (libzip + expat): school workbooks are
 * untrusted input.  An input starting like a zip archive is read as one;
 * any other input is cut at "\n--\n" into a sheet, shared strings and
 * styles, zipped into a workbook with xlsx_build and read, so the fuzzer
 * reaches the XML handlers past the archive's checksums.  Checks the
 * reader's promises on every sheet it returns: row numbers positive, at
 * most XLSX_MAX_COLUMNS cells a row and XLSX_MAX_CELLS in all, fields
 * NUL-terminated at their length, valid UTF-8, types in range.  A broken
 * promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xlsx.h"
#include "xlsx_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok)
{
        if (!ok)
                abort();
}

static void
sheet_check(const char *name, const void *buf, size_t len, const char *sheet)
{
        char err[512];
        size_t cells = 0;
        struct xlsx_sheet *sh = xlsx_read(name, buf, len, sheet, err, sizeof(err));

        if (sh == NULL) {
                check(strncmp(err, name, strlen(name)) == 0);
                return;
        }
        check(sh->name != NULL);
        for (size_t i = 0; i < sh->nrows; i++) {
                const struct xlsx_row *r = &sh->rows[i];

                check(r->row > 0 && r->ncells > 0 && r->ncells <= XLSX_MAX_COLUMNS);
                cells += r->ncells;
                for (size_t c = 0; c < r->ncells; c++) {
                        check(r->fields[c][r->lens[c]] == '\0');
                        check(r->types[c] <= XLSX_ERROR);
                        check(r->types[c] == XLSX_EMPTY || r->types[c] == XLSX_TEXT ||
                              r->types[c] == XLSX_ERROR || r->lens[c] < XLSX_NUMBUF);
                        check(utf8_valid(r->fields[c], r->lens[c]) || r->lens[c] == 0 ||
                              memchr(r->fields[c], '\0', r->lens[c]) != NULL);
                }
        }
        (void)cells;
        xlsx_sheet_destroy(&sh);
        check(sh == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *part[3] = {NULL, NULL, NULL};
        char *text, *p;
        void *zip;
        size_t ziplen, n = 0;

        if (xlsx_is_zip(data, size)) {
                sheet_check("fuzz.xlsx", data, size, NULL);
                sheet_check("fuzz.xlsx", data, size, "Sheet1");
                return 0;
        }
        text = malloc(size + 1);
        if (text == NULL)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        /* Parts end at a NUL too: the builder takes C strings. */
        for (p = text; n < 3; n++) {
                char *cut = strstr(p, "\n--\n");

                part[n] = p;
                if (cut == NULL)
                        break;
                *cut = '\0';
                p = cut + 4;
        }
        /* Stored, not deflated: a hundred times more inputs a second. */
        if (xlsx_build_sheet(part[0], part[1], part[2], 0, &zip, &ziplen) == 0) {
                sheet_check("fuzz.xlsx", zip, ziplen, NULL);
                free(zip);
        }
        free(text);
        return 0;
}
