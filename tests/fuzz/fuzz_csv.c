/*
 * libFuzzer target for the CSV reader (lib/csvread.c over libcsv): every
 * school file and every config file goes through it.  Reads the input to
 * the end and checks the reader's promises on every row: the row's line is
 * positive and never goes backwards, fields are NUL-terminated at their
 * length, the field cap holds, and no field holds a NUL byte or invalid
 * UTF-8.  The input is read twice: as UTF-8 (csvread_open_mem) and with
 * encoding detection (csvread_open_mem_enc: UTF-16, GB18030 through iconv,
 * or a refusal that names the input).  A broken promise aborts, which
 * libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_all(struct csvread *r)
{
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
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct csvread *r = csvread_open_mem("fuzz.csv", data, size);
        char err[256];

        read_all(r);
        r = csvread_open_mem_enc("fuzz.csv", data, size, TEXTENC_AUTO, err, sizeof(err));
        if (r == NULL) {
                if (strncmp(err, "fuzz.csv: ", 10) != 0)
                        abort();
                return 0;
        }
        read_all(r);
        return 0;
}
