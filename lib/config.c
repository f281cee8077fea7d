/*
 * config: the org tree and the catalogue of one config directory.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

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
        free(c->dir);
        free(c);
        *cp = NULL;
}
