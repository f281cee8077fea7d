/*
 * csvread: RFC 4180 CSV reading for config files and school submissions.
 *
 * The quoting rules are libcsv's (Debian libcsv3): it is small, well kept
 * and handles quoted commas, doubled quotes, embedded line breaks and CR/LF
 * endings, which Excel and WPS exports all produce.  This module adds what
 * the product needs around it:
 *   - a UTF-8 byte-order mark at the start of the file is skipped;
 *   - every row knows the physical line it starts on, for "FILE:LINE: why";
 *   - hard caps: CSVREAD_MAX_FIELDS fields per row and CSVREAD_MAX_ROW
 *     bytes per row; input past a cap is an error for that row, never an
 *     unbounded allocation;
 *   - a field containing a NUL byte or invalid UTF-8 makes its row bad;
 *   - blank lines are skipped.
 *
 * A bad row is reported and skipped; reading goes on with the next row: at
 * the next line after a stray quote, at the end of the record (line breaks
 * inside quotes do not end it) after a row over CSVREAD_MAX_ROW.  An
 * unterminated quoted field swallows the rest of the file, so it ends the
 * file with an error naming the line the quote (or the row) opened on.
 */
#ifndef EDUSTAT_CSVREAD_H
#define EDUSTAT_CSVREAD_H

#include <stddef.h>
#include <stdio.h>

#include "textenc.h"
#include "util.h"

#define CSVREAD_MAX_FIELDS 256
#define CSVREAD_MAX_ROW    (1024 * 1024)
/* Largest file read whole for conversion, and largest converted text. */
#define CSVREAD_MAX_TEXT (256 * 1024 * 1024)

struct csvread;

/*
 * One row.  fields[i] is NUL-terminated and lens[i] is its length; both
 * belong to the reader and stay valid until the next csvread_next() or
 * csvread_close().  line is the 1-based physical line the row starts on.
 */
struct csvrow {
        size_t nfields;
        char **fields;
        size_t *lens;
        unsigned long line;
};

enum csvread_status {
        CSVREAD_ROW = 1,     /* *row holds the next row */
        CSVREAD_EOF = 0,     /* no more rows */
        CSVREAD_BADROW = -1, /* this row is bad: row->line and err say why; call again */
        CSVREAD_FATAL = -2,  /* the file cannot be read further: err says why */
};

/*
 * Open path for reading, detecting its encoding.  Returns an owned reader,
 * or NULL with a message naming the file in err: the file cannot be opened
 * or read, it is larger than CSVREAD_MAX_TEXT and needs converting, or it
 * is no text textenc knows (`FILE: not UTF-8, UTF-16 or GB18030 text
 * (first bad byte at line L)`).
 */
EDUSTAT_MUST_USE struct csvread *csvread_open(const char *path, char *err, size_t errlen);

/*
 * The same with the encoding forced (TEXTENC_AUTO detects).  A forced
 * UTF-8 file is streamed without the whole-file check: a row with bad
 * UTF-8 is a bad row, as always.
 */
EDUSTAT_MUST_USE struct csvread *csvread_open_enc(const char *path, enum textenc enc, char *err,
                                                  size_t errlen);

/*
 * The same over fp, open for reading at its start (a file opened by the
 * caller, as the spool does to check what it opened).  The reader owns fp
 * from here: it is closed by csvread_close, or before returning NULL.
 * name is used in messages only.
 */
struct csvread *csvread_open_fp(FILE *fp, const char *name, enum textenc enc, char *err,
                                size_t errlen);

/*
 * Read UTF-8 from memory (tests, fuzzing), with no detection: a BOM is
 * skipped and rows with bad UTF-8 are bad rows.  buf is not copied and must
 * outlive the reader.  name is used in messages only.
 */
struct csvread *csvread_open_mem(const char *name, const void *buf, size_t len);

/*
 * Read from memory in encoding enc (TEXTENC_AUTO detects), as
 * csvread_open_enc does for a file.  buf must outlive the reader (UTF-8 is
 * read in place).  Returns an owned reader, or NULL with textenc's message
 * naming name in err.
 */
struct csvread *csvread_open_mem_enc(const char *name, const void *buf, size_t len,
                                     enum textenc enc, char *err, size_t errlen);

/*
 * Read the next row.  Returns a csvread_status.  On CSVREAD_BADROW and
 * CSVREAD_FATAL, err holds a message without the file name ("row has more
 * than 256 fields"), and row->line is the line it is about.
 */
EDUSTAT_MUST_USE int csvread_next(struct csvread *r, struct csvrow *row, char *err, size_t errlen);

/* A column a header must (required) or may have. */
struct csvread_column {
        const char *name;
        int required;
};

/*
 * Find cols in the header row: names compare case-insensitively after
 * trimming blanks; columns not in cols are ignored.  Sets pos[k] to the
 * field index of cols[k], or -1 for an absent optional column.  Returns 0,
 * or -1 with `missing column "x"` or `duplicate column "x"` in err.
 */
EDUSTAT_MUST_USE int csvread_columns(const struct csvrow *header, const struct csvread_column *cols,
                                     size_t ncols, int *pos, char *err, size_t errlen);

/*
 * s[0..*len) without surrounding blanks (space, tab, CR, LF): returns the
 * first kept byte and sets *len to the kept length.
 */
const char *csvread_trim(const char *s, size_t *len);

/* The name given at open, for messages. */
const char *csvread_name(const struct csvread *r);

/* The delimiter in use, ',' or '\t'; known once the first row was read. */
char csvread_delimiter(const struct csvread *r);

/* What the input was (TEXTENC_UTF8 for csvread_open_mem). */
enum textenc csvread_encoding(const struct csvread *r);

/*
 * Read fp from where it stands to its end into one buffer, for input that
 * is taken whole (a file to convert, a workbook, standard input): at most
 * max bytes, growing as it fills so a short file costs little.  Returns 0
 * with an owned buffer (free it; not NUL-terminated) in *bufp and its
 * length in *lenp; -EFBIG when fp holds more than max bytes; -errno when
 * reading fails.  On failure nothing is allocated and *bufp is untouched.
 * The messages are the caller's, which knows what it was reading.
 */
EDUSTAT_MUST_USE int csvread_slurp(FILE *fp, size_t max, char **bufp, size_t *lenp);

/* Close and free; accepts NULL and sets *rp to NULL. */
void csvread_close(struct csvread **rp);

#endif
