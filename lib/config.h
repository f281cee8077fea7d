/*
 * config: the config directory (EDUSTAT_CONFIG, default ./config) as one
 * object: the org-unit tree and the indicator catalogue.  Daemons load it
 * once at start and exit with the loader's "FILE:LINE: problem" when it does
 * not hold together.
 */
#ifndef EDUSTAT_CONFIG_H
#define EDUSTAT_CONFIG_H

#include <stddef.h>

#include "catalog.h"
#include "orgtree.h"
#include "strmap.h"
#include "util.h"

struct config {
        char *dir;
        struct orgtree *tree;
        struct catalog *cat;
        /*
         * The years of the periods new records may name, inclusive; 0 and 0
         * (config_load's default) take any.  The aggregator sets a window
         * around its clock, so that no client can fill the period table the
         * others share with far-off periods.
         */
        int period_year_min, period_year_max;
        /*
         * The periods periods.csv lists (config_periods_load), or NULL when
         * there is no such file.  When set, it is the list of periods new
         * records may name, and the window above does not apply.
         */
        struct strmap *periods;
};

/*
 * Load dir/orgunits.csv and dir/indicators.csv.  Returns an owned config, or
 * NULL with the first problem in err.
 */
EDUSTAT_MUST_USE struct config *config_load(const char *dir, char *err, size_t errlen);

/*
 * Read the period column of dir/periods.csv (period,opens,due; the other
 * columns are the sink's) into c->periods.  Returns 1 when the file was
 * read, 0 when there is none (c->periods stays NULL), or -1 with
 * "FILE:LINE: problem" in err: a bad period (not YYYY, YYYYS1-S2,
 * YYYYQ1-Q4 or YYYYMM), a duplicate, an unreadable row or file.
 */
EDUSTAT_MUST_USE int config_periods_load(struct config *c, char *err, size_t errlen);

/* Free; accepts NULL and sets *cp to NULL. */
void config_destroy(struct config **cp);

#endif
