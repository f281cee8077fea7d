/*
 * libFuzzer target for the CSV reader (lib/csvread.c over libcsv): every
 * school file and every config file goes through it.  Reads the input to
 * the end and checks the reader's promises on every row: the row's line is
 * positive and never goes backwards, fields are NUL-terminated at their
 * length, the field cap holds, and no field holds a NUL byte or invalid
 * UTF-8.  A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct csvread *r = csvread_open_mem("fuzz.csv", data, size);
        struct csvrow row;
        unsigned long last = 0;
        char err[256];
        int st;

        while ((st = csvread_next(r, &row, err, sizeof(err))) != CSVREAD_EOF) {
                if (row.line == 0 || row.line < last)
                        abort();
                last = row.line;
                if (st == CSVREAD_FATAL)
                        break;
                if (st == CSVREAD_BADROW) {
                        if (err[0] == '\0')
                                abort(); /* a bad row always says why */
                        continue;
                }
                if (row.nfields == 0 || row.nfields > CSVREAD_MAX_FIELDS)
                        abort();
                for (size_t i = 0; i < row.nfields; i++) {
                        if (row.fields[i][row.lens[i]] != '\0' ||
                            memchr(row.fields[i], '\0', row.lens[i]) != NULL ||
                            !utf8_valid(row.fields[i], row.lens[i]))
                                abort();
                }
        }
        csvread_close(&r);
        return 0;
}
