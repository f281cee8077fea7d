/*
 * catalog: the indicator catalogue, loaded from indicators.csv.
 *
 * Header: code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals
 * (columns in any order; extra columns are ignored).
 *
 *   count   a non-negative integer                 (scale 0)
 *   amount  a non-negative decimal, at most `decimals` fraction digits
 *           (0..DECIMAL_MAX_SCALE; empty means 0)
 *   ratio   derived: multiplier * Σnumerator / Σdenominator, where both
 *           name count/amount indicators; multiplier empty means 1.  Never
 *           submitted.
 *
 * Loading checks that the file holds together and stops at the first
 * problem with "FILE:LINE: problem": a duplicate or malformed code, an
 * unknown kind, a ratio naming a missing indicator or another ratio, a bad
 * multiplier or decimals.  Codes are 1..64 bytes of [A-Za-z0-9_.-].
 */
#ifndef EDUSTAT_CATALOG_H
#define EDUSTAT_CATALOG_H

#include <stddef.h>

#include "util.h"

#define CATALOG_MAX_INDICATORS 4096
#define CATALOG_CODE_MAX       64

enum indicator_kind { IND_COUNT, IND_AMOUNT, IND_RATIO };

struct indicator {
        char *code;
        char *name_zh;
        char *name_en;
        char *unit;
        enum indicator_kind kind;
        unsigned scale;         /* count/amount: decimals (count: 0); ratio: the
                                   `decimals` column as given, display only */
        int num, den;           /* ratio: indices of numerator and denominator;
                                   else -1 */
        long double multiplier; /* ratio: as parsed; else 1 */
        char *multiplier_text;  /* ratio: the text as written ("100"); else "1" */
        int *ratios;            /* count/amount: indices of the ratios that
                                   use this indicator as numerator or
                                   denominator (each listed once) */
        size_t nratios;
        unsigned long line; /* where it was defined */
};

struct catalog {
        struct indicator *ind;
        size_t n;
        struct catalog_index *index; /* private: code -> position */
};

/*
 * Load path.  Returns an owned catalogue, or NULL with "FILE:LINE: problem"
 * in err.
 */
EDUSTAT_MUST_USE struct catalog *catalog_load(const char *path, char *err, size_t errlen);

/* Index of the indicator with this code, or -1. */
int catalog_find(const struct catalog *c, const char *code, size_t len);

/* Free; accepts NULL and sets *cp to NULL. */
void catalog_destroy(struct catalog **cp);

/* "count", "amount", "ratio". */
const char *indicator_kind_name(enum indicator_kind k);

#endif
