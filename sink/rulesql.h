/*
 * rulesql: a validation rule (lib/rules.h) as one SQL query that lists the
 * (unit, period) pairs it fails for, computed in PostgreSQL from the stored
 * values.  `edustat-sink --check` runs the queries of every rule and
 * compares the result with edustat.rule_violation, which the aggregator's
 * C evaluator filled: two independent computations of the same contract.
 *
 * The query's columns are (unit, period, rule, severity, left_value,
 * right_value), one row per pair where both sides have a value and
 * "left op right" is false, as rule_violation holds them.  The contract
 * reproduced (lib/rules.h):
 *   - pairs: school scope, every current leaf (of the rule's stage, when it
 *     has one) and every period it stores a value for; a level scope,
 *     every unit whose level label is the scope and every period
 *     agg_value has a row of it for;
 *   - an operand is the unit's own value for the period (unit_value for a
 *     school, agg_value for a level); a ratio is multiplier x numerator /
 *     denominator rounded to 12 places, missing when the denominator is 0
 *     or absent (a numerator that is absent counts as 0, as in agg_value);
 *     prev_year(code) reads the period edustat.prev_year_period() gives;
 *   - a product is round(a * b, 12) and a quotient edustat.rule_div(a, b)
 *     (12 places, half away from zero, NULL for a division by zero); sums
 *     and differences are exact; any result past 10^24 in magnitude is
 *     NULL (edustat.rule_lim);
 *   - a missing operand is NULL under `skip`, so the comparison is NULL and
 *     the pair is left out; under `zero` it is 0.  A NULL from a division
 *     by zero or an overflow leaves the pair out under both.
 */
#ifndef EDUSTAT_SINK_RULESQL_H
#define EDUSTAT_SINK_RULESQL_H

#include <stddef.h>

#include "catalog.h"
#include "rules.h"

/* Bytes of one rule's query: RULE_NODES_MAX operands with their joins fit easily. */
#define RULESQL_MAX (64 * 1024)

/*
 * Write the query of r, whose indicator indices are into cat, to buf
 * (buflen bytes, NUL-terminated).  Returns its length, or 0 with the
 * problem in err when it does not fit buflen or an expression is malformed
 * (a postfix list that does not leave exactly one value).  Not reentrant:
 * the subexpressions are assembled in a static scratch area (about 1 MB).
 */
size_t rulesql_build(const struct rule *r, const struct catalog *cat, char *buf, size_t buflen,
                     char *err, size_t errlen);

#endif
