/*
 * rulesql: a rule as SQL.  See rulesql.h.
 *
 * Why the SQL is built from parts here instead of living in a .sql file
 * like every other statement of the sink: a rule is data (rules.csv), an
 * expression of any shape over any indicators, and the only way to have
 * PostgreSQL evaluate it without a second interpreter written in PL/pgSQL
 * is to turn its syntax tree into an SQL expression.  Nothing from the
 * file is pasted as text: indicator codes, rule codes, stages and levels
 * go in as quoted literals (quote() doubles any quote), numbers are
 * formatted from their parsed value, and operators come from a fixed
 * table.  The fixed parts (the functions rule_div, rule_lim and
 * prev_year_period) live in migration 14.
 */
#include <stdio.h>
#include <string.h>

#include "rulesql.h"
#include "util.h"

/* s as an SQL string literal. */
static void
quote(struct textbuf *o, const char *s)
{
        textbuf_add(o, "'");
        for (; *s != '\0'; s++) {
                if (*s == '\'')
                        textbuf_add(o, "''");
                else
                        textbuf_add(o, "%c", *s);
        }
        textbuf_add(o, "'");
}

/* The operands a rule reads: (indicator, prev) pairs, each joined once. */
struct operand {
        int indicator, prev;
};

struct operands {
        struct operand op[2 * RULE_NODES_MAX];
        size_t n;
};

static size_t
operand_index(struct operands *ops, int indicator, int prev)
{
        size_t i;

        for (i = 0; i < ops->n; i++)
                if (ops->op[i].indicator == indicator && ops->op[i].prev == prev)
                        return i;
        ops->op[ops->n].indicator = indicator;
        ops->op[ops->n].prev = prev;
        return ops->n++;
}

static void
collect(struct operands *ops, const struct rule_expr *e)
{
        size_t i;

        for (i = 0; i < e->nnodes; i++)
                if (e->node[i].kind == RN_IND || e->node[i].kind == RN_PREV)
                        operand_index(ops, e->node[i].indicator, e->node[i].kind == RN_PREV);
}

/* The SQL of operand k (alias o<k>, and d<k> for a school's ratio denominator). */
static void
operand_sql(struct textbuf *o, const struct catalog *cat, const struct operands *ops, size_t k,
            int level, enum rule_missing missing)
{
        const struct indicator *ind = &cat->ind[ops->op[k].indicator];

        if (missing == RULE_MISSING_ZERO)
                textbuf_add(o, "coalesce(");
        textbuf_add(o, "edustat.rule_lim(");
        if (ind->kind != IND_RATIO) {
                textbuf_add(o, "o%zu.value", k);
        } else {
                textbuf_add(o, "edustat.rule_div(");
                quote(o, ind->multiplier_text);
                if (level)
                        textbuf_add(o, "::numeric * coalesce(o%zu.numerator, 0), o%zu.denominator)",
                                    k, k);
                else
                        textbuf_add(o, "::numeric * coalesce(o%zu.value, 0), d%zu.value)", k, k);
        }
        textbuf_add(o, ")");
        if (missing == RULE_MISSING_ZERO)
                textbuf_add(o, ", 0)");
}

/*
 * Expression e as SQL.  The postfix list is turned into infix text with a
 * stack of (start, length) spans in a scratch buffer.  Returns 0, or -1
 * when the list is malformed.
 */
static int
expr_sql(struct textbuf *o, const struct catalog *cat, struct operands *ops,
         const struct rule_expr *e, int level, enum rule_missing missing)
{
        /* Each stack entry is the text of a subexpression. */
        static char text[RULE_NODES_MAX][RULESQL_MAX / 4];
        size_t sp = 0, i;

        for (i = 0; i < e->nnodes; i++) {
                const struct rule_node *nd = &e->node[i];
                struct textbuf t = {NULL, 0, sizeof text[0], 0};
                char num[RULE_NUM_BUFSZ];
                char a[sizeof text[0]], b[sizeof text[0]];

                if (sp >= RULE_NODES_MAX)
                        return -1;
                switch (nd->kind) {
                case RN_NUM:
                        rule_num_format(nd->num, num);
                        t.buf = text[sp];
                        textbuf_add(&t, "(%s::numeric)", num);
                        break;
                case RN_IND:
                case RN_PREV:
                        t.buf = text[sp];
                        operand_sql(&t, cat, ops,
                                    operand_index(ops, nd->indicator, nd->kind == RN_PREV), level,
                                    missing);
                        break;
                case RN_NEG:
                        if (sp < 1)
                                return -1;
                        snprintf(a, sizeof a, "%s", text[sp - 1]);
                        sp--;
                        t.buf = text[sp];
                        textbuf_add(&t, "edustat.rule_lim(-%s)", a);
                        break;
                default:
                        if (sp < 2)
                                return -1;
                        snprintf(a, sizeof a, "%s", text[sp - 2]);
                        snprintf(b, sizeof b, "%s", text[sp - 1]);
                        sp -= 2;
                        t.buf = text[sp];
                        if (nd->kind == RN_ADD)
                                textbuf_add(&t, "edustat.rule_lim(%s + %s)", a, b);
                        else if (nd->kind == RN_SUB)
                                textbuf_add(&t, "edustat.rule_lim(%s - %s)", a, b);
                        else if (nd->kind == RN_MUL)
                                textbuf_add(&t, "edustat.rule_lim(round(%s * %s, 12))", a, b);
                        else
                                textbuf_add(&t, "edustat.rule_lim(edustat.rule_div(%s, %s))", a, b);
                        break;
                }
                if (t.full)
                        return -1;
                sp++;
        }
        if (sp != 1)
                return -1;
        textbuf_add(o, "%s", text[0]);
        return 0;
}

/* The SQL comparison of op: "<=" etc., "=" and "<>" for == and !=. */
static const char *
op_sql(enum rule_op op)
{
        switch (op) {
        case RULE_LE:
                return "<=";
        case RULE_LT:
                return "<";
        case RULE_GE:
                return ">=";
        case RULE_GT:
                return ">";
        case RULE_EQ:
                return "=";
        case RULE_NE:
                return "<>";
        }
        return "=";
}

size_t
rulesql_build(const struct rule *r, const struct catalog *cat, char *buf, size_t buflen, char *err,
              size_t errlen)
{
        struct textbuf o = {buf, 0, buflen, 0};
        struct operands ops = {.n = 0};
        int level = r->scope != NULL && strcmp(r->scope, "school") != 0;
        size_t k;

        collect(&ops, &r->left);
        collect(&ops, &r->right);
        textbuf_add(&o, "SELECT k.unit, k.period, ");
        quote(&o, r->code);
        textbuf_add(&o, "::text, ");
        quote(&o, rule_severity_name(r->severity));
        textbuf_add(&o, "::text, e.l, e.r\n  FROM (");
        if (level) {
                textbuf_add(
                    &o, "SELECT DISTINCT a.unit, a.period FROM edustat.agg_value a"
                        " JOIN edustat.orgunit u ON u.code = a.unit AND u.current AND u.level = ");
                quote(&o, r->scope);
        } else {
                textbuf_add(
                    &o, "SELECT DISTINCT v.unit, v.period FROM edustat.unit_value v"
                        " JOIN edustat.orgunit u ON u.code = v.unit AND u.is_leaf AND u.current");
                if (r->stage != NULL && r->stage[0] != '\0') {
                        textbuf_add(&o, " AND u.stage = ");
                        quote(&o, r->stage);
                }
        }
        textbuf_add(&o, ") k\n");
        for (k = 0; k < ops.n; k++) {
                const struct indicator *ind = &cat->ind[ops.op[k].indicator];
                const char *per =
                    ops.op[k].prev ? "edustat.prev_year_period(k.period)" : "k.period";

                if (level || ind->kind != IND_RATIO) {
                        textbuf_add(
                            &o,
                            "  LEFT JOIN edustat.%s o%zu ON o%zu.unit = k.unit AND o%zu.period = %s"
                            " AND o%zu.indicator = ",
                            level ? "agg_value" : "unit_value", k, k, k, per, k);
                        quote(&o, ind->code);
                        textbuf_add(&o, "\n");
                        continue;
                }
                textbuf_add(
                    &o,
                    "  LEFT JOIN edustat.unit_value o%zu ON o%zu.unit = k.unit AND o%zu.period = %s"
                    " AND o%zu.indicator = ",
                    k, k, k, per, k);
                quote(&o, cat->ind[ind->num].code);
                textbuf_add(
                    &o,
                    "\n  LEFT JOIN edustat.unit_value d%zu ON d%zu.unit = k.unit AND d%zu.period = "
                    "%s"
                    " AND d%zu.indicator = ",
                    k, k, k, per, k);
                quote(&o, cat->ind[ind->den].code);
                textbuf_add(&o, "\n");
        }
        textbuf_add(&o, "  CROSS JOIN LATERAL (SELECT ");
        if (expr_sql(&o, cat, &ops, &r->left, level, r->missing) == -1) {
                snprintf(err, errlen, "rule %s: the left side's expression is malformed", r->code);
                return 0;
        }
        textbuf_add(&o, " AS l, ");
        if (expr_sql(&o, cat, &ops, &r->right, level, r->missing) == -1) {
                snprintf(err, errlen, "rule %s: the right side's expression is malformed", r->code);
                return 0;
        }
        textbuf_add(&o, " AS r) e\n WHERE NOT (e.l %s e.r)", op_sql(r->op));
        if (o.full) {
                snprintf(err, errlen, "rule %s: its SQL is longer than %zu bytes", r->code, buflen);
                return 0;
        }
        return o.len;
}
