/*
 * rules: load rules.csv, parse its expressions into postfix, evaluate them
 * in exact decimal arithmetic.  See rules.h for the language.
 *
 * Numbers are signed 128-bit integers at RULE_SCALE (12) decimal places,
 * bounded by RULE_NUM_LIMIT (10^24, so 10^36 as a mantissa).  Sums stay
 * inside 128 bits; a product goes through 256 bits before it is divided
 * back to twelve places, and a quotient is worked out digit by digit, so
 * neither can overflow on the way.
 */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csvread.h"
#include "util.h"

__extension__ typedef unsigned __int128 u128;

#define TEN12 ((rule_num)1000000000000LL)
/* 10^36 */
const rule_num RULE_NUM_LIMIT = (rule_num)1000000000000000000LL * (rule_num)1000000000000000000LL;

/* How much of a user's text is quoted back in a message. */
#define SHOW_MAX 64

/* ---- numbers -------------------------------------------------------------------------- */

static int
in_range(rule_num v)
{
        return v <= RULE_NUM_LIMIT && v >= -RULE_NUM_LIMIT;
}

int
rule_num_from_decimal(__int128 mant, unsigned scale, rule_num *v)
{
#define E18 ((rule_num)1000000000000000000LL)
        /* 10^k, and the largest magnitude 10^k may multiply: RULE_NUM_LIMIT / 10^k. */
        static const rule_num pow10[RULE_SCALE + 1] = {
            1,        10,        100,        1000,        10000,        100000,        1000000,
            10000000, 100000000, 1000000000, 10000000000, 100000000000, 1000000000000,
        };
        static const rule_num most[RULE_SCALE + 1] = {
            E18 * E18,         E18 * E18 / 10,     E18 * E18 / 100,     E18 * E18 / 1000,
            E18 * E18 / 10000, E18 * E18 / 100000, E18 * 1000000000000, E18 * 100000000000,
            E18 * 10000000000, E18 * 1000000000,   E18 * 100000000,     E18 * 10000000,
            E18 * 1000000,
        };
#undef E18
        unsigned k;

        _Static_assert(RULE_SCALE == 12, "the tables hold 10^0 .. 10^12");
        if (scale > RULE_SCALE)
                return -1;
        k = RULE_SCALE - scale;
        if (mant > most[k] || mant < -most[k])
                return -1;
        *v = mant * pow10[k];
        return 0;
}

static int
num_add(rule_num a, rule_num b, rule_num *out)
{
        /* Both are within 10^36, so the sum is within 2 * 10^36 < 2^127. */
        rule_num r = a + b;

        if (!in_range(r))
                return -1;
        *out = r;
        return 0;
}

/* |a| * |b| as 256 bits, in four 64-bit limbs, least significant first. */
static void
mul_256(u128 a, u128 b, uint64_t out[4])
{
        uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
        uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
        u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
        u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;

        out[0] = (uint64_t)p00;
        out[1] = (uint64_t)mid;
        mid = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p11;
        out[2] = (uint64_t)mid;
        out[3] = (uint64_t)((mid >> 64) + (p11 >> 64));
}

/*
 * The 256-bit x divided by d (< 2^64), rounded half away from zero, into
 * *q; -1 when the quotient does not fit 128 bits.
 */
static int
div_256_round(const uint64_t x[4], uint64_t d, u128 *q)
{
        uint64_t quo[4];
        u128 rem = 0;

        for (int i = 3; i >= 0; i--) {
                u128 cur = (rem << 64) | x[i];

                quo[i] = (uint64_t)(cur / d);
                rem = cur % d;
        }
        if (quo[3] != 0 || quo[2] != 0)
                return -1;
        *q = ((u128)quo[1] << 64) | quo[0];
        if (rem * 2 >= d) {
                if (*q == ~(u128)0)
                        return -1;
                (*q)++;
        }
        return 0;
}

static u128
magnitude(rule_num v)
{
        return v < 0 ? (u128)0 - (u128)v : (u128)v;
}

static int
num_mul(rule_num a, rule_num b, rule_num *out)
{
        uint64_t x[4];
        u128 q;

        mul_256(magnitude(a), magnitude(b), x);
        if (div_256_round(x, (uint64_t)TEN12, &q) < 0 || q > (u128)RULE_NUM_LIMIT)
                return -1;
        *out = ((a < 0) != (b < 0)) ? -(rule_num)q : (rule_num)q;
        return 0;
}

/*
 * a / b at twelve places, rounded half away from zero: the integer part,
 * then one digit at a time.  The remainder stays below |b| <= 10^36, so ten
 * times it fits an unsigned 128-bit integer.
 */
static int
num_div(rule_num a, rule_num b, rule_num *out)
{
        u128 n = magnitude(a), d = magnitude(b), q, r;

        if (d == 0)
                return -1;
        q = n / d;
        r = n % d;
        for (int i = 0; i < RULE_SCALE; i++) {
                r *= 10;
                if (q > (u128)RULE_NUM_LIMIT)
                        return -1;
                q = q * 10 + r / d;
                r %= d;
        }
        if (r * 2 >= d)
                q++;
        if (q > (u128)RULE_NUM_LIMIT)
                return -1;
        *out = ((a < 0) != (b < 0)) ? -(rule_num)q : (rule_num)q;
        return 0;
}

int
rule_num_ratio(rule_num multiplier, rule_num num, rule_num den, rule_num *v)
{
        rule_num t;

        if (den == 0 || num_mul(multiplier, num, &t) < 0)
                return -1;
        return num_div(t, den, v);
}

int
rule_num_parse(const char *s, size_t len, rule_num *v)
{
        rule_num m = 0;
        size_t i = 0;
        int neg = 0, digits = 0, frac = -1;

        if (i < len && (s[i] == '-' || s[i] == '+'))
                neg = s[i++] == '-';
        for (; i < len; i++) {
                if (s[i] == '.' && frac < 0) {
                        frac = 0;
                        continue;
                }
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                digits++;
                if (frac >= 0 && ++frac > RULE_SCALE)
                        return -1;
                if (m > RULE_NUM_LIMIT / 10)
                        return -1;
                m = m * 10 + (s[i] - '0');
        }
        if (digits == 0)
                return -1;
        if (rule_num_from_decimal(m, frac < 0 ? 0 : (unsigned)frac, &m) < 0)
                return -1;
        *v = neg ? -m : m;
        return 0;
}

size_t
rule_num_format(rule_num v, char *buf)
{
        char tmp[RULE_NUM_BUFSZ];
        u128 m = magnitude(v);
        size_t n = 0, len = 0;
        int scale = RULE_SCALE;

        /* Digits, least significant first; drop trailing fraction zeros. */
        while (scale > 0 && m % 10 == 0 && m != 0) {
                m /= 10;
                scale--;
        }
        if (m == 0)
                scale = 0;
        do {
                tmp[n++] = (char)('0' + (int)(m % 10));
                m /= 10;
                if ((int)n == scale)
                        tmp[n++] = '.';
        } while (m != 0 || (int)n <= scale);
        if (tmp[n - 1] == '.')
                tmp[n++] = '0';
        if (v < 0)
                buf[len++] = '-';
        while (n > 0)
                buf[len++] = tmp[--n];
        buf[len] = '\0';
        return len;
}

/* ---- expressions ---------------------------------------------------------------------- */

struct parser {
        const char *s;
        size_t len, pos;
        const struct catalog *cat;
        struct rule_expr *e;
        size_t cap;
        char *err;
        size_t errlen;
        int failed;
};

static void perr(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, size_t at, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        if (p->failed)
                return;
        p->failed = 1;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        strlcpyf(p->err, p->errlen, "%s at column %zu", msg, at + 1);
}

static void
skip_blanks(struct parser *p)
{
        while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
                p->pos++;
}

static void
emit(struct parser *p, enum rule_node_kind kind, int indicator, rule_num num)
{
        struct rule_node *n;

        if (p->failed)
                return;
        if (p->e->nnodes == RULE_NODES_MAX) {
                perr(p, p->pos, "too long: more than %d numbers, codes and operators",
                     RULE_NODES_MAX);
                return;
        }
        if (p->e->nnodes == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 8;
                p->e->node = xrealloc(p->e->node, p->cap * sizeof(*p->e->node));
        }
        n = &p->e->node[p->e->nnodes++];
        n->kind = kind;
        n->indicator = indicator;
        n->num = num;
}

static int
ident_char(char c, int dash)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || (dash && c == '-');
}

/*
 * An indicator code at p->pos.  Codes may hold '-', which is also the
 * minus sign: the longest run with dashes is taken when it names an
 * indicator, else the run without them.
 */
static int
indicator_at(struct parser *p)
{
        size_t start = p->pos, end = start, end_nodash = start;
        int i;

        while (end < p->len && ident_char(p->s[end], 1))
                end++;
        while (end_nodash < p->len && ident_char(p->s[end_nodash], 0))
                end_nodash++;
        if (end != end_nodash && (i = catalog_find(p->cat, p->s + start, end - start)) >= 0) {
                p->pos = end;
                return i;
        }
        if (end_nodash - start > SHOW_MAX) {
                perr(p, start, "name too long");
                return -1;
        }
        i = catalog_find(p->cat, p->s + start, end_nodash - start);
        if (i < 0) {
                perr(p, start, "unknown indicator \"%.*s\"", (int)(end_nodash - start),
                     p->s + start);
                return -1;
        }
        p->pos = end_nodash;
        return i;
}

static void parse_sum(struct parser *p, int depth);

static void
parse_operand(struct parser *p, int depth)
{
        char c;

        skip_blanks(p);
        if (p->pos >= p->len) {
                perr(p, p->pos, "a number, an indicator or \"(\" expected");
                return;
        }
        c = p->s[p->pos];
        if (c == '(') {
                size_t open = p->pos++;

                if (depth >= RULE_NODES_MAX) {
                        perr(p, open, "parentheses nested too deep");
                        return;
                }
                parse_sum(p, depth + 1);
                skip_blanks(p);
                if (!p->failed && (p->pos >= p->len || p->s[p->pos] != ')'))
                        perr(p, p->pos, "\")\" expected to close the \"(\" at column %zu",
                             open + 1);
                p->pos++;
        } else if (c == '-') {
                p->pos++;
                if (depth >= RULE_NODES_MAX) {
                        perr(p, p->pos, "too many minus signs");
                        return;
                }
                parse_operand(p, depth + 1);
                emit(p, RN_NEG, -1, 0);
        } else if ((c >= '0' && c <= '9') || c == '.') {
                size_t start = p->pos;
                rule_num v;

                while (p->pos < p->len &&
                       ((p->s[p->pos] >= '0' && p->s[p->pos] <= '9') || p->s[p->pos] == '.'))
                        p->pos++;
                if (rule_num_parse(p->s + start, p->pos - start, &v) < 0) {
                        perr(p, start, "\"%.*s\" is not a number (at most %d decimals, below 1e24)",
                             (int)(p->pos - start > SHOW_MAX ? SHOW_MAX : p->pos - start),
                             p->s + start, RULE_SCALE);
                        return;
                }
                emit(p, RN_NUM, -1, v);
        } else if (ident_char(c, 0)) {
                size_t start = p->pos, end = start;

                while (end < p->len && ident_char(p->s[end], 0))
                        end++;
                if (end - start == 9 && memcmp(p->s + start, "prev_year", 9) == 0) {
                        size_t q = end;

                        while (q < p->len && (p->s[q] == ' ' || p->s[q] == '\t'))
                                q++;
                        if (q < p->len && p->s[q] == '(' &&
                            catalog_find(p->cat, "prev_year", 9) < 0) {
                                int ind;

                                p->pos = q + 1;
                                skip_blanks(p);
                                if ((ind = indicator_at(p)) < 0)
                                        return;
                                skip_blanks(p);
                                if (p->pos >= p->len || p->s[p->pos] != ')') {
                                        perr(p, p->pos,
                                             "\")\" expected after prev_year's indicator");
                                        return;
                                }
                                p->pos++;
                                emit(p, RN_PREV, ind, 0);
                                return;
                        }
                }
                {
                        int ind = indicator_at(p);

                        if (ind >= 0)
                                emit(p, RN_IND, ind, 0);
                }
        } else {
                perr(p, p->pos, "unexpected \"%c\"; a number, an indicator or \"(\" expected",
                     (unsigned char)c >= 0x80 ? '?' : c);
        }
}

/* The binary operators by precedence: level 0 binds loosest. */
static const struct {
        char op[2];
        enum rule_node_kind kind[2];
} levels[] = {
    {{'+', '-'}, {RN_ADD, RN_SUB}},
    {{'*', '/'}, {RN_MUL, RN_DIV}},
};

/* Operands joined by the operators of level and tighter, left to right. */
static void
parse_level(struct parser *p, int depth, size_t level)
{
        if (level == sizeof(levels) / sizeof(levels[0])) {
                parse_operand(p, depth);
                return;
        }
        parse_level(p, depth, level + 1);
        for (;;) {
                int k;

                skip_blanks(p);
                if (p->failed || p->pos >= p->len)
                        return;
                for (k = 0; k < 2 && p->s[p->pos] != levels[level].op[k]; k++)
                        ;
                if (k == 2)
                        return;
                p->pos++;
                parse_level(p, depth, level + 1);
                emit(p, levels[level].kind[k], -1, 0);
        }
}

static void
parse_sum(struct parser *p, int depth)
{
        parse_level(p, depth, 0);
}

int
rule_expr_parse(const char *text, size_t len, const struct catalog *cat, struct rule_expr *out,
                char *err, size_t errlen)
{
        struct parser p = {.cat = cat, .e = out, .err = err, .errlen = errlen};

        memset(out, 0, sizeof(*out));
        p.s = csvread_trim(text, &len);
        p.len = len;
        if (len == 0) {
                strlcpyf(err, errlen, "empty expression");
                return -1;
        }
        if (len > RULE_EXPR_MAX) {
                strlcpyf(err, errlen, "expression longer than %d bytes", RULE_EXPR_MAX);
                return -1;
        }
        parse_sum(&p, 0);
        skip_blanks(&p);
        if (!p.failed && p.pos < p.len) {
                if (p.s[p.pos] == ')')
                        perr(&p, p.pos, "\")\" without a matching \"(\"");
                else
                        perr(&p, p.pos, "an operator (+ - * /) expected");
        }
        if (p.failed) {
                rule_expr_free(out);
                return -1;
        }
        out->text = xstrndup(p.s, p.len);
        return 0;
}

void
rule_expr_free(struct rule_expr *e)
{
        free(e->text);
        free(e->node);
        memset(e, 0, sizeof(*e));
}

static int
expr_uses_prev(const struct rule_expr *e)
{
        for (size_t i = 0; i < e->nnodes; i++)
                if (e->node[i].kind == RN_PREV)
                        return 1;
        return 0;
}

/* ---- evaluation ----------------------------------------------------------------------- */

int
rule_expr_eval(const struct rule_expr *e, enum rule_missing missing, rule_lookup_fn lookup,
               void *ctx, rule_num *v)
{
        rule_num st[RULE_NODES_MAX];
        size_t sp = 0;

        for (size_t i = 0; i < e->nnodes; i++) {
                const struct rule_node *n = &e->node[i];
                rule_num a, b, r = 0;
                int rc = 0;

                switch (n->kind) {
                case RN_NUM:
                        st[sp++] = n->num;
                        continue;
                case RN_IND:
                case RN_PREV:
                        if (!lookup(ctx, n->indicator, n->kind == RN_PREV, &r)) {
                                if (missing == RULE_MISSING_SKIP)
                                        return -1;
                                r = 0;
                        }
                        if (!in_range(r))
                                return -1;
                        st[sp++] = r;
                        continue;
                case RN_NEG:
                        st[sp - 1] = -st[sp - 1];
                        continue;
                default:
                        break;
                }
                b = st[--sp];
                a = st[--sp];
                switch (n->kind) {
                case RN_ADD:
                        rc = num_add(a, b, &r);
                        break;
                case RN_SUB:
                        rc = num_add(a, -b, &r);
                        break;
                case RN_MUL:
                        rc = num_mul(a, b, &r);
                        break;
                case RN_DIV:
                        rc = num_div(a, b, &r);
                        break;
                default:
                        rc = -1;
                        break;
                }
                if (rc < 0)
                        return -1;
                st[sp++] = r;
        }
        if (sp != 1)
                return -1;
        *v = st[0];
        return 0;
}

static int
holds(enum rule_op op, rule_num l, rule_num r)
{
        switch (op) {
        case RULE_LE:
                return l <= r;
        case RULE_LT:
                return l < r;
        case RULE_GE:
                return l >= r;
        case RULE_GT:
                return l > r;
        case RULE_EQ:
                return l == r;
        case RULE_NE:
                return l != r;
        }
        return 0;
}

enum rule_status
rule_eval(const struct rule *r, rule_lookup_fn lookup, void *ctx, rule_num *left, rule_num *right)
{
        if (rule_expr_eval(&r->left, r->missing, lookup, ctx, left) < 0 ||
            rule_expr_eval(&r->right, r->missing, lookup, ctx, right) < 0)
                return RULE_SKIP;
        return holds(r->op, *left, *right) ? RULE_PASS : RULE_FAIL;
}

static const char *const op_text[] = {
    [RULE_LE] = "<=", [RULE_LT] = "<",  [RULE_GE] = ">=",
    [RULE_GT] = ">",  [RULE_EQ] = "==", [RULE_NE] = "!=",
};

static const char *const op_failed[] = {
    [RULE_LE] = ">",  [RULE_LT] = ">=", [RULE_GE] = "<",
    [RULE_GT] = "<=", [RULE_EQ] = "!=", [RULE_NE] = "==",
};

const char *
rule_op_text(enum rule_op op)
{
        return op_text[op];
}

const char *
rule_op_failed_text(enum rule_op op)
{
        return op_failed[op];
}

const char *
rule_severity_name(enum rule_severity s)
{
        return s == RULE_ERROR ? "error" : "warning";
}

size_t
rule_message(const struct rule *r, rule_num left, rule_num right, int with_fails, char *buf,
             size_t buflen)
{
        char l[RULE_NUM_BUFSZ], rt[RULE_NUM_BUFSZ];
        int n;

        rule_num_format(left, l);
        rule_num_format(right, rt);
        n = snprintf(buf, buflen, "rule %s %s: %s %s %s%s (%s %s %s)", r->code, r->name_zh,
                     r->left.text, rule_op_text(r->op), r->right.text, with_fails ? " fails" : "",
                     l, rule_op_failed_text(r->op), rt);
        if (n < 0)
                return 0;
        return (size_t)n < buflen ? (size_t)n : buflen - 1;
}

/* ---- rules.csv ------------------------------------------------------------------------ */

enum column { C_CODE, C_NAME, C_LEFT, C_OP, C_RIGHT, C_SEV, C_SCOPE, C_STAGE, C_MISSING, C_NCOLS };

static const struct csvread_column columns[C_NCOLS] = {
    [C_CODE] = {"code", 1},   [C_NAME] = {"name_zh", 1}, [C_LEFT] = {"left", 1},
    [C_OP] = {"op", 1},       [C_RIGHT] = {"right", 1},  [C_SEV] = {"severity", 1},
    [C_SCOPE] = {"scope", 0}, [C_STAGE] = {"stage", 0},  [C_MISSING] = {"missing", 0},
};

struct loader {
        const char *path;
        char *err;
        size_t errlen;
        const struct catalog *cat;
        const struct orgtree *tree;
        struct rules *rs;
        size_t cap;
};

static void fail(struct loader *ld, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct loader *ld, unsigned long line, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        strlcpyf(ld->err, ld->errlen, "%s:%lu: %s", ld->path, line, msg);
}

static int
show(const char *s, size_t len)
{
        if (len <= SHOW_MAX)
                return (int)len;
        len = SHOW_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
                len--;
        return (int)len;
}

struct field {
        const char *s;
        size_t len;
};

static struct field
column(const struct csvrow *row, const int col[C_NCOLS], enum column k)
{
        struct field f = {"", 0};

        if (col[k] < 0)
                return f;
        f.len = row->lens[col[k]];
        f.s = csvread_trim(row->fields[col[k]], &f.len);
        return f;
}

static int
is(struct field f, const char *word)
{
        return f.len == strlen(word) && memcmp(f.s, word, f.len) == 0;
}

static int
code_valid(const char *s, size_t len)
{
        if (len < 1 || len > RULE_CODE_MAX)
                return 0;
        for (size_t i = 0; i < len; i++)
                if (!ident_char(s[i], 1))
                        return 0;
        return 1;
}

static int
level_exists(const struct orgtree *t, struct field f)
{
        for (size_t i = 0; i < t->n; i++)
                if (strlen(t->u[i].level) == f.len && memcmp(t->u[i].level, f.s, f.len) == 0)
                        return 1;
        return 0;
}

static int
stage_exists(const struct orgtree *t, struct field f)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->u[i].is_leaf && strlen(t->u[i].stage) == f.len &&
                    memcmp(t->u[i].stage, f.s, f.len) == 0)
                        return 1;
        return 0;
}

static void
rule_free(struct rule *r)
{
        free(r->code);
        free(r->name_zh);
        free(r->scope);
        free(r->stage);
        rule_expr_free(&r->left);
        rule_expr_free(&r->right);
}

/* Check one data row and append it; 0, or -1 after fail(). */
static int
add_row(struct loader *ld, const struct csvrow *row, const int col[C_NCOLS], size_t hdr_fields)
{
        struct field code = column(row, col, C_CODE), name = column(row, col, C_NAME);
        struct field op = column(row, col, C_OP), sev = column(row, col, C_SEV);
        struct field scope = column(row, col, C_SCOPE), stage = column(row, col, C_STAGE);
        struct field missing = column(row, col, C_MISSING);
        struct field left = column(row, col, C_LEFT), right = column(row, col, C_RIGHT);
        struct rule r;
        char why[300];
        static const char *const ops[] = {
            [RULE_LE] = "<=", [RULE_LT] = "<",  [RULE_GE] = ">=",
            [RULE_GT] = ">",  [RULE_EQ] = "==", [RULE_NE] = "!=",
        };
        int k;

        if (row->nfields != hdr_fields) {
                fail(ld, row->line, "%zu fields, the header has %zu", row->nfields, hdr_fields);
                return -1;
        }
        if (!code_valid(code.s, code.len)) {
                fail(ld, row->line,
                     "code \"%.*s\" must be 1..%d characters of letters, digits, _ . -",
                     show(code.s, code.len), code.s, RULE_CODE_MAX);
                return -1;
        }
        if (rules_find(ld->rs, code.s, code.len) != NULL) {
                fail(ld, row->line, "rule %.*s is defined twice", (int)code.len, code.s);
                return -1;
        }
        if (name.len == 0) {
                fail(ld, row->line, "rule %.*s has no name_zh", (int)code.len, code.s);
                return -1;
        }
        if (ld->rs->n == RULES_MAX) {
                fail(ld, row->line, "more than %d rules", RULES_MAX);
                return -1;
        }
        memset(&r, 0, sizeof(r));
        r.line = row->line;
        for (k = 0; k < (int)(sizeof(ops) / sizeof(ops[0])); k++)
                if (is(op, ops[k]))
                        break;
        if (k == (int)(sizeof(ops) / sizeof(ops[0]))) {
                fail(ld, row->line,
                     "op \"%.*s\" must be one of <= < >= > == !=", show(op.s, op.len), op.s);
                return -1;
        }
        r.op = (enum rule_op)k;
        if (is(sev, "error")) {
                r.severity = RULE_ERROR;
        } else if (is(sev, "warning")) {
                r.severity = RULE_WARNING;
        } else {
                fail(ld, row->line, "severity \"%.*s\" must be error or warning",
                     show(sev.s, sev.len), sev.s);
                return -1;
        }
        if (missing.len == 0 || is(missing, "skip")) {
                r.missing = RULE_MISSING_SKIP;
        } else if (is(missing, "zero")) {
                r.missing = RULE_MISSING_ZERO;
        } else {
                fail(ld, row->line, "missing \"%.*s\" must be skip or zero",
                     show(missing.s, missing.len), missing.s);
                return -1;
        }
        if (scope.len > 0 && !is(scope, "school")) {
                if (!level_exists(ld->tree, scope)) {
                        fail(ld, row->line,
                             "scope \"%.*s\" is neither school nor a level of orgunits.csv",
                             show(scope.s, scope.len), scope.s);
                        return -1;
                }
                if (stage.len > 0) {
                        fail(ld, row->line,
                             "stage is for school rules; a %.*s rule is checked on the "
                             "%.*s's totals",
                             show(scope.s, scope.len), scope.s, show(scope.s, scope.len), scope.s);
                        return -1;
                }
                r.scope = xstrndup(scope.s, scope.len);
        }
        if (stage.len > 0) {
                if (!stage_exists(ld->tree, stage)) {
                        fail(ld, row->line, "no school of orgunits.csv has stage \"%.*s\"",
                             show(stage.s, stage.len), stage.s);
                        return -1;
                }
                r.stage = xstrndup(stage.s, stage.len);
        }
        if (rule_expr_parse(left.s, left.len, ld->cat, &r.left, why, sizeof(why)) < 0) {
                fail(ld, row->line, "left: %s", why);
                rule_free(&r);
                return -1;
        }
        if (rule_expr_parse(right.s, right.len, ld->cat, &r.right, why, sizeof(why)) < 0) {
                fail(ld, row->line, "right: %s", why);
                rule_free(&r);
                return -1;
        }
        r.uses_prev = expr_uses_prev(&r.left) || expr_uses_prev(&r.right);
        if (r.uses_prev && r.severity == RULE_ERROR) {
                fail(ld, row->line,
                     "prev_year is allowed in warnings only: last year's figure cannot "
                     "make this year's return wrong");
                rule_free(&r);
                return -1;
        }
        r.code = xstrndup(code.s, code.len);
        r.name_zh = xstrndup(name.s, name.len);
        if (ld->rs->n == ld->cap) {
                ld->cap = ld->cap ? ld->cap * 2 : 16;
                ld->rs->rule = xrealloc(ld->rs->rule, ld->cap * sizeof(*ld->rs->rule));
        }
        ld->rs->rule[ld->rs->n++] = r;
        ld->rs->uses_prev |= r.uses_prev;
        return 0;
}

struct rules *
rules_load(const char *path, const struct catalog *cat, const struct orgtree *tree, char *err,
           size_t errlen)
{
        struct loader ld = {.path = path, .err = err, .errlen = errlen, .cat = cat, .tree = tree};
        struct csvread *r;
        struct csvrow row;
        char msg[256];
        int col[C_NCOLS], rc;
        size_t hdr_fields;

        if ((r = csvread_open(path, err, errlen)) == NULL)
                return NULL;
        ld.rs = xcalloc(1, sizeof(*ld.rs));
        rc = csvread_next(r, &row, msg, sizeof(msg));
        if (rc == CSVREAD_EOF) {
                fail(&ld, 1,
                     "empty file: expected the header "
                     "code,name_zh,left,op,right,severity,scope,stage,missing");
                goto bad;
        }
        if (rc != CSVREAD_ROW) {
                fail(&ld, row.line, "%s", msg);
                goto bad;
        }
        if (csvread_columns(&row, columns, C_NCOLS, col, msg, sizeof(msg)) != 0) {
                fail(&ld, row.line, "%s", msg);
                goto bad;
        }
        hdr_fields = row.nfields;
        while ((rc = csvread_next(r, &row, msg, sizeof(msg))) != CSVREAD_EOF) {
                if (rc != CSVREAD_ROW) {
                        fail(&ld, row.line, "%s", msg);
                        goto bad;
                }
                if (add_row(&ld, &row, col, hdr_fields) != 0)
                        goto bad;
        }
        csvread_close(&r);
        return ld.rs;
bad:
        csvread_close(&r);
        rules_destroy(&ld.rs);
        return NULL;
}

struct rules *
rules_load_optional(const char *dir, const struct catalog *cat, const struct orgtree *tree,
                    char *err, size_t errlen)
{
        char path[4096];
        struct stat st;

        if ((size_t)snprintf(path, sizeof(path), "%s/rules.csv", dir) >= sizeof(path)) {
                strlcpyf(err, errlen, "%s/rules.csv: path too long", dir);
                return NULL;
        }
        if (stat(path, &st) != 0 && errno == ENOENT)
                return xcalloc(1, sizeof(struct rules));
        return rules_load(path, cat, tree, err, errlen);
}

void
rules_destroy(struct rules **rp)
{
        struct rules *rs;

        if (rp == NULL || (rs = *rp) == NULL)
                return;
        for (size_t i = 0; i < rs->n; i++)
                rule_free(&rs->rule[i]);
        free(rs->rule);
        free(rs);
        *rp = NULL;
}

const struct rule *
rules_find(const struct rules *rs, const char *code, size_t len)
{
        for (size_t i = 0; i < rs->n; i++)
                if (strlen(rs->rule[i].code) == len && memcmp(rs->rule[i].code, code, len) == 0)
                        return &rs->rule[i];
        return NULL;
}
