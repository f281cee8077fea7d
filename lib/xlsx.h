/*
 * xlsx: the cells of one worksheet of an Excel workbook (.xlsx), as the
 * text Excel shows, for school submissions saved straight from Excel or WPS.
 *
 * An .xlsx file is a zip archive of XML parts (ECMA-376, SpreadsheetML).
 * libzip reads the archive and expat parses the parts as a stream, so no
 * part is held whole except the shared strings.  What is read:
 *   - xl/workbook.xml and xl/_rels/workbook.xml.rels: which part holds the
 *     sheet asked for by name (or the first sheet);
 *   - xl/sharedStrings.xml: the strings cells point at, rich-text runs
 *     (<r><t>) joined, phonetic runs (<rPh>) left out;
 *   - xl/styles.xml: which cell styles have a date number format (the
 *     built-in formats 14-22, 27-36, 45-47 and 50-58, and custom formats
 *     with date or time tokens);
 *   - the sheet: <c> cells with their cached <v> values (a formula cell
 *     keeps the value Excel computed last), inline strings (<is>), booleans
 *     and errors.
 * A number becomes the text Excel displays in the General format: at most
 * 15 significant digits, no exponent, no trailing zeros, so 5640.5 reads
 * "5640.5" however the file stored it.
 *
 * Untrusted input is bounded everywhere: the archive itself at
 * XLSX_MAX_FILE bytes, the bytes unpacked from it at XLSX_MAX_UNPACKED in
 * total (counted as they are inflated, whatever the archive declares, so a
 * zip bomb stops there), at most XLSX_MAX_CELLS cells, XLSX_MAX_COLUMNS
 * columns and XLSX_MAX_TEXT bytes in one cell or string.  A part with a
 * DOCTYPE or entity declaration is refused (no workbook needs one; that is
 * how the billion-laughs attack starts).
 */
#ifndef EDUSTAT_XLSX_H
#define EDUSTAT_XLSX_H

#include <stddef.h>

#include "util.h"

#define XLSX_MAX_FILE     (50 * 1024 * 1024)
#define XLSX_MAX_UNPACKED (50 * 1024 * 1024)
#define XLSX_MAX_CELLS    1000000
#define XLSX_MAX_COLUMNS  16384 /* Excel's own limit, column XFD */
#define XLSX_MAX_TEXT     32767 /* Excel's own limit for a cell's text */
/*
 * Room for the text of any number written out without an exponent (1e308
 * has 309 digits, 1e-308 a point and 307 zeros first), and for a cell
 * reference with its NUL.
 */
#define XLSX_NUMBUF 400
#define XLSX_REFBUF 24

enum xlsx_type {
        XLSX_EMPTY = 0, /* no cell, or a cell without a value */
        XLSX_TEXT,      /* a shared, inline or formula string */
        XLSX_NUMBER,    /* text is the General display of the number */
        XLSX_DATE,      /* a number with a date format: text is the serial number */
        XLSX_BOOL,      /* text is "TRUE" or "FALSE" */
        XLSX_ERROR,     /* text is the error, "#DIV/0!" */
};

/*
 * One row that has at least one cell with a value.  fields[i] is column i
 * (0 is A), NUL-terminated, "" for an empty cell; the arrays have ncells
 * entries, up to the last column with a value.  This is the layout of
 * lib/csvread's struct csvrow, so callers can treat both alike.
 */
struct xlsx_row {
        unsigned long row; /* the sheet's row number, 1-based */
        size_t ncells;
        char **fields;
        size_t *lens;
        unsigned char *types; /* enum xlsx_type per field */
};

struct xlsx_sheet {
        char *name; /* the sheet's name, as in "Sheet1!C7" */
        struct xlsx_row *rows;
        size_t nrows;
        struct arena *mem; /* private: the storage of the strings */
};

/* 1 when buf starts like a zip archive (an .xlsx), else 0. */
int xlsx_is_zip(const void *buf, size_t len);

/*
 * Read the sheet named sheet (NULL: the workbook's first sheet) of the
 * .xlsx in buf[0..len), which is not kept.  name is used in messages only.
 * Returns an owned sheet, or NULL with `NAME: why` in err: not a zip or
 * not a workbook, no such sheet (the message lists the sheets there are),
 * over a cap, malformed XML (with the part and its line).
 */
EDUSTAT_MUST_USE struct xlsx_sheet *xlsx_read(const char *name, const void *buf, size_t len,
                                              const char *sheet, char *err, size_t errlen);

/* Free; accepts NULL and sets *sp to NULL. */
void xlsx_sheet_destroy(struct xlsx_sheet **sp);

/*
 * Write v as Excel's General format shows it in a wide column: %.15g with
 * the exponent written out ("1e+15" is "1000000000000000"), "-0" as "0".
 * buf holds XLSX_NUMBUF bytes; returns the length.  Not for NaN or
 * infinities (a cell cannot hold them).
 */
size_t xlsx_number_text(double v, char *buf);

/* The reference of a cell, "C7", for column col (0 is A) and row. */
void xlsx_cell_ref(size_t col, unsigned long row, char *buf);

#endif
