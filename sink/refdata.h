/*
 * refdata: the reference data the sink keeps in PostgreSQL, loaded from the
 * config directory at every start, before the sink binds.  The views
 * offices query (docs/SQL.md) join these tables; the uows never touch them.
 *
 *   orgunits.csv    -> edustat.orgunit, and the tree's (ancestor, unit)
 *                      pairs in edustat.orgunit_closure
 *   indicators.csv  -> edustat.indicator
 *
 * The unit and indicator tables are upserted (INSERT ... ON CONFLICT (code)
 * DO UPDATE), never emptied: a unit or indicator dropped from the config
 * keeps its row, because unit_value, value_replaced and rejected rows may
 * still name it (a dropped unit is marked current = false).  The other
 * tables are replaced.
 *
 * Four optional files are read by the sink (forms.csv also by the
 * collector's template command), because only
 * PostgreSQL's views use them:
 *
 *   targets.csv  indicator,level,unit,stage,op,value,source and optional
 *                from,to (the periods it is in force, empty: open) and
 *                baseline_period,baseline (with to: a path, target_path);
 *                the targets of the bureau plans and national standards;
 *                edustat.target_status compares every unit with them.
 *   periods.csv  period,opens,due
 *                the reporting rounds; edustat.completeness counts, per
 *                period, the schools that reported and those on time.
 *   balance.csv  standard,stage,indicator,school_min,cv_max
 *                the 优质均衡 resource standard (教督〔2017〕6号): per stage
 *                and indicator the minimum every school must reach and the
 *                largest between-school 差异系数; edustat.balance_* use it.
 *   forms.csv    stage,indicator
 *                the indicators each stage's schools report (lib/forms.h);
 *                edustat.completeness counts a school as reported once it
 *                stores all of its form, and edustat.form_owed lists what
 *                each still owes.
 *
 * A fifth, rules.csv (审核, lib/rules.h), is read by the aggregator too;
 * the sink checks it with the same code (rules_load_optional, so a bad file
 * stops both with the same "rules.csv:LINE: problem") and stores it in
 * edustat.rule, which the views and `edustat-sink --check` read.
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
#ifndef EDUSTAT_SINK_REFDATA_H
#define EDUSTAT_SINK_REFDATA_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "forms.h"
#include "rules.h"
#include "pg.h"

/* Rows per file; a config past this is a mistake, not a city. */
#define REFDATA_MAX_ROWS (1 << 20)
/* Longest source (targets.csv) and standard (balance.csv) text, in bytes. */
#define REFDATA_TEXT_MAX 1024
/* Longest number as written. */
#define REFDATA_NUMBER_MAX 40

/* One row of targets.csv. */
struct target {
        int indicator;         /* catalogue index */
        char *level;           /* a level label of orgunits.csv */
        int unit;              /* tree index, or -1: every unit of the level */
        char *stage;           /* "" = all schools */
        const char *op;        /* ">=", "<=", "=", ">" or "<" (static text) */
        char *value;           /* the number as written */
        char *source;          /* the document; may be "" */
        char *from;            /* first period in force, or "": no start */
        char *to;              /* last period in force (and, with a baseline, due by), or "" */
        char *baseline_period; /* where the path starts, or "" (then to may be "") */
        char *baseline;        /* its value as the document states it, or "": stored */
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

struct refdata {
        struct target *targets;
        size_t ntargets;
        struct report_period *periods;
        size_t nperiods;
        struct balance_rule *rules;
        size_t nrules;
        struct forms *forms; /* NULL without forms.csv */
        struct rules *rs;    /* rules.csv (审核), owned; never NULL in a loaded refdata */
};

/*
 * Load targets.csv, periods.csv, balance.csv, forms.csv and rules.csv from cfg->dir, checking
 * units, levels, stages and indicators against cfg, which must outlive the
 * result only for the duration of the call (the result copies what it
 * keeps).  A missing file loads as no rows.  Returns an owned refdata, or
 * NULL with "FILE:LINE: problem" (or "FILE: problem") in err.
 */
struct refdata *refdata_load(const struct config *cfg, char *err, size_t errlen);

/* Free; accepts NULL and sets *op to NULL. */
void refdata_destroy(struct refdata **op);

/*
 * Upsert every org unit and indicator of cfg into edustat.orgunit and
 * edustat.indicator in one transaction (COPY into temp tables, then
 * INSERT ... ON CONFLICT (code) DO UPDATE).  Empty optional fields are
 * stored as NULL.  In the same transaction, replace the contents of
 * edustat.orgunit_closure (the tree's (ancestor, unit) pairs) and of
 * edustat.target, report_period, balance_rule, form and rule with the optional
 * targets.csv, periods.csv, balance.csv, forms.csv and rules.csv of cfg->dir (refdata_load;
 * an absent file empties its table).  A malformed optional file returns
 * DB_ERROR with "FILE:LINE: problem" in err before the database is
 * touched.  On DB_OK sets *nunits and *nind to the rows loaded.  Returns
 * DB_OK, DB_RETRY (connection; reconnect and call again) or DB_ERROR with
 * "loading DIR/FILE: reason" in err.
 */
enum db_result refdata_store(PGconn *conn, const struct config *cfg, size_t *nunits, size_t *nind,
                             char *err, size_t errlen);

#endif
