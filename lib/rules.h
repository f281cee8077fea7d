/*
 * rules: 审核, the validation rules between indicators (rules.csv).
 *
 * Header: code,name_zh,left,op,right,severity,scope,stage,missing
 * (columns in any order; extra columns are ignored; the file is optional).
 *
 *   left, right  expressions over indicator codes (the unit's own value
 *                for the period; a ratio is the unit's own ratio), decimal
 *                numbers, + - * / and parentheses, and prev_year(code): the
 *                same indicator and unit one year earlier in the same kind
 *                of period (2025 -> 2024, 2025S1 -> 2024S1, 2025Q3 ->
 *                2024Q3, 202503 -> 202403).  A leading minus is allowed.
 *   op           <= < >= > == !=
 *   severity     error (逻辑校验: a failing school's records are refused)
 *                or warning (经验校验: stored, reported, explained).
 *                prev_year is allowed in warnings only.
 *   scope        school (the default: leaf units) or a level label of the
 *                org tree (district, city...): the rule is checked on the
 *                aggregate values of the units at that level.
 *   stage        empty (all) or a stage: a school-scoped rule then applies
 *                to leaves of that stage only.
 *   missing      skip (the default: a rule with a missing operand is not
 *                checked) or zero (a missing operand counts as 0).
 *
 * Arithmetic is exact decimal arithmetic on 128-bit integers at twelve
 * decimal places (RULE_SCALE), never binary floating point: sums and
 * differences are exact, a product or a quotient is rounded to twelve
 * places, half away from zero.  A division by zero, or a result whose
 * magnitude passes RULE_NUM_LIMIT, leaves the rule unchecked for that unit
 * and period (RULE_SKIP), as a missing operand does.  Stored values are at
 * most 10^15, so only a rule that multiplies large values together can get
 * there.
 *
 * Loading stops at the first problem with "rules.csv:LINE: problem" (a
 * rule that does not parse, an unknown indicator, prev_year in an error, an
 * unknown level or stage, a duplicate code), like every config file.
 */
#ifndef EDUSTAT_RULES_H
#define EDUSTAT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "orgtree.h"

#define RULES_MAX        1024 /* rules in a file */
#define RULE_EXPR_MAX    512  /* bytes of an expression's text */
#define RULE_NODES_MAX   64   /* operands and operators of one expression */
#define RULE_SCALE       12   /* decimal places of every value a rule computes */
#define RULE_NUM_BUFSZ   48   /* room for rule_num_format()'s text */
#define RULE_CODE_MAX    64   /* bytes of a rule's code */
#define RULE_MESSAGE_MAX 1024 /* room for rule_message()'s text */

/* A value a rule computes: the number times 10^RULE_SCALE. */
__extension__ typedef __int128 rule_num;

/* 10^24 (times 10^RULE_SCALE): no operand or result of a rule may be larger in magnitude. */
extern const rule_num RULE_NUM_LIMIT;

enum rule_op { RULE_LE, RULE_LT, RULE_GE, RULE_GT, RULE_EQ, RULE_NE };
enum rule_severity { RULE_ERROR, RULE_WARNING };
enum rule_missing { RULE_MISSING_SKIP, RULE_MISSING_ZERO };

/*
 * An expression in postfix order: operands push, operators pop two (NEG
 * one) and push their result.
 */
enum rule_node_kind {
        RN_NUM,  /* num */
        RN_IND,  /* indicator's value for the period */
        RN_PREV, /* indicator's value one year earlier */
        RN_ADD,
        RN_SUB,
        RN_MUL,
        RN_DIV,
        RN_NEG,
};

struct rule_node {
        enum rule_node_kind kind;
        int indicator; /* RN_IND, RN_PREV: catalogue index */
        rule_num num;  /* RN_NUM */
};

struct rule_expr {
        char *text; /* as written, trimmed */
        struct rule_node *node;
        size_t nnodes;
};

struct rule {
        char *code, *name_zh;
        struct rule_expr left, right;
        enum rule_op op;
        enum rule_severity severity;
        char *scope; /* NULL: school scope (leaves); else the level label ("district") */
        char *stage; /* NULL for every stage */
        enum rule_missing missing;
        int uses_prev; /* 1 when either side has prev_year() */
        unsigned long line;
};

struct rules {
        struct rule *rule;
        size_t n;
        int uses_prev; /* some rule uses prev_year() */
};

/*
 * Load path against the catalogue and tree.  Returns owned rules, or NULL
 * with "FILE:LINE: problem" in err.  A missing file is not an error for the
 * caller to report: rules_load_optional() returns an empty set for it.
 */
struct rules *rules_load(const char *path, const struct catalog *cat, const struct orgtree *tree,
                         char *err, size_t errlen);

/*
 * dir/rules.csv if it exists, else an empty set (n = 0).  NULL with err set
 * only when the file exists and is wrong.
 */
struct rules *rules_load_optional(const char *dir, const struct catalog *cat,
                                  const struct orgtree *tree, char *err, size_t errlen);

/* Free; accepts NULL and sets *rp to NULL. */
void rules_destroy(struct rules **rp);

/* The rule with this code, or NULL. */
const struct rule *rules_find(const struct rules *rs, const char *code, size_t len);

/*
 * Parse one expression (for tests and the loader).  Returns 0 and fills
 * *out (owned: free with rule_expr_free), or -1 with the problem in err,
 * e.g. `unknown indicator "pupil" at column 3` or `")" expected at column 9`.
 */
int rule_expr_parse(const char *text, size_t len, const struct catalog *cat, struct rule_expr *out,
                    char *err, size_t errlen);
void rule_expr_free(struct rule_expr *e);

/*
 * Where rule_eval() gets an operand: the value of indicator (a catalogue
 * index; for a ratio, the ratio itself) for the unit and period being
 * checked, or one year earlier when prev is 1.  Returns 1 with *v set, or
 * 0 when the value is missing (not stored; a ratio with a zero or missing
 * denominator).
 */
typedef int (*rule_lookup_fn)(void *ctx, int indicator, int prev, rule_num *v);

enum rule_status {
        RULE_PASS,
        RULE_FAIL,
        RULE_SKIP, /* an operand is missing under `skip`, or a division by zero or overflow */
};

/*
 * Check r with operands from lookup(ctx, ...).  *left and *right get both
 * sides' values when the status is PASS or FAIL.
 */
enum rule_status rule_eval(const struct rule *r, rule_lookup_fn lookup, void *ctx, rule_num *left,
                           rule_num *right);

/* Evaluate one expression; 0 with *v, or -1 (missing under skip, division by zero, overflow). */
int rule_expr_eval(const struct rule_expr *e, enum rule_missing missing, rule_lookup_fn lookup,
                   void *ctx, rule_num *v);

/* The value mant / 10^scale (a stored value or a sum) as a rule_num; -1 past RULE_NUM_LIMIT. */
int rule_num_from_decimal(__int128 mant, unsigned scale, rule_num *v);

/* multiplier * num / den rounded to RULE_SCALE places (a ratio); -1 when den is 0 or on overflow.
 */
int rule_num_ratio(rule_num multiplier, rule_num num, rule_num den, rule_num *v);

/* Parse decimal text ("100", "-1.5") as a rule_num; -1 when it is not one. */
int rule_num_parse(const char *s, size_t len, rule_num *v);

/* v as plain decimal text without trailing fraction zeros ("40", "1.25", "-0.5"). */
size_t rule_num_format(rule_num v, char *buf);

/* "<=", "<", ... */
const char *rule_op_text(enum rule_op op);

/* The operator that holds between left and right when op failed: "<=" fails as ">". */
const char *rule_op_failed_text(enum rule_op op);

/* "error" or "warning". */
const char *rule_severity_name(enum rule_severity s);

/*
 * The text people see for a failing rule:
 *   rule CODE NAME_ZH: LEFT op RIGHT fails (40 > 38)        (with_fails = 1)
 *   rule CODE NAME_ZH: LEFT op RIGHT (40 > 38)              (with_fails = 0)
 * Returns the length written into buf (RULE_MESSAGE_MAX bytes, truncated).
 */
size_t rule_message(const struct rule *r, rule_num left, rule_num right, int with_fails, char *buf,
                    size_t buflen);

#endif
