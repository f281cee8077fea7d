/*
 * state: the aggregator's memory of every stored value and of the
 * aggregates of every unit that has children.
 *
 * A value is identified by (unit, period, indicator), three dense indices
 * (orgtree, the period table below, catalog).  state_apply() stores a value
 * when its version is above the stored one and then adjusts, in O(depth),
 * the aggregates of every ancestor: at once those of the unit's first
 * ancestor with children, in bulk (before any aggregate is read) those
 * above it.  Aggregates that changed are marked dirty; the caller turns
 * them into rows with state_dirty_row() and clears the marks with
 * state_dirty_clear().
 *
 * The semantics are those of the contract's agg_value:
 *   count/amount  value = Σ stored values at or below the unit (exact);
 *   ratio         numerator / denominator = the sums of its two indicators,
 *                 value = multiplier * num / den, NULL when den = 0;
 *   n_reporting   units at or below storing the indicator (a ratio: its
 *                 numerator or its denominator);
 *   min/max/mean/cv over the leaves at or below whose own value is
 *                 defined; for a ratio the mean and cv are weighted by each
 *                 leaf's denominator (the MoE 差异系数).
 * Leaves have no aggregate of their own here: their rows are identities of
 * their raw values and PostgreSQL's agg_value view derives them.
 *
 * Breakdowns: every aggregate also exists per slice, a (dimension,
 * category) pair of the leaves' attributes (stage=primary, locality=rural,
 * ownership=private...).  A slice aggregate has the same semantics over the
 * leaves in that category only; values stored by units with children (a
 * district's population) belong to no category, so they count in the
 * totals and not in any slice.  Slices exist for units with children.
 *
 * Values are kept in rows, one per (unit, period) that stores any: a row
 * is an array sorted by indicator that grows by doubling, 20 bytes a value
 * (mantissa, version, indicator, who stored it) plus slack; the rows and the aggregates are found
 * through hash tables that grow by doubling.  At 10M values of a province-shaped tree a value costs
 * about 36 bytes of resident memory, aggregates included (bench/RESULTS.md).
 */
#ifndef EDUSTAT_STATE_H
#define EDUSTAT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decimal.h"

/* Periods are few (a handful a year); the cap keeps junk from growing the table. */
#define STATE_MAX_PERIODS 4096
/*
 * Names of the collectors that stored values (for "a newer value was
 * submitted by X"): registered keys are a few thousand; beyond the cap a
 * value's origin is simply not remembered.
 */
#define STATE_MAX_COLLECTORS 65535
/* Breakdown dimensions of a leaf: stage, locality, ownership. */
#define STATE_DIMENSIONS 3
/* Slices: 0 is all units; 1.. are (dimension, category) pairs such as (stage, primary). */
#define STATE_MAX_SLICES 256

struct state;

enum state_result {
        STATE_NEW,     /* key was absent; stored */
        STATE_CHANGED, /* key held another value at a lower version; replaced */
        /*
         * Same value at a higher version: nothing to write, but the stored
         * version is raised, so that an older different value delivered
         * later (a collector's outbox coming back online) stays stale.  The
         * raise is in memory only: PostgreSQL keeps the version of the last
         * change, and an aggregator rebuilt from it forgets raises.
         */
        STATE_UNCHANGED,
        STATE_STALE, /* version not above the stored one; ignored */
};

/* What a key held before state_apply_by(): set unless the key was absent. */
struct state_prev {
        uint64_t mant, version;
        int who; /* state_collector_intern() index of who stored it; 0 unknown */
};

/* One aggregate row, ready for the wire.  Text fields point into the state
 * or into buf and stay valid until the next call. */
struct state_row {
        int unit, period, indicator;
        int slice; /* 0: all units; else a (dimension, category) breakdown */
        int null_value, null_num, null_den, null_stats, null_cv;
        char value[DECIMAL_BUFSZ], numerator[DECIMAL_BUFSZ], denominator[DECIMAL_BUFSZ];
        uint32_t n_reporting;
        double min, max, mean, cv;
};

/* A new empty state over cfg, which must outlive it. */
struct state *state_new(const struct config *cfg);

/* Free; accepts NULL and sets *sp to NULL. */
void state_destroy(struct state **sp);

/*
 * The index of period text p[0..len), adding it when new.  The caller has
 * checked period_valid().  Returns -1 when STATE_MAX_PERIODS are in use.
 */
int state_period_intern(struct state *s, const char *p, size_t len);

/* The index of period text p[0..len), or -1 when it was never interned. */
int state_period_find(const struct state *s, const char *p, size_t len);

/* The text of period index i. */
const char *state_period_name(const struct state *s, int i);

/*
 * Store mant (at the indicator's scale) for the key if version is above the
 * stored version, and roll the change up.  indicator must be a count or an
 * amount.  *old_mant is set to the previous value on STATE_CHANGED.  The
 * aggregates of the unit's first ancestor with children change at once;
 * those further up are brought up to date in bulk, before any function
 * here reports or reads an aggregate, so callers never see the difference.
 */
enum state_result state_apply(struct state *s, int unit, int period, int indicator, uint64_t mant,
                              uint64_t version, uint64_t *old_mant);

/*
 * state_apply() that also records who stored the value (an index from
 * state_collector_intern(), 0 for unknown) and, when the key was present,
 * fills *prev (may be NULL) with what it held before: on STATE_STALE the
 * caller can tell an old identical resend (prev->mant == mant) from a
 * value that lost to a newer, different one.  An identical value at a
 * higher version keeps the stored origin.
 */
enum state_result state_apply_by(struct state *s, int unit, int period, int indicator,
                                 uint64_t mant, uint64_t version, int who, struct state_prev *prev);

/*
 * The index of collector name[0..len), adding it when new: 1.. for a
 * name, 0 for an empty name or once STATE_MAX_COLLECTORS are known.
 */
int state_collector_intern(struct state *s, const char *name, size_t len);

/* The name of collector index who ("" for 0 or an unknown index). */
const char *state_collector_name(const struct state *s, int who);

/* The stored value of a key: 1 with *mant and *version set, or 0 when absent. */
int state_get(const struct state *s, int unit, int period, int indicator, uint64_t *mant,
              uint64_t *version);

/*
 * Number of stored values, and of non-leaf aggregates (rows) that exist.
 * Like every function below that reads aggregates, state_naggs() first
 * rolls pending changes up (see state_apply), hence the non-const state.
 */
size_t state_nvalues(const struct state *s);
size_t state_naggs(struct state *s);

/*
 * 1 when some aggregate changed since the dirty marks were last cleared,
 * without rolling anything up: for "is there anything to flush?".
 */
int state_dirty(const struct state *s);

/* Number of dirty aggregates, and the i-th one (0 <= i < count) as a row. */
size_t state_dirty_count(struct state *s);
void state_dirty_row(struct state *s, size_t i, struct state_row *row);

/* Forget the dirty marks. */
void state_dirty_clear(struct state *s);

/* Mark every aggregate dirty: after a rebuild, to rewrite them all. */
void state_dirty_all(struct state *s);

/*
 * The aggregate row of any unit (leaf or not) in slice (0 for the totals),
 * computed on demand; for tests and the check tool.  Returns 0, or -1 when
 * no row exists for the key (nothing stored at or below the unit for it in
 * that slice; and leaves have no slice rows).
 */
int state_row(struct state *s, int unit, int period, int indicator, int slice,
              struct state_row *row);

/*
 * The values one unit stores for one period, read-only, for the rules:
 * valid until the next state_apply*() (which may move rows).
 */
struct state_view {
        const void *row; /* NULL: the unit stores nothing for the period */
};

/* The view of (unit, period); v->row is NULL when nothing is stored. */
void state_view_get(const struct state *s, int unit, int period, struct state_view *v);

/*
 * The value of indicator in v: 1 with *mant and *version set (each may be
 * NULL), or 0 when absent.
 */
int state_view_value(const struct state_view *v, int indicator, uint64_t *mant, uint64_t *version);

/*
 * The exact sum at or below unit (which has children) of a count or
 * amount, at the indicator's scale: the value of its aggregate row
 * without the row's statistics.  Returns 1 with *sum set, or 0 when no
 * row exists (state_row() would return -1).  Applies pending changes
 * first, like state_row().
 */
int state_agg_sum(struct state *s, int unit, int period, int indicator, decimal_u128 *sum);

/* 1 when the aggregate row of (unit, period, indicator) exists: a unit with children. */
int state_agg_exists(struct state *s, int unit, int period, int indicator);

/*
 * Call fn(ctx, unit, period) for every (unit, period) with a stored value,
 * in no particular order.  fn must not change the state.
 */
void state_foreach_row(const struct state *s, void (*fn)(void *ctx, int unit, int period),
                       void *ctx);

/* Number of periods interned (indices 0 .. n - 1). */
int state_nperiods(const struct state *s);

/* Number of slices, "all" (0) included. */
int state_nslices(const struct state *s);

/* The dimension and category of slice (1 .. state_nslices() - 1). */
void state_slice_name(const struct state *s, int slice, const char **dim, const char **cat);

/* The slice of (dim, cat), or -1. */
int state_slice_find(const struct state *s, const char *dim, const char *cat);

#endif
