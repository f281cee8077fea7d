/*
 * catalog: load indicators.csv and check that it holds together.
 *
 * Rows are read in one pass; a ratio's numerator and denominator may name
 * indicators defined later in the file, so they are kept as text and
 * resolved after the last row.  Every problem ends the load with
 * "FILE:LINE: problem" and frees everything built so far.
 */
#include "catalog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgload.h"
#include "csvread.h"
#include "decimal.h"
#include "strmap.h"
#include "util.h"

/* A ratio's `decimals` is display only, so it may go past DECIMAL_MAX_SCALE. */
#define CATALOG_RATIO_DECIMALS_MAX 10

struct catalog_index {
        struct strmap *map;
};

enum column { C_CODE, C_NAME_ZH, C_NAME_EN, C_UNIT, C_KIND, C_NUM, C_DEN, C_MULT, C_DEC, C_NCOLS };

/*
 * Columns whose values may be empty for every row (numerator .. decimals:
 * a catalogue of counts needs none of them) may be left out of the header.
 */
static const struct csvread_column columns[C_NCOLS] = {
    [C_CODE] = {"code", 1},       [C_NAME_ZH] = {"name_zh", 1}, [C_NAME_EN] = {"name_en", 1},
    [C_UNIT] = {"unit", 1},       [C_KIND] = {"kind", 1},       [C_NUM] = {"numerator", 0},
    [C_DEN] = {"denominator", 0}, [C_MULT] = {"multiplier", 0}, [C_DEC] = {"decimals", 0},
};

struct loader {
        struct cfgload cl;
        struct catalog *c;
        size_t cap;
        /* Ratio operands as written, resolved after the last row. */
        char **num_text, **den_text;
};

/* Whole text as a long in [min, max]; the text need not be terminated. */
static int
field_long(struct cfgload_field f, long min, long max, long *out)
{
        char buf[24];

        if (f.len == 0 || f.len >= sizeof(buf))
                return -1;
        memcpy(buf, f.s, f.len);
        buf[f.len] = '\0';
        return parse_long(buf, min, max, out);
}

/* A positive finite decimal number, in plain or exponent notation. */
static int
parse_multiplier(struct cfgload_field f, long double *out)
{
        char buf[64], *end;
        long double v;

        if (f.len == 0 || f.len >= sizeof(buf))
                return -1;
        /* strtold would also take hex, "inf" and "nan"; none is a multiplier. */
        for (size_t i = 0; i < f.len; i++)
                if (!strchr("0123456789.eE+-", f.s[i]))
                        return -1;
        memcpy(buf, f.s, f.len);
        buf[f.len] = '\0';
        errno = 0;
        v = strtold(buf, &end);
        if (errno != 0 || end != buf + f.len || !isfinite(v) || !(v > 0))
                return -1;
        *out = v;
        return 0;
}

const char *
indicator_kind_name(enum indicator_kind k)
{
        switch (k) {
        case IND_COUNT:
                return "count";
        case IND_AMOUNT:
                return "amount";
        case IND_RATIO:
                return "ratio";
        }
        return "unknown";
}

static void
loader_free(struct loader *ld)
{
        if (ld->c != NULL) {
                for (size_t i = 0; i < ld->c->n; i++) {
                        free(ld->num_text[i]);
                        free(ld->den_text[i]);
                }
        }
        free(ld->num_text);
        free(ld->den_text);
}

/* Check one data row and append it; returns 0 or -1 after cfgload_fail(). */
static int
add_row(void *ctx, const struct csvrow *row, const int *col)
{
        struct loader *ld = ctx;
        struct catalog *c = ld->c;
        struct cfgload_field code, kind, dec, mult;
        struct indicator *ind;
        long d = 0;
        int at;

        code = cfgload_column(row, col, C_CODE);
        if (code.len == 0) {
                cfgload_fail(&ld->cl, row->line, "empty code");
                return -1;
        }
        if (!cfgload_code_valid(code.s, code.len, CATALOG_CODE_MAX)) {
                cfgload_fail(&ld->cl, row->line,
                             "bad code \"%.*s\": codes are 1..%d characters of A-Z a-z 0-9 _ . -",
                             cfgload_show(code.s, code.len), code.s, CATALOG_CODE_MAX);
                return -1;
        }
        if (c->n >= CATALOG_MAX_INDICATORS) {
                cfgload_fail(&ld->cl, row->line, "more than %d indicators", CATALOG_MAX_INDICATORS);
                return -1;
        }
        at = strmap_put(c->index->map, code.s, code.len, (int)c->n);
        if (at != (int)c->n) {
                cfgload_fail(&ld->cl, row->line,
                             "duplicate code \"%.*s\" (first defined on line %lu)", (int)code.len,
                             code.s, c->ind[at].line);
                return -1;
        }
        if (c->n == ld->cap) {
                ld->cap = ld->cap ? ld->cap * 2 : 64;
                c->ind = xreallocarray(c->ind, ld->cap, sizeof(*c->ind));
                ld->num_text = xreallocarray(ld->num_text, ld->cap, sizeof(char *));
                ld->den_text = xreallocarray(ld->den_text, ld->cap, sizeof(char *));
        }
        ind = &c->ind[c->n];
        memset(ind, 0, sizeof(*ind));
        ld->num_text[c->n] = ld->den_text[c->n] = NULL;
        /* From here the entry is counted, so destroy frees what it holds. */
        c->n++;
        ind->code = xstrndup(code.s, code.len);
        ind->name_zh = xstrndup(cfgload_column(row, col, C_NAME_ZH).s,
                                cfgload_column(row, col, C_NAME_ZH).len);
        ind->name_en = xstrndup(cfgload_column(row, col, C_NAME_EN).s,
                                cfgload_column(row, col, C_NAME_EN).len);
        ind->unit =
            xstrndup(cfgload_column(row, col, C_UNIT).s, cfgload_column(row, col, C_UNIT).len);
        ind->num = ind->den = -1;
        ind->multiplier = 1;
        ind->line = row->line;

        kind = cfgload_column(row, col, C_KIND);
        dec = cfgload_column(row, col, C_DEC);
        mult = cfgload_column(row, col, C_MULT);
        if (kind.len == 5 && strncasecmp(kind.s, "count", 5) == 0) {
                ind->kind = IND_COUNT;
                if (dec.len > 0 && field_long(dec, 0, 0, &d) != 0) {
                        cfgload_fail(&ld->cl, row->line,
                                     "count \"%s\" has decimals \"%.*s\"; counts are whole numbers "
                                     "(leave decimals empty or 0)",
                                     ind->code, cfgload_show(dec.s, dec.len), dec.s);
                        return -1;
                }
        } else if (kind.len == 6 && strncasecmp(kind.s, "amount", 6) == 0) {
                ind->kind = IND_AMOUNT;
                if (dec.len > 0 && field_long(dec, 0, DECIMAL_MAX_SCALE, &d) != 0) {
                        cfgload_fail(&ld->cl, row->line,
                                     "amount \"%s\" has bad decimals \"%.*s\" (0..%d)", ind->code,
                                     cfgload_show(dec.s, dec.len), dec.s, DECIMAL_MAX_SCALE);
                        return -1;
                }
        } else if (kind.len == 5 && strncasecmp(kind.s, "ratio", 5) == 0) {
                struct cfgload_field num = cfgload_column(row, col, C_NUM),
                                     den = cfgload_column(row, col, C_DEN);

                ind->kind = IND_RATIO;
                if (dec.len > 0 && field_long(dec, 0, CATALOG_RATIO_DECIMALS_MAX, &d) != 0) {
                        cfgload_fail(&ld->cl, row->line,
                                     "ratio \"%s\" has bad decimals \"%.*s\" (0..%d)", ind->code,
                                     cfgload_show(dec.s, dec.len), dec.s,
                                     CATALOG_RATIO_DECIMALS_MAX);
                        return -1;
                }
                if (num.len == 0) {
                        cfgload_fail(&ld->cl, row->line, "ratio \"%s\" has no numerator",
                                     ind->code);
                        return -1;
                }
                if (den.len == 0) {
                        cfgload_fail(&ld->cl, row->line, "ratio \"%s\" has no denominator",
                                     ind->code);
                        return -1;
                }
                if (mult.len > 0 && parse_multiplier(mult, &ind->multiplier) != 0) {
                        cfgload_fail(
                            &ld->cl, row->line,
                            "ratio \"%s\" has a bad multiplier \"%.*s\" (a positive number)",
                            ind->code, cfgload_show(mult.s, mult.len), mult.s);
                        return -1;
                }
                ld->num_text[c->n - 1] = xstrndup(num.s, num.len);
                ld->den_text[c->n - 1] = xstrndup(den.s, den.len);
        } else {
                cfgload_fail(&ld->cl, row->line,
                             "indicator \"%s\" has unknown kind \"%.*s\" (count, amount or ratio)",
                             ind->code, cfgload_show(kind.s, kind.len), kind.s);
                return -1;
        }
        ind->scale = (unsigned)d;
        if (ind->kind == IND_RATIO && mult.len > 0)
                ind->multiplier_text = xstrndup(mult.s, mult.len);
        else
                ind->multiplier_text = xstrdup("1");
        return 0;
}

/* Resolve one ratio operand; returns its index or -1 after cfgload_fail(). */
static int
resolve(struct loader *ld, const struct indicator *ratio, const char *text, const char *role)
{
        int i = catalog_find(ld->c, text, strlen(text));

        if (i < 0) {
                cfgload_fail(&ld->cl, ratio->line, "ratio \"%s\" names unknown %s \"%.*s\"",
                             ratio->code, role, cfgload_show(text, strlen(text)), text);
                return -1;
        }
        if (ld->c->ind[i].kind == IND_RATIO) {
                cfgload_fail(
                    &ld->cl, ratio->line,
                    "ratio \"%s\" names ratio \"%s\" as its %s; it must be a count or an amount",
                    ratio->code, ld->c->ind[i].code, role);
                return -1;
        }
        return i;
}

/* Resolve every ratio and fill the reverse lists; 0 or -1 after cfgload_fail(). */
static int
link_ratios(struct loader *ld)
{
        struct catalog *c = ld->c;

        for (size_t i = 0; i < c->n; i++) {
                struct indicator *ind = &c->ind[i];

                if (ind->kind != IND_RATIO)
                        continue;
                if ((ind->num = resolve(ld, ind, ld->num_text[i], "numerator")) < 0 ||
                    (ind->den = resolve(ld, ind, ld->den_text[i], "denominator")) < 0)
                        return -1;
        }
        /* Count first so each list is allocated once, at its size. */
        for (size_t i = 0; i < c->n; i++) {
                struct indicator *ind = &c->ind[i];

                if (ind->kind != IND_RATIO)
                        continue;
                c->ind[ind->num].nratios++;
                if (ind->den != ind->num)
                        c->ind[ind->den].nratios++;
        }
        for (size_t i = 0; i < c->n; i++) {
                if (c->ind[i].nratios > 0)
                        c->ind[i].ratios = xcalloc(c->ind[i].nratios, sizeof(int));
                c->ind[i].nratios = 0;
        }
        for (size_t i = 0; i < c->n; i++) {
                struct indicator *ind = &c->ind[i];

                if (ind->kind != IND_RATIO)
                        continue;
                c->ind[ind->num].ratios[c->ind[ind->num].nratios++] = (int)i;
                if (ind->den != ind->num)
                        c->ind[ind->den].ratios[c->ind[ind->den].nratios++] = (int)i;
        }
        return 0;
}

static const struct cfgload_file indicators_csv = {
    .cols = columns,
    .ncols = C_NCOLS,
    .header = "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals",
    .row = add_row,
};

struct catalog *
catalog_load(const char *path, char *err, size_t errlen)
{
        struct loader ld = {.cl = {.path = path, .err = err, .errlen = errlen}};

        ld.c = xcalloc(1, sizeof(*ld.c));
        ld.c->index = xcalloc(1, sizeof(*ld.c->index));
        ld.c->index->map = strmap_new(64);
        if (cfgload_read(&ld.cl, &indicators_csv, &ld) != 0 || link_ratios(&ld) != 0) {
                loader_free(&ld);
                catalog_destroy(&ld.c);
                return NULL;
        }
        loader_free(&ld);
        return ld.c;
}

int
catalog_find(const struct catalog *c, const char *code, size_t len)
{
        return strmap_get(c->index->map, code, len);
}

void
catalog_destroy(struct catalog **cp)
{
        struct catalog *c;

        if (cp == NULL || (c = *cp) == NULL)
                return;
        for (size_t i = 0; i < c->n; i++) {
                struct indicator *ind = &c->ind[i];

                free(ind->code);
                free(ind->name_zh);
                free(ind->name_en);
                free(ind->unit);
                free(ind->multiplier_text);
                free(ind->ratios);
        }
        free(c->ind);
        if (c->index != NULL)
                strmap_destroy(&c->index->map);
        free(c->index);
        free(c);
        *cp = NULL;
}
