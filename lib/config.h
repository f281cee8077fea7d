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
};

/*
 * Load dir/orgunits.csv and dir/indicators.csv.  Returns an owned config, or
 * NULL with the first problem in err.
 */
EDUSTAT_MUST_USE struct config *config_load(const char *dir, char *err, size_t errlen);

/* Free; accepts NULL and sets *cp to NULL. */
void config_destroy(struct config **cp);

#endif
