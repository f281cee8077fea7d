/*
 * check: the consistency check, `edustat-sink --check`.  It recomputes
 * every aggregate row from edustat.unit_value inside PostgreSQL, in one SQL
 * statement, and compares the result with edustat.agg_value and
 * edustat.agg_breakdown.  Operators run it after an incident; the fault
 * tests run it after every scenario.
 *
 * The recomputation shares no code with the aggregator: a recursive CTE
 * over edustat.orgunit gives every (ancestor, descendant) pair, sums are
 * numeric (exact), and the leaf statistics follow docs/SQL.md
 * ("agg_value", "The rules, in plain words"): count/amount min, max, mean
 * and population cv over the leaves that store the value; for a ratio, the
 * same over the leaves that store both parts with a denominator above 0,
 * weighted by each leaf's denominator.  The tree is walked down from the
 * roots, so a cycle left behind by old config rows cannot make it loop.
 *
 * Breakdowns (docs/SQL.md, agg_breakdown) are recomputed the same way over
 * the leaves of one slice only: a (dimension, category) pair, the dimension
 * stage, locality or ownership and the category that column of
 * edustat.orgunit holds for a current leaf (NULL or empty: no category).
 * Values stored by units with children belong to no slice.  A unit with
 * children has a breakdown row for a period, indicator and slice when a
 * leaf of the slice below it stores the indicator (a ratio: its numerator
 * or its denominator), as the aggregator writes them; n_reporting counts
 * those leaves.  (The aggregator leaves pairs past its 255th distinct one
 * out of the breakdowns and logs it; the check would report their rows
 * missing.)
 *
 * The two sides are matched by a FULL OUTER JOIN on (unit, period,
 * indicator) for agg_value and (unit, period, indicator, dimension,
 * category) for agg_breakdown.  A row present on one side only is a
 * mismatch of column "row"; otherwise level, value (count/amount),
 * numerator, denominator and n_reporting must be exactly equal, a ratio's
 * value within 1e-12 relative (it is a quotient, stored to about 19
 * digits), and min, max, mean and cv within 1e-9 relative or 1e-12
 * absolute; NULL must match NULL.  A row the aggregator stored in
 * agg_rollup for a leaf (whose row the view already derives) is reported
 * too: agg_value would show that key twice; a breakdown row of a leaf has
 * no recomputed row and is reported as present on one side only.
 *
 * Then the rule results (审核): every rule of edustat.rule is turned into
 * an SQL query from its parsed expressions (sink/rulesql.h says how and
 * which semantics it reproduces), the expressions parsed against the
 * catalogue as stored in edustat.indicator, and the union of those
 * queries is compared with edustat.rule_violation: a row on one side only
 * is a mismatch of column "row", otherwise severity, left_value and
 * right_value must be equal as numbers.  This shares nothing with the
 * aggregator's evaluator but the parser of lib/rules.c.
 *
 * Then the review round: every row of edustat.review must name a unit of
 * edustat.orgunit and be what the last edustat.review_history row of its
 * (unit, period) made it (state, by, at and comment), and every key of the
 * history must have its review row (check/review_compare.sql).
 *
 * The check only reads.  One statement sees one snapshot, so it may run
 * while the sink commits: every uow writes values and aggregates together.
 */
#ifndef EDUSTAT_SINK_CHECK_H
#define EDUSTAT_SINK_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "pg.h"

/* Mismatches listed one by one; the rest are only counted. */
#define CHECK_SHOW_MAX 100

/* Exit codes of check_main. */
#define CHECK_EXIT_OK       0 /* no mismatch */
#define CHECK_EXIT_MISMATCH 1 /* at least one mismatch */
#define CHECK_EXIT_ERROR    2 /* could not run: connection, schema, query */

/* One differing cell.  Every string is owned by the report. */
struct check_mismatch {
        char *unit, *period, *indicator;
        /* "" for a row of agg_value; "dimension=category" (e.g.
         * "stage=primary") for a row of agg_breakdown */
        char *slice;
        char *column;   /* "row", "level", "value", ..., "cv" */
        char *stored;   /* the stored text, "NULL", or "(no row)" */
        char *expected; /* the recomputed text, likewise */
};

/* One differing cell of rule_violation.  Every string is owned by the report. */
struct check_rule_mismatch {
        char *unit, *period, *rule;
        char *column;   /* "row", "severity", "left_value" or "right_value" */
        char *stored;   /* the stored text, "NULL", or "(no row)" */
        char *expected; /* the recomputed text, likewise */
};

/* One differing cell of edustat.review.  Every string is owned by the report. */
struct check_review_mismatch {
        char *unit, *period;
        char *column;   /* "row", "unit", "state", "by", "at" or "comment" */
        char *stored;   /* the stored text, "NULL", or "(no row)" */
        char *expected; /* from the last review_history row, likewise */
};

struct check_report {
        uint64_t mismatches; /* all that were found */
        uint64_t values;     /* unit_value rows the check started from */
        uint64_t stored;     /* agg_rollup rows (units with children) */
        uint64_t breakdowns; /* agg_breakdown rows */
        /* the first CHECK_SHOW_MAX, ordered by unit, period, indicator,
         * slice (agg_value's row first), column */
        size_t nshown;
        struct check_mismatch *shown;
        double seconds; /* wall time of the comparison statement */
        /* rule_violation against the recomputed violations (kept apart
         * from mismatches, which counts the aggregates only) */
        uint64_t rule_mismatches;
        uint64_t rules;      /* rows of edustat.rule */
        uint64_t violations; /* rows of edustat.rule_violation */
        size_t nrules_shown; /* the first CHECK_SHOW_MAX, by unit, period, rule, column */
        struct check_rule_mismatch *rules_shown;
        double rule_seconds; /* wall time of the rule comparison */
        /* edustat.review against its history and the org units (kept apart
         * likewise) */
        uint64_t review_mismatches;
        uint64_t reviews;        /* rows of edustat.review */
        uint64_t review_history; /* rows of edustat.review_history */
        size_t nreviews_shown;   /* the first CHECK_SHOW_MAX, by unit, period, column */
        struct check_review_mismatch *reviews_shown;
};

/*
 * Run the check on conn, which must be idle (no transaction open).  On
 * DB_OK fills *out (free it with check_report_free).  Returns DB_OK, or
 * DB_RETRY / DB_ERROR with the reason in err when the check could not run:
 * the connection failed, the schema is missing or newer than this program
 * knows (migrate_version()), PostgreSQL refused the statement, or a stored
 * rule does not parse against the stored catalogue (err names the rule).
 */
enum db_result check_run(PGconn *conn, struct check_report *out, char *err, size_t errlen);

/* Free the strings of r and zero it; accepts a zeroed report. */
void check_report_free(struct check_report *r);

/*
 * Print r to fp: one line per shown mismatch ("mismatch: unit U, period P,
 * indicator I, column C: stored S, expected E"; a breakdown row's line has
 * ", breakdown dimension=category" before the column), "... and N more"
 * when some were not shown, then the summary line, which starts with
 * "check: ok:" or "check: N mismatches".  Then the rule results likewise:
 * "mismatch: unit U, period P, rule R, column C: stored S, expected E"
 * lines and a line starting "check: ok: rule_violation" or "check: N
 * mismatches between rule_violation".  Then the review round likewise:
 * "mismatch: review unit U, period P, column C: stored S, expected E"
 * lines and a line starting "check: ok: review" or "check: N mismatches
 * between review".
 */
void check_report_print(const struct check_report *r, FILE *fp);

/*
 * `edustat-sink --check`: connect to conninfo once (no retries: an operator
 * is waiting), run the check and print the report on stdout.  Returns
 * CHECK_EXIT_OK, CHECK_EXIT_MISMATCH or CHECK_EXIT_ERROR (the reason is
 * logged on stderr).  A mismatch of any part is CHECK_EXIT_MISMATCH.
 */
int check_main(const char *conninfo);

#endif
