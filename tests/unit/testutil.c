#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "orgtree.h"
#include "rules.h"

/* The group's directory; "" when testutil_dir_setup has not run. */
static char group_dir[TESTUTIL_PATH];

int
testutil_tmpdir(char *dir, size_t len)
{
        static const char tmpl[] = "/tmp/edustat_test.XXXXXX";

        if (len < sizeof(tmpl))
                return -1;
        memcpy(dir, tmpl, sizeof(tmpl));
        return mkdtemp(dir) == NULL ? -1 : 0;
}

int
testutil_rmtree(const char *dir)
{
        char cmd[TESTUTIL_PATH + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

int
testutil_dir_setup(void **state)
{
        (void)state;
        return testutil_tmpdir(group_dir, sizeof(group_dir));
}

int
testutil_dir_teardown(void **state)
{
        int rc;

        (void)state;
        rc = testutil_rmtree(group_dir);
        group_dir[0] = '\0';
        return rc;
}

const char *
testutil_dir(void)
{
        assert_true(group_dir[0] != '\0');
        return group_dir;
}

int
testutil_fixture_setup(void **state, const char *name)
{
        struct testutil_fixture *fx = calloc(1, sizeof(*fx));

        if (fx == NULL || testutil_tmpdir(fx->dir, sizeof(fx->dir)) < 0) {
                free(fx);
                return -1;
        }
        snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
        *state = fx;
        return 0;
}

int
testutil_fixture_teardown(void **state)
{
        struct testutil_fixture *fx = *state;
        int rc = testutil_rmtree(fx->dir);

        free(fx);
        *state = NULL;
        return rc;
}

void
testutil_write(const char *dir, const char *name, const void *data, size_t len, char *path,
               size_t pathlen)
{
        char p[TESTUTIL_PATH];
        FILE *fp;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        if (path != NULL)
                snprintf(path, pathlen, "%s", p);
        if ((fp = fopen(p, "wb")) == NULL)
                fail_msg("cannot write %s", p);
        assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

void
testutil_put(const char *name, const char *text)
{
        testutil_write(testutil_dir(), name, text, strlen(text), NULL, 0);
}

struct config *
testutil_config_write(const char *dir, const char *orgunits, const char *indicators)
{
        struct config *cfg;
        char err[512];

        testutil_write(dir, "orgunits.csv", orgunits, strlen(orgunits), NULL, 0);
        testutil_write(dir, "indicators.csv", indicators, strlen(indicators), NULL, 0);
        if ((cfg = config_load(dir, err, sizeof(err))) == NULL)
                print_error("%s\n", err);
        return cfg;
}

struct rules *
testutil_rules(const struct config *cfg, const char *csv)
{
        char dir[TESTUTIL_PATH], path[TESTUTIL_PATH], err[512];
        struct rules *rs;

        assert_int_equal(testutil_tmpdir(dir, sizeof(dir)), 0);
        testutil_write(dir, "rules.csv", csv, strlen(csv), path, sizeof(path));
        rs = rules_load(path, cfg->cat, cfg->tree, err, sizeof(err));
        assert_int_equal(testutil_rmtree(dir), 0);
        if (rs == NULL)
                fail_msg("%s", err);
        return rs;
}

int
testutil_unit(const struct config *cfg, const char *code)
{
        int u = orgtree_find(cfg->tree, code, strlen(code));

        if (u < 0)
                fail_msg("no unit %s in the tree", code);
        return u;
}

struct config *
testutil_state_config(void)
{
        struct config *cfg;
        char err[512];

        cfg = config_load(SOURCE_ROOT "/tests/unit/data/state", err, sizeof(err));
        if (cfg == NULL)
                fail_msg("config: %s", err);
        return cfg;
}
