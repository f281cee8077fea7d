/*
 * bulletin: the 统计公报 (statistical bulletin) of edustat-report, for one
 * unit and one period, in HTML, xlsx, Markdown or JSON.
 *
 * Sections in the bulletin's usual order, each where it has figures: 综合,
 * 学前教育, 义务教育, 小学, 初中, 高中阶段, 特殊教育.  Which indicator goes in
 * which section, and which are key indicators (charted, and columns of the
 * table of the units below), comes from the config's optional bulletin.csv
 * (section,indicator,chart), else from the catalogue and forms.csv
 * (sink/sql/report/bulletin_catalog.sql says how).  A section has: one
 * sentence per indicator of the unit in Chinese, with the change on the
 * same period a year earlier (agg_change) where there is one; a table of
 * the units one level below with the key indicators; a bar chart of those
 * units per key indicator, with the target as a line where one is in force
 * for their level; a line chart of the unit's key rates (in %) over the
 * stored periods of the same kind.  Then the targets in force (met or
 * missed, and the units that miss each), the 优质均衡 of each county (each
 * 差异系数 against its limit, chart), 上报率 and data quality.
 *
 * Every figure is the database's decimal text (sink/sql/report/
 * bulletin_*.sql say how each is rounded); doubles only place chart shapes.
 * The HTML is one file with inline SVG and CSS, no script and nothing from
 * the network; every figure is on its element as data- attributes
 * (data-unit, data-indicator, data-value, data-previous, data-change,
 * data-change-pct, data-points), the same as the JSON carries.
 */
#ifndef EDUSTAT_TOOLS_BULLETIN_H
#define EDUSTAT_TOOLS_BULLETIN_H

#include <stddef.h>

#include <libpq-fe.h>

/* Most rows of bulletin.csv. */
#define BULLETIN_MAX_ROWS 2000
/* Most units one level below that the tables and charts show. */
#define BULLETIN_MAX_CHILDREN 64

enum bulletin_format { BULLETIN_HTML, BULLETIN_XLSX, BULLETIN_MD, BULLETIN_JSON };

/* One figure as the sentence needs it: texts, NULL when absent. */
struct bulletin_fig {
        const char *name;       /* the indicator's Chinese name */
        const char *unit;       /* its unit of measure, "" for none */
        int ratio;              /* 1 for a ratio */
        const char *value;      /* this period's value */
        const char *previous;   /* the same period a year earlier */
        const char *change;     /* value - previous (a ratio's rounded) */
        const char *change_pct; /* a count's or amount's change in % (none after 0) */
        const char *points;     /* a ratio in %: the change in percentage points */
};

/*
 * Write the sentence of f into buf (len bytes, NUL-terminated): 在校生数
 * 1260人，比上年增加12人，增长0.96%。 / 辍学率0.10%，比上年降低0.02个百分点。 /
 * nothing about a change without a previous value.  Returns 0, or -1 when
 * it does not fit (buf then holds a truncated text).
 */
int bulletin_sentence(char *buf, size_t len, const struct bulletin_fig *f);

/*
 * Write the bulletin of unit (a current unit of the tree) for period (a
 * valid period) to path in format fmt, read through conn (not owned) and
 * the config directory config_dir (for bulletin.csv; NULL: none).  On
 * success prints "PATH: N sections, M figures" to stdout and returns 0.
 * On failure returns 2 after one message on stderr naming the unit, the
 * period, "bulletin.csv:LINE: problem" or the file; a partly written file
 * is removed.
 */
int bulletin_run(PGconn *conn, const char *unit, const char *period, enum bulletin_format fmt,
                 const char *path, const char *config_dir);

#endif
