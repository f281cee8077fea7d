/*
 * rulecheck: 审核 in the aggregator.  It applies the rules of rules.csv
 * (lib/rules.h) to the state and keeps the table of what fails now, the
 * rows of edustat.rule_violation.
 *
 * A rule is checked for a (unit, period) only where there is something to
 * check: a school-scoped rule for a leaf that stores a value for the
 * period, a level-scoped rule for a unit of that level with a value at or
 * below it.  Operands come from the state: a school's own values (a ratio
 * from its own numerator and denominator), a level's aggregates (a ratio
 * from the sums), prev_year() from the period one year earlier.
 *
 * The table is a function of the stored values.  After values change, the
 * caller names each changed (unit, period) with rulecheck_touch(); the
 * pairs that may depend on them are the unit itself, its ancestors at the
 * levels rules name, and the same one year later when a rule uses
 * prev_year.  At the end of a batch rulecheck_settle_leaves() re-checks
 * the leaves' pairs (what the batch's ack reports); the pairs of units
 * with children wait for rulecheck_settle(), which the caller runs before
 * it reads the table and before each uow, so that a district is checked
 * once per uow on settled aggregates, not once per batch.  Each row that
 * appeared, changed or went away travels in the next uow
 * (rulecheck_dirty_*), as the dirty aggregates do.  rulecheck_rebuild()
 * recomputes everything after the state is loaded, and the next uow
 * carries the whole table (full).
 *
 * Error rules also judge a batch before it is stored: rulecheck_errors()
 * checks a school's stored values with the batch's records for it laid
 * over them.  A pair that passes and is then stored exactly as judged is
 * named with rulecheck_passed(), and the settle does not evaluate its
 * error rules again.
 *
 * Memory: one slot of about 48 bytes per violation, in a table that grows
 * by doubling; pending pairs are cleared at each settle.  The aggregator
 * is one thread; this module is not thread-safe.
 */
#ifndef EDUSTAT_RULECHECK_H
#define EDUSTAT_RULECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rules.h"
#include "state.h"

struct rulecheck;

/* A violation as the uow carries it; present 0: the rule no longer fails. */
struct rulecheck_row {
        int unit, period, rule; /* rule: index in the rules */
        int present;
        rule_num left, right;
};

/*
 * New checker of rs (which, like cfg, must outlive it).  NULL with a reason
 * in err when a ratio a rule uses has a multiplier that exact decimals
 * cannot hold.
 */
struct rulecheck *rulecheck_new(const struct config *cfg, const struct rules *rs, char *err,
                                size_t errlen);

/* Free; accepts NULL and sets *rp to NULL. */
void rulecheck_destroy(struct rulecheck **rp);

/* The rules checked (never NULL). */
const struct rules *rulecheck_rules(const struct rulecheck *rc);

/* 1 when some school-scoped error rule exists: batches must be judged before storing. */
int rulecheck_has_errors(const struct rulecheck *rc);

/*
 * Values of a batch for one unit and period, laid over the stored ones as
 * the state would apply them: where an indicator comes more than once,
 * the highest version wins, and of equal versions the first.  The caller
 * leaves out records whose version is not above the stored one.
 */
struct rulecheck_overlay {
        size_t n;
        const int *indicator;
        const uint64_t *mant;     /* at the indicator's scale */
        const uint64_t *version;  /* each record's version */
        struct state_view stored; /* state_view_get() of the unit and period */
};

/*
 * Check the error rules of leaf unit for period on the stored values with
 * ov laid over them.  Returns 0 when none fails, else the number that fail,
 * with the first one's message in why ("rule R01 ...: LEFT op RIGHT fails
 * (40 > 38)", plus "; 2 more rules fail" when there are others).
 */
int rulecheck_errors(struct rulecheck *rc, struct state *s, int unit, int period,
                     const struct rulecheck_overlay *ov, char *why, size_t whylen);

/*
 * The warning rules of leaf unit for period that would fail with ov laid
 * over the stored values (for a dry run): calls fn for each, with the
 * rule's index and both sides.  Returns how many.
 */
size_t rulecheck_would_warn(struct rulecheck *rc, struct state *s, int unit, int period,
                            const struct rulecheck_overlay *ov,
                            void (*fn)(void *ctx, int rule, rule_num left, rule_num right),
                            void *ctx);

/* The values of (unit, period) changed: re-check what depends on them at the next settle. */
void rulecheck_touch(struct rulecheck *rc, struct state *s, int unit, int period);

/*
 * The error rules of leaf (unit, period) passed rulecheck_errors() with
 * the overlay the caller is storing now, record for record: the next
 * rulecheck_settle_leaves() notes them passed without evaluating them.
 * Not for a dry run, which stores nothing.
 */
void rulecheck_passed(struct rulecheck *rc, int unit, int period);

/* Re-check the leaves' pairs touched since the last settle; note the rows that changed. */
void rulecheck_settle_leaves(struct rulecheck *rc, struct state *s);

/*
 * Re-check every pair touched since the last settle, the units' with
 * children too (which applies the state's pending changes).  Call before
 * rulecheck_failing() on such a unit, rulecheck_count() and
 * rulecheck_dirty_count(): they assert that nothing waits.
 */
void rulecheck_settle(struct rulecheck *rc, struct state *s);

/*
 * Forget the table and check every rule everywhere; the next uow carries
 * the whole table.  For the state just loaded from the sink.
 */
void rulecheck_rebuild(struct rulecheck *rc, struct state *s);

/*
 * The current violations of school-scoped warning rules for (unit,
 * period): calls fn for each.  Returns how many.
 */
size_t rulecheck_warnings(const struct rulecheck *rc, int unit, int period,
                          void (*fn)(void *ctx, const struct rulecheck_row *row), void *ctx);

/* 1 when rule (an index) fails now for (unit, period). */
int rulecheck_failing(const struct rulecheck *rc, int unit, int period, int rule);

/*
 * The rows for the next uow: with full set, every violation there is
 * (the sink deletes the others); else every row that changed since the
 * last clear.  rulecheck_dirty_clear() forgets them and the full mark.
 */
int rulecheck_full(const struct rulecheck *rc);
size_t rulecheck_dirty_count(const struct rulecheck *rc);
void rulecheck_dirty_row(const struct rulecheck *rc, size_t i, struct rulecheck_row *row);
void rulecheck_dirty_clear(struct rulecheck *rc);

/* Number of violations now. */
size_t rulecheck_count(const struct rulecheck *rc);

#endif
