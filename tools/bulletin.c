/*
 * bulletin: the 统计公报 of edustat-report.  See bulletin.h.
 *
 * Seven reads (sink/sql/report/bulletin_*.sql: the unit, the catalogue
 * with the default layout, the figures of the unit and of the units one
 * level below, the unit's rates over the periods, the targets in force,
 * the 优质均衡 of the counties, 上报率 and quality), then the layout
 * (bulletin.csv or the default), then one writer per format walks the same
 * model.  The results are bounded by the tree and the catalogue;
 * bulletin.csv by BULLETIN_MAX_ROWS; the units below by
 * BULLETIN_MAX_CHILDREN.
 */
#include "bulletin.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "cfgload.h"
#include "sinksql.h"
#include "strmap.h"
#include "svg.h"
#include "util.h"

/* The sections in the bulletin's usual order. */
enum { NSECTIONS = 7 };
static const char *const section_name[NSECTIONS] = {
    "综合", "学前教育", "义务教育", "小学", "初中", "高中阶段", "特殊教育",
};
static const char *const numeral[] = {"一", "二", "三", "四", "五",   "六",
                                      "七", "八", "九", "十", "十一", "十二"};

/* Columns of the reads. */
enum { CAT_CODE, CAT_NAME, CAT_UNIT, CAT_KIND, CAT_DECIMALS, CAT_SECTION, CAT_CHART };
enum {
        FIG_UNIT,
        FIG_NAME,
        FIG_SELF,
        FIG_IND,
        FIG_VALUE,
        FIG_PREV,
        FIG_CHANGE,
        FIG_PCT,
        FIG_POINTS,
        FIG_GEOM
};
enum { SER_PERIOD, SER_IND, SER_VALUE, SER_GEOM };
enum {
        TGT_LINE,
        TGT_IND,
        TGT_STAGE,
        TGT_OP,
        TGT_TARGET,
        TGT_LEVEL,
        TGT_SOURCE,
        TGT_UNIT,
        TGT_NAME,
        TGT_VALUE,
        TGT_MET
};
enum { BAL_UNIT, BAL_NAME, BAL_STAGE, BAL_IND, BAL_CV, BAL_MAX, BAL_OK, BAL_PASSES, BAL_GEOM };
enum { CMP_UNIT, CMP_NAME, CMP_DIST, CMP_EXPECTED, CMP_REPORTED, CMP_RATE };

/* An indicator placed in a section. */
struct bind {
        int cat;     /* its row of the catalogue */
        int section; /* index into section_name */
        int chart;   /* a key indicator */
};

/* A target line of targets.csv in force, and its rows in tgt. */
struct btarget {
        int first, n;             /* rows first..first+n-1 of tgt */
        int met, missed, no_data; /* units */
};

struct bulletin {
        const char *unit, *period;
        PGresult *uni, *cat, *fig, *ser, *tgt, *bal, *cmp;
        struct strmap *catmap; /* indicator code -> cat row */
        struct strmap *figmap; /* "unit\x1findicator" -> fig row */
        struct strmap *seen;   /* bulletin.csv: "section\x1findicator" */
        struct bind *inds;
        size_t ninds, indcap;
        int child[BULLETIN_MAX_CHILDREN]; /* a fig row of each unit below */
        size_t nchild, children_cut;      /* shown, and left out past the cap */
        struct btarget *targets;
        size_t ntargets;
        int nfigures; /* figures written (the summary line) */
        int nsections;
        char key[512];
        char err[512];
};

static const char *
cat_s(const struct bulletin *b, int row, int col)
{
        return PQgetvalue(b->cat, row, col);
}

static PGresult *
read_rows(PGconn *c, const char *sql, int n, const char *unit, const char *period)
{
        const char *params[2] = {unit, period};
        PGresult *r = PQexecParams(c, sql, n, NULL, n ? params : NULL, NULL, NULL, 0);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "edustat-report: reading the database: %s",
                        PQresultErrorMessage(r));
                PQclear(r);
                return NULL;
        }
        return r;
}

/* The fig row of unit's indicator, or -1. */
static int
fig_of(struct bulletin *b, const char *unit, const char *ind)
{
        int n = snprintf(b->key, sizeof b->key, "%s\x1f%s", unit, ind);

        if (n < 0 || (size_t)n >= sizeof b->key)
                return -1;
        return strmap_get(b->figmap, b->key, (size_t)n);
}

static int
section_index(const char *s, size_t len)
{
        for (int k = 0; k < NSECTIONS; k++)
                if (strlen(section_name[k]) == len && memcmp(section_name[k], s, len) == 0)
                        return k;
        return -1;
}

static void
ind_add(struct bulletin *b, int cat, int section, int chart)
{
        if (b->ninds == b->indcap) {
                b->indcap = b->indcap ? b->indcap * 2 : 64;
                b->inds = xreallocarray(b->inds, b->indcap, sizeof *b->inds);
        }
        b->inds[b->ninds++] = (struct bind){.cat = cat, .section = section, .chart = chart};
}

/* ------------------------------------------------------------ bulletin.csv */

enum { L_SECTION, L_INDICATOR, L_CHART, L_NCOLS };
static const struct csvread_column layout_cols[L_NCOLS] = {
    [L_SECTION] = {"section", 1}, [L_INDICATOR] = {"indicator", 1}, [L_CHART] = {"chart", 0}};

struct layout_loader {
        struct cfgload cl;
        struct bulletin *b;
};

static int
layout_row(void *ctx, const struct csvrow *row, const int *col)
{
        struct layout_loader *ld = ctx;
        struct bulletin *b = ld->b;
        struct cfgload_field sec = cfgload_column(row, col, L_SECTION);
        struct cfgload_field ind = cfgload_column(row, col, L_INDICATOR);
        struct cfgload_field chart = cfgload_column(row, col, L_CHART);
        int k = section_index(sec.s, sec.len), cat, n;

        if (k < 0) {
                cfgload_fail(&ld->cl, row->line,
                             "unknown section \"%.*s\" (综合, 学前教育, 义务教育, 小学, 初中, "
                             "高中阶段 or 特殊教育)",
                             cfgload_show(sec.s, sec.len), sec.s);
                return -1;
        }
        if (!cfgload_code_valid(ind.s, ind.len, 64) ||
            (cat = strmap_get(b->catmap, ind.s, ind.len)) < 0) {
                cfgload_fail(&ld->cl, row->line, "no indicator \"%.*s\" in indicators.csv",
                             cfgload_show(ind.s, ind.len), ind.s);
                return -1;
        }
        if (!(chart.len == 0 || (chart.len == 3 && memcmp(chart.s, "yes", 3) == 0) ||
              (chart.len == 2 && memcmp(chart.s, "no", 2) == 0))) {
                cfgload_fail(&ld->cl, row->line, "chart \"%.*s\" is not yes, no or empty",
                             cfgload_show(chart.s, chart.len), chart.s);
                return -1;
        }
        n = snprintf(b->key, sizeof b->key, "%d\x1f%.*s", k, (int)ind.len, ind.s);
        if (strmap_get(b->seen, b->key, (size_t)n) >= 0) {
                cfgload_fail(&ld->cl, row->line, "indicator %.*s listed twice in section %s",
                             (int)ind.len, ind.s, section_name[k]);
                return -1;
        }
        if (strmap_put(b->seen, b->key, (size_t)n, 0) < 0) {
                cfgload_fail(&ld->cl, row->line, "too many rows");
                return -1;
        }
        ind_add(b, cat, k, chart.len == 3);
        return 0;
}

static const struct cfgload_file layout_csv = {.cols = layout_cols,
                                               .ncols = L_NCOLS,
                                               .header = "section,indicator,chart",
                                               .optional = 1,
                                               .header_hint = 1,
                                               .max_rows = BULLETIN_MAX_ROWS,
                                               .row = layout_row};

/* The layout: bulletin.csv in config_dir when it has rows, else the default. */
static int
layout_load(struct bulletin *b, const char *config_dir)
{
        if (config_dir != NULL) {
                char path[1024];
                struct layout_loader ld = {.b = b};

                strlcpyf(path, sizeof path, "%s/bulletin.csv", config_dir);
                ld.cl = (struct cfgload){.path = path, .err = b->err, .errlen = sizeof b->err};
                b->seen = strmap_new(64);
                if (cfgload_read(&ld.cl, &layout_csv, &ld) != 0) {
                        fprintf(stderr, "edustat-report: %s\n", b->err);
                        return -1;
                }
                if (b->ninds > 0)
                        return 0;
        }
        for (int i = 0; i < PQntuples(b->cat); i++) {
                int k;

                if (PQgetisnull(b->cat, i, CAT_SECTION))
                        continue;
                k = section_index(cat_s(b, i, CAT_SECTION), strlen(cat_s(b, i, CAT_SECTION)));
                if (k >= 0)
                        ind_add(b, i, k, *cat_s(b, i, CAT_CHART) == 't');
        }
        return 0;
}

/* ------------------------------------------------------------ the wording */

static int
is_negative(const char *s)
{
        return *s == '-';
}

static int
is_zero(const char *s)
{
        for (s += *s == '-'; *s; s++)
                if (*s != '0' && *s != '.')
                        return 0;
        return 1;
}

static const char *
magnitude(const char *s)
{
        return s + (*s == '-');
}

int
bulletin_sentence(char *buf, size_t len, const struct bulletin_fig *f)
{
        struct textbuf s = {.buf = buf, .cap = len};
        /* 生师比 reads 15.20:1, and its change is a bare number. */
        int per = strcmp(f->unit, "人/人") == 0, pct = strcmp(f->unit, "%") == 0;
        const char *u = per ? "" : f->unit;

        if (len == 0)
                return -1;
        buf[0] = '\0';
        if (f->value == NULL) {
                textbuf_add(&s, "%s暂无数据。", f->name);
                return s.full ? -1 : 0;
        }
        textbuf_add(&s, "%s%s%s", f->name, f->value, per ? ":1" : u);
        if (f->previous != NULL && f->change != NULL) {
                if (f->ratio && pct && f->points != NULL) {
                        if (is_zero(f->points))
                                textbuf_add(&s, "，与上年持平");
                        else
                                textbuf_add(&s, "，比上年%s%s个百分点",
                                            is_negative(f->points) ? "降低" : "提高",
                                            magnitude(f->points));
                } else if (is_zero(f->change)) {
                        textbuf_add(&s, "，与上年持平");
                } else {
                        textbuf_add(&s, "，比上年%s%s%s", is_negative(f->change) ? "减少" : "增加",
                                    magnitude(f->change), u);
                        if (!f->ratio && f->change_pct != NULL)
                                textbuf_add(&s, "，%s%s%%",
                                            is_negative(f->change_pct) ? "下降" : "增长",
                                            magnitude(f->change_pct));
                }
        }
        textbuf_add(&s, "。");
        return s.full ? -1 : 0;
}

/* The sentence of fig row r. */
static void
fig_sentence(struct bulletin *b, int r, char *buf, size_t len)
{
        int cat = strmap_get(b->catmap, PQgetvalue(b->fig, r, FIG_IND),
                             strlen(PQgetvalue(b->fig, r, FIG_IND)));
        const char *ratio = cat >= 0 ? cat_s(b, cat, CAT_KIND) : "";
#define OPT(col) (PQgetisnull(b->fig, r, col) ? NULL : PQgetvalue(b->fig, r, col))
        struct bulletin_fig f = {
            .name = cat >= 0 ? cat_s(b, cat, CAT_NAME) : PQgetvalue(b->fig, r, FIG_IND),
            .unit = cat >= 0 ? cat_s(b, cat, CAT_UNIT) : "",
            .ratio = strcmp(ratio, "ratio") == 0,
            .value = OPT(FIG_VALUE),
            .previous = OPT(FIG_PREV),
            .change = OPT(FIG_CHANGE),
            .change_pct = OPT(FIG_PCT),
            .points = OPT(FIG_POINTS),
        };
#undef OPT
        (void)bulletin_sentence(buf, len, &f);
}

/* ------------------------------------------------------------ the model */

/* The row of the unit's own figure of indicator j when j is in section k, or -1. */
static int
own_fig(struct bulletin *b, size_t j, int k)
{
        if (b->inds[j].section != k)
                return -1;
        return fig_of(b, b->unit, cat_s(b, b->inds[j].cat, CAT_CODE));
}

/* 1 when section k has a figure of the unit or of a unit below. */
static int
section_has(struct bulletin *b, int k)
{
        for (size_t j = 0; j < b->ninds; j++) {
                const char *code = cat_s(b, b->inds[j].cat, CAT_CODE);

                if (b->inds[j].section != k)
                        continue;
                if (fig_of(b, b->unit, code) >= 0)
                        return 1;
                for (size_t c = 0; c < b->nchild; c++)
                        if (fig_of(b, PQgetvalue(b->fig, b->child[c], FIG_UNIT), code) >= 0)
                                return 1;
        }
        return 0;
}

/* The target in force for the units below on indicator code (no stage), or NULL. */
static const struct btarget *
child_target(struct bulletin *b, const char *code)
{
        for (size_t t = 0; t < b->ntargets; t++) {
                int r = b->targets[t].first;

                if (strcmp(PQgetvalue(b->tgt, r, TGT_IND), code) != 0 ||
                    *PQgetvalue(b->tgt, r, TGT_STAGE) != '\0')
                        continue;
                for (int k = r; k < r + b->targets[t].n; k++)
                        for (size_t c = 0; c < b->nchild; c++)
                                if (strcmp(PQgetvalue(b->tgt, k, TGT_UNIT),
                                           PQgetvalue(b->fig, b->child[c], FIG_UNIT)) == 0)
                                        return &b->targets[t];
        }
        return NULL;
}

static int
model_build(struct bulletin *b)
{
        b->catmap = strmap_new((size_t)PQntuples(b->cat));
        for (int i = 0; i < PQntuples(b->cat); i++)
                if (strmap_put(b->catmap, cat_s(b, i, CAT_CODE), strlen(cat_s(b, i, CAT_CODE)), i) <
                    0)
                        return -1;
        b->figmap = strmap_new((size_t)PQntuples(b->fig));
        for (int i = 0; i < PQntuples(b->fig); i++) {
                int n = snprintf(b->key, sizeof b->key, "%s\x1f%s", PQgetvalue(b->fig, i, FIG_UNIT),
                                 PQgetvalue(b->fig, i, FIG_IND));

                if (n < 0 || (size_t)n >= sizeof b->key ||
                    strmap_put(b->figmap, b->key, (size_t)n, i) < 0)
                        return -1;
                if (*PQgetvalue(b->fig, i, FIG_SELF) == 't' ||
                    (b->nchild > 0 &&
                     strcmp(PQgetvalue(b->fig, i, FIG_UNIT),
                            PQgetvalue(b->fig, b->child[b->nchild - 1], FIG_UNIT)) == 0))
                        continue;
                if (b->nchild == BULLETIN_MAX_CHILDREN) {
                        if (i == 0 || strcmp(PQgetvalue(b->fig, i, FIG_UNIT),
                                             PQgetvalue(b->fig, i - 1, FIG_UNIT)) != 0)
                                b->children_cut++;
                        continue;
                }
                b->child[b->nchild++] = i;
        }
        for (int i = 0; i < PQntuples(b->tgt); i++) {
                if (i > 0 && strcmp(PQgetvalue(b->tgt, i, TGT_LINE),
                                    PQgetvalue(b->tgt, i - 1, TGT_LINE)) == 0) {
                        b->targets[b->ntargets - 1].n++;
                } else {
                        b->targets = xreallocarray(b->targets, b->ntargets + 1, sizeof *b->targets);
                        b->targets[b->ntargets++] = (struct btarget){.first = i, .n = 1};
                }
                if (PQgetisnull(b->tgt, i, TGT_MET))
                        b->targets[b->ntargets - 1].no_data++;
                else if (*PQgetvalue(b->tgt, i, TGT_MET) == 't')
                        b->targets[b->ntargets - 1].met++;
                else
                        b->targets[b->ntargets - 1].missed++;
        }
        return 0;
}

static const char *
stage_zh(const char *stage)
{
        static const struct {
                const char *code, *zh;
        } names[] = {{"kindergarten", "幼儿园"},
                     {"primary", "小学"},
                     {"junior", "初中"},
                     {"senior", "高中"},
                     {"special", "特殊教育"}};

        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                if (strcmp(stage, names[k].code) == 0)
                        return names[k].zh;
        return stage;
}

/* A level of the tree as a reader says it; other labels as they are. */
static const char *
level_zh(const char *level)
{
        return strcmp(level, "city") == 0       ? "市"
               : strcmp(level, "district") == 0 ? "区县"
               : strcmp(level, "town") == 0     ? "乡镇"
               : strcmp(level, "school") == 0   ? "学校"
                                                : level;
}

static const char *
ind_name(struct bulletin *b, const char *code)
{
        int cat = strmap_get(b->catmap, code, strlen(code));

        return cat >= 0 ? cat_s(b, cat, CAT_NAME) : code;
}

static const char *
ind_unit(struct bulletin *b, const char *code)
{
        int cat = strmap_get(b->catmap, code, strlen(code));

        return cat >= 0 ? cat_s(b, cat, CAT_UNIT) : "";
}

/* ------------------------------------------------------------ JSON */

static void
json_str(FILE *f, const char *s)
{
        if (s == NULL) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch < 0x20)
                        fprintf(f, "\\u%04x", ch);
                else
                        fputc(ch, f);
        }
        fputc('"', f);
}

static const char *
fig_opt(struct bulletin *b, int r, int col)
{
        return PQgetisnull(b->fig, r, col) ? NULL : PQgetvalue(b->fig, r, col);
}

static void
json_fig(struct bulletin *b, FILE *f, int r, int *first)
{
        fputs(*first ? "\n      {\"unit\": " : ",\n      {\"unit\": ", f);
        *first = 0;
        json_str(f, PQgetvalue(b->fig, r, FIG_UNIT));
        fputs(", \"indicator\": ", f);
        json_str(f, PQgetvalue(b->fig, r, FIG_IND));
        fputs(", \"value\": ", f);
        json_str(f, fig_opt(b, r, FIG_VALUE));
        fputs(", \"previous\": ", f);
        json_str(f, fig_opt(b, r, FIG_PREV));
        fputs(", \"change\": ", f);
        json_str(f, fig_opt(b, r, FIG_CHANGE));
        fputs(", \"change_pct\": ", f);
        json_str(f, fig_opt(b, r, FIG_PCT));
        fputs(", \"points\": ", f);
        json_str(f, fig_opt(b, r, FIG_POINTS));
        if (*PQgetvalue(b->fig, r, FIG_SELF) == 't') {
                char text[1024];

                fig_sentence(b, r, text, sizeof text);
                fputs(", \"text\": ", f);
                json_str(f, text);
        }
        fputc('}', f);
        b->nfigures++;
}

static void
json_write(struct bulletin *b, FILE *f)
{
        int firstsec = 1;

        fputs("{\"unit\": ", f);
        json_str(f, b->unit);
        fputs(", \"name\": ", f);
        json_str(f, PQgetvalue(b->uni, 0, 1));
        fputs(", \"period\": ", f);
        json_str(f, b->period);
        fputs(",\n  \"sections\": [", f);
        for (int k = 0; k < NSECTIONS; k++) {
                int first = 1, firstkey = 1;

                if (!section_has(b, k))
                        continue;
                fputs(firstsec ? "\n    {\"name\": " : ",\n    {\"name\": ", f);
                firstsec = 0;
                json_str(f, section_name[k]);
                fputs(", \"key\": [", f);
                for (size_t j = 0; j < b->ninds; j++)
                        if (b->inds[j].section == k && b->inds[j].chart) {
                                fputs(firstkey ? "" : ", ", f);
                                firstkey = 0;
                                json_str(f, cat_s(b, b->inds[j].cat, CAT_CODE));
                        }
                fputs("], \"figures\": [", f);
                for (size_t j = 0; j < b->ninds; j++) {
                        const char *code = cat_s(b, b->inds[j].cat, CAT_CODE);
                        int r;

                        if (b->inds[j].section != k)
                                continue;
                        if ((r = fig_of(b, b->unit, code)) >= 0)
                                json_fig(b, f, r, &first);
                        for (size_t c = 0; b->inds[j].chart && c < b->nchild; c++)
                                if ((r = fig_of(b, PQgetvalue(b->fig, b->child[c], FIG_UNIT),
                                                code)) >= 0)
                                        json_fig(b, f, r, &first);
                }
                fputs("]}", f);
        }
        fputs("],\n  \"targets\": [", f);
        for (size_t t = 0; t < b->ntargets; t++) {
                const struct btarget *g = &b->targets[t];
                int r = g->first;

                fprintf(f, "%s\n    {\"line\": %s, \"indicator\": ", t ? "," : "",
                        PQgetvalue(b->tgt, r, TGT_LINE));
                json_str(f, PQgetvalue(b->tgt, r, TGT_IND));
                fputs(", \"stage\": ", f);
                json_str(f, *PQgetvalue(b->tgt, r, TGT_STAGE) ? PQgetvalue(b->tgt, r, TGT_STAGE)
                                                              : NULL);
                fputs(", \"op\": ", f);
                json_str(f, PQgetvalue(b->tgt, r, TGT_OP));
                fputs(", \"target\": ", f);
                json_str(f, PQgetvalue(b->tgt, r, TGT_TARGET));
                fputs(", \"level\": ", f);
                json_str(f, PQgetvalue(b->tgt, r, TGT_LEVEL));
                fprintf(f, ", \"met\": %d, \"missed\": %d, \"no_data\": %d, \"units\": [", g->met,
                        g->missed, g->no_data);
                for (int k = r; k < r + g->n; k++) {
                        fputs(k > r ? ", {\"unit\": " : "{\"unit\": ", f);
                        json_str(f, PQgetvalue(b->tgt, k, TGT_UNIT));
                        fputs(", \"value\": ", f);
                        json_str(f, PQgetisnull(b->tgt, k, TGT_VALUE)
                                        ? NULL
                                        : PQgetvalue(b->tgt, k, TGT_VALUE));
                        fprintf(f, ", \"met\": %s}",
                                PQgetisnull(b->tgt, k, TGT_MET)          ? "null"
                                : *PQgetvalue(b->tgt, k, TGT_MET) == 't' ? "true"
                                                                         : "false");
                }
                fputs("]}", f);
        }
        fputs("],\n  \"balance\": [", f);
        for (int r = 0; r < PQntuples(b->bal); r++) {
                fputs(r ? ",\n    {\"unit\": " : "\n    {\"unit\": ", f);
                json_str(f, PQgetvalue(b->bal, r, BAL_UNIT));
                fputs(", \"stage\": ", f);
                json_str(f, PQgetvalue(b->bal, r, BAL_STAGE));
                fputs(", \"indicator\": ", f);
                json_str(f, PQgetvalue(b->bal, r, BAL_IND));
                fputs(", \"cv\": ", f);
                json_str(f, PQgetisnull(b->bal, r, BAL_CV) ? NULL : PQgetvalue(b->bal, r, BAL_CV));
                fputs(", \"cv_max\": ", f);
                json_str(f, PQgetvalue(b->bal, r, BAL_MAX));
                fprintf(f, ", \"cv_ok\": %s, \"passes\": %s}",
                        PQgetisnull(b->bal, r, BAL_OK)          ? "null"
                        : *PQgetvalue(b->bal, r, BAL_OK) == 't' ? "true"
                                                                : "false",
                        PQgetisnull(b->bal, r, BAL_PASSES)          ? "null"
                        : *PQgetvalue(b->bal, r, BAL_PASSES) == 't' ? "true"
                                                                    : "false");
        }
        fputs("],\n  \"completeness\": {\"units\": [", f);
        for (int r = 0, first = 1; r < PQntuples(b->cmp); r++) {
                if (strcmp(PQgetvalue(b->cmp, r, CMP_DIST), "2") == 0) {
                        fprintf(f, "], \"schools_with_warnings\": %s, \"schools_unexplained\": %s",
                                PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                PQgetvalue(b->cmp, r, CMP_REPORTED));
                        continue;
                }
                fputs(first ? "\n    {\"unit\": " : ",\n    {\"unit\": ", f);
                first = 0;
                json_str(f, PQgetvalue(b->cmp, r, CMP_UNIT));
                fprintf(f, ", \"expected\": %s, \"reported\": %s, \"rate\": ",
                        PQgetvalue(b->cmp, r, CMP_EXPECTED), PQgetvalue(b->cmp, r, CMP_REPORTED));
                json_str(f, PQgetvalue(b->cmp, r, CMP_RATE));
                fputc('}', f);
        }
        fputs("}}\n", f);
}

/* ------------------------------------------------------------ charts */

/* The bar chart of the units below on key indicator code. */
static void
chart_children(struct bulletin *b, FILE *f, const char *code)
{
        const char *labels[BULLETIN_MAX_CHILDREN];
        double values[BULLETIN_MAX_CHILDREN], limit[BULLETIN_MAX_CHILDREN];
        const struct btarget *t = child_target(b, code);
        char title[256], limit_label[128];
        int any = 0;

        if (b->nchild == 0)
                return;
        for (size_t c = 0; c < b->nchild; c++) {
                int r = fig_of(b, PQgetvalue(b->fig, b->child[c], FIG_UNIT), code);

                labels[c] = PQgetvalue(b->fig, b->child[c], FIG_NAME);
                values[c] = r >= 0 && !PQgetisnull(b->fig, r, FIG_GEOM)
                                ? strtod(PQgetvalue(b->fig, r, FIG_GEOM), NULL)
                                : NAN;
                any |= !isnan(values[c]);
                limit[c] = t ? strtod(PQgetvalue(b->tgt, t->first, TGT_TARGET), NULL) : NAN;
        }
        if (!any)
                return;
        strlcpyf(title, sizeof title, "各单位%s", ind_name(b, code));
        if (t)
                strlcpyf(limit_label, sizeof limit_label, "目标 %s %s",
                         PQgetvalue(b->tgt, t->first, TGT_OP),
                         PQgetvalue(b->tgt, t->first, TGT_TARGET));
        svg_bars_write(f, &(struct svg_bars){.title = title,
                                             .unit = ind_unit(b, code),
                                             .ngroups = b->nchild,
                                             .nseries = 1,
                                             .group_labels = labels,
                                             .series_labels = labels,
                                             .values = values,
                                             .limits = t ? limit : NULL,
                                             .limit_label = limit_label});
}

/* The line chart of the unit's key rates of section k over the periods. */
static void
chart_series(struct bulletin *b, FILE *f, int k)
{
        const char *periods[SVG_MAX_GROUPS], *names[4];
        double values[4 * SVG_MAX_GROUPS];
        size_t np = 0, ns = 0;
        int first = 0;

        /* The last SVG_MAX_GROUPS periods. */
        for (int r = 0, n = 0; r < PQntuples(b->ser); r++)
                if (r == 0 || strcmp(PQgetvalue(b->ser, r, SER_PERIOD),
                                     PQgetvalue(b->ser, r - 1, SER_PERIOD)) != 0)
                        if (++n > SVG_MAX_GROUPS)
                                first = r, n = SVG_MAX_GROUPS;
        for (int r = first; r < PQntuples(b->ser); r++)
                if (r == first || strcmp(PQgetvalue(b->ser, r, SER_PERIOD),
                                         PQgetvalue(b->ser, r - 1, SER_PERIOD)) != 0)
                        periods[np++] = PQgetvalue(b->ser, r, SER_PERIOD);
        if (np < 2)
                return;
        for (size_t j = 0; j < b->ninds && ns < 4; j++) {
                const char *code = cat_s(b, b->inds[j].cat, CAT_CODE);
                int any = 0;

                if (b->inds[j].section != k || !b->inds[j].chart)
                        continue;
                for (size_t p = 0; p < np; p++)
                        values[ns * np + p] = NAN;
                for (int r = first, p = -1; r < PQntuples(b->ser); r++) {
                        if (r == first || strcmp(PQgetvalue(b->ser, r, SER_PERIOD),
                                                 PQgetvalue(b->ser, r - 1, SER_PERIOD)) != 0)
                                p++;
                        if (strcmp(PQgetvalue(b->ser, r, SER_IND), code) == 0) {
                                values[ns * np + (size_t)p] =
                                    strtod(PQgetvalue(b->ser, r, SER_GEOM), NULL);
                                any = 1;
                        }
                }
                if (any)
                        names[ns++] = ind_name(b, code);
        }
        if (ns == 0)
                return;
        svg_lines_write(f, &(struct svg_lines){.title = "主要比率历年变化",
                                               .unit = "%",
                                               .npoints = np,
                                               .nseries = ns,
                                               .point_labels = periods,
                                               .series_labels = names,
                                               .values = values});
}

/* The 差异系数 of the counties against the limit, one chart per stage. */
static void
chart_balance(struct bulletin *b, FILE *f)
{
        for (int r = 0; r < PQntuples(b->bal);) {
                const char *stage = PQgetvalue(b->bal, r, BAL_STAGE);
                const char *groups[SVG_MAX_GROUPS], *series[SVG_MAX_SERIES];
                double values[SVG_MAX_GROUPS * SVG_MAX_SERIES], limits[SVG_MAX_GROUPS];
                size_t ng = 0, ns = 0;
                char title[128];
                int end = r;

                /* Rows are by unit, then stage: gather this stage's rows of every unit. */
                for (size_t k = 0; k < SVG_MAX_GROUPS * SVG_MAX_SERIES; k++)
                        values[k] = NAN;
                for (int q = 0; q < PQntuples(b->bal); q++) {
                        size_t g, s;

                        if (strcmp(PQgetvalue(b->bal, q, BAL_STAGE), stage) != 0)
                                continue;
                        for (g = 0; g < ng; g++)
                                if (strcmp(groups[g],
                                           ind_name(b, PQgetvalue(b->bal, q, BAL_IND))) == 0)
                                        break;
                        if (g == ng && ng < SVG_MAX_GROUPS) {
                                groups[ng] = ind_name(b, PQgetvalue(b->bal, q, BAL_IND));
                                limits[ng++] = strtod(PQgetvalue(b->bal, q, BAL_MAX), NULL);
                        }
                        for (s = 0; s < ns; s++)
                                if (strcmp(series[s], PQgetvalue(b->bal, q, BAL_NAME)) == 0)
                                        break;
                        if (s == ns && ns < SVG_MAX_SERIES)
                                series[ns++] = PQgetvalue(b->bal, q, BAL_NAME);
                        if (g < ng && s < ns && !PQgetisnull(b->bal, q, BAL_GEOM))
                                values[g * SVG_MAX_SERIES + s] =
                                    strtod(PQgetvalue(b->bal, q, BAL_GEOM), NULL);
                }
                /* Pack the rows from SVG_MAX_SERIES wide to ns wide. */
                for (size_t g = 0; g < ng; g++)
                        for (size_t s = 0; s < ns; s++)
                                values[g * ns + s] = values[g * SVG_MAX_SERIES + s];
                strlcpyf(title, sizeof title, "%s差异系数", stage_zh(stage));
                svg_bars_write(f, &(struct svg_bars){.title = title,
                                                     .unit = "",
                                                     .ngroups = ng,
                                                     .nseries = ns,
                                                     .group_labels = groups,
                                                     .series_labels = series,
                                                     .values = values,
                                                     .limits = limits,
                                                     .limit_label = "差异系数上限"});
                /* Next: the first row of a stage not yet drawn. */
                for (end = r + 1; end < PQntuples(b->bal); end++) {
                        int drawn = 0;

                        for (int q = 0; q < end && !drawn; q++)
                                drawn = strcmp(PQgetvalue(b->bal, q, BAL_STAGE),
                                               PQgetvalue(b->bal, end, BAL_STAGE)) == 0;
                        if (!drawn)
                                break;
                }
                r = end;
        }
}

/* ------------------------------------------------------------ HTML and Markdown */

static const char css[] =
    "@page{size:A4;margin:18mm 16mm}\n"
    "body{font-family:'Noto Serif CJK SC','Noto Sans CJK SC','WenQuanYi Zen Hei','Source Han "
    "Serif SC','SimSun',serif;font-size:11pt;line-height:1.7;color:#111;max-width:180mm;"
    "margin:0 auto;padding:8mm 0}\n"
    "h1{text-align:center;font-size:18pt;margin:0 0 4mm}\n"
    "p.meta{text-align:center;color:#555;font-size:9pt}\n"
    "h2{font-size:13pt;border-bottom:1px solid #999;margin-top:8mm;break-after:avoid;"
    "page-break-after:avoid}\n"
    "p{text-indent:2em;margin:2mm 0}\n"
    "table{border-collapse:collapse;width:100%;font-size:9pt;margin:3mm 0;break-inside:avoid;"
    "page-break-inside:avoid}\n"
    "th,td{border:1px solid #888;padding:1mm 2mm}\n"
    "th{background:#eef1f5}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.miss{color:#b00}\n"
    "section.targets td{white-space:nowrap}\n"
    "section.targets td.miss{white-space:normal}\n"
    "table.balance th{font-size:8pt;font-weight:normal}\n"
    "table.balance td{white-space:nowrap}\n"
    "td:first-child{white-space:nowrap}\n"
    "div.charts{display:grid;grid-template-columns:1fr 1fr;gap:2mm 4mm;margin:3mm 0}\n"
    "div.charts.wide{grid-template-columns:1fr}\n"
    "svg.chart{width:100%;height:auto;break-inside:avoid;page-break-inside:avoid}\n"
    "section{break-before:auto}\n"
    "@media print{h2{page-break-after:avoid}section.sec{page-break-inside:auto}}\n";

static void
html_fig_attrs(struct bulletin *b, FILE *f, int r)
{
        static const struct {
                const char *attr;
                int col;
        } a[] = {{"data-value", FIG_VALUE},
                 {"data-previous", FIG_PREV},
                 {"data-change", FIG_CHANGE},
                 {"data-change-pct", FIG_PCT},
                 {"data-points", FIG_POINTS}};

        fputs(" data-unit=\"", f);
        svg_put_text(f, PQgetvalue(b->fig, r, FIG_UNIT));
        fputs("\" data-indicator=\"", f);
        svg_put_text(f, PQgetvalue(b->fig, r, FIG_IND));
        fputc('"', f);
        for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
                if (!PQgetisnull(b->fig, r, a[k].col)) {
                        fprintf(f, " %s=\"", a[k].attr);
                        svg_put_text(f, PQgetvalue(b->fig, r, a[k].col));
                        fputc('"', f);
                }
        b->nfigures++;
}

/* The text of a value for a table: the figure's value or an em dash. */
static const char *
cell_text(struct bulletin *b, int r)
{
        return r >= 0 && !PQgetisnull(b->fig, r, FIG_VALUE) ? PQgetvalue(b->fig, r, FIG_VALUE)
                                                            : "—";
}

static void
md_put(FILE *f, const char *s)
{
        /* A table cell: a | would end it. */
        for (; *s; s++)
                fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, f);
}

/* A Markdown table's rule: lead, n right-aligned columns, tail. */
static void
md_rule(FILE *f, const char *lead, size_t n, const char *tail)
{
        fputs(lead, f);
        for (size_t i = 0; i < n; i++)
                fputs("---:|", f);
        fputs(tail, f);
}

static void
put(FILE *f, int html, const char *s)
{
        if (html)
                svg_put_text(f, s);
        else
                md_put(f, s);
}

/* The table of the units below on section k's key indicators. */
static void
table_children(struct bulletin *b, FILE *f, int html, int k)
{
        size_t nkey = 0;

        for (size_t j = 0; j < b->ninds; j++)
                nkey += b->inds[j].section == k && b->inds[j].chart;
        if (nkey == 0 || b->nchild == 0)
                return;
        fputs(html ? "<table class=\"units\"><thead><tr><th>单位</th>" : "\n| 单位 |", f);
        for (size_t j = 0; j < b->ninds; j++) {
                const char *code = cat_s(b, b->inds[j].cat, CAT_CODE);

                if (b->inds[j].section != k || !b->inds[j].chart)
                        continue;
                fputs(html ? "<th>" : " ", f);
                put(f, html, cat_s(b, b->inds[j].cat, CAT_NAME));
                if (*ind_unit(b, code)) {
                        fputs("(", f);
                        put(f, html, ind_unit(b, code));
                        fputs(")", f);
                }
                fputs(html ? "</th>" : " |", f);
        }
        if (html) {
                fputs("</tr></thead><tbody>\n", f);
        } else {
                md_rule(f, "\n|---|", nkey, "\n");
        }
        for (size_t c = 0; c < b->nchild; c++) {
                const char *unit = PQgetvalue(b->fig, b->child[c], FIG_UNIT);

                fputs(html ? "<tr><td>" : "| ", f);
                put(f, html, PQgetvalue(b->fig, b->child[c], FIG_NAME));
                fputs(html ? "</td>" : " |", f);
                for (size_t j = 0; j < b->ninds; j++) {
                        int r;

                        if (b->inds[j].section != k || !b->inds[j].chart)
                                continue;
                        r = fig_of(b, unit, cat_s(b, b->inds[j].cat, CAT_CODE));
                        if (html) {
                                fputs("<td class=\"n\"", f);
                                if (r >= 0)
                                        html_fig_attrs(b, f, r);
                                fputc('>', f);
                        } else {
                                fputc(' ', f);
                                b->nfigures += r >= 0;
                        }
                        put(f, html, cell_text(b, r));
                        fputs(html ? "</td>" : " |", f);
                }
                fputs(html ? "</tr>\n" : "\n", f);
        }
        if (html)
                fputs("</tbody></table>\n", f);
        if (b->children_cut > 0)
                fprintf(f, html ? "<p>另有%zu个单位未列出。</p>\n" : "\n另有%zu个单位未列出。\n",
                        b->children_cut);
}

static void
section_write(struct bulletin *b, FILE *f, int html, int k, int num)
{
        int any = 0;

        if (html) {
                fprintf(f, "<section class=\"sec\" data-section=\"%s\"><h2>%s、%s</h2>\n<p>",
                        section_name[k], numeral[num], section_name[k]);
        } else {
                fprintf(f, "\n## %s、%s\n\n", numeral[num], section_name[k]);
        }
        for (size_t j = 0; j < b->ninds; j++) {
                int r = own_fig(b, j, k);
                char text[1024];

                if (r < 0)
                        continue;
                fig_sentence(b, r, text, sizeof text);
                if (html) {
                        fputs("<span class=\"fig\"", f);
                        html_fig_attrs(b, f, r);
                        fputc('>', f);
                        svg_put_text(f, text);
                        fputs("</span>", f);
                } else {
                        fputs(text, f);
                        b->nfigures++;
                }
                any = 1;
        }
        if (!any)
                fputs(html ? "本单位本期无本部分数据。" : "本单位本期无本部分数据。", f);
        fputs(html ? "</p>\n" : "\n", f);
        table_children(b, f, html, k);
        if (html) {
                fputs("<div class=\"charts\">\n", f);
                for (size_t j = 0; j < b->ninds; j++)
                        if (b->inds[j].section == k && b->inds[j].chart)
                                chart_children(b, f, cat_s(b, b->inds[j].cat, CAT_CODE));
                chart_series(b, f, k);
                fputs("</div>\n</section>\n", f);
        }
}

static void
targets_write(struct bulletin *b, FILE *f, int html, int num)
{
        if (b->ntargets == 0)
                return;
        if (html)
                fprintf(f,
                        "<section class=\"targets\"><h2>%s、目标完成情况</h2>\n<table><thead><tr>"
                        "<th>指标</th><th>目标</th><th>适用</th><th>达标</th><th>未达标</th>"
                        "<th>无数据</th><th>未达标单位</th></tr></thead><tbody>\n",
                        numeral[num]);
        else
                fprintf(f,
                        "\n## %s、目标完成情况\n\n| 指标 | 目标 | 适用 | 达标 | 未达标 | 无数据 | "
                        "未达标单位 |\n|---|---|---|---:|---:|---:|---|\n",
                        numeral[num]);
        for (size_t t = 0; t < b->ntargets; t++) {
                const struct btarget *g = &b->targets[t];
                int r = g->first, shown = 0;

                if (html)
                        fprintf(f,
                                "<tr data-line=\"%s\" data-met=\"%d\" data-missed=\"%d\" "
                                "data-no-data=\"%d\"><td>",
                                PQgetvalue(b->tgt, r, TGT_LINE), g->met, g->missed, g->no_data);
                else
                        fputs("| ", f);
                put(f, html, ind_name(b, PQgetvalue(b->tgt, r, TGT_IND)));
                if (*PQgetvalue(b->tgt, r, TGT_STAGE)) {
                        fputs("(", f);
                        put(f, html, stage_zh(PQgetvalue(b->tgt, r, TGT_STAGE)));
                        fputs(")", f);
                }
                fputs(html ? "</td><td>" : " | ", f);
                put(f, html, PQgetvalue(b->tgt, r, TGT_OP));
                fputs(" ", f);
                put(f, html, PQgetvalue(b->tgt, r, TGT_TARGET));
                fputs(html ? "</td><td>" : " | ", f);
                put(f, html, level_zh(PQgetvalue(b->tgt, r, TGT_LEVEL)));
                fprintf(f,
                        html ? "</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td "
                               "class=\"n\">%d</td><td class=\"miss\">"
                             : " | %d | %d | %d | ",
                        g->met, g->missed, g->no_data);
                for (int q = r; q < r + g->n; q++) {
                        if (PQgetisnull(b->tgt, q, TGT_MET) ||
                            *PQgetvalue(b->tgt, q, TGT_MET) == 't')
                                continue;
                        if (shown == 20) {
                                fprintf(f, " 等%d个", g->missed);
                                break;
                        }
                        fputs(shown++ ? "、" : "", f);
                        put(f, html, PQgetvalue(b->tgt, q, TGT_NAME));
                        fputs("(", f);
                        put(f, html, PQgetvalue(b->tgt, q, TGT_VALUE));
                        fputs(")", f);
                }
                fputs(html ? "</td></tr>\n" : " |\n", f);
        }
        if (html)
                fputs("</tbody></table></section>\n", f);
}

/* 1 when row r of bal is the first of its stage. */
static int
bal_stage_first(struct bulletin *b, int r)
{
        for (int q = 0; q < r; q++)
                if (strcmp(PQgetvalue(b->bal, q, BAL_STAGE), PQgetvalue(b->bal, r, BAL_STAGE)) == 0)
                        return 0;
        return 1;
}

/* 1 when row r of bal is the first of its stage with its indicator. */
static int
bal_ind_first(struct bulletin *b, int r)
{
        for (int q = 0; q < r; q++)
                if (strcmp(PQgetvalue(b->bal, q, BAL_STAGE), PQgetvalue(b->bal, r, BAL_STAGE)) ==
                        0 &&
                    strcmp(PQgetvalue(b->bal, q, BAL_IND), PQgetvalue(b->bal, r, BAL_IND)) == 0)
                        return 0;
        return 1;
}

/* 达标 or 未达标 for the boolean at (r, col) of res, or if_null when it is NULL. */
static const char *
verdict(const PGresult *res, int r, int col, const char *if_null)
{
        return PQgetisnull(res, r, col)          ? if_null
               : *PQgetvalue(res, r, col) == 't' ? "达标"
                                                 : "未达标";
}

/*
 * One table per stage: a row per county, a column per indicator with its
 * 差异系数 (red past the limit), the limits in the header.  The rows of
 * bal are by county, then stage, then indicator.
 */
static void
balance_write(struct bulletin *b, FILE *f, int html, int num)
{
        if (PQntuples(b->bal) == 0)
                return;
        if (html)
                fprintf(f, "<section class=\"balance\"><h2>%s、义务教育优质均衡</h2>\n",
                        numeral[num]);
        else
                fprintf(f, "\n## %s、义务教育优质均衡\n", numeral[num]);
        for (int s = 0; s < PQntuples(b->bal); s++) {
                const char *stage = PQgetvalue(b->bal, s, BAL_STAGE);
                int ncols = 0;

                if (!bal_stage_first(b, s))
                        continue;
                fputs(html ? "<table class=\"balance\"><thead><tr><th>区县</th><th>学段</th>"
                           : "\n| 区县 | 学段 |",
                      f);
                for (int r = s; r < PQntuples(b->bal); r++) {
                        if (strcmp(PQgetvalue(b->bal, r, BAL_STAGE), stage) != 0 ||
                            !bal_ind_first(b, r))
                                continue;
                        fputs(html ? "<th>" : " ", f);
                        put(f, html, ind_name(b, PQgetvalue(b->bal, r, BAL_IND)));
                        fputs(html ? "<br>≤ " : " ≤ ", f);
                        put(f, html, PQgetvalue(b->bal, r, BAL_MAX));
                        fputs(html ? "</th>" : " |", f);
                        ncols++;
                }
                if (html) {
                        fputs("<th>差异系数达标</th><th>学段结论</th></tr></thead><tbody>\n", f);
                } else {
                        md_rule(f, " 差异系数达标 | 学段结论 |\n|---|---|", (size_t)ncols,
                                "---:|---|\n");
                }
                for (int r = 0; r < PQntuples(b->bal); r++) {
                        int ok = 0, n = 0, last = r;

                        if (strcmp(PQgetvalue(b->bal, r, BAL_STAGE), stage) != 0 ||
                            (r > 0 && strcmp(PQgetvalue(b->bal, r - 1, BAL_STAGE), stage) == 0 &&
                             strcmp(PQgetvalue(b->bal, r - 1, BAL_UNIT),
                                    PQgetvalue(b->bal, r, BAL_UNIT)) == 0))
                                continue;
                        fputs(html ? "<tr><td>" : "| ", f);
                        put(f, html, PQgetvalue(b->bal, r, BAL_NAME));
                        fputs(html ? "</td><td>" : " | ", f);
                        put(f, html, stage_zh(stage));
                        fputs(html ? "</td>" : " |", f);
                        /* This county's rows of the stage, in the header's order. */
                        for (int h = s; h < PQntuples(b->bal); h++) {
                                int q;

                                if (strcmp(PQgetvalue(b->bal, h, BAL_STAGE), stage) != 0 ||
                                    !bal_ind_first(b, h))
                                        continue;
                                for (q = r; q < PQntuples(b->bal) &&
                                            strcmp(PQgetvalue(b->bal, q, BAL_UNIT),
                                                   PQgetvalue(b->bal, r, BAL_UNIT)) == 0;
                                     q++)
                                        if (strcmp(PQgetvalue(b->bal, q, BAL_STAGE), stage) == 0 &&
                                            strcmp(PQgetvalue(b->bal, q, BAL_IND),
                                                   PQgetvalue(b->bal, h, BAL_IND)) == 0)
                                                break;
                                if (q == PQntuples(b->bal) ||
                                    strcmp(PQgetvalue(b->bal, q, BAL_UNIT),
                                           PQgetvalue(b->bal, r, BAL_UNIT)) != 0) {
                                        fputs(html ? "<td class=\"n\">—</td>" : " — |", f);
                                        continue;
                                }
                                last = q;
                                n++;
                                ok += !PQgetisnull(b->bal, q, BAL_OK) &&
                                      *PQgetvalue(b->bal, q, BAL_OK) == 't';
                                if (html) {
                                        fprintf(f, "<td class=\"n%s\" data-unit=\"",
                                                PQgetisnull(b->bal, q, BAL_OK) ||
                                                        *PQgetvalue(b->bal, q, BAL_OK) != 't'
                                                    ? " miss"
                                                    : "");
                                        svg_put_text(f, PQgetvalue(b->bal, q, BAL_UNIT));
                                        fputs("\" data-stage=\"", f);
                                        svg_put_text(f, stage);
                                        fputs("\" data-indicator=\"", f);
                                        svg_put_text(f, PQgetvalue(b->bal, q, BAL_IND));
                                        fputs("\" data-cv=\"", f);
                                        if (!PQgetisnull(b->bal, q, BAL_CV))
                                                svg_put_text(f, PQgetvalue(b->bal, q, BAL_CV));
                                        fputs("\">", f);
                                } else {
                                        fputc(' ', f);
                                }
                                put(f, html,
                                    PQgetisnull(b->bal, q, BAL_CV) ? "—"
                                                                   : PQgetvalue(b->bal, q, BAL_CV));
                                fputs(html ? "</td>" : " |", f);
                        }
                        fprintf(f,
                                html ? "<td class=\"n\">%d/%d</td><td>%s</td></tr>\n"
                                     : " %d/%d | %s |\n",
                                ok, n, verdict(b->bal, last, BAL_PASSES, "—"));
                }
                if (html)
                        fputs("</tbody></table>\n", f);
        }
        if (html) {
                fputs("<p>差异系数为校际差异系数(按学生数加权)；学段结论另计学校达标情况"
                      "(balance_status)。</p>\n<div class=\"charts wide\">\n",
                      f);
                chart_balance(b, f);
                fputs("</div>\n</section>\n", f);
        }
}

static void
completeness_write(struct bulletin *b, FILE *f, int html, int num)
{
        if (html)
                fprintf(f,
                        "<section class=\"completeness\"><h2>%s、上报率与数据质量</h2>\n<table>"
                        "<thead><tr><th>单位</th><th>应报学校</th><th>已报</th><th>上报率(%%)</th>"
                        "</tr></thead><tbody>\n",
                        numeral[num]);
        else
                fprintf(f,
                        "\n## %s、上报率与数据质量\n\n| 单位 | 应报学校 | 已报 | 上报率(%%) "
                        "|\n|---|---:|---:|---:|\n",
                        numeral[num]);
        for (int r = 0; r < PQntuples(b->cmp); r++) {
                if (strcmp(PQgetvalue(b->cmp, r, CMP_DIST), "2") == 0) {
                        if (html)
                                fprintf(f,
                                        "</tbody></table>\n<p data-warnings=\"%s\" "
                                        "data-unexplained=\"%s\">审核：%s所学校有经验校验提示，"
                                        "其中%s所尚未说明。</p>\n",
                                        PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                        PQgetvalue(b->cmp, r, CMP_REPORTED),
                                        PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                        PQgetvalue(b->cmp, r, CMP_REPORTED));
                        else
                                fprintf(f, "\n审核：%s所学校有经验校验提示，其中%s所尚未说明。\n",
                                        PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                        PQgetvalue(b->cmp, r, CMP_REPORTED));
                        continue;
                }
                if (html) {
                        fputs("<tr data-unit=\"", f);
                        svg_put_text(f, PQgetvalue(b->cmp, r, CMP_UNIT));
                        fprintf(f, "\" data-expected=\"%s\" data-reported=\"%s\" data-rate=\"",
                                PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                PQgetvalue(b->cmp, r, CMP_REPORTED));
                        svg_put_text(f, PQgetvalue(b->cmp, r, CMP_RATE));
                        fputs("\"><td>", f);
                        svg_put_text(f, PQgetvalue(b->cmp, r, CMP_NAME));
                        fprintf(f,
                                "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td "
                                "class=\"n\">",
                                PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                PQgetvalue(b->cmp, r, CMP_REPORTED));
                        svg_put_text(f, PQgetvalue(b->cmp, r, CMP_RATE));
                        fputs("</td></tr>\n", f);
                } else {
                        fputs("| ", f);
                        md_put(f, PQgetvalue(b->cmp, r, CMP_NAME));
                        fprintf(f, " | %s | %s | %s |\n", PQgetvalue(b->cmp, r, CMP_EXPECTED),
                                PQgetvalue(b->cmp, r, CMP_REPORTED),
                                PQgetvalue(b->cmp, r, CMP_RATE));
                }
        }
        if (PQntuples(b->cmp) <= 1)
                fputs(html ? "<p>本期不在上报计划(periods.csv)内，无上报率。</p>\n"
                           : "\n本期不在上报计划(periods.csv)内，无上报率。\n",
                      f);
        if (html)
                fputs("</section>\n", f);
}

static void
text_write(struct bulletin *b, FILE *f, int html)
{
        const char *name = PQgetvalue(b->uni, 0, 1);
        int num = 0;

        if (html) {
                fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<title>",
                      f);
                svg_put_text(f, name);
                fprintf(f,
                        "%s教育事业发展统计公报</title>\n<style>\n%s</style>\n</head>\n<body "
                        "data-unit=\"",
                        b->period, css);
                svg_put_text(f, b->unit);
                fprintf(f, "\" data-period=\"%s\">\n<h1>", b->period);
                svg_put_text(f, name);
                fprintf(f, "%s年教育事业发展统计公报</h1>\n<p class=\"meta\">统计期 %s · 单位代码 ",
                        b->period, b->period);
                svg_put_text(f, b->unit);
                fputs(" · 数据来自 edustat，增减均与上年同期相比</p>\n", f);
        } else {
                fprintf(f,
                        "# %s%s年教育事业发展统计公报\n\n统计期 %s，单位代码 %s；"
                        "增减均与上年同期相比。\n",
                        name, b->period, b->period, b->unit);
        }
        for (int k = 0; k < NSECTIONS; k++)
                if (section_has(b, k))
                        section_write(b, f, html, k, num++);
        targets_write(b, f, html, num);
        num += b->ntargets > 0;
        balance_write(b, f, html, num);
        num += PQntuples(b->bal) > 0;
        completeness_write(b, f, html, num);
        if (html)
                fputs("</body>\n</html>\n", f);
}

/* ------------------------------------------------------------ xlsx */

/* A decimal text as a cell: a number, or the text when it is none. */
static void
xl_num(lxw_worksheet *ws, lxw_row_t y, lxw_col_t x, const char *s, lxw_format *fmt)
{
        char *end;
        double v;

        if (s == NULL)
                return;
        v = strtod(s, &end);
        if (*s && *end == '\0')
                worksheet_write_number(ws, y, x, v, fmt);
        else
                worksheet_write_string(ws, y, x, s, fmt);
}

static void
xl_section(struct bulletin *b, lxw_workbook *wb, int k, lxw_format *bold)
{
        lxw_worksheet *ws = workbook_add_worksheet(wb, section_name[k]);
        static const char *const head[] = {"指标",    "本期",       "上年同期", "增减",
                                           "增减(%)", "增减百分点", "说明"};
        lxw_row_t y = 2, top;
        lxw_col_t x;
        int chartno = 0;

        worksheet_write_string(ws, 0, 0, section_name[k], bold);
        for (x = 0; x < 7; x++)
                worksheet_write_string(ws, y, x, head[x], bold);
        worksheet_set_column(ws, 0, 0, 28, NULL);
        worksheet_set_column(ws, 6, 6, 60, NULL);
        for (size_t j = 0; j < b->ninds; j++) {
                int r = own_fig(b, j, k);
                char text[1024];

                if (r < 0)
                        continue;
                y++;
                worksheet_write_string(ws, y, 0, cat_s(b, b->inds[j].cat, CAT_NAME), NULL);
                xl_num(ws, y, 1, fig_opt(b, r, FIG_VALUE), NULL);
                xl_num(ws, y, 2, fig_opt(b, r, FIG_PREV), NULL);
                xl_num(ws, y, 3, fig_opt(b, r, FIG_CHANGE), NULL);
                xl_num(ws, y, 4, fig_opt(b, r, FIG_PCT), NULL);
                xl_num(ws, y, 5, fig_opt(b, r, FIG_POINTS), NULL);
                fig_sentence(b, r, text, sizeof text);
                worksheet_write_string(ws, y, 6, text, NULL);
                b->nfigures++;
        }
        if (b->nchild == 0)
                return;
        y += 2;
        top = y;
        worksheet_write_string(ws, y, 0, "单位", bold);
        x = 1;
        for (size_t j = 0; j < b->ninds; j++)
                if (b->inds[j].section == k && b->inds[j].chart)
                        worksheet_write_string(ws, y, x++, cat_s(b, b->inds[j].cat, CAT_NAME),
                                               bold);
        if (x == 1)
                return;
        for (size_t c = 0; c < b->nchild; c++) {
                const char *unit = PQgetvalue(b->fig, b->child[c], FIG_UNIT);

                y++;
                worksheet_write_string(ws, y, 0, PQgetvalue(b->fig, b->child[c], FIG_NAME), NULL);
                x = 1;
                for (size_t j = 0; j < b->ninds; j++) {
                        int r;

                        if (b->inds[j].section != k || !b->inds[j].chart)
                                continue;
                        r = fig_of(b, unit, cat_s(b, b->inds[j].cat, CAT_CODE));
                        if (r >= 0) {
                                xl_num(ws, y, x, fig_opt(b, r, FIG_VALUE), NULL);
                                b->nfigures++;
                        }
                        x++;
                }
        }
        /* A native column chart per key indicator, under the table. */
        x = 1;
        for (size_t j = 0; j < b->ninds; j++) {
                lxw_chart *ch;
                lxw_chart_series *s;

                if (b->inds[j].section != k || !b->inds[j].chart)
                        continue;
                ch = workbook_add_chart(wb, LXW_CHART_COLUMN);
                s = chart_add_series(ch, NULL, NULL);
                chart_series_set_categories(s, section_name[k], top + 1, 0,
                                            top + (lxw_row_t)b->nchild, 0);
                chart_series_set_values(s, section_name[k], top + 1, x, top + (lxw_row_t)b->nchild,
                                        x);
                chart_series_set_name(s, cat_s(b, b->inds[j].cat, CAT_NAME));
                chart_title_set_name(ch, cat_s(b, b->inds[j].cat, CAT_NAME));
                chart_legend_set_position(ch, LXW_CHART_LEGEND_NONE);
                worksheet_insert_chart(ws, y + 2 + (lxw_row_t)(chartno / 2) * 16,
                                       (lxw_col_t)((chartno % 2) * 4), ch);
                chartno++;
                x++;
        }
}

static void
xl_targets(struct bulletin *b, lxw_workbook *wb, lxw_format *bold)
{
        lxw_worksheet *ws = workbook_add_worksheet(wb, "目标完成情况");
        static const char *const head[] = {"行号",     "指标",     "学段", "比较", "目标",
                                           "适用层级", "单位代码", "单位", "数值", "达标"};
        lxw_row_t y = 0;

        for (lxw_col_t x = 0; x < 10; x++)
                worksheet_write_string(ws, y, x, head[x], bold);
        for (int r = 0; r < PQntuples(b->tgt); r++) {
                y++;
                xl_num(ws, y, 0, PQgetvalue(b->tgt, r, TGT_LINE), NULL);
                worksheet_write_string(ws, y, 1, ind_name(b, PQgetvalue(b->tgt, r, TGT_IND)), NULL);
                worksheet_write_string(ws, y, 2, PQgetvalue(b->tgt, r, TGT_STAGE), NULL);
                worksheet_write_string(ws, y, 3, PQgetvalue(b->tgt, r, TGT_OP), NULL);
                xl_num(ws, y, 4, PQgetvalue(b->tgt, r, TGT_TARGET), NULL);
                worksheet_write_string(ws, y, 5, PQgetvalue(b->tgt, r, TGT_LEVEL), NULL);
                worksheet_write_string(ws, y, 6, PQgetvalue(b->tgt, r, TGT_UNIT), NULL);
                worksheet_write_string(ws, y, 7, PQgetvalue(b->tgt, r, TGT_NAME), NULL);
                if (!PQgetisnull(b->tgt, r, TGT_VALUE))
                        xl_num(ws, y, 8, PQgetvalue(b->tgt, r, TGT_VALUE), NULL);
                worksheet_write_string(ws, y, 9, verdict(b->tgt, r, TGT_MET, "无数据"), NULL);
        }
}

static void
xl_balance(struct bulletin *b, lxw_workbook *wb, lxw_format *bold)
{
        lxw_worksheet *ws = workbook_add_worksheet(wb, "优质均衡");
        static const char *const head[] = {"区县代码", "区县", "学段",         "指标",
                                           "差异系数", "上限", "差异系数达标", "学段结论"};

        for (lxw_col_t x = 0; x < 8; x++)
                worksheet_write_string(ws, 0, x, head[x], bold);
        for (int r = 0; r < PQntuples(b->bal); r++) {
                lxw_row_t y = (lxw_row_t)r + 1;

                worksheet_write_string(ws, y, 0, PQgetvalue(b->bal, r, BAL_UNIT), NULL);
                worksheet_write_string(ws, y, 1, PQgetvalue(b->bal, r, BAL_NAME), NULL);
                worksheet_write_string(ws, y, 2, stage_zh(PQgetvalue(b->bal, r, BAL_STAGE)), NULL);
                worksheet_write_string(ws, y, 3, ind_name(b, PQgetvalue(b->bal, r, BAL_IND)), NULL);
                if (!PQgetisnull(b->bal, r, BAL_CV))
                        xl_num(ws, y, 4, PQgetvalue(b->bal, r, BAL_CV), NULL);
                xl_num(ws, y, 5, PQgetvalue(b->bal, r, BAL_MAX), NULL);
                worksheet_write_string(ws, y, 6, verdict(b->bal, r, BAL_OK, "无数据"), NULL);
                worksheet_write_string(ws, y, 7, verdict(b->bal, r, BAL_PASSES, ""), NULL);
        }
        if (PQntuples(b->bal) > 0) {
                lxw_chart *ch = workbook_add_chart(wb, LXW_CHART_COLUMN);
                lxw_chart_series *s = chart_add_series(ch, NULL, NULL);

                chart_series_set_categories(s, "优质均衡", 1, 3, (lxw_row_t)PQntuples(b->bal), 3);
                chart_series_set_values(s, "优质均衡", 1, 4, (lxw_row_t)PQntuples(b->bal), 4);
                chart_series_set_name(s, "差异系数");
                s = chart_add_series(ch, NULL, NULL);
                chart_series_set_values(s, "优质均衡", 1, 5, (lxw_row_t)PQntuples(b->bal), 5);
                chart_series_set_name(s, "上限");
                chart_title_set_name(ch, "差异系数与上限");
                worksheet_insert_chart(ws, 1, 9, ch);
        }
}

static void
xl_completeness(struct bulletin *b, lxw_workbook *wb, lxw_format *bold)
{
        lxw_worksheet *ws = workbook_add_worksheet(wb, "上报率与数据质量");
        static const char *const head[] = {"单位代码", "单位", "应报学校", "已报", "上报率(%)"};
        lxw_row_t y = 0;

        for (lxw_col_t x = 0; x < 5; x++)
                worksheet_write_string(ws, 0, x, head[x], bold);
        for (int r = 0; r < PQntuples(b->cmp); r++) {
                y++;
                if (strcmp(PQgetvalue(b->cmp, r, CMP_DIST), "2") == 0) {
                        worksheet_write_string(ws, y + 1, 0, "有经验校验提示的学校", NULL);
                        xl_num(ws, y + 1, 2, PQgetvalue(b->cmp, r, CMP_EXPECTED), NULL);
                        worksheet_write_string(ws, y + 2, 0, "其中未说明", NULL);
                        xl_num(ws, y + 2, 2, PQgetvalue(b->cmp, r, CMP_REPORTED), NULL);
                        continue;
                }
                worksheet_write_string(ws, y, 0, PQgetvalue(b->cmp, r, CMP_UNIT), NULL);
                worksheet_write_string(ws, y, 1, PQgetvalue(b->cmp, r, CMP_NAME), NULL);
                xl_num(ws, y, 2, PQgetvalue(b->cmp, r, CMP_EXPECTED), NULL);
                xl_num(ws, y, 3, PQgetvalue(b->cmp, r, CMP_REPORTED), NULL);
                xl_num(ws, y, 4, PQgetvalue(b->cmp, r, CMP_RATE), NULL);
        }
}

static int
xlsx_write(struct bulletin *b, const char *path)
{
        lxw_workbook *wb = workbook_new(path);
        lxw_format *bold;
        lxw_error err;

        if (wb == NULL) {
                fprintf(stderr, "edustat-report: %s: cannot create the workbook\n", path);
                return -1;
        }
        bold = workbook_add_format(wb);
        format_set_bold(bold);
        for (int k = 0; k < NSECTIONS; k++)
                if (section_has(b, k)) {
                        xl_section(b, wb, k, bold);
                        for (size_t j = 0; j < b->ninds; j++)
                                b->nfigures +=
                                    b->inds[j].section == k &&
                                    fig_of(b, b->unit, cat_s(b, b->inds[j].cat, CAT_CODE)) >= 0;
                }
        if (b->ntargets > 0)
                xl_targets(b, wb, bold);
        if (PQntuples(b->bal) > 0)
                xl_balance(b, wb, bold);
        xl_completeness(b, wb, bold);
        err = workbook_close(wb);
        if (err != LXW_NO_ERROR) {
                fprintf(stderr, "edustat-report: %s: %s\n", path, lxw_strerror(err));
                return -1;
        }
        return 0;
}

/* ------------------------------------------------------------ the run */

static void
bulletin_free(struct bulletin *b)
{
        PQclear(b->uni);
        PQclear(b->cat);
        PQclear(b->fig);
        PQclear(b->ser);
        PQclear(b->tgt);
        PQclear(b->bal);
        PQclear(b->cmp);
        strmap_destroy(&b->catmap);
        strmap_destroy(&b->figmap);
        strmap_destroy(&b->seen);
        free(b->inds);
        free(b->targets);
}

int
bulletin_run(PGconn *conn, const char *unit, const char *period, enum bulletin_format fmt,
             const char *path, const char *config_dir)
{
        struct bulletin b = {.unit = unit, .period = period};
        int rc = 2;

        if ((b.uni = read_rows(conn, sinksql_report_bulletin_unit, 2, unit, period)) == NULL)
                goto out;
        if (PQntuples(b.uni) != 1) {
                fprintf(stderr, "edustat-report: no unit %s in the org tree\n", unit);
                goto out;
        }
        if (*PQgetvalue(b.uni, 0, 4) != 't') {
                fprintf(stderr, "edustat-report: no value stored for period %s\n", period);
                goto out;
        }
        if ((b.cat = read_rows(conn, sinksql_report_bulletin_catalog, 0, NULL, NULL)) == NULL ||
            (b.fig = read_rows(conn, sinksql_report_bulletin_figures, 2, unit, period)) == NULL ||
            (b.ser = read_rows(conn, sinksql_report_bulletin_series, 2, unit, period)) == NULL ||
            (b.tgt = read_rows(conn, sinksql_report_bulletin_targets, 2, unit, period)) == NULL ||
            (b.bal = read_rows(conn, sinksql_report_bulletin_balance, 2, unit, period)) == NULL ||
            (b.cmp = read_rows(conn, sinksql_report_bulletin_completeness, 2, unit, period)) ==
                NULL)
                goto out;
        if (model_build(&b) != 0) {
                fprintf(stderr, "edustat-report: the bulletin of %s for %s is too large\n", unit,
                        period);
                goto out;
        }
        if (layout_load(&b, config_dir) != 0)
                goto out;
        b.nsections = 0;
        for (int k = 0; k < NSECTIONS; k++)
                b.nsections += section_has(&b, k);
        if (fmt == BULLETIN_XLSX) {
                if (xlsx_write(&b, path) != 0) {
                        unlink(path);
                        goto out;
                }
        } else {
                FILE *f = fopen(path, "w");

                if (f == NULL) {
                        fprintf(stderr, "edustat-report: %s: %s\n", path, strerror(errno));
                        goto out;
                }
                if (fmt == BULLETIN_JSON)
                        json_write(&b, f);
                else
                        text_write(&b, f, fmt == BULLETIN_HTML);
                if (ferror(f) | (fclose(f) != 0)) {
                        fprintf(stderr, "edustat-report: %s: cannot write: %s\n", path,
                                strerror(errno));
                        unlink(path);
                        goto out;
                }
        }
        printf("%s: %d sections, %d figures\n", path, b.nsections, b.nfigures);
        rc = 0;
out:
        bulletin_free(&b);
        return rc;
}
