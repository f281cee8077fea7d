/*
 * The fixtures of testutil.h that need the aggregator: apart from
 * testutil.c, so that tests not linked with aggregator_lib never pull them.
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "state.h"

struct config *testutil_cfg;
struct state *testutil_st;

int
testutil_state_setup(void **state)
{
        (void)state;
        testutil_cfg = testutil_state_config();
        testutil_st = state_new(testutil_cfg);
        return 0;
}

int
testutil_state_teardown(void **state)
{
        (void)state;
        state_destroy(&testutil_st);
        config_destroy(&testutil_cfg);
        return 0;
}
