/*
 * submit: one school's CSV file turned into the records the collector sends.
 * No network here; collector/main.c batches and delivers what this returns.
 *
 * The file needs a header naming the columns unit, period, indicator and
 * value, in any order and any case, with blanks around the names ignored;
 * other columns are ignored.  unit and period may be left out when the
 * caller gives them as flags (--unit, --period); when the column exists, an
 * empty cell takes the flag's value if one was given.  Every field is
 * trimmed of surrounding blanks.
 *
 * Values are not checked here: the aggregator validates every record
 * against the catalogue and the tree, so there is one place that decides.
 * The collector rejects only what it cannot turn into a record, and a
 * rejected record travels to the aggregator like the others so that the
 * rejection is stored with its reason:
 *   - a header without a required column (or naming one twice) gives ONE
 *     rejected record for the whole file, at the header's line, with the
 *     header row as raw text: `missing column "value"`,
 *     `missing columns "unit", "period"`, `duplicate column "unit"`;
 *   - a row whose field count differs from the header's:
 *     `row has 5 fields, the header has 4`;
 *   - a row csvread cannot read (NUL, invalid UTF-8, over a cap) gets
 *     csvread's message; an unterminated quote ends the file there, after
 *     the rows before it;
 *   - a field longer than PROTO_MAX_FIELD bytes, which the wire format does
 *     not carry: `value is longer than 256 bytes`.
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

/* Longest raw text kept for a rejected row (the wire's PROTO_MAX_TEXT). */
#define SUBMIT_MAX_RAW 4096

/*
 * One record.  All strings are NUL-terminated and owned by the submission.
 * For an accepted-so-far record unit, period, indicator and value are the
 * trimmed fields (possibly ""), raw and reason are NULL.  For a record the
 * collector rejects, reason says why, raw holds the row's fields joined by
 * ',' (cut at SUBMIT_MAX_RAW bytes on a character boundary; "" when the row
 * could not be split), indicator and value are "", and unit and period are
 * the flags' values or "".
 */
struct submit_record {
        unsigned long line; /* physical line the row starts on, 1-based */
        uint64_t version;
        const char *unit;
        const char *period;
        const char *indicator;
        const char *value;
        const char *raw;    /* NULL unless rejected */
        const char *reason; /* NULL unless rejected */
};

struct submission {
        struct submit_record *rec; /* in file order */
        size_t n;
        size_t nrejected;           /* records with reason != NULL */
        struct submit_arena *arena; /* private: the strings */
};

/*
 * Read the CSV file at path.  unit_flag and period_flag are the --unit and
 * --period values, or NULL.  Returns an owned submission (possibly with no
 * records, or only rejected ones), or NULL with a message naming the file in
 * err when the file cannot be opened or a flag is longer than the wire
 * allows.
 */
struct submission *submit_read(const char *path, const char *unit_flag, const char *period_flag,
                               uint64_t version_base, char *err, size_t errlen);

/*
 * The same over len bytes at buf (stdin slurped, tests).  name is used in
 * messages only; buf is not kept after the call returns.
 */
struct submission *submit_read_mem(const char *name, const void *buf, size_t len,
                                   const char *unit_flag, const char *period_flag,
                                   uint64_t version_base, char *err, size_t errlen);

/* Free; accepts NULL and sets *sp to NULL. */
void submission_destroy(struct submission **sp);

#endif
