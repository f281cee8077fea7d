/*
 * forms: read forms.csv.  See forms.h.
 */
#include "forms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csvread.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

/* How much of a user's text is quoted back in a message. */
#define SHOW_MAX 64

enum { F_STAGE, F_INDICATOR, F_NCOLS };

static const struct csvread_column form_cols[F_NCOLS] = {
    [F_STAGE] = {"stage", 1},
    [F_INDICATOR] = {"indicator", 1},
};

/* Length of s[0..len) to quote: at most SHOW_MAX bytes, whole characters. */
static int
show(const char *s, size_t len)
{
        if (len <= SHOW_MAX)
                return (int)len;
        len = SHOW_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
                len--;
        return (int)len;
}

/* The stages schools (leaves) of the tree have, as a set. */
static struct strmap *
school_stages(const struct orgtree *tree)
{
        struct strmap *m = strmap_new(16);

        /* A tree has at most ORGTREE_MAX_UNITS units, fewer than a map holds. */
        _Static_assert(ORGTREE_MAX_UNITS <= STRMAP_MAX, "every unit's stage fits in a set");
        for (size_t i = 0; i < tree->n; i++)
                if (tree->u[i].is_leaf && tree->u[i].stage[0] != '\0' &&
                    strmap_put(m, tree->u[i].stage, strlen(tree->u[i].stage), 0) < 0)
                        fatalx("%s: the set of the tree's stages is full", __func__);
        return m;
}

/* Check one data row and append it.  0, or -1 with err set. */
static int
row_add(struct forms *f, struct strmap *seen, const struct strmap *stages,
        const struct catalog *cat, const char *path, const struct csvrow *row, const int *col,
        char *err, size_t errlen)
{
        size_t slen = row->lens[col[F_STAGE]], ilen = row->lens[col[F_INDICATOR]];
        const char *stage = csvread_trim(row->fields[col[F_STAGE]], &slen);
        const char *code = csvread_trim(row->fields[col[F_INDICATOR]], &ilen);
        char key[2 * 256 + 2];
        int ind, first;

        if (slen == 0) {
                strlcpyf(err, errlen, "%s:%lu: empty stage", path, row->line);
                return -1;
        }
        if (strmap_get(stages, stage, slen) < 0) {
                strlcpyf(err, errlen,
                         "%s:%lu: unknown stage \"%.*s\" (no school in orgunits.csv has it)", path,
                         row->line, show(stage, slen), stage);
                return -1;
        }
        if (ilen == 0) {
                strlcpyf(err, errlen, "%s:%lu: empty indicator", path, row->line);
                return -1;
        }
        if ((ind = catalog_find(cat, code, ilen)) < 0) {
                strlcpyf(err, errlen, "%s:%lu: unknown indicator \"%.*s\" (not in indicators.csv)",
                         path, row->line, show(code, ilen), code);
                return -1;
        }
        if (cat->ind[ind].kind == IND_RATIO) {
                strlcpyf(err, errlen,
                         "%s:%lu: indicator \"%s\" is a ratio, computed from %s and %s: list "
                         "those instead (a ratio is never submitted)",
                         path, row->line, cat->ind[ind].code, cat->ind[cat->ind[ind].num].code,
                         cat->ind[cat->ind[ind].den].code);
                return -1;
        }
        if (slen > 256) {
                strlcpyf(err, errlen, "%s:%lu: stage is longer than 256 bytes", path, row->line);
                return -1;
        }
        /* A unit separator keeps "a"+"bc" apart from "ab"+"c". */
        snprintf(key, sizeof key, "%.*s\x1f%s", (int)slen, stage, cat->ind[ind].code);
        first = strmap_put(seen, key, strlen(key), (int)f->n);
        if (first != (int)f->n) {
                strlcpyf(err, errlen,
                         "%s:%lu: stage \"%.*s\" lists indicator \"%s\" again (first at line %lu)",
                         path, row->line, (int)slen, stage, cat->ind[ind].code,
                         f->item[first].line);
                return -1;
        }
        f->item = xreallocarray(f->item, f->n + 1, sizeof *f->item);
        f->item[f->n].stage = xstrndup(stage, slen);
        f->item[f->n].indicator = ind;
        f->item[f->n].line = row->line;
        f->n++;
        return 0;
}

int
forms_load(const char *path, const struct catalog *cat, const struct orgtree *tree,
           struct forms **out, char *err, size_t errlen)
{
        struct csvread *r;
        struct csvrow row;
        struct stat st;
        struct forms *f;
        struct strmap *seen, *stages;
        int col[F_NCOLS], rc, ret = -1;
        size_t hdr_fields;
        char msg[256];

        *out = NULL;
        if (stat(path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR))
                return 0;
        if ((r = csvread_open(path, err, errlen)) == NULL)
                return -1;
        f = xcalloc(1, sizeof *f);
        seen = strmap_new(64);
        stages = school_stages(tree);
        rc = csvread_next(r, &row, msg, sizeof msg);
        if (rc == CSVREAD_EOF) {
                strlcpyf(err, errlen, "%s:1: empty file: expected the header stage,indicator",
                         path);
                goto out;
        }
        if (rc != CSVREAD_ROW) {
                strlcpyf(err, errlen, "%s:%lu: %s", path, row.line, msg);
                goto out;
        }
        if (csvread_columns(&row, form_cols, F_NCOLS, col, msg, sizeof msg) < 0) {
                strlcpyf(err, errlen, "%s:%lu: %s (the header is stage,indicator)", path, row.line,
                         msg);
                goto out;
        }
        hdr_fields = row.nfields;
        while ((rc = csvread_next(r, &row, msg, sizeof msg)) != CSVREAD_EOF) {
                if (rc != CSVREAD_ROW) {
                        strlcpyf(err, errlen, "%s:%lu: %s", path, row.line, msg);
                        goto out;
                }
                if (row.nfields != hdr_fields) {
                        strlcpyf(err, errlen, "%s:%lu: row has %zu fields, the header has %zu",
                                 path, row.line, row.nfields, hdr_fields);
                        goto out;
                }
                if (f->n == FORMS_MAX_ROWS) {
                        strlcpyf(err, errlen, "%s:%lu: more than %d rows", path, row.line,
                                 FORMS_MAX_ROWS);
                        goto out;
                }
                if (row_add(f, seen, stages, cat, path, &row, col, err, errlen) < 0)
                        goto out;
        }
        ret = 1;
out:
        csvread_close(&r);
        strmap_destroy(&seen);
        strmap_destroy(&stages);
        if (ret == 1)
                *out = f;
        else
                forms_destroy(&f);
        return ret;
}

int
forms_has_stage(const struct forms *f, const char *stage)
{
        if (f == NULL || stage == NULL)
                return 0;
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->item[i].stage, stage) == 0)
                        return 1;
        return 0;
}

int
forms_lists(const struct forms *f, const char *stage, int ind)
{
        if (!forms_has_stage(f, stage))
                return 1;
        for (size_t i = 0; i < f->n; i++)
                if (f->item[i].indicator == ind && strcmp(f->item[i].stage, stage) == 0)
                        return 1;
        return 0;
}

void
forms_destroy(struct forms **fp)
{
        struct forms *f;

        if (fp == NULL || (f = *fp) == NULL)
                return;
        for (size_t i = 0; i < f->n; i++)
                free(f->item[i].stage);
        free(f->item);
        free(f);
        *fp = NULL;
}
