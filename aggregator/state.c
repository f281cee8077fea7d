#include "state.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strmap.h"
#include "util.h"

#define EMPTY_KEY UINT64_MAX

/* A stored value.  The key packs unit (32 bits), period and indicator (16 each). */
struct vslot {
        uint64_t key;
        uint64_t mant;
        uint64_t version;
};

/*
 * The aggregate of one non-leaf unit for one period and indicator.  The
 * leaf statistics are kept as exact sums plus a long double second moment;
 * see docs/ARCHITECTURE.md for why that is precise enough and how min/max
 * stay right when an extreme leaf is corrected inward (stale -> rescan).
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
};

struct aslot {
        uint64_t key;
        uint32_t idx;
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
        struct vslot *v;
        size_t vcap, vcount;
        struct aslot *a;
        size_t acap;
        struct agg *aggs;
        size_t naggs, aggcap;
        uint32_t *dirty;
        size_t ndirty, dirtycap;
        struct strmap *periods;
        char **pnames;
        size_t nperiods;
        /* breakdown slices: 0 is "all"; 1.. are (dimension, category) pairs */
        struct strmap *slicemap;
        char **slice_dim, **slice_cat;
        int nslices;
        uint8_t (*leaf_slice)[STATE_DIMENSIONS]; /* per unit; 0 = none */
        /* scratch for state_apply, sized for the indicator used by most ratios */
        struct contrib *before, *after;
        int *other_stored;
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

static long double
real(decimal_u128 mant, unsigned scale)
{
        return (long double)mant / pow10l_tab[scale];
}

/* ---- the value table ---- */

static struct vslot *
vfind(const struct state *s, uint64_t key)
{
        size_t mask = s->vcap - 1;

        for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
                if (s->v[i].key == key || s->v[i].key == EMPTY_KEY)
                        return &s->v[i];
        }
}

static void
vgrow(struct state *s)
{
        struct vslot *old = s->v;
        size_t oldcap = s->vcap;

        s->vcap *= 2;
        s->v = xreallocarray(NULL, s->vcap, sizeof(*s->v));
        for (size_t i = 0; i < s->vcap; i++)
                s->v[i].key = EMPTY_KEY;
        for (size_t i = 0; i < oldcap; i++)
                if (old[i].key != EMPTY_KEY)
                        *vfind(s, old[i].key) = old[i];
        free(old);
}

static const struct vslot *
vget(const struct state *s, int unit, int period, int ind)
{
        const struct vslot *e = vfind(s, mkkey(unit, period, ind, 0));

        return e->key == EMPTY_KEY ? NULL : e;
}

/* ---- the aggregate table ---- */

static struct aslot *
afind(const struct state *s, uint64_t key)
{
        size_t mask = s->acap - 1;

        for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
                if (s->a[i].key == key || s->a[i].key == EMPTY_KEY)
                        return &s->a[i];
        }
}

static void
agrow(struct state *s)
{
        struct aslot *old = s->a;
        size_t oldcap = s->acap;

        s->acap *= 2;
        s->a = xreallocarray(NULL, s->acap, sizeof(*s->a));
        for (size_t i = 0; i < s->acap; i++)
                s->a[i].key = EMPTY_KEY;
        for (size_t i = 0; i < oldcap; i++)
                if (old[i].key != EMPTY_KEY)
                        *afind(s, old[i].key) = old[i];
        free(old);
}

static struct agg *
aget(const struct state *s, int unit, int period, int ind, int slice)
{
        const struct aslot *e = afind(s, mkkey(unit, period, ind, slice));

        return e->key == EMPTY_KEY ? NULL : &s->aggs[e->idx];
}

static struct agg *
aget_or_add(struct state *s, int unit, int period, int ind, int slice)
{
        uint64_t key = mkkey(unit, period, ind, slice);
        struct aslot *e = afind(s, key);
        struct agg *g;

        if (e->key != EMPTY_KEY)
                return &s->aggs[e->idx];
        if ((s->naggs + 1) * 4 > s->acap * 3) {
                agrow(s);
                e = afind(s, key);
        }
        if (s->naggs == s->aggcap) {
                s->aggcap = s->aggcap ? s->aggcap * 2 : 64;
                s->aggs = xreallocarray(s->aggs, s->aggcap, sizeof(*s->aggs));
        }
        g = &s->aggs[s->naggs];
        memset(g, 0, sizeof(*g));
        g->key = key;
        e->key = key;
        e->idx = (uint32_t)s->naggs++;
        return g;
}

static void
mark_dirty(struct state *s, struct agg *g)
{
        if (g->dirty)
                return;
        g->dirty = 1;
        if (s->ndirty == s->dirtycap) {
                s->dirtycap = s->dirtycap ? s->dirtycap * 2 : 256;
                s->dirty = xreallocarray(s->dirty, s->dirtycap, sizeof(*s->dirty));
        }
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

static void
stat_remove(struct agg *g, decimal_u128 v, decimal_u128 w, long double x, long double sq)
{
        assert(g->n_leaf > 0);
        g->lsum -= v;
        g->lw -= w;
        if (--g->n_leaf == 0) {
                /* Start clean: no rounding residue survives an empty set. */
                g->m2 = 0;
                g->stale = 0;
                return;
        }
        g->m2 -= sq;
        if (x <= g->min || x >= g->max)
                g->stale = 1;
}

/* A leaf's ratio contribution from the stored values. */
static struct contrib
leaf_ratio(const struct state *s, int leaf, int period, const struct indicator *r)
{
        const struct catalog *c = s->cfg->cat;
        const struct indicator *ni = &c->ind[r->num], *di = &c->ind[r->den];
        const struct vslot *n = vget(s, leaf, period, r->num);
        const struct vslot *d = vget(s, leaf, period, r->den);
        struct contrib k = {0};

        if (n == NULL || d == NULL || d->mant == 0)
                return k;
        k.ok = 1;
        k.num = n->mant;
        k.den = d->mant;
        long double nr = real(n->mant, ni->scale), dr = real(d->mant, di->scale);
        k.x = r->multiplier * nr / dr;
        k.q = nr * nr / dr;
        return k;
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
                        const struct vslot *e = vget(s, leaves[i], period, ind);

                        if (e) {
                                long double x = real(e->mant, in->scale);

                                stat_add(g, e->mant, 0, x, x * x);
                        }
                }
        }
        g->stale = 0;
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

struct state *
state_new(const struct config *cfg)
{
        struct state *s = xcalloc(1, sizeof(*s));
        size_t maxr = 1;

        s->cfg = cfg;
        s->vcap = 1024;
        s->v = xreallocarray(NULL, s->vcap, sizeof(*s->v));
        for (size_t i = 0; i < s->vcap; i++)
                s->v[i].key = EMPTY_KEY;
        s->acap = 256;
        s->a = xreallocarray(NULL, s->acap, sizeof(*s->a));
        for (size_t i = 0; i < s->acap; i++)
                s->a[i].key = EMPTY_KEY;
        s->periods = strmap_new(16);
        s->pnames = xcalloc(STATE_MAX_PERIODS, sizeof(*s->pnames));
        slices_build(s);
        for (size_t i = 0; i < cfg->cat->n; i++)
                if (cfg->cat->ind[i].nratios > maxr)
                        maxr = cfg->cat->ind[i].nratios;
        s->before = xcalloc(maxr, sizeof(*s->before));
        s->after = xcalloc(maxr, sizeof(*s->after));
        s->other_stored = xcalloc(maxr, sizeof(*s->other_stored));
        return s;
}

void
state_destroy(struct state **sp)
{
        struct state *s;

        if (sp == NULL || (s = *sp) == NULL)
                return;
        free(s->v);
        free(s->a);
        free(s->aggs);
        free(s->dirty);
        strmap_destroy(&s->periods);
        for (size_t i = 0; i < s->nperiods; i++)
                free(s->pnames[i]);
        free(s->pnames);
        free(s->before);
        free(s->after);
        free(s->other_stored);
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
        int i = strmap_get(s->periods, p, len);

        if (i >= 0)
                return i;
        if (s->nperiods >= STATE_MAX_PERIODS)
                return -1;
        i = strmap_put(s->periods, p, len, (int)s->nperiods);
        if (i < 0)
                return -1;
        s->pnames[s->nperiods++] = xstrndup(p, len);
        return i;
}

const char *
state_period_name(const struct state *s, int i)
{
        assert(i >= 0 && (size_t)i < s->nperiods);
        return s->pnames[i];
}

int
state_get(const struct state *s, int unit, int period, int indicator, uint64_t *mant,
          uint64_t *version)
{
        const struct vslot *e = vget(s, unit, period, indicator);

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
        const struct orgtree *t = s->cfg->tree;
        const struct catalog *c = s->cfg->cat;
        const struct indicator *in = &c->ind[ind];
        int leaf = t->u[unit].is_leaf;
        uint64_t key = mkkey(unit, period, ind, 0);
        struct vslot *e;
        int present, slices[1 + STATE_DIMENSIONS], nsl = 1;
        uint64_t old = 0;
        size_t nanc;
        const int *anc;

        assert(in->kind != IND_RATIO);
        if ((s->vcount + 1) * 4 > s->vcap * 3)
                vgrow(s);
        e = vfind(s, key);
        present = e->key != EMPTY_KEY;
        if (present) {
                if (version <= e->version)
                        return STATE_STALE;
                if (mant == e->mant)
                        return STATE_UNCHANGED;
                old = e->mant;
                if (old_mant)
                        *old_mant = old;
        }

        /* What the ratios built on this indicator looked like before. */
        for (size_t j = 0; j < in->nratios; j++) {
                const struct indicator *r = &c->ind[in->ratios[j]];
                int other = r->num == ind ? r->den : r->num;

                s->other_stored[j] = other != ind && vget(s, unit, period, other) != NULL;
                if (leaf)
                        s->before[j] = leaf_ratio(s, unit, period, r);
        }

        if (!present) {
                e->key = key;
                s->vcount++;
        }
        e->mant = mant;
        e->version = version;

        for (size_t j = 0; leaf && j < in->nratios; j++)
                s->after[j] = leaf_ratio(s, unit, period, &c->ind[in->ratios[j]]);

        /* A leaf counts in the totals (slice 0) and in its own categories. */
        slices[0] = 0;
        for (int d = 0; leaf && d < STATE_DIMENSIONS; d++)
                if (s->leaf_slice[unit][d])
                        slices[nsl++] = s->leaf_slice[unit][d];

        anc = orgtree_ancestors(t, unit, &nanc);
        for (size_t k = 0; k < nanc * (size_t)nsl; k++) {
                int a = anc[k / (size_t)nsl], sl = slices[k % (size_t)nsl];
                struct agg *g;

                if (t->u[a].is_leaf)
                        continue; /* only the unit itself can be a leaf */
                g = aget_or_add(s, a, period, ind, sl);
                g->sum = g->sum - old + mant;
                if (!present)
                        g->n_reporting++;
                if (leaf) {
                        long double xo = real(old, in->scale), xn = real(mant, in->scale);

                        if (present)
                                stat_remove(g, old, 0, xo, xo * xo);
                        stat_add(g, mant, 0, xn, xn * xn);
                }
                mark_dirty(s, g);

                for (size_t j = 0; j < in->nratios; j++) {
                        struct agg *rg = aget_or_add(s, a, period, in->ratios[j], sl);

                        if (!present && !s->other_stored[j])
                                rg->n_reporting++;
                        if (leaf && s->before[j].ok)
                                stat_remove(rg, s->before[j].num, s->before[j].den, s->before[j].x,
                                            s->before[j].q);
                        if (leaf && s->after[j].ok)
                                stat_add(rg, s->after[j].num, s->after[j].den, s->after[j].x,
                                         s->after[j].q);
                        mark_dirty(s, rg);
                }
        }
        return present ? STATE_CHANGED : STATE_NEW;
}

size_t
state_nvalues(const struct state *s)
{
        return s->vcount;
}

size_t
state_naggs(const struct state *s)
{
        return s->naggs;
}

size_t
state_dirty_count(const struct state *s)
{
        return s->ndirty;
}

void
state_dirty_clear(struct state *s)
{
        for (size_t i = 0; i < s->ndirty; i++)
                s->aggs[s->dirty[i]].dirty = 0;
        s->ndirty = 0;
}

void
state_dirty_all(struct state *s)
{
        for (size_t i = 0; i < s->naggs; i++)
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
        assert(i < s->ndirty);
        agg_row(s, &s->aggs[s->dirty[i]], row);
}

int
state_row(struct state *s, int unit, int period, int ind, int slice, struct state_row *row)
{
        const struct catalog *c = s->cfg->cat;
        const struct indicator *in = &c->ind[ind];
        struct agg *g;

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
                const struct vslot *e = vget(s, unit, period, ind);

                if (e == NULL)
                        return -1;
                long double x = real(e->mant, in->scale);

                decimal_format(e->mant, in->scale, row->value);
                row->null_num = row->null_den = 1;
                fill_stats(row, x, x * x, x, x);
                return 0;
        }
        const struct vslot *n = vget(s, unit, period, in->num);
        const struct vslot *d = vget(s, unit, period, in->den);
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
