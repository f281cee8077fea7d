/*
 * submit: one school's file turned into the records the collector sends.
 * No network here; collector/main.c batches and delivers what this returns.
 *
 * A file is CSV (any encoding lib/csvread reads: UTF-8, UTF-16 with a BOM,
 * GB18030/GBK; a comma or a tab between fields) or an Excel workbook (.xlsx,
 * recognised by its zip signature, whatever its name; lib/xlsx.h).  Its
 * first row is a header, in one of two layouts:
 *
 *   long   the columns unit, period, indicator and value, in any order and
 *          any case, with blanks around the names ignored; other columns
 *          are ignored.  One record per row.
 *   wide   no indicator column or no value column: a unit column, a period
 *          column, and one column per indicator, headed by the indicator's
 *          code or its name_zh from the catalogue (indicators.csv), or both
 *          as `name_zh(code)` or `name_zh（code）`.  One record per non-empty
 *          cell of an indicator column; empty cells are skipped.  Columns
 *          that name no indicator (学校名称, 备注) are ignored and listed in
 *          submission.ignored.  Reading a wide file needs the catalogue.
 *
 * unit and period may be left out when the caller gives them as flags
 * (--unit, --period); when the column exists, an empty cell takes the
 * flag's value if one was given.  Every field is trimmed of surrounding
 * blanks.  Values are normalised by lib/numtext.h (full-width digits,
 * thousands separators, exponents refused) before they are packed; when
 * that changed the text, the record's raw keeps what the school typed.
 *
 * Values of a long CSV are not checked here: the aggregator validates every
 * record against the catalogue and the tree, so there is one place that
 * decides.  A cell of a wide file or of a workbook is checked here against
 * the catalogue as well (kind, decimals), with the aggregator's wording,
 * because only here is it known which column or cell a value came from;
 * the aggregator's own reasons name only the line.  The collector rejects
 * what it cannot turn into a record, and a rejected record travels to the
 * aggregator like the others so that the rejection is stored with its
 * reason:
 *   - a header without a required column (or naming one twice) gives ONE
 *     rejected record for the whole file, at the header's line, with the
 *     header row as raw text: `missing column "value"`,
 *     `missing columns "unit", "period"`, `duplicate column "unit"`,
 *     `columns "学生数" and "pupils" both name indicator "pupils"`;
 *   - a row whose field count differs from the header's (CSV):
 *     `row has 5 fields, the header has 4`;
 *   - a row csvread cannot read (NUL, invalid UTF-8, over a cap) gets
 *     csvread's message; an unterminated quote ends the file there, after
 *     the rows before it;
 *   - a field longer than PROTO_MAX_FIELD bytes, which the wire format does
 *     not carry: `value is longer than 256 bytes`;
 *   - a value numtext refuses, and (wide, workbook) a value the catalogue
 *     refuses; in a workbook also a date, a boolean or an error in the
 *     unit, period or value column.
 * Where a rejection is reported (submit_record.place): a long CSV row at its
 * line (`FILE:LINE: reason`); a cell of a wide CSV at its line and column,
 * the reason starting with the column's header (`FILE:LINE:学生数: reason`);
 * a cell of a workbook at its cell, the reason starting with it
 * (`FILE:Sheet1!C7: reason`), the sheet row being the record's line.
 *
 * Versions: the records of a file are numbered from version_base in file
 * order (record k gets version_base + k), so a later row of the same key
 * wins.  A caller reading several files passes version_base + the number of
 * records of the files before, so the whole run counts up.
 */
#ifndef EDUSTAT_SUBMIT_H
#define EDUSTAT_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "textenc.h"

/*
 * Most rows (good or bad, header included) a file may have: past it the
 * file is refused as a whole, with a message naming it.  EDUSTAT_MAX_ROWS
 * changes it for every read that does not set submit_opts.max_rows.
 */
#define SUBMIT_MAX_ROWS 1000000

/* Longest raw text kept for a rejected row (the wire's PROTO_MAX_TEXT). */
#define SUBMIT_MAX_RAW 4096

/* Where a rejection is reported; see the top of this file. */
enum submit_place {
        SUBMIT_AT_LINE = 0, /* FILE:LINE: reason */
        SUBMIT_AT_COLUMN,   /* FILE:LINE:reason, the reason starting with the column */
        SUBMIT_AT_CELL,     /* FILE:reason, the reason starting with Sheet!Cell */
};

/*
 * One record.  All strings are NUL-terminated and owned by the submission.
 * For an accepted-so-far record unit, period, indicator and value are the
 * trimmed (and normalised) fields, possibly "", and reason is NULL; raw is
 * NULL, or "unit,period,indicator,cell as typed" when normalising changed
 * the value.  For a record the collector rejects, reason says why and
 * value is "".  A rejected row (long CSV, header, unreadable row) has raw
 * = the row's fields joined by ',' (cut at SUBMIT_MAX_RAW bytes on a
 * character boundary; "" when the row could not be split), indicator "",
 * and unit and period the flags' values or "".  A rejected cell has raw =
 * "unit,period,indicator,cell as typed" and its unit, period and indicator.
 */
struct submit_record {
        unsigned long line; /* physical line the row starts on, 1-based */
        uint64_t version;
        const char *unit;
        const char *period;
        const char *indicator;
        const char *value;
        const char *raw;         /* see above */
        const char *reason;      /* NULL unless rejected */
        enum submit_place place; /* how a rejection is reported */
};

struct submission {
        struct submit_record *rec; /* in file order */
        size_t n;
        size_t nrejected;      /* records with reason != NULL */
        const char *ignored;   /* wide: `"学校名称", "备注"`, the columns naming no
                                  indicator; NULL when none */
        const char *layout;    /* "long" or "wide", once a header was read */
        enum textenc encoding; /* what a CSV file was; TEXTENC_AUTO for a workbook */
        struct arena *arena;   /* private: the strings */
};

/* How to read a file. */
struct submit_opts {
        const char *unit, *period; /* the --unit and --period values, or NULL */
        enum textenc encoding;     /* --encoding; TEXTENC_AUTO detects */
        const char *sheet;         /* --sheet: a workbook's sheet; NULL for the first */
        /*
         * The indicator catalogue, asked for only when a file needs it (a
         * wide header, a workbook's cells): returns it (not owned by
         * submit) or NULL with why in err.  NULL: there is none.
         */
        const struct catalog *(*catalog)(void *arg, char *err, size_t errlen);
        void *catalog_arg;
        uint64_t version_base;
        size_t max_rows; /* 0: EDUSTAT_MAX_ROWS, else SUBMIT_MAX_ROWS */
};

/*
 * Read the file at path (CSV or .xlsx).  Returns an owned submission
 * (possibly with no records, or only rejected ones), or NULL with a message
 * naming the file in err when it cannot be used at all: it cannot be
 * opened, it is not text in an encoding csvread knows (`FILE: not UTF-8,
 * UTF-16 or GB18030 text (first bad byte at line L)`), a workbook is
 * broken, over a cap or lacks the sheet, it is wide and the catalogue is
 * unavailable, or a flag is longer than the wire allows.
 */
struct submission *submit_file(const char *path, const struct submit_opts *o, char *err,
                               size_t errlen);

/*
 * The same over the open file fd (read from its start; a duplicate is
 * read, fd stays the caller's); name is used in messages and receipts.
 */
struct submission *submit_fd(int fd, const char *name, const struct submit_opts *o, char *err,
                             size_t errlen);

/* The same over len bytes at buf (stdin slurped); buf is not kept. */
struct submission *submit_buffer(const char *name, const void *buf, size_t len,
                                 const struct submit_opts *o, char *err, size_t errlen);

/*
 * The forms the collector had before encodings and layouts: submit_file
 * and submit_buffer with encoding detection, no sheet and no catalogue.
 * Read the CSV file at path.  unit_flag and period_flag are the --unit and
 * --period values, or NULL.  Returns an owned submission (possibly with no
 * records, or only rejected ones), or NULL with a message naming the file in
 * err when the file cannot be opened or a flag is longer than the wire
 * allows.
 */
struct submission *submit_read(const char *path, const char *unit_flag, const char *period_flag,
                               uint64_t version_base, char *err, size_t errlen);

/* The same over len bytes at buf; name is used in messages only. */
struct submission *submit_read_mem(const char *name, const void *buf, size_t len,
                                   const char *unit_flag, const char *period_flag,
                                   uint64_t version_base, char *err, size_t errlen);

/* Free; accepts NULL and sets *sp to NULL. */
void submission_destroy(struct submission **sp);

/*
 * The catalogue of a config directory, loaded the first time a file needs
 * it and kept for the rest of the run: zero the struct, set dir
 * (EDUSTAT_CONFIG), and pass submit_catalog_get with it as submit_opts'
 * catalog and catalog_arg.  A load that failed is not retried; every wide
 * file then gets its message.
 */
struct submit_catalog {
        const char *dir;
        struct catalog *cat;
        int tried;
        char err[512];
};

/* The submit_opts.catalog of a struct submit_catalog. */
const struct catalog *submit_catalog_get(void *arg, char *err, size_t errlen);

/* Free what was loaded; the struct may be used again. */
void submit_catalog_clear(struct submit_catalog *c);

#endif
