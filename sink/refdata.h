/*
 * options: the optional files of the config directory that only the sink
 * reads, because only PostgreSQL's views use them (docs/SQL.md):
 *
 *   targets.csv  indicator,level,unit,stage,op,value,source
 *                the targets of the bureau plans and national standards;
 *                edustat.target_status compares every unit with them.
 *   periods.csv  period,opens,due
 *                the reporting rounds; edustat.completeness counts, per
 *                period, the schools that reported and those on time.
 *   balance.csv  standard,stage,indicator,school_min,cv_max
 *                the 优质均衡 resource standard (教督〔2017〕6号): per stage
 *                and indicator the minimum every school must reach and the
 *                largest between-school 差异系数; edustat.balance_* use it.
 *
 * Each file may be absent: the sink then loads an empty table and the views
 * built on it are empty.  A file that is present must hold together, and
 * loading stops at the first problem with "FILE:LINE: problem", the way the
 * org tree and the catalogue do: an unknown indicator, unit, level or stage,
 * a bad op, number, period or date, opens after due, a duplicate row.
 * Columns may come in any order, names are case-insensitive and extra
 * columns are ignored.  Numbers are non-negative decimals written plainly
 * ("95", "0.45"), kept as text so PostgreSQL stores them exactly.
 */
#ifndef EDUSTAT_SINK_OPTIONS_H
#define EDUSTAT_SINK_OPTIONS_H

#include <stddef.h>

#include "config.h"

/* Rows per file; a config past this is a mistake, not a city. */
#define OPTIONS_MAX_ROWS (1 << 20)
/* Longest source (targets.csv) and standard (balance.csv) text, in bytes. */
#define OPTIONS_TEXT_MAX 1024
/* Longest number as written. */
#define OPTIONS_NUMBER_MAX 40

/* One row of targets.csv. */
struct target {
        int indicator;  /* catalogue index */
        char *level;    /* a level label of orgunits.csv */
        int unit;       /* tree index, or -1: every unit of the level */
        char *stage;    /* "" = all schools */
        const char *op; /* ">=", "<=", "=", ">" or "<" (static text) */
        char *value;    /* the number as written */
        char *source;   /* the document; may be "" */
        unsigned long line;
};

/* One row of periods.csv; dates are YYYY-MM-DD. */
struct report_period {
        char *period;
        char opens[11];
        char due[11];
        unsigned long line;
};

/* One row of balance.csv; school_min or cv_max is NULL when left empty. */
struct balance_rule {
        char *standard;
        char *stage;
        int indicator; /* catalogue index */
        char *school_min;
        char *cv_max;
        unsigned long line;
};

struct options {
        struct target *targets;
        size_t ntargets;
        struct report_period *periods;
        size_t nperiods;
        struct balance_rule *rules;
        size_t nrules;
};

/*
 * Load targets.csv, periods.csv and balance.csv from cfg->dir, checking
 * units, levels, stages and indicators against cfg, which must outlive the
 * result only for the duration of the call (the result copies what it
 * keeps).  A missing file loads as no rows.  Returns an owned options, or
 * NULL with "FILE:LINE: problem" (or "FILE: problem") in err.
 */
struct options *options_load(const struct config *cfg, char *err, size_t errlen);

/* Free; accepts NULL and sets *op to NULL. */
void options_destroy(struct options **op);

#endif
