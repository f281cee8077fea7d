#include "state.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "strmap.h"
#include "util.h"

#define EMPTY_KEY UINT64_MAX

/* A stored value: the mantissa at the indicator's scale and its version. */
struct vcell {
        uint64_t mant;
        uint64_t version;
};

/*
 * The values one unit stores for one period, sorted by indicator: a
 * school's return is one row, so its values sit together in memory and the
 * other side of a ratio is found in the same few cache lines.  One block
 * holds cap cells followed by cap indicator numbers.
 */
struct vrow {
        uint64_t key; /* unit << 32 | period; EMPTY_KEY when the slot is free */
        struct vcell *cell;
        uint16_t n, cap;
};

/*
 * The aggregate of one non-leaf unit for one period, indicator and slice.
 * The leaf statistics are kept as exact sums plus a long double second
 * moment; see docs/ARCHITECTURE.md for why that is precise enough and how
 * min/max stay right when an extreme leaf is corrected inward (stale ->
 * rescan).
 */
struct agg {
        uint64_t key;
        decimal_u128 sum;  /* count/amount: Σ stored values at or below */
        decimal_u128 lsum; /* Σ leaf values; ratio: Σ leaf numerators */
        decimal_u128 lw;   /* ratio: Σ leaf denominators */
        long double m2;    /* Σ x²; ratio: Σ num²/den, in real units */
        long double min, max;
        uint32_t n_reporting;
        uint32_t n_leaf;
        unsigned char stale; /* min/max (and m2) must be recomputed from the leaves */
        unsigned char dirty;
        unsigned char used; /* a change reached it: the row exists */
};

/*
 * A change is not applied to the aggregates at once: it is added to a
 * pending entry of its unit's first ancestor with children (a school's
 * district: its "base"), one per aggregate of the base, and the entries are
 * rolled up to the base and every ancestor above it in bulk, before
 * anything reads an aggregate (settle()).  Thousands of changes of one
 * district then cost one update of each of its city and province rows
 * instead of one each, and the changes themselves touch only the small,
 * hot pending entries.  An entry holds the exact differences of the sums
 * and counts (modulo 2^128, which gives the exact result since every true
 * sum is in range), of Σx², and the extremes of the leaf values added and
 * removed, which decide min/max (see roll_up()).  The extremes of a count
 * or amount are kept as mantissas: integer compares on the hot path, and
 * since mant / 10^scale is monotonic, the extreme mantissa gives exactly
 * the extreme real value once converted, at settle().  A ratio's are its
 * leaves' real ratios.
 */
struct pending {
        /* What a new value touches first, then what only a correction does. */
        int32_t n_reporting, n_leaf;
        uint32_t agg; /* the base aggregate */
        unsigned char touched;
        unsigned char moved[2]; /* [PEND_ADD]: values joined; [PEND_REMOVE]: values left */
        decimal_u128 sum, lsum, lw;
        long double m2;
        union {
                struct {
                        long double min[2], max[2];
                } x; /* a ratio's, by direction */
                struct {
                        uint64_t min[2], max[2];
                } m; /* a count's or amount's, by direction */
        } ext;
};

/* The two directions a leaf value moves in a pending entry, indexing moved[] and ext. */
enum { PEND_ADD = 0, PEND_REMOVE = 1 };

/* The extremes of a pending entry in real units, by direction, for roll_up(). */
struct extremes {
        long double min[2], max[2];
};

/* Pending entries before state_apply settles on its own: bounds their memory. */
#define PENDING_MAX 16384

/*
 * The aggregates of one (unit, period, indicator) are a group: the totals
 * and then one per slice found among the unit's leaves, contiguous in
 * s->aggs, so one lookup serves a leaf's totals and all its slices.
 */
struct aslot {
        uint64_t key;  /* mkkey(unit, period, indicator, 0) */
        uint32_t idx;  /* the group's first aggregate (the totals) */
        uint32_t pend; /* 1 + the group's first pending entry, or 0 */
};

/* One leaf's contribution to a ratio's statistics. */
struct contrib {
        int ok;
        uint64_t num, den;
        long double x; /* multiplier * num / den */
        long double q; /* num² / den, real units */
};

struct state {
        const struct config *cfg;
        struct vrow *rows; /* open addressing on (unit, period) */
        size_t rowcap, nrows, nvalues;
        struct vrow *last_row; /* the row state_apply() used last, or NULL */
        struct aslot *a;
        size_t acap, ngroups;
        struct agg *aggs;
        size_t naggs, aggcap, nused;
        uint32_t *dirty;
        size_t ndirty, dirtycap;
        struct pending *pend;
        size_t npend, pendcap;
        /*
         * Per indicator, the group whose pending entries it used last: a
         * district's records come school by school, so the next record of
         * an indicator is most likely in the same group, found without a
         * hash probe.  Emptied by settle(), which ends every entry.
         */
        struct {
                uint64_t key; /* mkkey(unit, period, ind, 0), EMPTY_KEY when none */
                uint32_t pend;
        } * pcache;
        struct strmap *periods;
        char **pnames;
        size_t nperiods;
        int last_period; /* the period state_period_intern() found last */
        /* who stored each value: names of collectors, 0 being "unknown" */
        struct strmap *whomap;
        char **whonames;
        size_t nwho;
        /* breakdown slices: 0 is "all"; 1.. are (dimension, category) pairs */
        struct strmap *slicemap;
        char **slice_dim, **slice_cat;
        int nslices;
        uint8_t (*leaf_slice)[STATE_DIMENSIONS]; /* per unit; 0 = none */
        /*
         * The slots of a non-leaf unit's groups: slot 0 is the totals, slot
         * k > 0 the slice gslice[gslice_off[u] + k]; nslots[u] of them.
         */
        uint16_t *nslots;
        size_t *gslice_off;
        uint8_t *gslice;
        /*
         * For a leaf u and its k-th ancestor a: the slots of u's slices in
         * a's groups, lslot[anc_base[u] + k][d] (0: u has no category in
         * dimension d).
         */
        size_t *anc_base;
        uint8_t (*lslot)[STATE_DIMENSIONS];
        /* scratch for state_apply, sized for the indicator used by most ratios */
        struct contrib *before, *after;
        int *other_stored;
        uint32_t *rpend;
};

static const long double pow10l_tab[DECIMAL_MAX_SCALE + 1] = {1.0L, 10.0L, 100.0L, 1000.0L,
                                                              10000.0L};

static uint64_t
mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        x ^= x >> 31;
        return x;
}

/*
 * unit (32 bits) | period (12) | indicator (12) | slice (8).  The caps on
 * periods (STATE_MAX_PERIODS), indicators (CATALOG_MAX_INDICATORS) and
 * slices (STATE_MAX_SLICES) keep every field in its bits.
 */
static uint64_t
mkkey(int unit, int period, int ind, int slice)
{
        return ((uint64_t)(uint32_t)unit << 32) | ((uint64_t)(period & 0xfff) << 20) |
               ((uint64_t)(ind & 0xfff) << 8) | (uint64_t)(slice & 0xff);
}

static int
key_unit(uint64_t k)
{
        return (int)(k >> 32);
}

static int
key_period(uint64_t k)
{
        return (int)((k >> 20) & 0xfff);
}

static int
key_ind(uint64_t k)
{
        return (int)((k >> 8) & 0xfff);
}

static int
key_slice(uint64_t k)
{
        return (int)(k & 0xff);
}

/*
 * mant / 10^scale in real units.  Values below 2^64 convert inline (exact
 * either way: long double has a 64-bit mantissa) instead of through
 * libgcc's 128-bit conversion, and dividing by 10^0 = 1 changes nothing,
 * so counts skip the division: the same result, bit for bit.
 */
static long double
real(decimal_u128 mant, unsigned scale)
{
        long double x = (mant >> 64) == 0 ? (long double)(uint64_t)mant : (long double)mant;

        return scale ? x / pow10l_tab[scale] : x;
}

/*
 * A hash table's slots.  The tables are probed at random, so at millions of
 * values nearly every probe misses the TLB; transparent huge pages (where
 * the system leaves them to madvise) make those misses cheap.  Advice only:
 * it changes no result.
 */
static void *
table_alloc(size_t n, size_t size)
{
        const uintptr_t huge = (uintptr_t)2 << 20;
        char *p = xreallocarray(NULL, n, size);
        uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t hi = ((uintptr_t)p + n * size) & ~(huge - 1);

        if (hi > lo)
                (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
        return p;
}

/*
 * The value table (struct vrow) and the aggregate table (struct aslot) are
 * open addressing with linear probing on a 64-bit key, the first member of
 * each slot and EMPTY_KEY in a free one.  These serve both, given the size
 * of a slot; cap is a power of two.
 */

static uint64_t *
slot_key(void *tab, size_t size, size_t i)
{
        return (uint64_t *)(void *)((char *)tab + i * size);
}

/* A table of cap free slots. */
static void *
table_new(size_t cap, size_t size)
{
        void *tab = table_alloc(cap, size);

        for (size_t i = 0; i < cap; i++)
                *slot_key(tab, size, i) = EMPTY_KEY;
        return tab;
}

/* The slot of key, or the free slot where it would go. */
static void *
table_find(void *tab, size_t cap, size_t size, uint64_t key)
{
        size_t mask = cap - 1;

        for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
                uint64_t *k = slot_key(tab, size, i);

                if (*k == key || *k == EMPTY_KEY)
                        return k;
        }
}

/* The table tab of *cap slots, twice as large: returns it, every slot moved. */
static void *
table_grow(void *tab, size_t *cap, size_t size)
{
        size_t oldcap = *cap;
        void *t;

        *cap *= 2;
        t = table_new(*cap, size);
        for (size_t i = 0; i < oldcap; i++) {
                uint64_t *k = slot_key(tab, size, i);

                if (*k != EMPTY_KEY)
                        memcpy(table_find(t, *cap, size, *k), k, size);
        }
        free(tab);
        return t;
}

/*
 * Room for n more items after the len of the array p of *cap items of size
 * bytes: returns the array, reallocated to first items or twice its
 * capacity, as often as needed, when it is short.
 */
static void *
array_reserve(void *p, size_t *cap, size_t len, size_t n, size_t first, size_t size)
{
        size_t c;

        if (len + n <= *cap)
                return p;
        c = *cap ? *cap : first;
        while (c < len + n)
                c *= 2;
        *cap = c;
        return xreallocarray(p, c, size);
}

/* ---- the value table ---- */

static uint64_t
rowkey(int unit, int period)
{
        return ((uint64_t)(uint32_t)unit << 32) | (uint32_t)period;
}

static struct vrow *
rfind(const struct state *s, uint64_t key)
{
        return table_find(s->rows, s->rowcap, sizeof(*s->rows), key);
}

/* The row of (unit, period), added empty when new; may move every row. */
static struct vrow *
row_get_or_add(struct state *s, int unit, int period)
{
        uint64_t key = rowkey(unit, period);
        struct vrow *r;

        /* A return is a run of one unit's rows: the last row is the likely one. */
        if (s->last_row && s->last_row->key == key)
                return s->last_row;
        r = rfind(s, key);
        if (r->key != EMPTY_KEY)
                return s->last_row = r;
        /* Rows are few (one per return), so a sparse table keeps probes short. */
        if ((s->nrows + 1) * 2 > s->rowcap) {
                s->rows = table_grow(s->rows, &s->rowcap, sizeof(*s->rows));
                s->last_row = NULL;
                r = rfind(s, key);
        }
        r->key = key;
        r->cell = NULL;
        r->n = r->cap = 0;
        s->nrows++;
        return s->last_row = r;
}

static uint16_t *
row_inds(const struct vrow *r)
{
        return (uint16_t *)(void *)(r->cell + r->cap);
}

/* Who stored each cell: an index into the collector names (0: unknown). */
static uint16_t *
row_whos(const struct vrow *r)
{
        return row_inds(r) + r->cap;
}

/*
 * Where ind is or would go in row r: sets *found.  Returns go in catalogue
 * order, so the common case is an append, checked first.
 */
static size_t
row_search(const struct vrow *r, int ind, int *found)
{
        const uint16_t *in;
        size_t lo = 0, hi = r->n;

        *found = 0;
        if (r->n == 0)
                return 0;
        in = row_inds(r);
        if (in[r->n - 1] < ind)
                return r->n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (in[mid] < ind)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < r->n && in[lo] == ind;
        return lo;
}

/* Open a cell for ind at position pos of r (from row_search); may move the cells. */
static struct vcell *
row_insert(struct state *s, struct vrow *r, size_t pos, int ind)
{
        uint16_t *in;

        if (r->n == r->cap) {
                size_t cap = r->cap ? (size_t)r->cap * 2 : 4;
                struct vcell *cell;

                if (cap > CATALOG_MAX_INDICATORS)
                        cap = CATALOG_MAX_INDICATORS;
                cell = xmalloc(cap * (sizeof(*cell) + 2 * sizeof(*in)));
                if (r->n) {
                        memcpy(cell, r->cell, r->n * sizeof(*cell));
                        memcpy(cell + cap, row_inds(r), r->n * sizeof(*in));
                        memcpy((uint16_t *)(void *)(cell + cap) + cap, row_whos(r),
                               r->n * sizeof(*in));
                }
                free(r->cell);
                r->cell = cell;
                r->cap = (uint16_t)cap;
        }
        /* A row holds each indicator once, so it never outgrows the catalogue. */
        assert(r->n < r->cap);
        in = row_inds(r);
        memmove(r->cell + pos + 1, r->cell + pos, (r->n - pos) * sizeof(*r->cell));
        memmove(in + pos + 1, in + pos, (r->n - pos) * sizeof(*in));
        memmove(row_whos(r) + pos + 1, row_whos(r) + pos, (r->n - pos) * sizeof(*in));
        in[pos] = (uint16_t)ind;
        row_whos(r)[pos] = 0;
        r->n++;
        s->nvalues++;
        return &r->cell[pos];
}

/* The cell of ind in row r, or NULL. */
static const struct vcell *
row_get(const struct vrow *r, int ind)
{
        int found;
        size_t pos;

        if (r == NULL || r->key == EMPTY_KEY)
                return NULL;
        pos = row_search(r, ind, &found);
        return found ? &r->cell[pos] : NULL;
}

static const struct vcell *
vget(const struct state *s, int unit, int period, int ind)
{
        return row_get(rfind(s, rowkey(unit, period)), ind);
}

void
state_view_get(const struct state *s, int unit, int period, struct state_view *v)
{
        const struct vrow *r = rfind(s, rowkey(unit, period));

        v->row = r->key == EMPTY_KEY || r->n == 0 ? NULL : r;
}

int
state_view_value(const struct state_view *v, int indicator, uint64_t *mant, uint64_t *version)
{
        const struct vcell *e = row_get(v->row, indicator);

        if (e == NULL)
                return 0;
        if (mant != NULL)
                *mant = e->mant;
        if (version != NULL)
                *version = e->version;
        return 1;
}

void
state_foreach_row(const struct state *s, void (*fn)(void *ctx, int unit, int period), void *ctx)
{
        for (size_t i = 0; i < s->rowcap; i++) {
                const struct vrow *r = &s->rows[i];

                if (r->key != EMPTY_KEY && r->n > 0)
                        fn(ctx, (int)(r->key >> 32), (int)(uint32_t)r->key);
        }
}

/* ---- the aggregate table ---- */

static struct aslot *
afind(const struct state *s, uint64_t key)
{
        return table_find(s->a, s->acap, sizeof(*s->a), key);
}

/* The slot of global slice in unit's groups, or -1 when no leaf below has it. */
static int
slot_of(const struct state *s, int unit, int slice)
{
        const uint8_t *gs = s->gslice + s->gslice_off[unit];

        if (slice == 0)
                return 0;
        for (int k = 1; k < s->nslots[unit]; k++)
                if (gs[k] == slice)
                        return k;
        return -1;
}

/* The aggregate of a key if a change ever reached it, else NULL. */
static struct agg *
aget(const struct state *s, int unit, int period, int ind, int slice)
{
        const struct aslot *e = afind(s, mkkey(unit, period, ind, 0));
        int k;

        if (e->key == EMPTY_KEY || (k = slot_of(s, unit, slice)) < 0)
                return NULL;
        struct agg *g = &s->aggs[e->idx + (uint32_t)k];

        return g->used ? g : NULL;
}

/*
 * The table slot of the group of (unit, period, ind), the group created
 * with all its aggregates unused when new.  The slot holds until the next
 * group is made; s->aggs may move.
 */
static struct aslot *
group_slot(struct state *s, int unit, int period, int ind)
{
        uint64_t key = mkkey(unit, period, ind, 0);
        struct aslot *e = afind(s, key);
        size_t n = s->nslots[unit];
        const uint8_t *gs = s->gslice + s->gslice_off[unit];

        if (e->key != EMPTY_KEY)
                return e;
        if ((s->ngroups + 1) * 4 > s->acap * 3) {
                s->a = table_grow(s->a, &s->acap, sizeof(*s->a));
                e = afind(s, key);
        }
        if (s->naggs + n > UINT32_MAX)
                fatalx("more than %lu aggregates", (unsigned long)UINT32_MAX);
        s->aggs = array_reserve(s->aggs, &s->aggcap, s->naggs, n, 64, sizeof(*s->aggs));
        memset(&s->aggs[s->naggs], 0, n * sizeof(*s->aggs));
        for (size_t k = 0; k < n; k++)
                s->aggs[s->naggs + k].key = mkkey(unit, period, ind, k ? gs[k] : 0);
        e->key = key;
        e->idx = (uint32_t)s->naggs;
        e->pend = 0;
        s->naggs += n;
        s->ngroups++;
        return e;
}

/* The index of the first aggregate of the group, made when new. */
static uint32_t
group_get_or_add(struct state *s, int unit, int period, int ind)
{
        return group_slot(s, unit, period, ind)->idx;
}

/* Mark g changed: its row exists from now on and is rewritten at the next flush. */
static void
mark_dirty(struct state *s, struct agg *g)
{
        if (!g->used) {
                g->used = 1;
                s->nused++;
        }
        if (g->dirty)
                return;
        g->dirty = 1;
        s->dirty = array_reserve(s->dirty, &s->dirtycap, s->ndirty, 1, 256, sizeof(*s->dirty));
        s->dirty[s->ndirty++] = (uint32_t)(g - s->aggs);
}

/* ---- leaf statistics ---- */

static void
stat_add(struct agg *g, decimal_u128 v, decimal_u128 w, long double x, long double sq)
{
        g->lsum += v;
        g->lw += w;
        g->m2 += sq;
        if (g->n_leaf++ == 0) {
                g->min = g->max = x;
                g->stale = 0;
                return;
        }
        if (x < g->min)
                g->min = x;
        if (x > g->max)
                g->max = x;
}

/*
 * A leaf's contribution to ratio r when it stores num (n_ok) and den
 * (d_ok): it qualifies when both are stored and den > 0.
 */
static struct contrib
ratio_contrib(const struct state *s, const struct indicator *r, int n_ok, uint64_t num, int d_ok,
              uint64_t den)
{
        const struct catalog *c = s->cfg->cat;
        struct contrib k = {0};

        if (!n_ok || !d_ok || den == 0)
                return k;
        k.ok = 1;
        k.num = num;
        k.den = den;
        long double nr = real(num, c->ind[r->num].scale), dr = real(den, c->ind[r->den].scale);
        k.x = r->multiplier * nr / dr;
        k.q = nr * nr / dr;
        return k;
}

/* A leaf's ratio contribution from the stored values. */
static struct contrib
leaf_ratio(const struct state *s, int leaf, int period, const struct indicator *r)
{
        const struct vcell *n = vget(s, leaf, period, r->num);
        const struct vcell *d = vget(s, leaf, period, r->den);

        return ratio_contrib(s, r, n != NULL, n ? n->mant : 0, d != NULL, d ? d->mant : 0);
}

/* 1 when leaf unit belongs to slice (every unit belongs to slice 0). */
static int
in_slice(const struct state *s, int unit, int slice)
{
        if (slice == 0)
                return 1;
        for (int d = 0; d < STATE_DIMENSIONS; d++)
                if (s->leaf_slice[unit][d] == slice)
                        return 1;
        return 0;
}

/* Recompute the leaf statistics of g from the leaves below its unit. */
static void
rescan(struct state *s, struct agg *g)
{
        int unit = key_unit(g->key), period = key_period(g->key), ind = key_ind(g->key);
        int slice = key_slice(g->key);
        const struct indicator *in = &s->cfg->cat->ind[ind];
        size_t n;
        const int *leaves = orgtree_leaves(s->cfg->tree, unit, &n);

        g->lsum = g->lw = 0;
        g->m2 = 0;
        g->n_leaf = 0;
        for (size_t i = 0; i < n; i++) {
                if (!in_slice(s, leaves[i], slice))
                        continue;
                if (in->kind == IND_RATIO) {
                        struct contrib k = leaf_ratio(s, leaves[i], period, in);

                        if (k.ok)
                                stat_add(g, k.num, k.den, k.x, k.q);
                } else {
                        const struct vcell *e = vget(s, leaves[i], period, ind);

                        if (e) {
                                long double x = real(e->mant, in->scale);

                                stat_add(g, e->mant, 0, x, x * x);
                        }
                }
        }
        g->stale = 0;
}

/* ---- rolling up ---- */

/*
 * The first pending entry of the group of (unit, period, ind), the group
 * made when new and its entries, untouched, when it has none.  An index:
 * s->pend and s->aggs may move.
 */
static uint32_t
pend_group(struct state *s, int unit, int period, int ind)
{
        uint64_t key = mkkey(unit, period, ind, 0);
        struct aslot *e;
        size_t n = s->nslots[unit];

        if (s->pcache[ind].key == key)
                return s->pcache[ind].pend;
        e = group_slot(s, unit, period, ind);
        s->pcache[ind].key = key;
        if (e->pend) {
                s->pcache[ind].pend = e->pend - 1;
                return e->pend - 1;
        }
        s->pend = array_reserve(s->pend, &s->pendcap, s->npend, n, 256, sizeof(*s->pend));
        memset(&s->pend[s->npend], 0, n * sizeof(*s->pend));
        for (size_t k = 0; k < n; k++)
                s->pend[s->npend + k].agg = e->idx + (uint32_t)k;
        e->pend = (uint32_t)s->npend + 1;
        s->npend += n;
        s->pcache[ind].pend = e->pend - 1;
        return e->pend - 1;
}

/* Widen the extremes f (x or m) of entry p in direction dir by v. */
#define PEND_WIDEN(p, f, dir, v)                                                                   \
        do {                                                                                       \
                if (!(p)->moved[dir] || (v) < (p)->ext.f.min[dir])                                 \
                        (p)->ext.f.min[dir] = (v);                                                 \
                if (!(p)->moved[dir] || (v) > (p)->ext.f.max[dir])                                 \
                        (p)->ext.f.max[dir] = (v);                                                 \
                (p)->moved[dir] = 1;                                                               \
        } while (0)

/*
 * A leaf ratio x, with weight w, joins (PEND_ADD) or leaves (PEND_REMOVE)
 * the set of entry p.  The sums are modulo 2^128, so leaving is adding
 * the negation.  Called with a constant dir, it inlines to one path.
 */
static inline void
pend_ratio(struct pending *p, int dir, decimal_u128 v, decimal_u128 w, long double x,
           long double sq)
{
        p->lsum += dir == PEND_ADD ? v : -v;
        p->lw += dir == PEND_ADD ? w : -w;
        p->m2 += dir == PEND_ADD ? sq : -sq;
        p->n_leaf += dir == PEND_ADD ? 1 : -1;
        PEND_WIDEN(p, x, dir, x);
}

/* A leaf's count or amount mant (x² = sq in real units) joins or leaves the set of entry p. */
static inline void
pend_value(struct pending *p, int dir, uint64_t mant, long double sq)
{
        p->lsum += dir == PEND_ADD ? (decimal_u128)mant : -(decimal_u128)mant;
        p->m2 += dir == PEND_ADD ? sq : -sq;
        p->n_leaf += dir == PEND_ADD ? 1 : -1;
        PEND_WIDEN(p, m, dir, mant);
}

/* The extremes of entry p of indicator in, in real units. */
static struct extremes
pend_extremes(const struct pending *p, const struct indicator *in)
{
        struct extremes e;

        for (int d = PEND_ADD; d <= PEND_REMOVE; d++) {
                if (in->kind == IND_RATIO) {
                        e.min[d] = p->ext.x.min[d];
                        e.max[d] = p->ext.x.max[d];
                } else {
                        e.min[d] = real(p->ext.m.min[d], in->scale);
                        e.max[d] = real(p->ext.m.max[d], in->scale);
                }
        }
        return e;
}

/*
 * Add entry p to aggregate g (its base or an ancestor of the base).  Sums
 * and counts add.  min/max: the new extremes are the old ones widened by
 * the values added; they can only be wrong if a removed value lies at or
 * beyond them (it may have been the extreme), and then g is marked stale
 * and rescanned before its row is written, as after any removal at an
 * extreme.  An emptied set starts clean: no rounding residue survives it.
 */
static void
roll_up(struct agg *g, const struct pending *p, const struct extremes *x)
{
        uint32_t old_n = g->n_leaf;
        long double lo, hi;

        g->sum += p->sum;
        g->lsum += p->lsum;
        g->lw += p->lw;
        g->n_reporting += (uint32_t)p->n_reporting;
        g->n_leaf += (uint32_t)p->n_leaf;
        if (!p->moved[PEND_ADD] && !p->moved[PEND_REMOVE])
                return;
        assert(g->n_leaf <= old_n + (uint32_t)INT32_MAX);
        if (g->n_leaf == 0) {
                /* Start clean: no rounding residue survives an empty set. */
                g->m2 = 0;
                g->stale = 0;
                return;
        }
        g->m2 += p->m2;
        lo = old_n ? g->min : HUGE_VALL;
        hi = old_n ? g->max : -HUGE_VALL;
        if (p->moved[PEND_ADD]) {
                if (x->min[PEND_ADD] < lo)
                        lo = x->min[PEND_ADD];
                if (x->max[PEND_ADD] > hi)
                        hi = x->max[PEND_ADD];
        }
        if (p->moved[PEND_REMOVE] && (x->min[PEND_REMOVE] <= lo || x->max[PEND_REMOVE] >= hi))
                g->stale = 1;
        g->min = lo;
        g->max = hi;
}

/* Roll every pending entry up to its base and the ancestors above it. */
static void
settle(struct state *s)
{
        const struct orgtree *t = s->cfg->tree;

        /* Nothing pending, nothing cached (the readers settle on every call). */
        if (s->npend == 0)
                return;
        for (size_t i = 0; i < s->npend; i++) {
                const struct pending *p = &s->pend[i];
                uint64_t key = s->aggs[p->agg].key;
                int unit = key_unit(key), period = key_period(key), ind = key_ind(key);
                int slice = key_slice(key);
                size_t nanc;
                const int *anc;
                struct extremes x;

                if (slice == 0)
                        afind(s, mkkey(unit, period, ind, 0))->pend = 0;
                if (!p->touched)
                        continue;
                x = pend_extremes(p, &s->cfg->cat->ind[ind]);
                roll_up(&s->aggs[p->agg], p, &x);
                mark_dirty(s, &s->aggs[p->agg]);
                anc = orgtree_ancestors(t, unit, &nanc);
                for (size_t k = 1; k < nanc; k++) {
                        uint32_t gi = group_get_or_add(s, anc[k], period, ind);
                        int slot = slot_of(s, anc[k], slice);

                        /* Every slice below a unit is a slice of its ancestors. */
                        assert(slot >= 0);
                        roll_up(&s->aggs[gi + (uint32_t)slot], p, &x);
                        mark_dirty(s, &s->aggs[gi + (uint32_t)slot]);
                }
        }
        s->npend = 0;
        for (size_t i = 0; i < s->cfg->cat->n; i++)
                s->pcache[i].key = EMPTY_KEY;
}

/* ---- public ---- */

/*
 * Number the (dimension, category) pairs the leaves carry: stage, locality
 * and ownership, e.g. (stage, primary).  A leaf belongs to at most one
 * category per dimension; an empty attribute puts it in none.  Past
 * STATE_MAX_SLICES pairs, later ones are left out of the breakdowns (and
 * logged), never out of the totals.
 */
static void
slices_build(struct state *s)
{
        static const char *const dims[STATE_DIMENSIONS] = {"stage", "locality", "ownership"};
        const struct orgtree *t = s->cfg->tree;
        char key[512];

        s->slicemap = strmap_new(64);
        s->slice_dim = xcalloc(STATE_MAX_SLICES, sizeof(*s->slice_dim));
        s->slice_cat = xcalloc(STATE_MAX_SLICES, sizeof(*s->slice_cat));
        s->leaf_slice = xcalloc(t->n ? t->n : 1, sizeof(*s->leaf_slice));
        s->nslices = 1; /* 0: all */
        for (size_t u = 0; u < t->n; u++) {
                const char *attr[STATE_DIMENSIONS] = {t->u[u].stage, t->u[u].locality,
                                                      t->u[u].ownership};

                if (!t->u[u].is_leaf)
                        continue;
                for (int d = 0; d < STATE_DIMENSIONS; d++) {
                        int id;

                        if (attr[d] == NULL || attr[d][0] == '\0')
                                continue;
                        size_t len = (size_t)snprintf(key, sizeof(key), "%s=%s", dims[d], attr[d]);
                        if ((id = strmap_get(s->slicemap, key, len)) < 0) {
                                if (s->nslices == STATE_MAX_SLICES) {
                                        log_warnx("more than %d stage/locality/ownership values: "
                                                  "%s is left out of the breakdowns",
                                                  STATE_MAX_SLICES - 1, key);
                                        continue;
                                }
                                id = strmap_put(s->slicemap, key, len, s->nslices);
                                s->slice_dim[id] = xstrdup(dims[d]);
                                s->slice_cat[id] = xstrdup(attr[d]);
                                s->nslices++;
                        }
                        s->leaf_slice[u][d] = (uint8_t)id;
                }
        }
}

/* has[sl] = 1 for every slice sl found among the leaves of unit u, else 0. */
static void
slices_below(const struct state *s, int u, uint8_t *has)
{
        size_t nl;
        const int *leaves = orgtree_leaves(s->cfg->tree, u, &nl);

        memset(has, 0, STATE_MAX_SLICES);
        for (size_t i = 0; i < nl; i++)
                for (int d = 0; d < STATE_DIMENSIONS; d++)
                        has[s->leaf_slice[leaves[i]][d]] = 1;
}

/*
 * Lay out the groups: every non-leaf unit gets a slot for its totals and
 * one per slice present among its leaves (in slice order), and every leaf
 * learns, per ancestor, the slots of its own categories.  Linear in the
 * total length of the leaf and ancestor lists.
 */
static void
slots_build(struct state *s)
{
        const struct orgtree *t = s->cfg->tree;
        size_t n = t->n ? t->n : 1, total = 0, nanc = 0;
        uint8_t *has = xcalloc(STATE_MAX_SLICES, 1);

        s->nslots = xcalloc(n, sizeof(*s->nslots));
        s->gslice_off = xcalloc(n + 1, sizeof(*s->gslice_off));
        for (size_t u = 0; u < t->n; u++) {
                s->gslice_off[u] = total;
                if (t->u[u].is_leaf)
                        continue;
                slices_below(s, (int)u, has);
                s->nslots[u] = 1;
                for (int sl = 1; sl < s->nslices; sl++)
                        s->nslots[u] += has[sl];
                total += s->nslots[u];
        }
        s->gslice_off[t->n] = total;
        s->gslice = xcalloc(total ? total : 1, 1);
        for (size_t u = 0; u < t->n; u++) {
                size_t k = 1;

                if (t->u[u].is_leaf)
                        continue;
                slices_below(s, (int)u, has);
                for (int sl = 1; sl < s->nslices; sl++)
                        if (has[sl])
                                s->gslice[s->gslice_off[u] + k++] = (uint8_t)sl;
        }
        free(has);

        s->anc_base = xcalloc(n, sizeof(*s->anc_base));
        for (size_t u = 0; u < t->n; u++) {
                size_t na;

                s->anc_base[u] = nanc;
                (void)orgtree_ancestors(t, (int)u, &na);
                nanc += na;
        }
        s->lslot = xcalloc(nanc ? nanc : 1, sizeof(*s->lslot));
        for (size_t u = 0; u < t->n; u++) {
                size_t na;
                const int *anc;

                if (!t->u[u].is_leaf)
                        continue;
                anc = orgtree_ancestors(t, (int)u, &na);
                for (size_t k = 0; k < na; k++) {
                        if (t->u[anc[k]].is_leaf)
                                continue;
                        for (int d = 0; d < STATE_DIMENSIONS; d++) {
                                int sl = s->leaf_slice[u][d];

                                s->lslot[s->anc_base[u] + k][d] =
                                    sl ? (uint8_t)slot_of(s, anc[k], sl) : 0;
                        }
                }
        }
}

struct state *
state_new(const struct config *cfg)
{
        struct state *s = xcalloc(1, sizeof(*s));
        size_t maxr = 1;

        s->cfg = cfg;
        s->rowcap = 256;
        s->rows = table_new(s->rowcap, sizeof(*s->rows));
        s->acap = 256;
        s->a = table_new(s->acap, sizeof(*s->a));
        s->periods = strmap_new(16);
        s->pnames = xcalloc(STATE_MAX_PERIODS, sizeof(*s->pnames));
        s->whomap = strmap_new(64);
        s->whonames = xcalloc(STATE_MAX_COLLECTORS, sizeof(*s->whonames));
        s->whonames[0] = xstrdup("");
        s->nwho = 1;
        slices_build(s);
        slots_build(s);
        for (size_t i = 0; i < cfg->cat->n; i++)
                if (cfg->cat->ind[i].nratios > maxr)
                        maxr = cfg->cat->ind[i].nratios;
        s->before = xcalloc(maxr, sizeof(*s->before));
        s->after = xcalloc(maxr, sizeof(*s->after));
        s->other_stored = xcalloc(maxr, sizeof(*s->other_stored));
        s->rpend = xcalloc(maxr, sizeof(*s->rpend));
        s->pcache = xcalloc(cfg->cat->n ? cfg->cat->n : 1, sizeof(*s->pcache));
        for (size_t i = 0; i < cfg->cat->n; i++)
                s->pcache[i].key = EMPTY_KEY;
        return s;
}

void
state_destroy(struct state **sp)
{
        struct state *s;

        if (sp == NULL || (s = *sp) == NULL)
                return;
        for (size_t i = 0; i < s->rowcap; i++)
                if (s->rows[i].key != EMPTY_KEY)
                        free(s->rows[i].cell);
        free(s->rows);
        free(s->a);
        free(s->aggs);
        free(s->dirty);
        strmap_destroy(&s->periods);
        for (size_t i = 0; i < s->nperiods; i++)
                free(s->pnames[i]);
        free(s->pnames);
        strmap_destroy(&s->whomap);
        for (size_t i = 0; i < s->nwho; i++)
                free(s->whonames[i]);
        free(s->whonames);
        free(s->before);
        free(s->after);
        free(s->other_stored);
        free(s->rpend);
        free(s->pcache);
        free(s->pend);
        free(s->nslots);
        free(s->gslice_off);
        free(s->gslice);
        free(s->anc_base);
        free(s->lslot);
        for (int i = 1; i < s->nslices; i++) {
                free(s->slice_dim[i]);
                free(s->slice_cat[i]);
        }
        free(s->slice_dim);
        free(s->slice_cat);
        free(s->leaf_slice);
        strmap_destroy(&s->slicemap);
        free(s);
        *sp = NULL;
}

int
state_period_intern(struct state *s, const char *p, size_t len)
{
        int i;

        /* Records come in runs of one period: try the last one first. */
        if (s->nperiods > 0 && strlen(s->pnames[s->last_period]) == len &&
            memcmp(s->pnames[s->last_period], p, len) == 0)
                return s->last_period;
        if ((i = strmap_get(s->periods, p, len)) >= 0) {
                s->last_period = i;
                return i;
        }
        if (s->nperiods >= STATE_MAX_PERIODS)
                return -1;
        i = strmap_put(s->periods, p, len, (int)s->nperiods);
        if (i < 0)
                return -1;
        s->pnames[s->nperiods++] = xstrndup(p, len);
        return i;
}

int
state_period_find(const struct state *s, const char *p, size_t len)
{
        return strmap_get(s->periods, p, len);
}

const char *
state_period_name(const struct state *s, int i)
{
        assert(i >= 0 && (size_t)i < s->nperiods);
        return s->pnames[i];
}

int
state_nperiods(const struct state *s)
{
        return (int)s->nperiods;
}

int
state_get(const struct state *s, int unit, int period, int indicator, uint64_t *mant,
          uint64_t *version)
{
        const struct vcell *e = vget(s, unit, period, indicator);

        if (e == NULL)
                return 0;
        if (mant)
                *mant = e->mant;
        if (version)
                *version = e->version;
        return 1;
}

enum state_result
state_apply(struct state *s, int unit, int period, int ind, uint64_t mant, uint64_t version,
            uint64_t *old_mant)
{
        struct state_prev prev;
        enum state_result r = state_apply_by(s, unit, period, ind, mant, version, 0, &prev);

        if (old_mant != NULL && r == STATE_CHANGED)
                *old_mant = prev.mant;
        return r;
}

int
state_collector_intern(struct state *s, const char *name, size_t len)
{
        int i;

        if (len == 0)
                return 0;
        if ((i = strmap_get(s->whomap, name, len)) >= 0)
                return i;
        if (s->nwho >= STATE_MAX_COLLECTORS)
                return 0;
        if (strmap_put(s->whomap, name, len, (int)s->nwho) < 0)
                return 0;
        s->whonames[s->nwho] = xstrndup(name, len);
        return (int)s->nwho++;
}

const char *
state_collector_name(const struct state *s, int who)
{
        return who > 0 && (size_t)who < s->nwho ? s->whonames[who] : "";
}

enum state_result
state_apply_by(struct state *s, int unit, int period, int ind, uint64_t mant, uint64_t version,
               int who, struct state_prev *prevp)
{
        const struct orgtree *t = s->cfg->tree;
        const struct catalog *c = s->cfg->cat;
        const struct indicator *in = &c->ind[ind];
        int leaf = t->u[unit].is_leaf;
        struct vrow *row;
        struct vcell *e = NULL;
        int present;
        size_t pos;
        uint64_t old = 0;
        long double xo = 0, xn, xo2, xn2;
        size_t nanc, k;
        const int *anc;
        int a, nsl = 1;
        uint8_t slots[1 + STATE_DIMENSIONS] = {0};
        uint32_t p0;

        assert(in->kind != IND_RATIO);
        /* A key that is absent is always stored, so its row may be made now. */
        row = row_get_or_add(s, unit, period);
        pos = row_search(row, ind, &present);
        if (present) {
                e = &row->cell[pos];
                if (prevp != NULL) {
                        prevp->mant = e->mant;
                        prevp->version = e->version;
                        prevp->who = row_whos(row)[pos];
                }
                if (version <= e->version)
                        return STATE_STALE;
                if (mant == e->mant) {
                        /* Raised all the same: an older, different value
                         * delivered late must stay stale. */
                        e->version = version;
                        return STATE_UNCHANGED;
                }
                old = e->mant;
        }

        /*
         * The ratios built on this indicator, before and after: this
         * indicator's side is old/mant, so only the other side is looked up.
         */
        for (size_t j = 0; j < in->nratios; j++) {
                const struct indicator *r = &c->ind[in->ratios[j]];
                int other = r->num == ind ? r->den : r->num;
                const struct vcell *o = other != ind ? row_get(row, other) : NULL;
                int o_ok = o != NULL, n_self = r->num == ind, d_self = r->den == ind;
                uint64_t om = o ? o->mant : 0;

                s->other_stored[j] = o_ok;
                if (!leaf)
                        continue;
                s->before[j] = ratio_contrib(s, r, n_self ? present : o_ok, n_self ? old : om,
                                             d_self ? present : o_ok, d_self ? old : om);
                s->after[j] = ratio_contrib(s, r, n_self || o_ok, n_self ? mant : om,
                                            d_self || o_ok, d_self ? mant : om);
        }

        if (!present)
                e = row_insert(s, row, pos, ind);
        e->mant = mant;
        e->version = version;
        row_whos(row)[pos] = (uint16_t)who;

        xn = real(mant, in->scale);
        xn2 = xn * xn;
        if (present)
                xo = real(old, in->scale);
        xo2 = xo * xo;
        anc = orgtree_ancestors(t, unit, &nanc);
        /* The base: the unit itself when it has children, else its parent. */
        k = leaf ? 1 : 0;
        if (k >= nanc)
                return present ? STATE_CHANGED : STATE_NEW; /* a tree of one school */
        a = anc[k];
        if (s->npend + (size_t)s->nslots[a] * (1 + in->nratios) > PENDING_MAX)
                settle(s);
        /* A leaf counts in the totals (slot 0) and in its own categories. */
        for (int d = 0; leaf && d < STATE_DIMENSIONS; d++)
                if (s->lslot[s->anc_base[unit] + k][d])
                        slots[nsl++] = s->lslot[s->anc_base[unit] + k][d];
        /* Indices: making a group or its entries may move the arrays. */
        p0 = pend_group(s, a, period, ind);
        for (size_t j = 0; j < in->nratios; j++)
                s->rpend[j] = pend_group(s, a, period, in->ratios[j]);

        for (int i = 0; i < nsl; i++) {
                struct pending *p = &s->pend[p0 + slots[i]];

                p->touched = 1;
                p->sum += (decimal_u128)mant - old;
                if (!present)
                        p->n_reporting++;
                if (leaf) {
                        if (present)
                                pend_value(p, PEND_REMOVE, old, xo2);
                        pend_value(p, PEND_ADD, mant, xn2);
                }
                for (size_t j = 0; j < in->nratios; j++) {
                        const struct contrib *kb = &s->before[j], *ka = &s->after[j];

                        p = &s->pend[s->rpend[j] + slots[i]];
                        p->touched = 1;
                        if (!present && !s->other_stored[j])
                                p->n_reporting++;
                        if (leaf && kb->ok)
                                pend_ratio(p, PEND_REMOVE, kb->num, kb->den, kb->x, kb->q);
                        if (leaf && ka->ok)
                                pend_ratio(p, PEND_ADD, ka->num, ka->den, ka->x, ka->q);
                }
        }
        return present ? STATE_CHANGED : STATE_NEW;
}

size_t
state_nvalues(const struct state *s)
{
        return s->nvalues;
}

size_t
state_naggs(struct state *s)
{
        settle(s);
        return s->nused;
}

int
state_dirty(const struct state *s)
{
        /* A pending entry is made only for a change, which dirties its base aggregate. */
        return s->ndirty > 0 || s->npend > 0;
}

size_t
state_dirty_count(struct state *s)
{
        settle(s);
        return s->ndirty;
}

void
state_dirty_clear(struct state *s)
{
        settle(s);
        for (size_t i = 0; i < s->ndirty; i++)
                s->aggs[s->dirty[i]].dirty = 0;
        s->ndirty = 0;
}

void
state_dirty_all(struct state *s)
{
        settle(s);
        for (size_t i = 0; i < s->naggs; i++)
                if (s->aggs[i].used)
                        mark_dirty(s, &s->aggs[i]);
}

/*
 * The statistics of a set of leaves: mean, σ and cv from the sums.  w is
 * Σ weights in real units (the count of leaves when unweighted), e2 the
 * weighted mean of x².  min == max means every leaf holds the same value,
 * and then σ is exactly 0 whatever the rounding of e2 - mean² says.
 */
static void
fill_stats(struct state_row *row, long double mean, long double e2, long double min,
           long double max)
{
        long double var = e2 - mean * mean;

        if (min == max || var < 0)
                var = 0;
        row->null_stats = 0;
        row->min = (double)min;
        row->max = (double)max;
        row->mean = (double)mean;
        if (mean == 0) {
                row->null_cv = 1;
        } else {
                row->null_cv = 0;
                row->cv = (double)(sqrtl(var) / mean);
        }
}

static void
format_ld(char *buf, long double x)
{
        strlcpyf(buf, DECIMAL_BUFSZ, "%.19Lg", x);
}

/* The row of a non-leaf aggregate. */
static void
agg_row(struct state *s, struct agg *g, struct state_row *row)
{
        const struct catalog *c = s->cfg->cat;
        int unit = key_unit(g->key), period = key_period(g->key), ind = key_ind(g->key);
        int slice = key_slice(g->key);
        const struct indicator *in = &c->ind[ind];

        memset(row, 0, sizeof(*row));
        row->unit = unit;
        row->period = period;
        row->indicator = ind;
        row->slice = slice;
        row->n_reporting = g->n_reporting;
        row->null_stats = row->null_cv = 1;
        if (g->stale)
                rescan(s, g);

        if (in->kind != IND_RATIO) {
                decimal_format(g->sum, in->scale, row->value);
                row->null_num = row->null_den = 1;
                if (g->n_leaf > 0) {
                        long double n = g->n_leaf;
                        long double mean = real(g->lsum, in->scale) / n;

                        fill_stats(row, mean, g->m2 / n, g->min, g->max);
                }
                return;
        }

        const struct indicator *ni = &c->ind[in->num], *di = &c->ind[in->den];
        const struct agg *ng = aget(s, unit, period, in->num, slice);
        const struct agg *dg = aget(s, unit, period, in->den, slice);
        decimal_u128 num = ng ? ng->sum : 0, den = dg ? dg->sum : 0;

        decimal_format(num, ni->scale, row->numerator);
        decimal_format(den, di->scale, row->denominator);
        if (den == 0)
                row->null_value = 1;
        else
                format_ld(row->value, in->multiplier * real(num, ni->scale) / real(den, di->scale));
        if (g->n_leaf > 0) {
                long double w = real(g->lw, di->scale);
                long double mean = in->multiplier * real(g->lsum, ni->scale) / w;
                long double e2 = in->multiplier * in->multiplier * g->m2 / w;

                fill_stats(row, mean, e2, g->min, g->max);
        }
}

void
state_dirty_row(struct state *s, size_t i, struct state_row *row)
{
        settle(s);
        assert(i < s->ndirty);
        agg_row(s, &s->aggs[s->dirty[i]], row);
}

int
state_row(struct state *s, int unit, int period, int ind, int slice, struct state_row *row)
{
        const struct catalog *c = s->cfg->cat;
        const struct indicator *in = &c->ind[ind];
        struct agg *g;

        settle(s);
        if (!s->cfg->tree->u[unit].is_leaf) {
                if ((g = aget(s, unit, period, ind, slice)) == NULL)
                        return -1;
                agg_row(s, g, row);
                return 0;
        }
        if (slice != 0)
                return -1; /* breakdowns are kept for units with children */

        /* A leaf: its row is an identity of its own values. */
        memset(row, 0, sizeof(*row));
        row->unit = unit;
        row->period = period;
        row->indicator = ind;
        row->n_reporting = 1;
        row->null_stats = row->null_cv = 1;
        if (in->kind != IND_RATIO) {
                const struct vcell *e = vget(s, unit, period, ind);

                if (e == NULL)
                        return -1;
                long double x = real(e->mant, in->scale);

                decimal_format(e->mant, in->scale, row->value);
                row->null_num = row->null_den = 1;
                fill_stats(row, x, x * x, x, x);
                return 0;
        }
        const struct vcell *n = vget(s, unit, period, in->num);
        const struct vcell *d = vget(s, unit, period, in->den);
        if (n == NULL && d == NULL)
                return -1;
        decimal_format(n ? n->mant : 0, c->ind[in->num].scale, row->numerator);
        decimal_format(d ? d->mant : 0, c->ind[in->den].scale, row->denominator);
        if (d == NULL || d->mant == 0) {
                row->null_value = 1;
        } else {
                struct contrib k = leaf_ratio(s, unit, period, in);

                if (k.ok) {
                        format_ld(row->value, k.x);
                        fill_stats(row, k.x, k.x * k.x, k.x, k.x);
                } else {
                        /* numerator absent: the sum over nothing is 0 */
                        format_ld(row->value, 0);
                }
        }
        return 0;
}

int
state_agg_exists(struct state *s, int unit, int period, int indicator)
{
        settle(s);
        return aget(s, unit, period, indicator, 0) != NULL;
}

int
state_agg_sum(struct state *s, int unit, int period, int indicator, decimal_u128 *sum)
{
        const struct agg *g;

        assert(s->cfg->cat->ind[indicator].kind != IND_RATIO);
        settle(s);
        if ((g = aget(s, unit, period, indicator, 0)) == NULL)
                return 0;
        *sum = g->sum;
        return 1;
}

int
state_nslices(const struct state *s)
{
        return s->nslices;
}

void
state_slice_name(const struct state *s, int slice, const char **dim, const char **cat)
{
        assert(slice > 0 && slice < s->nslices);
        *dim = s->slice_dim[slice];
        *cat = s->slice_cat[slice];
}

int
state_slice_find(const struct state *s, const char *dim, const char *cat)
{
        char key[512];
        size_t len = (size_t)snprintf(key, sizeof(key), "%s=%s", dim, cat);

        return len < sizeof(key) ? strmap_get(s->slicemap, key, len) : -1;
}
