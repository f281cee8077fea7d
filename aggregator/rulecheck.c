/*
 * rulecheck: the rules applied to the state, and the violation table.
 * See rulecheck.h.
 *
 * The table is open addressing over 64-bit keys (unit << 32 | period << 16
 * | rule).  A violation that goes away keeps its slot, marked not present,
 * until the table is rebuilt: slots are never deleted, so a probe never
 * meets a hole, and a key that fails again finds its old slot.
 */
#include "rulecheck.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "period.h"
#include "util.h"

#define EMPTY UINT64_MAX

_Static_assert(STATE_MAX_PERIODS <= 65536, "a violation key packs the period in 16 bits");
_Static_assert(RULES_MAX <= 65536, "a violation key packs the rule in 16 bits");

struct vslot {
        uint64_t key;
        rule_num left, right;
        unsigned char present, dirty;
};

/*
 * A list of (unit, period) pairs, each once: the list in the order added,
 * and a set of indices into it (open addressing, 0 empty).
 */
struct pairs {
        uint64_t *key; /* unit << 32 | period */
        size_t n, cap;
        uint32_t *slot; /* 1 + an index into key */
        size_t nslots;
};

struct rulecheck {
        const struct config *cfg;
        const struct rules *rs;
        rule_num *mult;       /* per indicator: a ratio's multiplier */
        int *unit_stage;      /* per unit: its stage's number among the leaves', -1 none */
        int *rule_stage;      /* per rule: the stage it is limited to, -1 every stage */
        unsigned char *level; /* per unit: 1 when some rule is scoped to its level */
        int has_errors;

        struct vslot *t; /* the violations */
        size_t cap, used, present;

        uint64_t *dirty; /* keys of rows for the next uow, each once (vslot.dirty) */
        size_t ndirty, dirtycap;
        int full;

        struct pairs pend;   /* leaves' (unit, period) pairs to re-check */
        struct pairs lpend;  /* units' with children: they wait for rulecheck_settle() */
        struct pairs passed; /* leaves' pairs whose error rules passed the last judgement */

        uint64_t last_touch; /* the pair touched last: a batch touches in runs */
        /* [YEAR_BEFORE]: period -> the one a year before; [YEAR_AFTER]: after; -1 unknown */
        int year_cache[2][STATE_MAX_PERIODS];

        /*
         * The overlay of the check in progress, by indicator: ov_gen[i] ==
         * gen when ov_val[i] holds indicator i's value, so that a lookup is
         * one comparison and nothing is cleared between checks.
         */
        uint32_t *ov_gen, gen;
        uint64_t *ov_val, *ov_ver;

        /*
         * The operands looked up in the check in progress, by indicator
         * and year (2 * indicator + prev): rules share operands, and a
         * ratio costs a division.  memo_gen[k] == mgen when memo_ok[k]
         * and memo_val[k] hold the answer.
         */
        uint32_t *memo_gen, mgen;
        unsigned char *memo_ok;
        rule_num *memo_val;
};

/* ---- the violation table -------------------------------------------------------------- */

static uint64_t
vkey(int unit, int period, int rule)
{
        return ((uint64_t)(uint32_t)unit << 32) | ((uint64_t)(uint16_t)period << 16) |
               (uint16_t)rule;
}

static uint64_t
mix(uint64_t k)
{
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        k ^= k >> 33;
        return k;
}

static struct vslot *
vfind(const struct rulecheck *rc, uint64_t key)
{
        size_t mask = rc->cap - 1;

        for (size_t i = mix(key) & mask;; i = (i + 1) & mask)
                if (rc->t[i].key == key || rc->t[i].key == EMPTY)
                        return &rc->t[i];
}

static void
table_init(struct rulecheck *rc, size_t cap)
{
        rc->cap = cap;
        rc->t = xreallocarray(NULL, cap, sizeof(*rc->t));
        for (size_t i = 0; i < cap; i++)
                rc->t[i].key = EMPTY;
        rc->used = rc->present = 0;
}

static void
vgrow(struct rulecheck *rc)
{
        struct vslot *old = rc->t;
        size_t oldcap = rc->cap, used = rc->used, present = rc->present;

        table_init(rc, oldcap * 2);
        for (size_t i = 0; i < oldcap; i++)
                if (old[i].key != EMPTY)
                        *vfind(rc, old[i].key) = old[i];
        rc->used = used;
        rc->present = present;
        free(old);
}

static void
mark_dirty(struct rulecheck *rc, struct vslot *v)
{
        if (v->dirty)
                return;
        v->dirty = 1;
        if (rc->ndirty == rc->dirtycap) {
                rc->dirtycap = rc->dirtycap ? rc->dirtycap * 2 : 64;
                rc->dirty = xreallocarray(rc->dirty, rc->dirtycap, sizeof(*rc->dirty));
        }
        rc->dirty[rc->ndirty++] = v->key;
}

/* Record the outcome of a rule for a key. */
static void
note(struct rulecheck *rc, uint64_t key, enum rule_status st, rule_num l, rule_num r)
{
        struct vslot *v = vfind(rc, key);

        if (st != RULE_FAIL) {
                if (v->key == key && v->present) {
                        v->present = 0;
                        rc->present--;
                        mark_dirty(rc, v);
                }
                return;
        }
        if (v->key != key) {
                if ((rc->used + 1) * 2 > rc->cap) {
                        vgrow(rc);
                        v = vfind(rc, key);
                }
                v->key = key;
                v->present = v->dirty = 0;
                rc->used++;
        }
        if (!v->present || v->left != l || v->right != r) {
                if (!v->present)
                        rc->present++;
                v->present = 1;
                v->left = l;
                v->right = r;
                mark_dirty(rc, v);
        }
}

/* ---- operands ------------------------------------------------------------------------- */

struct ctx {
        struct rulecheck *rc;
        struct state *s;
        int unit, period, prev; /* prev: the period a year before, -1 when never seen */
        struct state_view cur, before;
        const struct rulecheck_overlay *ov;
};

enum { YEAR_BEFORE = 0, YEAR_AFTER = 1 };

/*
 * The period one year before (YEAR_BEFORE) or after (YEAR_AFTER) period
 * (an index), or -1 when none was ever stored.
 */
static int
year_away(struct rulecheck *rc, struct state *s, int period, int dir)
{
        int *cache = rc->year_cache[dir];
        char p[PERIOD_BUFSZ];
        const char *name;
        int i;

        if (cache[period] >= 0)
                return cache[period];
        name = state_period_name(s, period);
        if ((dir == YEAR_BEFORE ? period_prev_year : period_next_year)(name, strlen(name), p) == 0)
                return -1;
        if ((i = state_period_find(s, p, strlen(p))) >= 0)
                cache[period] = i;
        return i;
}

/* A school's own stored (or overlaid) value of a count or amount. */
static int
own_value(struct ctx *c, int ind, int prev, rule_num *v)
{
        uint64_t mant;

        if (!prev && c->ov != NULL && c->rc->ov_gen[ind] == c->rc->gen)
                mant = c->rc->ov_val[ind];
        else if (!state_view_value(prev ? &c->before : &c->cur, ind, &mant, NULL))
                return 0;
        return rule_num_from_decimal(mant, c->rc->cfg->cat->ind[ind].scale, v) == 0;
}

static int
school_lookup(void *arg, int ind, int prev, rule_num *v)
{
        struct ctx *c = arg;
        const struct indicator *x = &c->rc->cfg->cat->ind[ind];
        rule_num num = 0, den;

        if (x->kind != IND_RATIO)
                return own_value(c, ind, prev, v);
        /* As agg_value: a missing numerator counts 0; no denominator, no ratio. */
        if (!own_value(c, x->den, prev, &den) || den == 0)
                return 0;
        (void)own_value(c, x->num, prev, &num);
        return rule_num_ratio(c->rc->mult[ind], num, den, v) == 0;
}

/* A sum of the state as a rule's value; 0 past RULE_NUM_LIMIT, as a missing operand. */
static int
sum_value(decimal_u128 sum, unsigned scale, rule_num *v)
{
        if (sum > (decimal_u128)RULE_NUM_LIMIT)
                return 0;
        return rule_num_from_decimal((rule_num)sum, scale, v) == 0;
}

/*
 * A level's aggregate: the sum at or below the unit, a ratio of the sums
 * (as agg_value: no denominator or a zero one, no ratio).  A leaf at the
 * level is its own aggregate.
 */
static int
level_lookup(void *arg, int ind, int prev, rule_num *v)
{
        struct ctx *c = arg;
        const struct catalog *cat = c->rc->cfg->cat;
        const struct indicator *x = &cat->ind[ind];
        int period = prev ? c->prev : c->period;
        decimal_u128 sum;
        rule_num num = 0, den;

        if (c->rc->cfg->tree->u[c->unit].is_leaf)
                return school_lookup(arg, ind, prev, v);
        if (period < 0)
                return 0;
        if (x->kind != IND_RATIO)
                return state_agg_sum(c->s, c->unit, period, ind, &sum) &&
                       sum_value(sum, x->scale, v);
        if (!state_agg_exists(c->s, c->unit, period, ind) ||
            !state_agg_sum(c->s, c->unit, period, x->den, &sum) ||
            !sum_value(sum, cat->ind[x->den].scale, &den) || den == 0)
                return 0;
        if (state_agg_sum(c->s, c->unit, period, x->num, &sum) &&
            !sum_value(sum, cat->ind[x->num].scale, &num))
                return 0;
        return rule_num_ratio(c->rc->mult[ind], num, den, v) == 0;
}

/* lookup's answer for (ind, prev), asked of the state once per check. */
static int
memo_lookup(struct ctx *c, rule_lookup_fn lookup, int ind, int prev, rule_num *v)
{
        struct rulecheck *rc = c->rc;
        size_t k = 2 * (size_t)ind + (prev != 0);

        if (rc->memo_gen[k] != rc->mgen) {
                rc->memo_gen[k] = rc->mgen;
                rc->memo_ok[k] = (unsigned char)lookup(c, ind, prev, &rc->memo_val[k]);
        }
        *v = rc->memo_val[k];
        return rc->memo_ok[k];
}

static int
school_operand(void *arg, int ind, int prev, rule_num *v)
{
        return memo_lookup(arg, school_lookup, ind, prev, v);
}

static int
level_operand(void *arg, int ind, int prev, rule_num *v)
{
        return memo_lookup(arg, level_lookup, ind, prev, v);
}

/* A check of (unit, period), with ov laid over the stored values when not NULL. */
static void
ctx_init(struct ctx *c, struct rulecheck *rc, struct state *s, int unit, int period,
         const struct rulecheck_overlay *ov, int with_prev)
{
        c->rc = rc;
        c->s = s;
        c->unit = unit;
        c->period = period;
        c->prev = with_prev ? year_away(rc, s, period, YEAR_BEFORE) : -1;
        c->ov = ov;
        /* A new check: the last one's operands all go stale at once. */
        if (++rc->mgen == 0) {
                memset(rc->memo_gen, 0, 2 * rc->cfg->cat->n * sizeof(*rc->memo_gen));
                rc->mgen = 1;
        }
        if (ov != NULL) {
                /* A new generation: the last overlay's marks all go stale at once. */
                if (++rc->gen == 0) {
                        memset(rc->ov_gen, 0, rc->cfg->cat->n * sizeof(*rc->ov_gen));
                        rc->gen = 1;
                }
                /* As state_apply_by(): a higher version wins, the first of equal ones. */
                for (size_t i = 0; i < ov->n; i++) {
                        int ind = ov->indicator[i];

                        if (rc->ov_gen[ind] == rc->gen && ov->version[i] <= rc->ov_ver[ind])
                                continue;
                        rc->ov_gen[ind] = rc->gen;
                        rc->ov_val[ind] = ov->mant[i];
                        rc->ov_ver[ind] = ov->version[i];
                }
        }
        if (ov != NULL)
                c->cur = ov->stored;
        else
                state_view_get(s, unit, period, &c->cur);
        if (c->prev >= 0)
                state_view_get(s, unit, c->prev, &c->before);
        else
                c->before.row = NULL;
}

/* 1 when rule i is school-scoped and applies to leaf unit. */
static int
applies(const struct rulecheck *rc, int i, int unit)
{
        const struct rule *r = &rc->rs->rule[i];

        return r->scope == NULL && rc->cfg->tree->u[unit].is_leaf &&
               (rc->rule_stage[i] < 0 || rc->rule_stage[i] == rc->unit_stage[unit]);
}

/* ---- judging a batch ------------------------------------------------------------------ */

int
rulecheck_errors(struct rulecheck *rc, struct state *s, int unit, int period,
                 const struct rulecheck_overlay *ov, char *why, size_t whylen)
{
        struct ctx c;
        int failed = 0;

        if (!rc->has_errors || !rc->cfg->tree->u[unit].is_leaf)
                return 0;
        ctx_init(&c, rc, s, unit, period, ov, 0); /* error rules never use prev_year */
        for (size_t i = 0; i < rc->rs->n; i++) {
                const struct rule *r = &rc->rs->rule[i];
                rule_num l, rt;

                if (r->severity != RULE_ERROR || !applies(rc, (int)i, unit))
                        continue;
                if (rule_eval(r, school_operand, &c, &l, &rt) != RULE_FAIL)
                        continue;
                if (failed++ == 0)
                        rule_message(r, l, rt, 1, why, whylen);
        }
        if (failed > 1) {
                size_t n = strlen(why);

                snprintf(why + n, whylen - n, "; %d more rule%s fail%s", failed - 1,
                         failed == 2 ? "" : "s", failed == 2 ? "s" : "");
        }
        return failed;
}

size_t
rulecheck_would_warn(struct rulecheck *rc, struct state *s, int unit, int period,
                     const struct rulecheck_overlay *ov,
                     void (*fn)(void *ctx, int rule, rule_num left, rule_num right), void *arg)
{
        struct ctx c;
        size_t n = 0;

        if (!rc->cfg->tree->u[unit].is_leaf)
                return 0;
        ctx_init(&c, rc, s, unit, period, ov, 1);
        for (size_t i = 0; i < rc->rs->n; i++) {
                const struct rule *r = &rc->rs->rule[i];
                rule_num l, rt;

                if (r->severity != RULE_WARNING || !applies(rc, (int)i, unit))
                        continue;
                if (rule_eval(r, school_operand, &c, &l, &rt) == RULE_FAIL) {
                        fn(arg, (int)i, l, rt);
                        n++;
                }
        }
        return n;
}

/* ---- keeping the table ---------------------------------------------------------------- */

static uint64_t
pair_key(int unit, int period)
{
        return ((uint64_t)(uint32_t)unit << 32) | (uint32_t)period;
}

static int
pair_unit(uint64_t key)
{
        return (int)(key >> 32);
}

static int
pair_period(uint64_t key)
{
        return (int)(uint32_t)key;
}

/* The slot of key in p's set: the one holding it, or the empty one it would take. */
static uint32_t *
pairs_slot(const struct pairs *p, uint64_t key)
{
        size_t mask = p->nslots - 1;

        for (size_t i = mix(key) & mask;; i = (i + 1) & mask)
                if (p->slot[i] == 0 || p->key[p->slot[i] - 1] == key)
                        return &p->slot[i];
}

/* An empty set of nslots (a power of two) slots for the listed keys. */
static void
pairs_index(struct pairs *p, size_t nslots)
{
        free(p->slot);
        p->slot = xcalloc(nslots, sizeof(*p->slot));
        p->nslots = nslots;
        for (size_t k = 0; k < p->n; k++)
                *pairs_slot(p, p->key[k]) = (uint32_t)k + 1;
}

static void
pairs_add(struct pairs *p, uint64_t key)
{
        uint32_t *e;

        if ((p->n + 1) * 2 > p->nslots)
                pairs_index(p, p->nslots ? p->nslots * 2 : 256);
        if (*(e = pairs_slot(p, key)) != 0)
                return;
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 256;
                p->key = xreallocarray(p->key, p->cap, sizeof(*p->key));
        }
        p->key[p->n++] = key;
        *e = (uint32_t)p->n;
}

static int
pairs_has(const struct pairs *p, uint64_t key)
{
        return p->n > 0 && *pairs_slot(p, key) != 0;
}

/* Empty p; a set that a rebuild made large shrinks back to the size of a batch's. */
static void
pairs_clear(struct pairs *p)
{
        if (p->n == 0)
                return;
        p->n = 0;
        if (p->nslots > 4096)
                pairs_index(p, 4096);
        else
                memset(p->slot, 0, p->nslots * sizeof(*p->slot));
}

static void
pairs_free(struct pairs *p)
{
        free(p->key);
        free(p->slot);
}

/* Queue (unit, period) and the ancestors that level rules look at. */
static void
pend_with_levels(struct rulecheck *rc, int unit, int period)
{
        size_t n;
        const int *anc = orgtree_ancestors(rc->cfg->tree, unit, &n);

        if (rc->cfg->tree->u[unit].is_leaf)
                pairs_add(&rc->pend, pair_key(unit, period));
        for (size_t i = 0; i < n; i++)
                if (rc->level[anc[i]])
                        pairs_add(&rc->lpend, pair_key(anc[i], period));
}

void
rulecheck_touch(struct rulecheck *rc, struct state *s, int unit, int period)
{
        uint64_t key = pair_key(unit, period);

        if (rc->rs->n == 0 || key == rc->last_touch)
                return;
        rc->last_touch = key;
        pend_with_levels(rc, unit, period);
        if (rc->rs->uses_prev) {
                int next = year_away(rc, s, period, YEAR_AFTER);

                if (next >= 0)
                        pend_with_levels(rc, unit, next);
        }
}

/*
 * Check every rule that applies to (unit, period) and note the outcomes.
 * A leaf's error rules that passed its batch's judgement pass now: the
 * state holds what was judged.
 */
static void
check_pair(struct rulecheck *rc, struct state *s, int unit, int period)
{
        const struct orgunit *u = &rc->cfg->tree->u[unit];
        int judged = pairs_has(&rc->passed, pair_key(unit, period));
        struct ctx c;

        ctx_init(&c, rc, s, unit, period, NULL, 1);
        for (size_t i = 0; i < rc->rs->n; i++) {
                const struct rule *r = &rc->rs->rule[i];
                enum rule_status st;
                rule_num l = 0, rt = 0;

                if (r->scope == NULL) {
                        if (!applies(rc, (int)i, unit) || c.cur.row == NULL)
                                continue;
                        st = judged && r->severity == RULE_ERROR
                                 ? RULE_PASS
                                 : rule_eval(r, school_operand, &c, &l, &rt);
                } else {
                        if (strcmp(r->scope, u->level) != 0)
                                continue;
                        st = rule_eval(r, level_operand, &c, &l, &rt);
                }
                note(rc, vkey(unit, period, (int)i), st, l, rt);
        }
}

/* Check the pairs of p and empty it. */
static void
check_pairs(struct rulecheck *rc, struct state *s, struct pairs *p)
{
        for (size_t k = 0; k < p->n; k++)
                check_pair(rc, s, pair_unit(p->key[k]), pair_period(p->key[k]));
        pairs_clear(p);
}

void
rulecheck_settle_leaves(struct rulecheck *rc, struct state *s)
{
        check_pairs(rc, s, &rc->pend);
        pairs_clear(&rc->passed);
        rc->last_touch = EMPTY;
}

void
rulecheck_settle(struct rulecheck *rc, struct state *s)
{
        rulecheck_settle_leaves(rc, s);
        check_pairs(rc, s, &rc->lpend);
}

void
rulecheck_passed(struct rulecheck *rc, int unit, int period)
{
        pairs_add(&rc->passed, pair_key(unit, period));
}

static void
rebuild_row(void *arg, int unit, int period)
{
        struct rulecheck *rc = arg;

        pend_with_levels(rc, unit, period);
}

void
rulecheck_rebuild(struct rulecheck *rc, struct state *s)
{
        free(rc->t);
        table_init(rc, 1024);
        rc->ndirty = 0;
        for (size_t i = 0; i < STATE_MAX_PERIODS; i++)
                rc->year_cache[YEAR_BEFORE][i] = rc->year_cache[YEAR_AFTER][i] = -1;
        rc->last_touch = EMPTY;
        if (rc->rs->n > 0) {
                state_foreach_row(s, rebuild_row, rc);
                rulecheck_settle(rc, s);
        }
        /* The table was empty: every violation is dirty, and only those. */
        rc->full = 1;
}

/* ---- reading the table ---------------------------------------------------------------- */

size_t
rulecheck_warnings(const struct rulecheck *rc, int unit, int period,
                   void (*fn)(void *ctx, const struct rulecheck_row *row), void *arg)
{
        size_t n = 0;

        if (rc->present == 0)
                return 0;
        for (size_t i = 0; i < rc->rs->n; i++) {
                const struct rule *r = &rc->rs->rule[i];
                const struct vslot *v;
                struct rulecheck_row row;

                if (r->scope != NULL || r->severity != RULE_WARNING)
                        continue;
                v = vfind(rc, vkey(unit, period, (int)i));
                if (v->key == EMPTY || !v->present)
                        continue;
                row.unit = unit;
                row.period = period;
                row.rule = (int)i;
                row.present = 1;
                row.left = v->left;
                row.right = v->right;
                fn(arg, &row);
                n++;
        }
        return n;
}

int
rulecheck_failing(const struct rulecheck *rc, int unit, int period, int rule)
{
        assert(rc->lpend.n == 0 || rc->cfg->tree->u[unit].is_leaf);
        const struct vslot *v = vfind(rc, vkey(unit, period, rule));

        return v->key != EMPTY && v->present;
}

int
rulecheck_full(const struct rulecheck *rc)
{
        return rc->full;
}

size_t
rulecheck_dirty_count(const struct rulecheck *rc)
{
        assert(rc->lpend.n == 0);
        return rc->ndirty;
}

void
rulecheck_dirty_row(const struct rulecheck *rc, size_t i, struct rulecheck_row *row)
{
        uint64_t key = rc->dirty[i];
        const struct vslot *v = vfind(rc, key);

        row->unit = (int)(key >> 32);
        row->period = (int)(uint16_t)(key >> 16);
        row->rule = (int)(uint16_t)key;
        row->present = v->present;
        row->left = v->left;
        row->right = v->right;
}

void
rulecheck_dirty_clear(struct rulecheck *rc)
{
        for (size_t i = 0; i < rc->ndirty; i++)
                vfind(rc, rc->dirty[i])->dirty = 0;
        rc->ndirty = 0;
        rc->full = 0;
}

size_t
rulecheck_count(const struct rulecheck *rc)
{
        assert(rc->lpend.n == 0);
        return rc->present;
}

const struct rules *
rulecheck_rules(const struct rulecheck *rc)
{
        return rc->rs;
}

int
rulecheck_has_errors(const struct rulecheck *rc)
{
        return rc->has_errors;
}

/* ---- set-up --------------------------------------------------------------------------- */

/* A ratio's multiplier as an exact decimal: as written, or as the catalogue read it. */
static int
multiplier(const struct indicator *x, rule_num *v)
{
        const char *t = x->multiplier_text ? x->multiplier_text : "1";
        uint64_t mant;

        if (rule_num_parse(t, strlen(t), v) == 0)
                return 0;
        /* "2.5e-1": the catalogue takes exponents. */
        if (decimal_parse(t, strlen(t), DECIMAL_MAX_SCALE, &mant) == 0 &&
            rule_num_from_decimal(mant, DECIMAL_MAX_SCALE, v) == 0)
                return 0;
        return -1;
}

static int
uses_indicator(const struct rule_expr *e, int ind)
{
        for (size_t i = 0; i < e->nnodes; i++)
                if ((e->node[i].kind == RN_IND || e->node[i].kind == RN_PREV) &&
                    e->node[i].indicator == ind)
                        return 1;
        return 0;
}

struct rulecheck *
rulecheck_new(const struct config *cfg, const struct rules *rs, char *err, size_t errlen)
{
        const struct orgtree *t = cfg->tree;
        struct rulecheck *rc = xcalloc(1, sizeof(*rc));
        const char **stages = NULL;
        size_t nstages = 0;

        rc->cfg = cfg;
        rc->rs = rs;
        rc->mult = xcalloc(cfg->cat->n ? cfg->cat->n : 1, sizeof(*rc->mult));
        for (size_t i = 0; i < cfg->cat->n; i++) {
                const struct indicator *x = &cfg->cat->ind[i];

                if (x->kind != IND_RATIO || multiplier(x, &rc->mult[i]) == 0)
                        continue;
                for (size_t k = 0; k < rs->n; k++) {
                        if (uses_indicator(&rs->rule[k].left, (int)i) ||
                            uses_indicator(&rs->rule[k].right, (int)i)) {
                                strlcpyf(err, errlen,
                                         "rules.csv:%lu: rule %s uses %s, whose multiplier %s "
                                         "is not a decimal of at most %d places",
                                         rs->rule[k].line, rs->rule[k].code, x->code,
                                         x->multiplier_text, RULE_SCALE);
                                rulecheck_destroy(&rc);
                                return NULL;
                        }
                }
        }
        /* Stages by number, so that a rule's stage is one comparison. */
        rc->unit_stage = xcalloc(t->n ? t->n : 1, sizeof(*rc->unit_stage));
        rc->level = xcalloc(t->n ? t->n : 1, 1);
        for (size_t u = 0; u < t->n; u++) {
                size_t k;

                rc->unit_stage[u] = -1;
                if (!t->u[u].is_leaf || t->u[u].stage[0] == '\0')
                        continue;
                for (k = 0; k < nstages && strcmp(stages[k], t->u[u].stage) != 0; k++)
                        ;
                if (k == nstages) {
                        stages = xreallocarray(stages, nstages + 1, sizeof(*stages));
                        stages[nstages++] = t->u[u].stage;
                }
                rc->unit_stage[u] = (int)k;
        }
        rc->rule_stage = xcalloc(rs->n ? rs->n : 1, sizeof(*rc->rule_stage));
        for (size_t i = 0; i < rs->n; i++) {
                const struct rule *r = &rs->rule[i];

                rc->rule_stage[i] = -1;
                if (r->stage != NULL) {
                        /* rules_load checked that some leaf has it. */
                        for (size_t k = 0; k < nstages; k++)
                                if (strcmp(stages[k], r->stage) == 0)
                                        rc->rule_stage[i] = (int)k;
                }
                if (r->scope == NULL && r->severity == RULE_ERROR)
                        rc->has_errors = 1;
                if (r->scope != NULL)
                        for (size_t u = 0; u < t->n; u++)
                                if (strcmp(t->u[u].level, r->scope) == 0)
                                        rc->level[u] = 1;
        }
        free(stages);
        table_init(rc, 1024);
        for (size_t i = 0; i < STATE_MAX_PERIODS; i++)
                rc->year_cache[YEAR_BEFORE][i] = rc->year_cache[YEAR_AFTER][i] = -1;
        rc->last_touch = EMPTY;
        rc->ov_gen = xcalloc(cfg->cat->n ? cfg->cat->n : 1, sizeof(*rc->ov_gen));
        rc->ov_val = xcalloc(cfg->cat->n ? cfg->cat->n : 1, sizeof(*rc->ov_val));
        rc->ov_ver = xcalloc(cfg->cat->n ? cfg->cat->n : 1, sizeof(*rc->ov_ver));
        rc->memo_gen = xcalloc(2 * cfg->cat->n + 1, sizeof(*rc->memo_gen));
        rc->memo_ok = xcalloc(2 * cfg->cat->n + 1, sizeof(*rc->memo_ok));
        rc->memo_val = xcalloc(2 * cfg->cat->n + 1, sizeof(*rc->memo_val));
        return rc;
}

void
rulecheck_destroy(struct rulecheck **rp)
{
        struct rulecheck *rc;

        if (rp == NULL || (rc = *rp) == NULL)
                return;
        free(rc->mult);
        free(rc->unit_stage);
        free(rc->rule_stage);
        free(rc->level);
        free(rc->t);
        free(rc->dirty);
        pairs_free(&rc->pend);
        pairs_free(&rc->lpend);
        pairs_free(&rc->passed);
        free(rc->ov_gen);
        free(rc->ov_val);
        free(rc->ov_ver);
        free(rc->memo_gen);
        free(rc->memo_ok);
        free(rc->memo_val);
        free(rc);
        *rp = NULL;
}
