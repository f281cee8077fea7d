/*
 * config: the org tree and the catalogue of one config directory.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvread.h"
#include "period.h"
#include "util.h"

/* periods.csv holds a few rounds a year; far more is a mistake. */
#define CONFIG_MAX_PERIODS 1000

int
config_periods_load(struct config *c, char *err, size_t errlen)
{
        static const struct csvread_column cols[] = {{"period", 1}};
        size_t len = strlen(c->dir) + sizeof("/periods.csv");
        char *path = xmalloc(len), msg[256];
        struct csvread *r;
        struct csvrow row;
        int pos, st, n, header = 0, rc = -1;

        strlcpyf(path, len, "%s/periods.csv", c->dir);
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                free(path);
                return 0;
        }
        if ((r = csvread_open(path, err, errlen)) == NULL) {
                free(path);
                return -1;
        }
        c->periods = strmap_new(16);
        while ((st = csvread_next(r, &row, msg, sizeof(msg))) != CSVREAD_EOF) {
                const char *p;
                size_t plen;

                if (st != CSVREAD_ROW) {
                        strlcpyf(err, errlen, "%s:%lu: %s", path, row.line, msg);
                        goto out;
                }
                if (!header++) {
                        if (csvread_columns(&row, cols, 1, &pos, msg, sizeof(msg)) < 0) {
                                strlcpyf(err, errlen, "%s:%lu: %s", path, row.line, msg);
                                goto out;
                        }
                        continue;
                }
                plen = (size_t)pos < row.nfields ? row.lens[pos] : 0;
                p = csvread_trim((size_t)pos < row.nfields ? row.fields[pos] : "", &plen);
                if (!period_valid(p, plen)) {
                        strlcpyf(err, errlen,
                                 "%s:%lu: period \"%.*s\" is not YYYY, YYYYS1-S2, YYYYQ1-Q4 or "
                                 "YYYYMM",
                                 path, row.line, (int)(plen > 64 ? 64 : plen), p);
                        goto out;
                }
                if (strmap_count(c->periods) >= CONFIG_MAX_PERIODS) {
                        strlcpyf(err, errlen, "%s:%lu: more than %d periods", path, row.line,
                                 CONFIG_MAX_PERIODS);
                        goto out;
                }
                n = (int)strmap_count(c->periods);
                if (strmap_put(c->periods, p, plen, n) != n) {
                        strlcpyf(err, errlen, "%s:%lu: period %.*s is listed twice", path, row.line,
                                 (int)plen, p);
                        goto out;
                }
        }
        if (!header) {
                strlcpyf(err, errlen, "%s:1: no header row (period,opens,due)", path);
                goto out;
        }
        rc = 1;
out:
        if (rc < 0)
                strmap_destroy(&c->periods);
        csvread_close(&r);
        free(path);
        return rc;
}

struct config *
config_load(const char *dir, char *err, size_t errlen)
{
        struct config *c = xcalloc(1, sizeof(*c));
        size_t len = strlen(dir) + sizeof("/indicators.csv");
        char *path = xmalloc(len);

        c->dir = xstrdup(dir);
        strlcpyf(path, len, "%s/orgunits.csv", dir);
        c->tree = orgtree_load(path, err, errlen);
        if (c->tree != NULL) {
                strlcpyf(path, len, "%s/indicators.csv", dir);
                c->cat = catalog_load(path, err, errlen);
        }
        free(path);
        if (c->tree == NULL || c->cat == NULL)
                config_destroy(&c);
        return c;
}

void
config_destroy(struct config **cp)
{
        struct config *c;

        if (cp == NULL || (c = *cp) == NULL)
                return;
        orgtree_destroy(&c->tree);
        catalog_destroy(&c->cat);
        strmap_destroy(&c->periods);
        free(c->dir);
        free(c);
        *cp = NULL;
}
