#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvread.h"
#include "proto.h"
#include "util.h"

/*
 * The strings of a submission live in large blocks rather than four small
 * allocations per record: a 256 MB stdin holds millions of rows.
 */
#define ARENA_BLOCK (256 * 1024)

struct arena_block {
        struct arena_block *next;
        size_t used, cap;
        char data[];
};

struct submit_arena {
        struct arena_block *head;
};

enum column { COL_UNIT, COL_PERIOD, COL_INDICATOR, COL_VALUE, NCOLS };

static const char *const column_name[NCOLS] = {"unit", "period", "indicator", "value"};

/* The reading state of one file. */
struct reader {
        struct submission *s;
        size_t cap;
        const char *unit_flag, *period_flag;
        uint64_t version_base;
        int col[NCOLS]; /* field index of each column, -1 when absent */
        size_t nheader; /* fields in the header row */
};

static char *
arena_copy(struct submit_arena *a, const char *s, size_t len)
{
        struct arena_block *b = a->head;
        char *p;

        if (b == NULL || b->cap - b->used < len + 1) {
                size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

                b = xmalloc(sizeof(*b) + cap);
                b->cap = cap;
                b->used = 0;
                b->next = a->head;
                a->head = b;
        }
        p = b->data + b->used;
        memcpy(p, s, len);
        p[len] = '\0';
        b->used += len + 1;
        return p;
}

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
        r->version = rd->version_base + s->n;
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

/*
 * Add a rejected record.  raw is the row's fields joined by ',' (cut at
 * SUBMIT_MAX_RAW bytes without splitting a UTF-8 sequence), or "" when row
 * is NULL.
 */
static void
reject_add(struct reader *rd, unsigned long line, const struct csvrow *row, const char *reason)
{
        struct submit_arena *a = rd->s->arena;
        struct submit_record *r = record_add(rd, line);
        char raw[SUBMIT_MAX_RAW + 1];
        size_t n = 0;

        for (size_t i = 0; row != NULL && i < row->nfields && n < SUBMIT_MAX_RAW; i++) {
                size_t take = row->lens[i];

                if (i > 0)
                        raw[n++] = ',';
                if (take > SUBMIT_MAX_RAW - n)
                        take = SUBMIT_MAX_RAW - n;
                memcpy(raw + n, row->fields[i], take);
                n += take;
        }
        if (n == SUBMIT_MAX_RAW)
                n = utf8_cut(raw, n);
        r->raw = arena_copy(a, raw, n);
        r->reason = arena_copy(a, reason, strlen(reason));
        r->unit = rd->unit_flag ? arena_copy(a, rd->unit_flag, strlen(rd->unit_flag)) : "";
        r->period = rd->period_flag ? arena_copy(a, rd->period_flag, strlen(rd->period_flag)) : "";
        r->indicator = "";
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

/*
 * Map the header's columns.  Returns 0, or -1 after adding the one rejected
 * record that stands for the whole file.
 */
static int
header_map(struct reader *rd, const struct csvrow *row)
{
        char dup[128] = "", missing[128] = "", reason[160];
        int ndup = 0, nmissing = 0, duplicated[NCOLS] = {0};

        for (int c = 0; c < NCOLS; c++)
                rd->col[c] = -1;
        rd->nheader = row->nfields;
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
                snprintf(reason, sizeof(reason), "duplicate column%s %s", ndup > 1 ? "s" : "", dup);
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        for (int c = 0; c < NCOLS; c++) {
                if (rd->col[c] >= 0 || (c == COL_UNIT && rd->unit_flag) ||
                    (c == COL_PERIOD && rd->period_flag))
                        continue;
                name_append(missing, sizeof(missing), column_name[c]);
                nmissing++;
        }
        if (nmissing > 0) {
                snprintf(reason, sizeof(reason), "missing column%s %s", nmissing > 1 ? "s" : "",
                         missing);
                reject_add(rd, row->line, row, reason);
                return -1;
        }
        return 0;
}

/* Turn one data row into a record (or a rejected one). */
static void
row_add(struct reader *rd, const struct csvrow *row)
{
        const char *flag[NCOLS] = {rd->unit_flag, rd->period_flag, NULL, NULL};
        const char *val[NCOLS];
        size_t len[NCOLS];
        char reason[96];
        struct submit_record *r;

        if (row->nfields != rd->nheader) {
                snprintf(reason, sizeof(reason), "row has %zu field%s, the header has %zu",
                         row->nfields, row->nfields == 1 ? "" : "s", rd->nheader);
                reject_add(rd, row->line, row, reason);
                return;
        }
        for (int c = 0; c < NCOLS; c++) {
                val[c] = "";
                len[c] = 0;
                if (rd->col[c] >= 0) {
                        len[c] = row->lens[rd->col[c]];
                        val[c] = trim(row->fields[rd->col[c]], &len[c]);
                }
                if (len[c] == 0 && flag[c] != NULL) {
                        val[c] = flag[c];
                        len[c] = strlen(flag[c]);
                }
                if (len[c] > PROTO_MAX_FIELD) {
                        snprintf(reason, sizeof(reason), "%s is longer than %d bytes",
                                 column_name[c], PROTO_MAX_FIELD);
                        reject_add(rd, row->line, row, reason);
                        return;
                }
        }
        r = record_add(rd, row->line);
        r->unit = arena_copy(rd->s->arena, val[COL_UNIT], len[COL_UNIT]);
        r->period = arena_copy(rd->s->arena, val[COL_PERIOD], len[COL_PERIOD]);
        r->indicator = arena_copy(rd->s->arena, val[COL_INDICATOR], len[COL_INDICATOR]);
        r->value = arena_copy(rd->s->arena, val[COL_VALUE], len[COL_VALUE]);
}

/* Read every row of r into rd->s. */
static void
rows_read(struct reader *rd, struct csvread *r)
{
        struct csvrow row;
        char msg[256];
        int header_seen = 0;

        for (;;) {
                int st = csvread_next(r, &row, msg, sizeof(msg));

                if (st == CSVREAD_EOF) {
                        if (!header_seen)
                                reject_add(rd, 1, NULL, "no header row (the file is empty)");
                        return;
                }
                if (st == CSVREAD_FATAL) {
                        reject_add(rd, row.line, NULL, msg);
                        return;
                }
                if (st == CSVREAD_BADROW) {
                        reject_add(rd, row.line, NULL, msg);
                        /* Without a header the rest of the file means nothing. */
                        if (!header_seen)
                                return;
                        continue;
                }
                if (!header_seen) {
                        if (header_map(rd, &row) < 0)
                                return;
                        header_seen = 1;
                        continue;
                }
                row_add(rd, &row);
        }
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

static struct submission *
submission_read(struct csvread *r, const char *unit_flag, const char *period_flag,
                uint64_t version_base)
{
        struct reader rd;

        memset(&rd, 0, sizeof(rd));
        rd.s = xcalloc(1, sizeof(*rd.s));
        rd.s->arena = xcalloc(1, sizeof(*rd.s->arena));
        /* An empty flag gives nothing to fill in: treat it as absent. */
        rd.unit_flag = unit_flag && *unit_flag ? unit_flag : NULL;
        rd.period_flag = period_flag && *period_flag ? period_flag : NULL;
        rd.version_base = version_base;
        rows_read(&rd, r);
        return rd.s;
}

struct submission *
submit_read(const char *path, const char *unit_flag, const char *period_flag, uint64_t version_base,
            char *err, size_t errlen)
{
        struct csvread *r;
        struct submission *s;

        if (flags_check(path, unit_flag, period_flag, err, errlen) < 0)
                return NULL;
        if ((r = csvread_open(path, err, errlen)) == NULL)
                return NULL;
        s = submission_read(r, unit_flag, period_flag, version_base);
        csvread_close(&r);
        return s;
}

struct submission *
submit_read_mem(const char *name, const void *buf, size_t len, const char *unit_flag,
                const char *period_flag, uint64_t version_base, char *err, size_t errlen)
{
        struct csvread *r;
        struct submission *s;

        if (flags_check(name, unit_flag, period_flag, err, errlen) < 0)
                return NULL;
        r = csvread_open_mem(name, buf, len);
        s = submission_read(r, unit_flag, period_flag, version_base);
        csvread_close(&r);
        return s;
}

void
submission_destroy(struct submission **sp)
{
        struct submission *s;

        if (sp == NULL || (s = *sp) == NULL)
                return;
        for (struct arena_block *b = s->arena->head, *next; b != NULL; b = next) {
                next = b->next;
                free(b);
        }
        free(s->arena);
        free(s->rec);
        free(s);
        *sp = NULL;
}
