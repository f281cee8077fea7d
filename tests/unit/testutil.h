/*
 * testutil: the fixtures the unit tests share, so that a test file states
 * only what it tests.  It gives temporary directories (one per test, or one
 * for a cmocka group), files written into them, a config loaded from the
 * text of orgunits.csv and indicators.csv, rules read from the text of a
 * rules.csv, units looked up by code, and the aggregator's config and
 * state over the city in tests/unit/data/state.
 *
 * A helper called from a test fails that test (cmocka's fail_msg, naming
 * what went wrong) when it cannot do its part, so its result needs no
 * check.  A helper meant for a setup or a teardown returns 0 or -1
 * instead, as cmocka expects of those.
 */
#ifndef EDUSTAT_TESTUTIL_H
#define EDUSTAT_TESTUTIL_H

#include <stddef.h>

struct config;
struct rules;
struct state;

/* Room for the path of a temporary directory with a file name in it. */
#define TESTUTIL_PATH 256

/*
 * Make a new, empty directory /tmp/edustat_test.XXXXXX and put its path in
 * dir, which holds len bytes (at least 32).  Returns 0, or -1.
 */
int testutil_tmpdir(char *dir, size_t len);

/* Remove dir and everything below it.  Returns 0, or -1. */
int testutil_rmtree(const char *dir);

/*
 * A group's fixtures: testutil_dir_setup makes one temporary directory for
 * all the tests of a group, testutil_dir() names it, and
 * testutil_dir_teardown removes it with what the tests left in it.  state
 * is not used.
 */
int testutil_dir_setup(void **state);
int testutil_dir_teardown(void **state);
const char *testutil_dir(void);

/*
 * A test's own temporary directory, and the path of a name in it that the
 * test's module is to make (a database, a spool).
 */
struct testutil_fixture {
        char dir[64];
        char path[96];
};

/*
 * Per-test fixtures: testutil_fixture_setup puts in *state an owned
 * fixture with a new directory and path dir/name; testutil_fixture_teardown
 * removes the directory with everything in it and frees the fixture.  Each
 * returns 0 or -1.
 */
int testutil_fixture_setup(void **state, const char *name);
int testutil_fixture_teardown(void **state);

/*
 * Write the len bytes of data to the file dir/name, replacing it.  When
 * path is not NULL, the file's path is put there (pathlen bytes).
 */
void testutil_write(const char *dir, const char *name, const void *data, size_t len, char *path,
                    size_t pathlen);

/* Write the string text to testutil_dir()/name. */
void testutil_put(const char *name, const char *text);

/*
 * Write orgunits.csv and indicators.csv with the given text into dir and
 * load the config there (config_load).  Returns an owned config, or NULL
 * after printing the loader's message: for a setup.
 */
struct config *testutil_config_write(const char *dir, const char *orgunits, const char *indicators);

/*
 * The rules of the rules.csv text csv against cfg's catalogue and tree,
 * read from a file in a temporary directory that is gone on return.
 * Returns owned rules; a load error fails the test with its message.
 */
struct rules *testutil_rules(const struct config *cfg, const char *csv);

/* The index of the unit code in cfg's tree; an unknown code fails the test. */
int testutil_unit(const struct config *cfg, const char *code);

/*
 * The aggregator's tests' city: the config in tests/unit/data/state (C >
 * D1 > S1..S5; C > D2 > T1 > S6, S7; D2 > S8).  Returns an owned config; a
 * load error fails the test with its message.
 */
struct config *testutil_state_config(void);

/*
 * That config and an empty state over it, made by testutil_state_setup and
 * freed by testutil_state_teardown, a cmocka group's fixtures.  These live
 * in testutil_state.c, which only a test linked with aggregator_lib may use.
 */
extern struct config *testutil_cfg;
extern struct state *testutil_st;
int testutil_state_setup(void **state);
int testutil_state_teardown(void **state);

#endif
