/*
 * refdata: read targets.csv, periods.csv and balance.csv, and store them
 * with the org tree and the catalogue in PostgreSQL.  See refdata.h.
 *
 * targets.csv, periods.csv and balance.csv are read by lib/cfgload (as
 * forms.csv is, in lib/forms.c): it maps the header's columns, then hands
 * every data row to the file's own checker, which stops the load with
 * "FILE:LINE: problem" at the first thing that does not hold together.
 * Every table the sink replaces is emptied and copied by replace_rows.
 * Duplicates are found through a strmap of each row's key, whose value is
 * the row's index, so the message can name the line it repeats.
 */
#include "refdata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "catalog.h"
#include "cfgload.h"
#include "csvread.h"
#include "log.h"
#include "orgtree.h"
#include "period.h"
#include "pg.h"
#include "pgcopy.h"
#include "sinksql.h"
#include "strmap.h"
#include "util.h"

struct loader {
        const struct config *cfg;
        struct refdata *o;
        struct cfgload cl;    /* the file being read */
        size_t cap;           /* rows allocated in the current array */
        struct strmap *seen;  /* key of every row so far -> its index */
        struct strmap *level; /* level labels of orgunits.csv */
        struct strmap *stage; /* stages of orgunits.csv */
};

static int
field_is(struct cfgload_field f, const char *s)
{
        return f.len == strlen(s) && memcmp(f.s, s, f.len) == 0;
}

static char *
field_dup(struct cfgload_field f)
{
        return xstrndup(f.s, f.len);
}

/*
 * A non-negative decimal written plainly: digits, optionally a point and
 * more digits.  No sign, exponent, thousands separator or percent sign: a
 * target of "95%" would otherwise be read as something it is not.
 */
static int
number_valid(struct cfgload_field f)
{
        size_t i = 0, int_digits = 0, frac_digits = 0;

        if (f.len == 0 || f.len > REFDATA_NUMBER_MAX)
                return 0;
        while (i < f.len && f.s[i] >= '0' && f.s[i] <= '9')
                i++, int_digits++;
        if (i < f.len && f.s[i] == '.') {
                i++;
                while (i < f.len && f.s[i] >= '0' && f.s[i] <= '9')
                        i++, frac_digits++;
                if (frac_digits == 0)
                        return 0;
        }
        return i == f.len && int_digits > 0;
}

/* The canonical text of a valid number, for duplicate keys: "095.50" -> "95.5". */
static void
number_canon(struct cfgload_field f, char *out, size_t outlen)
{
        size_t a = 0, b = f.len;

        while (a + 1 < b && f.s[a] == '0' && f.s[a + 1] != '.')
                a++;
        if (memchr(f.s, '.', f.len) != NULL) {
                while (b > a && f.s[b - 1] == '0')
                        b--;
                if (b > a && f.s[b - 1] == '.')
                        b--;
        }
        strlcpyf(out, outlen, "%.*s", (int)(b - a), f.s + a);
}

static int
digits_value(const char *s, size_t n)
{
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

/* A calendar date YYYY-MM-DD, years 1900..2199 like periods. */
static int
date_valid(struct cfgload_field f)
{
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y, m, d;

        if (f.len != 10 || f.s[4] != '-' || f.s[7] != '-')
                return 0;
        y = digits_value(f.s, 4);
        m = digits_value(f.s + 5, 2);
        d = digits_value(f.s + 8, 2);
        if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
                return 0;
        if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
                return 0;
        return 1;
}

/* Grow the row array *arr of the current file to hold one more row. */
static void
room_for(struct loader *ld, void **arr, size_t n, size_t size)
{
        if (n < ld->cap)
                return;
        ld->cap = ld->cap ? ld->cap * 2 : 16;
        *arr = xreallocarray(*arr, ld->cap, size);
}

/*
 * Remember key as row index at; returns -1 when new, else the index of the
 * row that had the same key first.
 */
static int
seen_before(struct loader *ld, const char *key, size_t len, size_t at)
{
        int got = strmap_put(ld->seen, key, len, (int)at);

        return got == (int)at ? -1 : got;
}

/* A code of the catalogue, or -1 after cfgload_fail(). */
static int
indicator_of(struct loader *ld, const struct csvrow *row, struct cfgload_field f)
{
        int i;

        if (f.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty indicator");
                return -1;
        }
        if ((i = catalog_find(ld->cfg->cat, f.s, f.len)) < 0)
                cfgload_fail(&ld->cl, row->line, "unknown indicator \"%.*s\"",
                             cfgload_show(f.s, f.len), f.s);
        return i;
}

/* A stage some unit of orgunits.csv has; 0, or -1 after cfgload_fail(). */
static int
stage_check(struct loader *ld, const struct csvrow *row, struct cfgload_field f)
{
        if (strmap_get(ld->stage, f.s, f.len) < 0) {
                cfgload_fail(&ld->cl, row->line,
                             "unknown stage \"%.*s\" (no unit in orgunits.csv has it)",
                             cfgload_show(f.s, f.len), f.s);
                return -1;
        }
        return 0;
}

/* A non-empty optional number: 0, or -1 after cfgload_fail(). */
static int
number_check(struct loader *ld, const struct csvrow *row, struct cfgload_field f, const char *what)
{
        if (!number_valid(f)) {
                cfgload_fail(
                    &ld->cl, row->line,
                    "bad number \"%.*s\" in %s (a non-negative decimal such as 95 or 0.45)",
                    cfgload_show(f.s, f.len), f.s, what);
                return -1;
        }
        return 0;
}

/* targets.csv */

enum {
        T_INDICATOR,
        T_LEVEL,
        T_UNIT,
        T_STAGE,
        T_OP,
        T_VALUE,
        T_SOURCE,
        T_FROM,
        T_TO,
        T_BASELINE_PERIOD,
        T_BASELINE,
        T_NCOLS
};

static const struct csvread_column target_cols[T_NCOLS] = {
    [T_INDICATOR] = {"indicator", 1},
    [T_LEVEL] = {"level", 1},
    [T_UNIT] = {"unit", 0},
    [T_STAGE] = {"stage", 0},
    [T_OP] = {"op", 1},
    [T_VALUE] = {"value", 1},
    [T_SOURCE] = {"source", 0},
    [T_FROM] = {"from", 0},
    [T_TO] = {"to", 0},
    [T_BASELINE_PERIOD] = {"baseline_period", 0},
    [T_BASELINE] = {"baseline", 0},
};

/* An optional period column: 0 when empty or valid, or -1 after cfgload_fail(). */
static int
period_check(struct loader *ld, const struct csvrow *row, struct cfgload_field f, const char *what)
{
        if (f.len > 0 && !period_valid(f.s, f.len)) {
                cfgload_fail(
                    &ld->cl, row->line,
                    "bad period \"%.*s\" in %s (YYYY, YYYYS1, YYYYS2, YYYYQ1..YYYYQ4 or YYYYMM)",
                    cfgload_show(f.s, f.len), f.s, what);
                return -1;
        }
        return 0;
}

/*
 * The columns from, to, baseline_period and baseline of a target: each
 * period valid, to not before from, and a baseline only with a to that
 * comes after it (a path needs both ends).  0, or -1 after cfgload_fail().
 */
static int
target_dates_check(struct loader *ld, const struct csvrow *row, struct cfgload_field from,
                   struct cfgload_field to, struct cfgload_field bperiod,
                   struct cfgload_field baseline)
{
        int f_first, f_last, t_first, t_last, b_first, b_last;

        if (period_check(ld, row, from, "from") != 0 || period_check(ld, row, to, "to") != 0 ||
            period_check(ld, row, bperiod, "baseline_period") != 0)
                return -1;
        if (from.len > 0 && to.len > 0) {
                period_months(from.s, from.len, &f_first, &f_last);
                period_months(to.s, to.len, &t_first, &t_last);
                if (f_first > t_last) {
                        cfgload_fail(&ld->cl, row->line, "from %.*s is after to %.*s",
                                     (int)from.len, from.s, (int)to.len, to.s);
                        return -1;
                }
        }
        if (baseline.len > 0 && bperiod.len == 0) {
                cfgload_fail(&ld->cl, row->line,
                             "baseline given without baseline_period (the period it is "
                             "the value of)");
                return -1;
        }
        if (baseline.len > 0 && number_check(ld, row, baseline, "baseline") != 0)
                return -1;
        if (bperiod.len == 0)
                return 0;
        if (to.len == 0) {
                cfgload_fail(&ld->cl, row->line,
                             "baseline_period %.*s needs a to (the period the target is due by)",
                             (int)bperiod.len, bperiod.s);
                return -1;
        }
        period_months(bperiod.s, bperiod.len, &b_first, &b_last);
        period_months(to.s, to.len, &t_first, &t_last);
        if (b_last >= t_last) {
                cfgload_fail(&ld->cl, row->line, "baseline_period %.*s is not before to %.*s",
                             (int)bperiod.len, bperiod.s, (int)to.len, to.s);
                return -1;
        }
        return 0;
}

static const char *const ops[] = {">=", "<=", "=", ">", "<"};

static int
add_target(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        const struct orgtree *tree = ld->cfg->tree;
        struct cfgload_field level = cfgload_column(row, col, T_LEVEL),
                             unit = cfgload_column(row, col, T_UNIT);
        struct cfgload_field stage = cfgload_column(row, col, T_STAGE),
                             op = cfgload_column(row, col, T_OP);
        struct cfgload_field value = cfgload_column(row, col, T_VALUE),
                             source = cfgload_column(row, col, T_SOURCE);
        struct cfgload_field from = cfgload_column(row, col, T_FROM),
                             to = cfgload_column(row, col, T_TO);
        struct cfgload_field bperiod = cfgload_column(row, col, T_BASELINE_PERIOD);
        struct cfgload_field baseline = cfgload_column(row, col, T_BASELINE);
        struct refdata *o = ld->o;
        struct target *t;
        const char *op_text = NULL;
        char canon[REFDATA_NUMBER_MAX + 1], *key;
        int ind, u = -1, first;
        size_t keylen;

        if ((ind = indicator_of(ld, row, cfgload_column(row, col, T_INDICATOR))) < 0)
                return -1;
        if (level.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty level");
                return -1;
        }
        if (strmap_get(ld->level, level.s, level.len) < 0) {
                cfgload_fail(&ld->cl, row->line,
                             "unknown level \"%.*s\" (no unit in orgunits.csv has it)",
                             cfgload_show(level.s, level.len), level.s);
                return -1;
        }
        if (unit.len > 0) {
                if ((u = orgtree_find(tree, unit.s, unit.len)) < 0) {
                        cfgload_fail(&ld->cl, row->line, "unknown unit \"%.*s\"",
                                     cfgload_show(unit.s, unit.len), unit.s);
                        return -1;
                }
                if (!field_is(level, tree->u[u].level)) {
                        cfgload_fail(&ld->cl, row->line, "unit \"%s\" is a %s, not a %.*s",
                                     tree->u[u].code, tree->u[u].level,
                                     cfgload_show(level.s, level.len), level.s);
                        return -1;
                }
        }
        if (stage.len > 0) {
                if (stage_check(ld, row, stage) != 0)
                        return -1;
                /* A school of another stage would never match: say so now. */
                if (u >= 0 && tree->u[u].is_leaf && !field_is(stage, tree->u[u].stage)) {
                        cfgload_fail(&ld->cl, row->line,
                                     "unit \"%s\" has stage \"%s\", not \"%.*s\"", tree->u[u].code,
                                     tree->u[u].stage, cfgload_show(stage.s, stage.len), stage.s);
                        return -1;
                }
        }
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
                if (field_is(op, ops[i]))
                        op_text = ops[i];
        if (op_text == NULL) {
                cfgload_fail(&ld->cl, row->line, "bad op \"%.*s\" (one of >=, <=, =, >, <)",
                             cfgload_show(op.s, op.len), op.s);
                return -1;
        }
        if (value.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty value");
                return -1;
        }
        if (number_check(ld, row, value, "value") != 0)
                return -1;
        if (source.len > REFDATA_TEXT_MAX) {
                cfgload_fail(&ld->cl, row->line, "source is longer than %d bytes",
                             REFDATA_TEXT_MAX);
                return -1;
        }
        if (target_dates_check(ld, row, from, to, bperiod, baseline) != 0)
                return -1;
        number_canon(value, canon, sizeof canon);
        keylen = strlen(ld->cfg->cat->ind[ind].code) + level.len + unit.len + stage.len +
                 strlen(op_text) + strlen(canon) + from.len + to.len + 8;
        key = xmalloc(keylen);
        /* Unit separators keep "a"+"bc" apart from "ab"+"c". */
        snprintf(key, keylen, "%s\x1f%.*s\x1f%.*s\x1f%.*s\x1f%s\x1f%s\x1f%.*s\x1f%.*s",
                 ld->cfg->cat->ind[ind].code, (int)level.len, level.s, (int)unit.len, unit.s,
                 (int)stage.len, stage.s, op_text, canon, (int)from.len, from.s, (int)to.len, to.s);
        first = seen_before(ld, key, strlen(key), o->ntargets);
        free(key);
        if (first >= 0) {
                cfgload_fail(
                    &ld->cl, row->line,
                    "duplicate target: same indicator, level, unit, stage, op, value, from "
                    "and to as line %lu",
                    o->targets[first].line);
                return -1;
        }
        room_for(ld, (void **)&o->targets, o->ntargets, sizeof *o->targets);
        t = &o->targets[o->ntargets++];
        t->indicator = ind;
        t->level = field_dup(level);
        t->unit = u;
        t->stage = field_dup(stage);
        t->op = op_text;
        t->value = field_dup(value);
        t->source = field_dup(source);
        t->from = field_dup(from);
        t->to = field_dup(to);
        t->baseline_period = field_dup(bperiod);
        t->baseline = field_dup(baseline);
        t->line = row->line;
        return 0;
}

/* periods.csv */

enum { P_PERIOD, P_OPENS, P_DUE, P_NCOLS };

static const struct csvread_column period_cols[P_NCOLS] = {
    [P_PERIOD] = {"period", 1},
    [P_OPENS] = {"opens", 1},
    [P_DUE] = {"due", 1},
};

static int
add_period(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        struct cfgload_field period = cfgload_column(row, col, P_PERIOD),
                             opens = cfgload_column(row, col, P_OPENS);
        struct cfgload_field due = cfgload_column(row, col, P_DUE);
        struct refdata *o = ld->o;
        struct report_period *p;
        int first;

        if (period.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty period");
                return -1;
        }
        if (!period_valid(period.s, period.len)) {
                cfgload_fail(&ld->cl, row->line,
                             "bad period \"%.*s\" (YYYY, YYYYS1, YYYYS2, YYYYQ1..YYYYQ4 or YYYYMM)",
                             cfgload_show(period.s, period.len), period.s);
                return -1;
        }
        if (!date_valid(opens)) {
                cfgload_fail(&ld->cl, row->line, "bad date \"%.*s\" in opens (YYYY-MM-DD)",
                             cfgload_show(opens.s, opens.len), opens.s);
                return -1;
        }
        if (!date_valid(due)) {
                cfgload_fail(&ld->cl, row->line, "bad date \"%.*s\" in due (YYYY-MM-DD)",
                             cfgload_show(due.s, due.len), due.s);
                return -1;
        }
        /* Same width and order, so the text compares like the dates. */
        if (memcmp(opens.s, due.s, 10) > 0) {
                cfgload_fail(&ld->cl, row->line, "opens %.10s is after due %.10s", opens.s, due.s);
                return -1;
        }
        if ((first = seen_before(ld, period.s, period.len, o->nperiods)) >= 0) {
                cfgload_fail(&ld->cl, row->line, "duplicate period \"%.*s\" (first on line %lu)",
                             (int)period.len, period.s, o->periods[first].line);
                return -1;
        }
        room_for(ld, (void **)&o->periods, o->nperiods, sizeof *o->periods);
        p = &o->periods[o->nperiods++];
        p->period = field_dup(period);
        memcpy(p->opens, opens.s, 10);
        p->opens[10] = '\0';
        memcpy(p->due, due.s, 10);
        p->due[10] = '\0';
        p->line = row->line;
        return 0;
}

/* balance.csv */

enum { B_STANDARD, B_STAGE, B_INDICATOR, B_SCHOOL_MIN, B_CV_MAX, B_NCOLS };

static const struct csvread_column balance_cols[B_NCOLS] = {
    [B_STANDARD] = {"standard", 1},   [B_STAGE] = {"stage", 1},
    [B_INDICATOR] = {"indicator", 1}, [B_SCHOOL_MIN] = {"school_min", 1},
    [B_CV_MAX] = {"cv_max", 1},
};

static int
add_rule(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        struct cfgload_field standard = cfgload_column(row, col, B_STANDARD),
                             stage = cfgload_column(row, col, B_STAGE);
        struct cfgload_field min = cfgload_column(row, col, B_SCHOOL_MIN),
                             cv = cfgload_column(row, col, B_CV_MAX);
        struct refdata *o = ld->o;
        struct balance_rule *b;
        size_t keylen;
        char *key;
        int ind, first;

        if (standard.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty standard");
                return -1;
        }
        if (standard.len > REFDATA_TEXT_MAX) {
                cfgload_fail(&ld->cl, row->line, "standard is longer than %d bytes",
                             REFDATA_TEXT_MAX);
                return -1;
        }
        if (stage.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty stage");
                return -1;
        }
        if (stage_check(ld, row, stage) != 0)
                return -1;
        if ((ind = indicator_of(ld, row, cfgload_column(row, col, B_INDICATOR))) < 0)
                return -1;
        if (min.len == 0 && cv.len == 0) {
                cfgload_fail(&ld->cl, row->line, "neither school_min nor cv_max given");
                return -1;
        }
        if ((min.len > 0 && number_check(ld, row, min, "school_min") != 0) ||
            (cv.len > 0 && number_check(ld, row, cv, "cv_max") != 0))
                return -1;
        keylen = standard.len + stage.len + strlen(ld->cfg->cat->ind[ind].code) + 3;
        key = xmalloc(keylen);
        snprintf(key, keylen, "%.*s\x1f%.*s\x1f%s", (int)standard.len, standard.s, (int)stage.len,
                 stage.s, ld->cfg->cat->ind[ind].code);
        first = seen_before(ld, key, strlen(key), o->nrules);
        free(key);
        if (first >= 0) {
                cfgload_fail(&ld->cl, row->line,
                             "duplicate rule for %.*s, %.*s, %s (first on line %lu)",
                             cfgload_show(standard.s, standard.len), standard.s,
                             cfgload_show(stage.s, stage.len), stage.s, ld->cfg->cat->ind[ind].code,
                             o->rules[first].line);
                return -1;
        }
        room_for(ld, (void **)&o->rules, o->nrules, sizeof *o->rules);
        b = &o->rules[o->nrules++];
        b->standard = field_dup(standard);
        b->stage = field_dup(stage);
        b->indicator = ind;
        b->school_min = min.len > 0 ? field_dup(min) : NULL;
        b->cv_max = cv.len > 0 ? field_dup(cv) : NULL;
        b->line = row->line;
        return 0;
}

/* The shared reader. */

static const struct cfgload_file targets_csv = {
    .cols = target_cols,
    .ncols = T_NCOLS,
    .header = "indicator,level,unit,stage,op,value,source[,from,to,baseline_period,baseline]",
    .optional = 1,
    .max_rows = REFDATA_MAX_ROWS,
    .row = add_target,
};

static const struct cfgload_file periods_csv = {
    .cols = period_cols,
    .ncols = P_NCOLS,
    .header = "period,opens,due",
    .optional = 1,
    .max_rows = REFDATA_MAX_ROWS,
    .row = add_period,
};

static const struct cfgload_file balance_csv = {
    .cols = balance_cols,
    .ncols = B_NCOLS,
    .header = "standard,stage,indicator,school_min,cv_max",
    .optional = 1,
    .max_rows = REFDATA_MAX_ROWS,
    .row = add_rule,
};

/* Read dir/name as file says; a file that does not exist is no rows. */
static int
load_file(struct loader *ld, const char *name, const struct cfgload_file *file)
{
        size_t len = strlen(ld->cfg->dir) + strlen(name) + 2;
        char *path = xmalloc(len);
        int ret;

        strlcpyf(path, len, "%s/%s", ld->cfg->dir, name);
        ld->cl.path = path;
        ld->cap = 0;
        ld->seen = strmap_new(64);
        ret = cfgload_read(&ld->cl, file, ld);
        strmap_destroy(&ld->seen);
        ld->cl.path = NULL;
        free(path);
        return ret;
}

/* forms.csv, read by lib/forms.c (the collector's template command reads it too). */
static int
load_forms_file(struct loader *ld)
{
        size_t len = strlen(ld->cfg->dir) + sizeof "/forms.csv";
        char *path = xmalloc(len);
        int rc;

        strlcpyf(path, len, "%s/forms.csv", ld->cfg->dir);
        rc =
            forms_load(path, ld->cfg->cat, ld->cfg->tree, &ld->o->forms, ld->cl.err, ld->cl.errlen);
        free(path);
        return rc < 0 ? -1 : 0;
}

/* The level labels and the stages of the tree, as sets. */
static void
tree_sets(struct loader *ld)
{
        const struct orgtree *t = ld->cfg->tree;

        ld->level = strmap_new(16);
        ld->stage = strmap_new(16);
        /* A tree has at most ORGTREE_MAX_UNITS units, fewer than a map holds. */
        _Static_assert(ORGTREE_MAX_UNITS <= STRMAP_MAX, "every unit's label fits in a set");
        for (size_t i = 0; i < t->n; i++) {
                if (strmap_put(ld->level, t->u[i].level, strlen(t->u[i].level), 0) < 0 ||
                    (t->u[i].stage[0] != '\0' &&
                     strmap_put(ld->stage, t->u[i].stage, strlen(t->u[i].stage), 0) < 0))
                        fatalx("%s: a set of the tree's labels is full", __func__);
        }
}

struct refdata *
refdata_load(const struct config *cfg, char *err, size_t errlen)
{
        struct loader ld = {.cfg = cfg, .cl = {.err = err, .errlen = errlen}};
        int rc;

        ld.o = xcalloc(1, sizeof *ld.o);
        tree_sets(&ld);
        rc = load_file(&ld, "targets.csv", &targets_csv);
        if (rc == 0)
                rc = load_file(&ld, "periods.csv", &periods_csv);
        if (rc == 0)
                rc = load_file(&ld, "balance.csv", &balance_csv);
        if (rc == 0)
                rc = load_forms_file(&ld);
        /* rules.csv is checked by the rules module itself, so the sink
         * refuses exactly the files the aggregator refuses, with the same
         * message. */
        if (rc == 0 &&
            (ld.o->rs = rules_load_optional(cfg->dir, cfg->cat, cfg->tree, err, errlen)) == NULL)
                rc = -1;
        strmap_destroy(&ld.level);
        strmap_destroy(&ld.stage);
        if (rc != 0)
                refdata_destroy(&ld.o);
        return ld.o;
}

void
refdata_destroy(struct refdata **op)
{
        struct refdata *o;

        if (op == NULL || (o = *op) == NULL)
                return;
        for (size_t i = 0; i < o->ntargets; i++) {
                free(o->targets[i].level);
                free(o->targets[i].stage);
                free(o->targets[i].value);
                free(o->targets[i].source);
                free(o->targets[i].from);
                free(o->targets[i].to);
                free(o->targets[i].baseline_period);
                free(o->targets[i].baseline);
        }
        for (size_t i = 0; i < o->nperiods; i++)
                free(o->periods[i].period);
        forms_destroy(&o->forms);
        for (size_t i = 0; i < o->nrules; i++) {
                free(o->rules[i].standard);
                free(o->rules[i].stage);
                free(o->rules[i].school_min);
                free(o->rules[i].cv_max);
        }
        free(o->targets);
        free(o->periods);
        free(o->rules);
        rules_destroy(&o->rs);
        free(o);
        *op = NULL;
}

/* The store into PostgreSQL. */

/* "" and NULL both mean "not given": stored as NULL. */
static void
copy_opt(struct pgcopy *c, const char *s)
{
        pgcopy_str(c, s != NULL && *s != '\0' ? s : NULL);
}

/*
 * A COPY's rows for item i of a table the sink loads on every start: one
 * or more rows, each ended with pgcopy_row_end.
 */
typedef void (*copy_rows_fn)(struct pgcopy *c, const struct config *cfg, const struct refdata *o,
                             size_t i);

/*
 * Run first_sql, which empties the table or makes the stage table, then
 * COPY (copy_sql) the rows of its n items into it, in the caller's
 * transaction.  Returns DB_OK, or the failure with PostgreSQL's message in
 * err.
 */
static enum db_result
replace_rows(PGconn *conn, const char *first_sql, const char *copy_sql, size_t n, copy_rows_fn rows,
             const struct config *cfg, const struct refdata *o, char *err, size_t errlen)
{
        struct pgcopy *c = xmalloc(sizeof *c);
        enum db_result r;

        r = pg_exec(conn, first_sql, err, errlen);
        if (r == DB_OK)
                r = pgcopy_begin(c, conn, copy_sql, err, errlen);
        if (r == DB_OK) {
                for (size_t i = 0; i < n; i++)
                        rows(c, cfg, o, i);
                r = pgcopy_end(c, err, errlen);
        }
        free(c);
        return r;
}

/* The rows of orgunits.csv, for pg_temp.stage_orgunit. */
static void
orgunit_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct orgunit *u = &cfg->tree->u[i];

        (void)o;
        pgcopy_str(c, u->code);
        copy_opt(c, u->parent_code);
        pgcopy_str(c, u->level);
        pgcopy_u64(c, u->depth);
        pgcopy_str(c, u->name);
        copy_opt(c, u->stage);
        copy_opt(c, u->locality);
        copy_opt(c, u->ownership);
        pgcopy_bool(c, u->is_leaf);
        pgcopy_row_end(c);
}

static enum db_result
load_orgunits(PGconn *conn, const struct config *cfg, char *err, size_t errlen)
{
        enum db_result r;

        r = replace_rows(conn, sinksql_refdata_orgunit_stage,
                         "COPY pg_temp.stage_orgunit FROM STDIN", cfg->tree->n, orgunit_rows, cfg,
                         NULL, err, errlen);
        /* Read before the upsert replaces the old parent links. */
        if (r == DB_OK)
                r = pg_exec(conn, sinksql_refdata_orgunit_prune_above, err, errlen);
        if (r == DB_OK)
                r = pg_exec(conn, sinksql_refdata_orgunit_upsert, err, errlen);
        if (r == DB_OK)
                r = pg_exec(conn, sinksql_refdata_orgunit_prune_leaves, err, errlen);
        return r;
}

/* The rows of indicators.csv, for pg_temp.stage_indicator. */
static void
indicator_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct catalog *cat = cfg->cat;
        const struct indicator *ind = &cat->ind[i];
        int ratio = ind->kind == IND_RATIO;

        (void)o;
        pgcopy_str(c, ind->code);
        copy_opt(c, ind->name_zh);
        copy_opt(c, ind->name_en);
        copy_opt(c, ind->unit);
        pgcopy_str(c, indicator_kind_name(ind->kind));
        pgcopy_str(c, ratio && ind->num >= 0 ? cat->ind[ind->num].code : NULL);
        pgcopy_str(c, ratio && ind->den >= 0 ? cat->ind[ind->den].code : NULL);
        /* The multiplier as written keeps it exact ("100", not
         * 100.000000000000000001 from a long double). */
        pgcopy_str(c, ratio && ind->multiplier_text != NULL && *ind->multiplier_text
                          ? ind->multiplier_text
                          : "1");
        pgcopy_u64(c, ind->scale);
        pgcopy_row_end(c);
}

static enum db_result
load_indicators(PGconn *conn, const struct config *cfg, char *err, size_t errlen)
{
        enum db_result r;

        r = replace_rows(conn, sinksql_refdata_indicator_stage,
                         "COPY pg_temp.stage_indicator FROM STDIN", cfg->cat->n, indicator_rows,
                         cfg, NULL, err, errlen);
        if (r == DB_OK)
                r = pg_exec(conn, sinksql_refdata_indicator_upsert, err, errlen);
        return r;
}

/*
 * The current tree as (ancestor, unit, distance) pairs, replacing the
 * previous ones: units dropped from the config keep their orgunit row but
 * leave the closure, so the views see only the tree being served.  The
 * pairs come from the parent links, the same lists orgtree_ancestors()
 * answers, so a tree built by hand (as the writer's tests do) works too.
 */
static void
closure_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct orgtree *t = cfg->tree;
        unsigned long long k = 0;

        (void)o;
        /* The loader refused cycles, so every walk ends at the root. */
        for (int a = (int)i; a >= 0; a = t->u[a].parent, k++) {
                pgcopy_str(c, t->u[a].code);
                pgcopy_str(c, t->u[i].code);
                pgcopy_u64(c, k);
                pgcopy_row_end(c);
        }
}

/* The rows of targets.csv. */
static void
target_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct target *t = &o->targets[i];

        pgcopy_u64(c, t->line);
        pgcopy_str(c, cfg->cat->ind[t->indicator].code);
        pgcopy_str(c, t->level);
        pgcopy_str(c, t->unit >= 0 ? cfg->tree->u[t->unit].code : NULL);
        copy_opt(c, t->stage);
        pgcopy_str(c, t->op);
        pgcopy_str(c, t->value);
        copy_opt(c, t->source);
        copy_opt(c, t->from);
        copy_opt(c, t->to);
        copy_opt(c, t->baseline_period);
        copy_opt(c, t->baseline);
        pgcopy_row_end(c);
}

/* The rows of periods.csv. */
static void
period_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        (void)cfg;
        pgcopy_str(c, o->periods[i].period);
        pgcopy_str(c, o->periods[i].opens);
        pgcopy_str(c, o->periods[i].due);
        pgcopy_row_end(c);
}

/* The rows of balance.csv. */
static void
balance_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct balance_rule *b = &o->rules[i];

        pgcopy_str(c, b->standard);
        pgcopy_str(c, b->stage);
        pgcopy_str(c, cfg->cat->ind[b->indicator].code);
        pgcopy_str(c, b->school_min);
        pgcopy_str(c, b->cv_max);
        pgcopy_u64(c, b->line);
        pgcopy_row_end(c);
}

/* The rows of forms.csv. */
static void
form_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct form_item *f = &o->forms->item[i];

        pgcopy_str(c, f->stage);
        pgcopy_str(c, cfg->cat->ind[f->indicator].code);
        pgcopy_u64(c, f->line);
        pgcopy_row_end(c);
}

/* The rows of rules.csv. */
static void
rule_rows(struct pgcopy *c, const struct config *cfg, const struct refdata *o, size_t i)
{
        const struct rule *u = &o->rs->rule[i];

        (void)cfg;
        pgcopy_str(c, u->code);
        pgcopy_str(c, u->name_zh != NULL ? u->name_zh : "");
        pgcopy_str(c, u->left.text);
        pgcopy_str(c, rule_op_text(u->op));
        pgcopy_str(c, u->right.text);
        pgcopy_str(c, rule_severity_name(u->severity));
        pgcopy_str(c, u->scope != NULL ? u->scope : "school");
        copy_opt(c, u->stage);
        pgcopy_str(c, u->missing == RULE_MISSING_ZERO ? "zero" : "skip");
        pgcopy_u64(c, u->line);
        pgcopy_row_end(c);
}

enum db_result
refdata_store(PGconn *conn, const struct config *cfg, size_t *nunits, size_t *nind, char *err,
              size_t errlen)
{
        struct refdata *o;
        char why[512];
        enum db_result r;

        /* Checked before any database work: a bad file is a config error,
         * reported like one, not a failed transaction. */
        if ((o = refdata_load(cfg, err, errlen)) == NULL)
                return DB_ERROR;
        if ((r = pg_exec(conn, "BEGIN", err, errlen)) != DB_OK)
                goto out;
        if ((r = load_orgunits(conn, cfg, why, sizeof why)) != DB_OK ||
            (r = replace_rows(conn, "DELETE FROM edustat.orgunit_closure",
                              sinksql_refdata_closure_copy, cfg->tree->n, closure_rows, cfg, o, why,
                              sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/orgunits.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = load_indicators(conn, cfg, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/indicators.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = replace_rows(conn, "DELETE FROM edustat.target", sinksql_refdata_target_copy,
                              o->ntargets, target_rows, cfg, o, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/targets.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = replace_rows(conn, "DELETE FROM edustat.report_period",
                              sinksql_refdata_period_copy, o->nperiods, period_rows, cfg, o, why,
                              sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/periods.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = replace_rows(conn, "DELETE FROM edustat.balance_rule",
                              sinksql_refdata_balance_copy, o->nrules, balance_rows, cfg, o, why,
                              sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/balance.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = replace_rows(conn, "DELETE FROM edustat.form", sinksql_refdata_form_copy,
                              o->forms != NULL ? o->forms->n : 0, form_rows, cfg, o, why,
                              sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/forms.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = replace_rows(conn, "DELETE FROM edustat.rule", sinksql_refdata_rule_copy, o->rs->n,
                              rule_rows, cfg, o, why, sizeof why)) != DB_OK) {
                strlcpyf(err, errlen, "loading %s/rules.csv: %s", cfg->dir, why);
                goto fail;
        }
        if ((r = pg_exec(conn, sinksql_refdata_analyze, err, errlen)) != DB_OK)
                goto fail;
        if ((r = pg_exec(conn, "COMMIT", err, errlen)) != DB_OK)
                goto out;
        *nunits = cfg->tree->n;
        *nind = cfg->cat->n;
        log_info("loaded %zu targets, %zu periods and %zu balance rules from %s; forms.csv: %zu "
                 "rows",
                 o->ntargets, o->nperiods, o->nrules, cfg->dir, o->forms != NULL ? o->forms->n : 0);
        goto out;
fail:
        pg_rollback(conn);
out:
        refdata_destroy(&o);
        return r;
}
