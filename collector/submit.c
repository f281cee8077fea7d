#include "submit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arena.h"
#include "csvread.h"
#include "decimal.h"
#include "numtext.h"
#include "proto.h"
#include "util.h"
#include "xlsx.h"

/*
 * The strings of a submission live in large blocks rather than four small
 * allocations per record: a 256 MB stdin holds millions of rows.
 */
#define ARENA_BLOCK (256 * 1024)

enum column { COL_UNIT, COL_PERIOD, COL_INDICATOR, COL_VALUE, NCOLS };

static const char *const column_name[NCOLS] = {"unit", "period", "indicator", "value"};

/* Quote at most this much of an offending value, as the aggregator does. */
#define QUOTE_MAX 64
/* Room for a reason with a place and two quoted fields. */
#define REASON_MAX 512

/* One row as the layouts see it: a CSV row, or a sheet row with cell types. */
struct row {
        size_t nfields;
        char **fields;
        size_t *lens;
        unsigned long line;
        const unsigned char *types; /* enum xlsx_type per field; NULL for CSV */
};

/* The reading state of one file. */
struct reader {
        struct submission *s;
        size_t cap;
        const struct submit_opts *o;
        const char *unit_flag, *period_flag;
        const char *name;  /* the file, for messages */
        const char *sheet; /* the sheet's name for a workbook, else NULL */
        int col[NCOLS];    /* field index of each column, -1 when absent */
        size_t nheader;    /* fields in the header row */
        int wide;
        const struct catalog *cat; /* wide, workbook: when available */
        int *ind;                  /* wide: indicator of each header field, or -1 */
        char **code;               /* wide: its code, in the submission's arena */
        char **header;             /* the header's trimmed names */
        char *fatal;               /* a reason the whole file is refused, or NULL */
};

static int
is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trim s[0..*len) in place of the pointer: returns the start, updates *len. */
static const char *
trim(const char *s, size_t *len)
{
        size_t n = *len;

        while (n > 0 && is_blank(*s)) {
                s++;
                n--;
        }
        while (n > 0 && is_blank(s[n - 1]))
                n--;
        *len = n;
        return s;
}

/* trim() that also drops the ideographic space U+3000 (headers typed in Chinese). */
static const char *
trim_wide(const char *s, size_t *len)
{
        for (;;) {
                s = trim(s, len);
                if (*len >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0) {
                        s += 3;
                        *len -= 3;
                } else if (*len >= 3 && memcmp(s + *len - 3, "\xE3\x80\x80", 3) == 0) {
                        *len -= 3;
                } else {
                        return s;
                }
        }
}

static struct submit_record *
record_add(struct reader *rd, unsigned long line)
{
        struct submission *s = rd->s;
        struct submit_record *r;

        if (s->n == rd->cap) {
                rd->cap = rd->cap ? rd->cap * 2 : 64;
                s->rec = xreallocarray(s->rec, rd->cap, sizeof(*s->rec));
        }
        r = &s->rec[s->n];
        memset(r, 0, sizeof(*r));
        r->line = line;
        r->version = rd->o->version_base + s->n;
        s->n++;
        return r;
}

/*
 * The length of s[0..n) without a UTF-8 sequence cut short at its end.  The
 * fields are valid UTF-8 (csvread checks), so only the end can be broken.
 */
static size_t
utf8_cut(const char *s, size_t n)
{
        size_t lead = n, want;
        unsigned char c;

        while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
                lead--;
        if (lead == 0)
                return n;
        c = (unsigned char)s[lead - 1];
        if (c < 0x80)
                return n;
        want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        return n - (lead - 1) < want ? lead - 1 : n;
}

/* Copy parts joined by ',' into the arena, cut at SUBMIT_MAX_RAW on a character. */
static const char *
raw_join(struct arena *a, char *const *parts, const size_t *lens, size_t nparts)
{
        char raw[SUBMIT_MAX_RAW + 1];
        size_t n = 0;

        for (size_t i = 0; i < nparts && n < SUBMIT_MAX_RAW; i++) {
                size_t take = lens[i];

                if (i > 0)
                        raw[n++] = ',';
                if (take > SUBMIT_MAX_RAW - n)
                        take = SUBMIT_MAX_RAW - n;
                memcpy(raw + n, parts[i], take);
                n += take;
        }
        if (n == SUBMIT_MAX_RAW)
                n = utf8_cut(raw, n);
        return arena_copy(a, raw, n);
}

/*
 * Add a rejected row.  raw is the row's fields joined by ',', or "" when
 * row is NULL.
 */
static void
reject_add(struct reader *rd, unsigned long line, const struct row *row, const char *reason)
{
        struct arena *a = rd->s->arena;
        struct submit_record *r = record_add(rd, line);

        r->raw = row != NULL ? raw_join(a, row->fields, row->lens, row->nfields) : "";
        r->reason = arena_str(a, reason);
        r->unit = rd->unit_flag ? arena_str(a, rd->unit_flag) : "";
        r->period = rd->period_flag ? arena_str(a, rd->period_flag) : "";
        r->indicator = "";
        r->value = "";
        rd->s->nrejected++;
}

/* "unit,period,indicator,cell" for raw, the cell as typed. */
static const char *
raw_cell(struct reader *rd, const char *unit, const char *period, const char *indicator,
         const char *cell, size_t cell_len)
{
        char *parts[4] = {(char *)(uintptr_t)unit, (char *)(uintptr_t)period,
                          (char *)(uintptr_t)indicator, (char *)(uintptr_t)cell};
        size_t lens[4] = {strlen(unit), strlen(period), strlen(indicator), cell_len};

        return raw_join(rd->s->arena, parts, lens, 4);
}

/*
 * Add a rejected cell: field col of a row at line.  The reason starts with
 * the cell's place: its column's header (wide CSV) or Sheet!Cell (workbook).
 */
static void
reject_cell(struct reader *rd, unsigned long line, size_t col, const char *unit, const char *period,
            const char *indicator, const char *cell, size_t cell_len, const char *why)
{
        struct arena *a = rd->s->arena;
        struct submit_record *r;
        char reason[REASON_MAX], ref[XLSX_REFBUF];

        if (rd->sheet != NULL) {
                xlsx_cell_ref(col, line, ref);
                strlcpyf(reason, sizeof(reason), "%s!%s: %s", rd->sheet, ref, why);
        } else {
                strlcpyf(reason, sizeof(reason), "%s: %s", rd->header[col], why);
        }
        r = record_add(rd, line);
        r->place = rd->sheet != NULL ? SUBMIT_AT_CELL : SUBMIT_AT_COLUMN;
        r->raw = raw_cell(rd, unit, period, indicator, cell, cell_len);
        r->reason = arena_str(a, reason);
        r->unit = arena_str(a, unit);
        r->period = arena_str(a, period);
        r->indicator = arena_str(a, indicator);
        r->value = "";
        rd->s->nrejected++;
}

/* Append `"name"` to a list being built in buf, comma-separated. */
static void
name_append(char *buf, size_t buflen, const char *name)
{
        size_t used = strlen(buf);

        snprintf(buf + used, buflen - used, "%s\"%s\"", used ? ", " : "", name);
}

/* Quote s[0..n) for a reason, clipped at QUOTE_MAX bytes on a character. */
static const char *
quote(char *buf, size_t buflen, const char *s, size_t n)
{
        if (n > QUOTE_MAX)
                strlcpyf(buf, buflen, "\"%.*s...\"", (int)utf8_cut(s, QUOTE_MAX), s);
        else
                strlcpyf(buf, buflen, "\"%.*s\"", (int)n, s);
        return buf;
}

/*
 * Check a normalised value against its indicator, in the aggregator's
 * words (aggregator/ingest.c; decimal_refusal words a bad value for both).
 * Returns 0, or -1 with the reason in why.
 */
static int
value_check(const struct catalog *cat, int ind, const char *v, size_t n, char *why, size_t whylen)
{
        const struct indicator *in = &cat->ind[ind];
        char q1[QUOTE_MAX * 3 + 8], q2[QUOTE_MAX * 3 + 8];
        uint64_t mant;
        int st;

        if (in->kind == IND_RATIO) {
                strlcpyf(why, whylen,
                         "indicator %s is a ratio and is derived, never submitted; submit \"%s\" "
                         "and \"%s\" instead",
                         quote(q1, sizeof(q1), in->code, strlen(in->code)), cat->ind[in->num].code,
                         cat->ind[in->den].code);
                return -1;
        }
        quote(q1, sizeof(q1), v, n);
        quote(q2, sizeof(q2), in->code, strlen(in->code));
        st = decimal_parse(v, n, in->scale, &mant);
        if (st == DECIMAL_OK)
                return 0;
        decimal_refusal(st, q1, q2, in->kind == IND_COUNT, in->scale, why, whylen);
        return -1;
}

/* What a workbook cell of this type cannot be in a unit, period or value column. */
static const char *
cell_unusable(const struct row *row, size_t i)
{
        if (row->types == NULL || i >= row->nfields)
                return NULL;
        switch (row->types[i]) {
        case XLSX_DATE:
                return "the cell holds a date (the number format is a date format); type the "
                       "number, or format the column as a number";
        case XLSX_BOOL:
                return "the cell holds TRUE or FALSE, not a number";
        case XLSX_ERROR:
                return "the cell holds a formula error";
        default:
                return NULL;
        }
}

/* Find the four columns in the header.  Returns 0, or -1 with a duplicate's reason. */
static int
columns_find(struct reader *rd, const struct row *row, char *reason, size_t reasonlen)
{
        char dup[128] = "";
        int ndup = 0, duplicated[NCOLS] = {0};

        for (int c = 0; c < NCOLS; c++)
                rd->col[c] = -1;
        for (size_t i = 0; i < row->nfields; i++) {
                size_t len = row->lens[i];
                const char *name = trim(row->fields[i], &len);

                for (int c = 0; c < NCOLS; c++) {
                        if (len != strlen(column_name[c]) ||
                            strncasecmp(name, column_name[c], len) != 0)
                                continue;
                        if (rd->col[c] < 0)
                                rd->col[c] = (int)i;
                        else
                                duplicated[c] = 1;
                }
        }
        for (int c = 0; c < NCOLS; c++) {
                if (duplicated[c]) {
                        name_append(dup, sizeof(dup), column_name[c]);
                        ndup++;
                }
        }
        if (ndup > 0) {
                snprintf(reason, reasonlen, "duplicate column%s %s", ndup > 1 ? "s" : "", dup);
                return -1;
        }
        return 0;
}

/* The missing-columns reason of a header, or 0 when nothing is missing. */
static int
columns_missing(const struct reader *rd, int first, char *reason, size_t reasonlen)
{
        char missing[128] = "";
        int nmissing = 0;

        for (int c = first; c < NCOLS; c++) {
                if (rd->col[c] >= 0 || (c == COL_UNIT && rd->unit_flag) ||
                    (c == COL_PERIOD && rd->period_flag))
                        continue;
                name_append(missing, sizeof(missing), column_name[c]);
                nmissing++;
        }
        if (nmissing > 0)
                snprintf(reason, reasonlen, "missing column%s %s", nmissing > 1 ? "s" : "",
                         missing);
        return nmissing;
}

/*
 * The indicator a wide header names: its code, its name_zh, or
 * `name_zh(code)` with ASCII or full-width parentheses.  Returns the
 * indicator's index or -1.
 */
static int
indicator_of_header(const struct catalog *cat, const char *h, size_t n)
{
        int k = catalog_find(cat, h, n);

        if (k >= 0)
                return k;
        for (size_t i = 0; i < cat->n; i++) {
                const char *zh = cat->ind[i].name_zh;

                if (zh != NULL && strlen(zh) == n && memcmp(zh, h, n) == 0)
                        return (int)i;
        }
        /* name_zh(code): the code is what identifies it. */
        {
                size_t close = 0, open = 0, olen = 0;

                if (n >= 1 && h[n - 1] == ')')
                        close = 1;
                else if (n >= 3 && memcmp(h + n - 3, "\xEF\xBC\x89", 3) == 0)
                        close = 3;
                if (close == 0)
                        return -1;
                for (size_t i = n - close; i-- > 0;) {
                        if (h[i] == '(') {
                                open = i;
                                olen = 1;
                                break;
                        }
                        if (i + 3 <= n - close && memcmp(h + i, "\xEF\xBC\x88", 3) == 0) {
                                open = i;
                                olen = 3;
                                break;
                        }
                }
                if (olen == 0)
                        return -1;
                {
                        size_t clen = n - close - open - olen;
                        const char *code = trim_wide(h + open + olen, &clen);

                        return clen > 0 ? catalog_find(cat, code, clen) : -1;
                }
        }
}

/*
 * Map a wide header: unit and period columns and one column per indicator.
 * Returns 0, -1 after adding the rejected record for the file, or -2 when
 * the catalogue is not available (rd->fatal says why).
 */
static int
header_wide(struct reader *rd, const struct row *row, int have_indicator_or_value)
{
        char reason[REASON_MAX], ignored[1024] = "", why[512] = "";
        size_t nind = 0, nignored = 0;

        if (rd->cat == NULL && rd->o->catalog != NULL)
                rd->cat = rd->o->catalog(rd->o->catalog_arg, why, sizeof(why));
        if (rd->cat == NULL) {
                /*
                 * A header with one of indicator and value is a long file
                 * with a column missing; without either, it can only be wide.
                 */
                if (have_indicator_or_value || rd->o->catalog == NULL) {
                        columns_missing(rd, COL_UNIT, reason, sizeof(reason));
                        reject_add(rd, row->line, row, reason);
                        return -1;
                }
                strlcpyf(reason, sizeof(reason),
                         "%s: the header has no \"indicator\" and \"value\" columns, so the file "
                         "is wide (a column per indicator), and reading it needs the indicator "
                         "catalogue: %s",
                         rd->name, why);
                rd->fatal = arena_str(rd->s->arena, reason);
                return -2;
        }
        rd->ind = xcalloc(row->nfields, sizeof(*rd->ind));
        rd->code = xcalloc(row->nfields, sizeof(*rd->code));
        rd->header = xcalloc(row->nfields, sizeof(*rd->header));
        for (size_t i = 0; i < row->nfields; i++) {
                size_t len = row->lens[i];
                const char *h = trim_wide(row->fields[i], &len);

                rd->header[i] = arena_copy(rd->s->arena, h, len);
                rd->ind[i] = -1;
                if ((int)i == rd->col[COL_UNIT] || (int)i == rd->col[COL_PERIOD] || len == 0)
                        continue;
                rd->ind[i] = indicator_of_header(rd->cat, h, len);
                if (rd->ind[i] < 0) {
                        if (strlen(ignored) + len + 8 < sizeof(ignored))
                                name_append(ignored, sizeof(ignored), rd->header[i]);
                        nignored++;
                        continue;
                }
                /* The records outlive the catalogue: they point at this copy. */
                rd->code[i] = arena_str(rd->s->arena, rd->cat->ind[rd->ind[i]].code);
                for (size_t j = 0; j < i; j++) {
                        if (rd->ind[j] == rd->ind[i]) {
                                snprintf(reason, sizeof(reason),
                                         "columns \"%s\" and \"%s\" both name indicator \"%s\"",
                                         rd->header[j], rd->header[i],
                                         rd->cat->ind[rd->ind[i]].code);
                                reject_add(rd, row->line, row, reason);
                                return -1;
                        }
                }
                nind++;
        }
        if (nind == 0) {
                /* Nothing names an indicator: say what a long header lacks. */
                columns_missing(rd, COL_UNIT, reason, sizeof(reason));
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        /* Only unit and period can be missing from a wide header. */
        if (columns_missing(rd, COL_UNIT, reason, sizeof(reason)) > 0) {
                char missing[128] = "";
                int nmissing = 0;

                for (int c = COL_UNIT; c <= COL_PERIOD; c++) {
                        if (rd->col[c] < 0 && !(c == COL_UNIT ? rd->unit_flag : rd->period_flag)) {
                                name_append(missing, sizeof(missing), column_name[c]);
                                nmissing++;
                        }
                }
                if (nmissing > 0) {
                        snprintf(reason, sizeof(reason), "missing column%s %s",
                                 nmissing > 1 ? "s" : "", missing);
                        reject_add(rd, row->line, row, reason);
                        return -1;
                }
        }
        if (nignored > 0)
                rd->s->ignored = arena_str(rd->s->arena, ignored);
        rd->wide = 1;
        return 0;
}

/*
 * Map the header's columns.  Returns 0, -1 after adding the one rejected
 * record that stands for the whole file, or -2 when the file is refused.
 */
static int
header_map(struct reader *rd, const struct row *row)
{
        char reason[REASON_MAX];

        rd->nheader = row->nfields;
        if (columns_find(rd, row, reason, sizeof(reason)) < 0) {
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        if (rd->col[COL_INDICATOR] < 0 || rd->col[COL_VALUE] < 0) {
                int rc =
                    header_wide(rd, row, rd->col[COL_INDICATOR] >= 0 || rd->col[COL_VALUE] >= 0);

                rd->s->layout = rc == 0 ? "wide" : NULL;
                return rc;
        }
        rd->s->layout = "long";
        if (columns_missing(rd, COL_UNIT, reason, sizeof(reason)) > 0) {
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        if (rd->sheet != NULL && rd->cat == NULL && rd->o->catalog != NULL) {
                char why[256];

                /* A workbook's cells are checked when the catalogue is there. */
                rd->cat = rd->o->catalog(rd->o->catalog_arg, why, sizeof(why));
        }
        return 0;
}

/*
 * The unit or period of a row: its cell, or the flag when the cell is
 * empty or the column absent.  Returns 0, or -1 after rejecting the row.
 */
static int
key_field(struct reader *rd, const struct row *row, int c, const char **val, size_t *len)
{
        const char *flag = c == COL_UNIT ? rd->unit_flag : rd->period_flag;
        char reason[REASON_MAX];
        const char *bad;

        *val = "";
        *len = 0;
        if (rd->col[c] >= 0 && (size_t)rd->col[c] < row->nfields) {
                *len = row->lens[rd->col[c]];
                *val = trim(row->fields[rd->col[c]], len);
                if (*len > 0 && (bad = cell_unusable(row, (size_t)rd->col[c])) != NULL) {
                        char ref[XLSX_REFBUF];

                        xlsx_cell_ref((size_t)rd->col[c], row->line, ref);
                        snprintf(reason, sizeof(reason), "%s!%s: %s", rd->sheet, ref, bad);
                        reject_add(rd, row->line, row, reason);
                        rd->s->rec[rd->s->n - 1].place = SUBMIT_AT_CELL;
                        return -1;
                }
        }
        if (*len == 0 && flag != NULL) {
                *val = flag;
                *len = strlen(flag);
        }
        if (*len > PROTO_MAX_FIELD) {
                snprintf(reason, sizeof(reason), "%s is longer than %d bytes", column_name[c],
                         PROTO_MAX_FIELD);
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        return 0;
}

/* Field count check for CSV rows (a sheet row may stop at its last value). */
static int
row_width_ok(struct reader *rd, const struct row *row)
{
        char reason[96];

        if (row->types != NULL || row->nfields == rd->nheader)
                return 1;
        snprintf(reason, sizeof(reason), "row has %zu field%s, the header has %zu", row->nfields,
                 row->nfields == 1 ? "" : "s", rd->nheader);
        reject_add(rd, row->line, row, reason);
        return 0;
}

/*
 * Reject the value cell of a long row: the record keeps the row's unit,
 * period and indicator, and the reason starts with the cell's place.
 */
static void
reject_long_value(struct reader *rd, const struct row *row, const char *const val[],
                  const size_t len[], const char *why)
{
        struct arena *a = rd->s->arena;

        reject_cell(rd, row->line, (size_t)rd->col[COL_VALUE],
                    arena_copy(a, val[COL_UNIT], len[COL_UNIT]),
                    arena_copy(a, val[COL_PERIOD], len[COL_PERIOD]),
                    arena_copy(a, val[COL_INDICATOR], len[COL_INDICATOR]), val[COL_VALUE],
                    len[COL_VALUE], why);
}

/* Turn one data row of a long file into a record (or a rejected one). */
static void
row_long(struct reader *rd, const struct row *row)
{
        struct arena *a = rd->s->arena;
        const char *val[NCOLS], *norm, *bad;
        size_t len[NCOLS], nlen = 0, vcol = (size_t)rd->col[COL_VALUE];
        char reason[REASON_MAX], why[REASON_MAX], buf[PROTO_MAX_FIELD + 1];
        struct submit_record *r;

        if (!row_width_ok(rd, row))
                return;
        if (key_field(rd, row, COL_UNIT, &val[COL_UNIT], &len[COL_UNIT]) < 0 ||
            key_field(rd, row, COL_PERIOD, &val[COL_PERIOD], &len[COL_PERIOD]) < 0)
                return;
        for (int c = COL_INDICATOR; c <= COL_VALUE; c++) {
                val[c] = "";
                len[c] = 0;
                if ((size_t)rd->col[c] < row->nfields) {
                        len[c] = row->lens[rd->col[c]];
                        val[c] = trim(row->fields[rd->col[c]], &len[c]);
                }
                if (len[c] > PROTO_MAX_FIELD) {
                        snprintf(reason, sizeof(reason), "%s is longer than %d bytes",
                                 column_name[c], PROTO_MAX_FIELD);
                        reject_add(rd, row->line, row, reason);
                        return;
                }
        }
        norm = numtext_normalize(val[COL_VALUE], len[COL_VALUE], buf, &nlen, why, sizeof(why));
        if (norm == NULL || (bad = cell_unusable(row, vcol)) != NULL) {
                if (norm != NULL)
                        strlcpyf(why, sizeof(why), "%s", bad);
                if (rd->sheet == NULL) {
                        /* A long CSV reports at the line, as it always has. */
                        reject_add(rd, row->line, row, why);
                } else {
                        reject_long_value(rd, row, val, len, why);
                }
                return;
        }
        if (rd->sheet != NULL && rd->cat != NULL) {
                int k = catalog_find(rd->cat, val[COL_INDICATOR], len[COL_INDICATOR]);

                /* An unknown indicator is the aggregator's to report, for the row. */
                if (k >= 0 && value_check(rd->cat, k, norm, nlen, why, sizeof(why)) < 0) {
                        reject_long_value(rd, row, val, len, why);
                        return;
                }
        }
        r = record_add(rd, row->line);
        r->unit = arena_copy(a, val[COL_UNIT], len[COL_UNIT]);
        r->period = arena_copy(a, val[COL_PERIOD], len[COL_PERIOD]);
        r->indicator = arena_copy(a, val[COL_INDICATOR], len[COL_INDICATOR]);
        r->value = arena_copy(a, norm, nlen);
        if (norm == buf)
                r->raw =
                    raw_cell(rd, r->unit, r->period, r->indicator, val[COL_VALUE], len[COL_VALUE]);
}

/* Turn one data row of a wide file into a record per non-empty indicator cell. */
static void
row_wide(struct reader *rd, const struct row *row)
{
        struct arena *a = rd->s->arena;
        const char *uval, *pval, *unit = NULL, *period = NULL;
        size_t ulen, plen;
        char why[REASON_MAX], buf[PROTO_MAX_FIELD + 1];

        if (!row_width_ok(rd, row))
                return;
        if (key_field(rd, row, COL_UNIT, &uval, &ulen) < 0 ||
            key_field(rd, row, COL_PERIOD, &pval, &plen) < 0)
                return;
        for (size_t i = 0; i < row->nfields && i < rd->nheader; i++) {
                const char *cell, *norm, *bad;
                size_t clen = row->lens[i], nlen = 0, tlen;
                struct submit_record *r;

                if (rd->ind[i] < 0)
                        continue;
                cell = trim(row->fields[i], &clen);
                tlen = clen;
                if (clen == 0 || (trim_wide(cell, &tlen), tlen == 0))
                        continue; /* an empty cell is no record and no rejection */
                if (unit == NULL) {
                        unit = arena_copy(a, uval, ulen);
                        period = arena_copy(a, pval, plen);
                }
                if ((bad = cell_unusable(row, i)) != NULL) {
                        reject_cell(rd, row->line, i, unit, period, rd->code[i], cell, clen, bad);
                        continue;
                }
                if (clen > PROTO_MAX_FIELD) {
                        snprintf(why, sizeof(why), "value is longer than %d bytes",
                                 PROTO_MAX_FIELD);
                        reject_cell(rd, row->line, i, unit, period, rd->code[i], cell,
                                    utf8_cut(cell, PROTO_MAX_FIELD), why);
                        continue;
                }
                norm = numtext_normalize(cell, clen, buf, &nlen, why, sizeof(why));
                if (norm == NULL ||
                    value_check(rd->cat, rd->ind[i], norm, nlen, why, sizeof(why)) < 0) {
                        reject_cell(rd, row->line, i, unit, period, rd->code[i], cell, clen, why);
                        continue;
                }
                r = record_add(rd, row->line);
                r->unit = unit;
                r->period = period;
                r->indicator = rd->code[i];
                r->value = arena_copy(a, norm, nlen);
                if (norm == buf)
                        r->raw = raw_cell(rd, unit, period, rd->code[i], cell, clen);
        }
}

/* A header or data row.  Returns -1 when the rest of the file means nothing. */
static int
row_take(struct reader *rd, const struct row *row, int *header_seen)
{
        if (!*header_seen) {
                if (header_map(rd, row) < 0)
                        return -1;
                *header_seen = 1;
                return 0;
        }
        if (rd->wide)
                row_wide(rd, row);
        else
                row_long(rd, row);
        return 0;
}

/* The row cap of a read: the option, else EDUSTAT_MAX_ROWS, else the default. */
static size_t
rows_max(const struct submit_opts *o)
{
        const char *env;
        long v;

        if (o->max_rows > 0)
                return o->max_rows;
        env = getenv("EDUSTAT_MAX_ROWS");
        if (env != NULL && *env != '\0' && parse_long(env, 1, 100000000, &v) == 0)
                return (size_t)v;
        return SUBMIT_MAX_ROWS;
}

/* Refuse the whole file: it has more rows than max. */
static void
rows_too_many(struct reader *rd, size_t max, unsigned long line)
{
        char reason[512];

        strlcpyf(reason, sizeof(reason),
                 "%s: more than %zu rows (line %lu is past the limit); nothing of it was "
                 "sent: split it into files of at most %zu rows (the limit is "
                 "EDUSTAT_MAX_ROWS)",
                 rd->name, max, line, max);
        rd->fatal = arena_str(rd->s->arena, reason);
}

/* Read every row of r into rd->s. */
static void
rows_read(struct reader *rd, struct csvread *r)
{
        struct csvrow crow;
        char msg[256];
        int header_seen = 0;
        size_t rows = 0, max = rows_max(rd->o);

        for (;;) {
                int st = csvread_next(r, &crow, msg, sizeof(msg));
                struct row row;

                if ((st == CSVREAD_ROW || st == CSVREAD_BADROW) && ++rows > max) {
                        rows_too_many(rd, max, crow.line);
                        return;
                }

                if (st == CSVREAD_EOF) {
                        if (!header_seen)
                                reject_add(rd, 1, NULL, "no header row (the file is empty)");
                        return;
                }
                if (st == CSVREAD_FATAL) {
                        reject_add(rd, crow.line, NULL, msg);
                        return;
                }
                if (st == CSVREAD_BADROW) {
                        reject_add(rd, crow.line, NULL, msg);
                        /* Without a header the rest of the file means nothing. */
                        if (!header_seen)
                                return;
                        continue;
                }
                row.nfields = crow.nfields;
                row.fields = crow.fields;
                row.lens = crow.lens;
                row.line = crow.line;
                row.types = NULL;
                if (row_take(rd, &row, &header_seen) < 0)
                        return;
        }
}

/* Read every row of a sheet into rd->s. */
static void
sheet_read(struct reader *rd, const struct xlsx_sheet *sh)
{
        int header_seen = 0;

        rd->sheet = sh->name;
        for (size_t i = 0; i < sh->nrows; i++) {
                const struct xlsx_row *x = &sh->rows[i];
                struct row row = {x->ncells, x->fields, x->lens, x->row, x->types};

                if (i >= rows_max(rd->o)) {
                        rows_too_many(rd, rows_max(rd->o), x->row);
                        return;
                }

                if (row_take(rd, &row, &header_seen) < 0)
                        return;
        }
        if (!header_seen)
                reject_add(rd, 1, NULL, "no header row (the sheet is empty)");
}

static int
flags_check(const char *name, const char *unit_flag, const char *period_flag, char *err,
            size_t errlen)
{
        if (unit_flag && strlen(unit_flag) > PROTO_MAX_FIELD) {
                strlcpyf(err, errlen, "%s: --unit is longer than %d bytes", name, PROTO_MAX_FIELD);
                return -1;
        }
        if (period_flag && strlen(period_flag) > PROTO_MAX_FIELD) {
                strlcpyf(err, errlen, "%s: --period is longer than %d bytes", name,
                         PROTO_MAX_FIELD);
                return -1;
        }
        return 0;
}

static void
reader_init(struct reader *rd, const char *name, const struct submit_opts *o)
{
        memset(rd, 0, sizeof(*rd));
        rd->o = o;
        rd->name = name;
        rd->s = xcalloc(1, sizeof(*rd->s));
        rd->s->arena = arena_new(ARENA_BLOCK);
        /* An empty flag gives nothing to fill in: treat it as absent. */
        rd->unit_flag = o->unit && *o->unit ? o->unit : NULL;
        rd->period_flag = o->period && *o->period ? o->period : NULL;
}

/* The submission, or NULL with err when the file was refused as a whole. */
static struct submission *
reader_finish(struct reader *rd, char *err, size_t errlen)
{
        free(rd->ind);
        free(rd->code);
        free(rd->header);
        if (rd->fatal != NULL) {
                strlcpyf(err, errlen, "%s", rd->fatal);
                submission_destroy(&rd->s);
                return NULL;
        }
        return rd->s;
}

static struct submission *
submission_csv(struct csvread *r, const struct submit_opts *o, char *err, size_t errlen)
{
        struct reader rd;

        reader_init(&rd, csvread_name(r), o);
        rd.s->encoding = csvread_encoding(r);
        rows_read(&rd, r);
        return reader_finish(&rd, err, errlen);
}

static struct submission *
submission_xlsx(const char *name, const void *buf, size_t len, const struct submit_opts *o,
                char *err, size_t errlen)
{
        struct xlsx_sheet *sh = xlsx_read(name, buf, len, o->sheet, err, errlen);
        struct reader rd;

        if (sh == NULL)
                return NULL;
        reader_init(&rd, name, o);
        rd.s->encoding = TEXTENC_AUTO;
        sheet_read(&rd, sh);
        /* The sheet's strings are copied into the submission's arena. */
        xlsx_sheet_destroy(&sh);
        return reader_finish(&rd, err, errlen);
}

/* 1 when fp starts like a zip archive, 0 when not; fp is left at its start. */
static int
file_is_zip(FILE *fp)
{
        unsigned char head[4];
        size_t got = fread(head, 1, sizeof(head), fp);

        rewind(fp);
        return xlsx_is_zip(head, got);
}

/* submit_file over fp, which it closes. */
static struct submission *
submit_stream(FILE *fp, const char *path, const struct submit_opts *o, char *err, size_t errlen)
{
        struct csvread *r;
        struct submission *s;

        if (file_is_zip(fp)) {
                char *buf;
                size_t len;
                int rc = csvread_slurp(fp, XLSX_MAX_FILE, &buf, &len);

                fclose(fp);
                if (rc == -EFBIG)
                        strlcpyf(err, errlen, "%s: a workbook larger than %d MB", path,
                                 XLSX_MAX_FILE >> 20);
                else if (rc < 0)
                        strlcpyf(err, errlen, "%s: %s", path, strerror(-rc));
                if (rc < 0)
                        return NULL;
                s = submission_xlsx(path, buf, len, o, err, errlen);
                free(buf);
                return s;
        }
        if ((r = csvread_open_fp(fp, path, o->encoding, err, errlen)) == NULL)
                return NULL;
        s = submission_csv(r, o, err, errlen);
        csvread_close(&r);
        return s;
}

struct submission *
submit_file(const char *path, const struct submit_opts *o, char *err, size_t errlen)
{
        FILE *fp;

        if (flags_check(path, o->unit, o->period, err, errlen) < 0)
                return NULL;
        if ((fp = fopen(path, "rb")) == NULL) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                return NULL;
        }
        return submit_stream(fp, path, o, err, errlen);
}

struct submission *
submit_fd(int fd, const char *name, const struct submit_opts *o, char *err, size_t errlen)
{
        FILE *fp;
        int copy;

        if (flags_check(name, o->unit, o->period, err, errlen) < 0)
                return NULL;
        if (lseek(fd, 0, SEEK_SET) < 0 || (copy = dup(fd)) < 0) {
                strlcpyf(err, errlen, "%s: %s", name, strerror(errno));
                return NULL;
        }
        if ((fp = fdopen(copy, "rb")) == NULL) {
                strlcpyf(err, errlen, "%s: %s", name, strerror(errno));
                close(copy);
                return NULL;
        }
        return submit_stream(fp, name, o, err, errlen);
}

struct submission *
submit_buffer(const char *name, const void *buf, size_t len, const struct submit_opts *o, char *err,
              size_t errlen)
{
        struct csvread *r;
        struct submission *s;

        if (flags_check(name, o->unit, o->period, err, errlen) < 0)
                return NULL;
        if (xlsx_is_zip(buf, len))
                return submission_xlsx(name, buf, len, o, err, errlen);
        if ((r = csvread_open_mem_enc(name, buf, len, o->encoding, err, errlen)) == NULL)
                return NULL;
        s = submission_csv(r, o, err, errlen);
        csvread_close(&r);
        return s;
}

struct submission *
submit_read(const char *path, const char *unit_flag, const char *period_flag, uint64_t version_base,
            char *err, size_t errlen)
{
        struct submit_opts o = {
            .unit = unit_flag, .period = period_flag, .version_base = version_base};

        return submit_file(path, &o, err, errlen);
}

struct submission *
submit_read_mem(const char *name, const void *buf, size_t len, const char *unit_flag,
                const char *period_flag, uint64_t version_base, char *err, size_t errlen)
{
        struct submit_opts o = {
            .unit = unit_flag, .period = period_flag, .version_base = version_base};

        return submit_buffer(name, buf, len, &o, err, errlen);
}

void
submission_destroy(struct submission **sp)
{
        struct submission *s;

        if (sp == NULL || (s = *sp) == NULL)
                return;
        arena_destroy(&s->arena);
        free(s->rec);
        free(s);
        *sp = NULL;
}

const struct catalog *
submit_catalog_get(void *arg, char *err, size_t errlen)
{
        struct submit_catalog *c = arg;

        if (!c->tried) {
                size_t len = strlen(c->dir) + sizeof("/indicators.csv");
                char *path = xmalloc(len);

                c->tried = 1;
                strlcpyf(path, len, "%s/indicators.csv", c->dir);
                c->cat = catalog_load(path, c->err, sizeof(c->err));
                free(path);
        }
        if (c->cat == NULL)
                strlcpyf(err, errlen, "%s (set EDUSTAT_CONFIG to the config directory)", c->err);
        return c->cat;
}

void
submit_catalog_clear(struct submit_catalog *c)
{
        catalog_destroy(&c->cat);
        c->tried = 0;
        c->err[0] = '\0';
}
