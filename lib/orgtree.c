/*
 * orgtree: load orgunits.csv, check it is one tree, and precompute the two
 * answers rollup needs on every change.
 *
 * Everything after parsing is iterative and linear in the number of units
 * (plus the total length of the ancestor lists), so a million units load
 * in a fraction of a second and no input depth can exhaust the C stack:
 *   1. parent codes are resolved through the code index;
 *   2. children are laid out in CSR form, in file order;
 *   3. one explicit-stack depth-first walk from the root yields the
 *      preorder; a unit it never reaches is in, or hangs below, a cycle;
 *   4. depths, ancestor lists and leaf slices follow from the preorder,
 *      parents always coming before their children.
 * Ancestor lists cost depth+1 entries per unit, so their total is capped:
 * a tree too deep for that is refused rather than allowed to eat memory.
 */
#include "orgtree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cfgload.h"
#include "csvread.h"
#include "strmap.h"
#include "util.h"

/* Total ancestor-list entries (int each) a tree may need: 256 MiB. */
#define ORGTREE_ANC_MAX ((size_t)1 << 26)
/* Units named in a cycle message before it is cut short. */
#define CYCLE_SHOW 12
/* Unit strings are carved from blocks of this size, not malloc'd one by one. */
#define STRBLOCK 65536

struct strblock {
        struct strblock *next;
        size_t used, cap;
        char data[];
};

struct orgtree_index {
        struct strmap *map;
        struct strblock *strings; /* owns every string of every unit */
};

enum column { C_CODE, C_PARENT, C_LEVEL, C_NAME, C_STAGE, C_LOCALITY, C_OWNERSHIP, C_NCOLS };

/* stage, locality and ownership may be empty for every unit, so may be absent. */
static const struct csvread_column columns[C_NCOLS] = {
    [C_CODE] = {"code", 1},           [C_PARENT] = {"parent", 1}, [C_LEVEL] = {"level", 1},
    [C_NAME] = {"name", 1},           [C_STAGE] = {"stage", 0},   [C_LOCALITY] = {"locality", 0},
    [C_OWNERSHIP] = {"ownership", 0},
};

struct loader {
        struct cfgload cl;
        struct orgtree *t;
        size_t cap;
};

/* Copy f into the tree's string blocks, NUL-terminated. */
static char *
str_add(struct orgtree_index *ix, struct cfgload_field f)
{
        struct strblock *b = ix->strings;
        char *p;

        if (b == NULL || b->cap - b->used < f.len + 1) {
                size_t cap = f.len + 1 > STRBLOCK ? f.len + 1 : STRBLOCK;

                b = xmalloc(sizeof(*b) + cap);
                b->next = ix->strings;
                b->used = 0;
                b->cap = cap;
                ix->strings = b;
        }
        p = b->data + b->used;
        memcpy(p, f.s, f.len);
        p[f.len] = '\0';
        b->used += f.len + 1;
        return p;
}

static int
add_row(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        struct orgtree *t = ld->t;
        struct orgtree_index *ix = t->index;
        struct cfgload_field code, parent;
        struct orgunit *u;
        int at;

        code = cfgload_column(row, col, C_CODE);
        parent = cfgload_column(row, col, C_PARENT);
        if (code.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty code");
                return -1;
        }
        if (!cfgload_code_valid(code.s, code.len, ORGTREE_CODE_MAX)) {
                cfgload_fail(&ld->cl, row->line,
                             "bad code \"%.*s\": codes are 1..%d characters of A-Z a-z 0-9 _ . -",
                             cfgload_show(code.s, code.len), code.s, ORGTREE_CODE_MAX);
                return -1;
        }
        if (t->n >= ORGTREE_MAX_UNITS) {
                cfgload_fail(&ld->cl, row->line, "more than %d units", ORGTREE_MAX_UNITS);
                return -1;
        }
        at = strmap_put(ix->map, code.s, code.len, (int)t->n);
        if (at != (int)t->n) {
                cfgload_fail(&ld->cl, row->line,
                             "duplicate code \"%.*s\" (first defined on line %lu)", (int)code.len,
                             code.s, t->u[at].line);
                return -1;
        }
        if (parent.len == 0 && t->root >= 0) {
                cfgload_fail(
                    &ld->cl, row->line,
                    "unit \"%.*s\" is a second root (\"%s\" on line %lu has an empty parent "
                    "too)",
                    (int)code.len, code.s, t->u[t->root].code, t->u[t->root].line);
                return -1;
        }
        if (t->n == ld->cap) {
                ld->cap = ld->cap ? ld->cap * 2 : 1024;
                t->u = xreallocarray(t->u, ld->cap, sizeof(*t->u));
        }
        u = &t->u[t->n];
        u->code = str_add(ix, code);
        u->parent_code = str_add(ix, parent);
        u->level = str_add(ix, cfgload_column(row, col, C_LEVEL));
        u->name = str_add(ix, cfgload_column(row, col, C_NAME));
        u->stage = str_add(ix, cfgload_column(row, col, C_STAGE));
        u->locality = str_add(ix, cfgload_column(row, col, C_LOCALITY));
        u->ownership = str_add(ix, cfgload_column(row, col, C_OWNERSHIP));
        u->parent = -1;
        u->depth = 0;
        u->is_leaf = 1;
        u->line = row->line;
        if (parent.len == 0)
                t->root = (int)t->n;
        t->n++;
        return 0;
}

/*
 * Report the cycle that unit start leads into.  Walking parents from start
 * must revisit a unit (start never reaches the root); the revisited unit is
 * on the cycle.  The cycle is named from its member earliest in the file,
 * so the message does not depend on where the walk began.
 */
static void
report_cycle(struct loader *ld, int start, int *mark)
{
        const struct orgtree *t = ld->t;
        /* Room for CYCLE_SHOW codes of ORGTREE_CODE_MAX bytes and the arrows. */
        char msg[1280];
        size_t len = 0;
        int u = start, first, k;

        while (mark[u] != 2) {
                mark[u] = 2;
                u = t->u[u].parent;
        }
        first = u;
        for (k = t->u[u].parent; k != u; k = t->u[k].parent)
                if (k < first)
                        first = k;
        len += (size_t)snprintf(msg, sizeof(msg), "unit \"%s\" is in a cycle: %s", t->u[first].code,
                                t->u[first].code);
        k = first;
        for (int shown = 1;; shown++) {
                k = t->u[k].parent;
                if (shown == CYCLE_SHOW && k != first) {
                        snprintf(msg + len, sizeof(msg) - len, " -> ...");
                        break;
                }
                len += (size_t)snprintf(msg + len, sizeof(msg) - len, " -> %s", t->u[k].code);
                if (k == first || len >= sizeof(msg))
                        break;
        }
        cfgload_fail(&ld->cl, t->u[first].line, "%s", msg);
}

/* Resolve parents, check the shape, and build the derived arrays. */
static int
build(struct loader *ld)
{
        struct orgtree *t = ld->t;
        size_t n = t->n, npre = 0, total = 0, nleaves = 0;
        size_t *child_off = NULL;
        int *child = NULL, *pre = NULL, *stack = NULL, *mark = NULL;
        size_t *leafcount = NULL;
        size_t sp = 0;
        int rc = -1;

        if (n == 0) {
                cfgload_fail(&ld->cl, ld->cl.header_line, "no units");
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                struct orgunit *u = &t->u[i];

                if (u->parent_code[0] == '\0')
                        continue;
                u->parent = orgtree_find(t, u->parent_code, strlen(u->parent_code));
                if (u->parent < 0) {
                        cfgload_fail(&ld->cl, u->line, "unit \"%s\" has unknown parent \"%.*s\"",
                                     u->code, cfgload_show(u->parent_code, strlen(u->parent_code)),
                                     u->parent_code);
                        return -1;
                }
        }
        if (t->root < 0) {
                cfgload_fail(&ld->cl, ld->cl.header_line, "no root: every unit has a parent");
                return -1;
        }

        /* Children in CSR form, in file order. */
        child_off = xcalloc(n + 1, sizeof(*child_off));
        child = xcalloc(n, sizeof(*child));
        for (size_t i = 0; i < n; i++)
                if (t->u[i].parent >= 0)
                        child_off[t->u[i].parent + 1]++;
        for (size_t i = 0; i < n; i++)
                child_off[i + 1] += child_off[i];
        {
                size_t *fillp = xcalloc(n, sizeof(*fillp));

                for (size_t i = 0; i < n; i++) {
                        int p = t->u[i].parent;

                        if (p >= 0)
                                child[child_off[p] + fillp[p]++] = (int)i;
                }
                free(fillp);
        }

        /* Preorder by an explicit stack; children pushed in reverse keep file order. */
        pre = xcalloc(n, sizeof(*pre));
        stack = xcalloc(n, sizeof(*stack));
        stack[sp++] = t->root;
        while (sp > 0) {
                int u = stack[--sp];

                pre[npre++] = u;
                for (size_t c = child_off[u + 1]; c > child_off[u]; c--)
                        stack[sp++] = child[c - 1];
        }
        if (npre < n) {
                mark = xcalloc(n, sizeof(*mark));
                for (size_t i = 0; i < npre; i++)
                        mark[pre[i]] = 1;
                for (size_t i = 0; i < n; i++) {
                        if (mark[i] == 0) {
                                report_cycle(ld, (int)i, mark);
                                goto out;
                        }
                }
        }

        /* Depths and the ancestor-list budget, parents before children. */
        for (size_t i = 0; i < n; i++) {
                int u = pre[i];

                if (t->u[u].parent >= 0)
                        t->u[u].depth = t->u[t->u[u].parent].depth + 1;
                t->u[u].is_leaf = child_off[u + 1] == child_off[u];
        }
        for (size_t i = 0; i < n; i++) {
                total += (size_t)t->u[i].depth + 1;
                if (total > ORGTREE_ANC_MAX) {
                        cfgload_fail(
                            &ld->cl, t->u[i].line,
                            "unit \"%s\" is %u levels deep: the tree is too deep (its ancestor "
                            "lists would exceed %zu entries)",
                            t->u[i].code, t->u[i].depth, ORGTREE_ANC_MAX);
                        goto out;
                }
        }
        t->anc_off = xcalloc(n + 1, sizeof(*t->anc_off));
        for (size_t i = 0; i < n; i++)
                t->anc_off[i + 1] = t->anc_off[i] + t->u[i].depth + 1;
        t->anc = xcalloc(total, sizeof(*t->anc));
        for (size_t i = 0; i < n; i++) {
                int u = pre[i], p = t->u[u].parent;

                t->anc[t->anc_off[u]] = u;
                if (p >= 0)
                        memcpy(&t->anc[t->anc_off[u] + 1], &t->anc[t->anc_off[p]],
                               (t->u[u].depth) * sizeof(int));
        }

        /* Leaves in preorder; a unit's leaves follow its own preorder position. */
        leafcount = xcalloc(n, sizeof(*leafcount));
        for (size_t i = n; i > 0; i--) {
                int u = pre[i - 1];

                if (t->u[u].is_leaf)
                        leafcount[u]++;
                if (t->u[u].parent >= 0)
                        leafcount[t->u[u].parent] += leafcount[u];
        }
        t->leaves = xcalloc(leafcount[t->root], sizeof(*t->leaves));
        t->leaf_lo = xcalloc(n, sizeof(*t->leaf_lo));
        t->leaf_hi = xcalloc(n, sizeof(*t->leaf_hi));
        for (size_t i = 0; i < n; i++) {
                int u = pre[i];

                t->leaf_lo[u] = nleaves;
                t->leaf_hi[u] = nleaves + leafcount[u];
                if (t->u[u].is_leaf)
                        t->leaves[nleaves++] = u;
        }
        t->nleaves = nleaves;
        rc = 0;
out:
        free(child_off);
        free(child);
        free(pre);
        free(stack);
        free(mark);
        free(leafcount);
        return rc;
}

/*
 * Expected number of units, from the file size: a row is rarely shorter
 * than 32 bytes.  Sizing the code index up front spares rehashing it
 * several times on the way to a million units.
 */
static size_t
size_hint(const char *path)
{
        struct stat st;
        size_t hint = 1024;

        if (stat(path, &st) == 0 && st.st_size / 32 > (off_t)hint)
                hint = st.st_size / 32 > ORGTREE_MAX_UNITS ? ORGTREE_MAX_UNITS
                                                           : (size_t)(st.st_size / 32);
        return hint;
}

static const struct cfgload_file orgunits_csv = {
    .cols = columns,
    .ncols = C_NCOLS,
    .header = "code,parent,level,name,stage,locality,ownership",
    .row = add_row,
};

struct orgtree *
orgtree_load(const char *path, char *err, size_t errlen)
{
        struct loader ld = {.cl = {.path = path, .err = err, .errlen = errlen}};

        ld.t = xcalloc(1, sizeof(*ld.t));
        ld.t->root = -1;
        ld.t->index = xcalloc(1, sizeof(*ld.t->index));
        ld.t->index->map = strmap_new(size_hint(path));
        if (cfgload_read(&ld.cl, &orgunits_csv, &ld) != 0 || build(&ld) != 0) {
                orgtree_destroy(&ld.t);
                return NULL;
        }
        return ld.t;
}

int
orgtree_find(const struct orgtree *t, const char *code, size_t len)
{
        return strmap_get(t->index->map, code, len);
}

const int *
orgtree_ancestors(const struct orgtree *t, int unit, size_t *n)
{
        *n = t->anc_off[unit + 1] - t->anc_off[unit];
        return t->anc + t->anc_off[unit];
}

const int *
orgtree_leaves(const struct orgtree *t, int unit, size_t *n)
{
        *n = t->leaf_hi[unit] - t->leaf_lo[unit];
        return t->leaves + t->leaf_lo[unit];
}

int
orgtree_contains(const struct orgtree *t, int anc, int unit)
{
        unsigned da, du;

        if (anc < 0 || unit < 0 || (size_t)anc >= t->n || (size_t)unit >= t->n)
                return 0;
        da = t->u[anc].depth;
        du = t->u[unit].depth;
        /* The ancestor at depth da sits du - da places after unit in its list. */
        return da <= du && t->anc[t->anc_off[unit] + (du - da)] == anc;
}

void
orgtree_destroy(struct orgtree **tp)
{
        struct orgtree *t;

        if (tp == NULL || (t = *tp) == NULL)
                return;
        if (t->index != NULL) {
                struct strblock *b = t->index->strings;

                while (b != NULL) {
                        struct strblock *next = b->next;

                        free(b);
                        b = next;
                }
                strmap_destroy(&t->index->map);
                free(t->index);
        }
        free(t->u);
        free(t->anc);
        free(t->anc_off);
        free(t->leaves);
        free(t->leaf_lo);
        free(t->leaf_hi);
        free(t);
        *tp = NULL;
}
