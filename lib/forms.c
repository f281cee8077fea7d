/*
 * forms: read forms.csv.  See forms.h.
 */
#include "forms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgload.h"
#include "csvread.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

enum { F_STAGE, F_INDICATOR, F_NCOLS };

static const struct csvread_column form_cols[F_NCOLS] = {
    [F_STAGE] = {"stage", 1},
    [F_INDICATOR] = {"indicator", 1},
};

/* What a row is checked against, and where it goes. */
struct forms_loader {
        struct cfgload cl;
        const struct catalog *cat;
        struct strmap *stages; /* the stages schools have */
        struct strmap *seen;   /* stage and indicator of every row so far -> its index */
        struct forms *f;
};

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

/* Check one data row and append it.  0, or -1 after cfgload_fail(). */
static int
row_add(void *ctx, const struct csvrow *row, const int *col)
{
        struct forms_loader *ld = ctx;
        const struct catalog *cat = ld->cat;
        struct forms *f = ld->f;
        struct cfgload_field stage = cfgload_column(row, col, F_STAGE);
        struct cfgload_field code = cfgload_column(row, col, F_INDICATOR);
        char key[2 * 256 + 2];
        int ind, first;

        if (stage.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty stage");
                return -1;
        }
        if (strmap_get(ld->stages, stage.s, stage.len) < 0) {
                cfgload_fail(&ld->cl, row->line,
                             "unknown stage \"%.*s\" (no school in orgunits.csv has it)",
                             cfgload_show(stage.s, stage.len), stage.s);
                return -1;
        }
        if (code.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty indicator");
                return -1;
        }
        if ((ind = catalog_find(cat, code.s, code.len)) < 0) {
                cfgload_fail(&ld->cl, row->line,
                             "unknown indicator \"%.*s\" (not in indicators.csv)",
                             cfgload_show(code.s, code.len), code.s);
                return -1;
        }
        if (cat->ind[ind].kind == IND_RATIO) {
                cfgload_fail(&ld->cl, row->line,
                             "indicator \"%s\" is a ratio, computed from %s and %s: list "
                             "those instead (a ratio is never submitted)",
                             cat->ind[ind].code, cat->ind[cat->ind[ind].num].code,
                             cat->ind[cat->ind[ind].den].code);
                return -1;
        }
        if (stage.len > 256) {
                cfgload_fail(&ld->cl, row->line, "stage is longer than 256 bytes");
                return -1;
        }
        /* A unit separator keeps "a"+"bc" apart from "ab"+"c". */
        snprintf(key, sizeof key, "%.*s\x1f%s", (int)stage.len, stage.s, cat->ind[ind].code);
        first = strmap_put(ld->seen, key, strlen(key), (int)f->n);
        if (first != (int)f->n) {
                cfgload_fail(&ld->cl, row->line,
                             "stage \"%.*s\" lists indicator \"%s\" again (first at line %lu)",
                             (int)stage.len, stage.s, cat->ind[ind].code, f->item[first].line);
                return -1;
        }
        f->item = xreallocarray(f->item, f->n + 1, sizeof *f->item);
        f->item[f->n].stage = xstrndup(stage.s, stage.len);
        f->item[f->n].indicator = ind;
        f->item[f->n].line = row->line;
        f->n++;
        return 0;
}

static const struct cfgload_file forms_csv = {
    .cols = form_cols,
    .ncols = F_NCOLS,
    .header = "stage,indicator",
    .header_hint = 1,
    .max_rows = FORMS_MAX_ROWS,
    .row = row_add,
};

int
forms_load(const char *path, const struct catalog *cat, const struct orgtree *tree,
           struct forms **out, char *err, size_t errlen)
{
        struct stat st;
        struct forms_loader ld = {.cl = {.path = path, .err = err, .errlen = errlen}, .cat = cat};
        int ret;

        *out = NULL;
        /* A missing file is no forms (NULL), not an empty one. */
        if (stat(path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR))
                return 0;
        ld.f = xcalloc(1, sizeof *ld.f);
        ld.seen = strmap_new(64);
        ld.stages = school_stages(tree);
        ret = cfgload_read(&ld.cl, &forms_csv, &ld) == 0 ? 1 : -1;
        strmap_destroy(&ld.seen);
        strmap_destroy(&ld.stages);
        if (ret == 1)
                *out = ld.f;
        else
                forms_destroy(&ld.f);
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
