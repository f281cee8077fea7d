/*
 * Unit tests for the wording of tools/bulletin: each sentence written by
 * hand, as a bulletin says it, for an increase, a decrease, no change, no
 * previous year, a previous value of 0, a rate in percentage points and a
 * ratio like 生师比; and a buffer too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulletin.h"

static const char *
say(const struct bulletin_fig *f)
{
        static char buf[512];

        assert_int_equal(bulletin_sentence(buf, sizeof buf, f), 0);
        return buf;
}

static void
test_counts(void **state)
{
        (void)state;
        assert_string_equal(
            say(&(struct bulletin_fig){"在校生数", "人", 0, "1260", "1248", "12", "0.96", NULL}),
            "在校生数1260人，比上年增加12人，增长0.96%。");
        assert_string_equal(say(&(struct bulletin_fig){"大班额班级数", "个", 0, "76", "131", "-55",
                                                       "-41.98", NULL}),
                            "大班额班级数76个，比上年减少55个，下降41.98%。");
        assert_string_equal(
            say(&(struct bulletin_fig){"班级数", "个", 0, "40", "40", "0", "0.00", NULL}),
            "班级数40个，与上年持平。");
        /* No previous year: the value alone. */
        assert_string_equal(
            say(&(struct bulletin_fig){"超大班额班级数", "个", 0, "5", NULL, NULL, NULL, NULL}),
            "超大班额班级数5个。");
        /* After 0 there is no percentage. */
        assert_string_equal(
            say(&(struct bulletin_fig){"辍学人数", "人", 0, "3", "0", "3", NULL, NULL}),
            "辍学人数3人，比上年增加3人。");
        assert_string_equal(say(&(struct bulletin_fig){"教学仪器设备值", "元", 0, "100.50", "90.25",
                                                       "10.25", "11.36", NULL}),
                            "教学仪器设备值100.50元，比上年增加10.25元，增长11.36%。");
}

static void
test_rates(void **state)
{
        (void)state;
        assert_string_equal(say(&(struct bulletin_fig){"公办园在园幼儿占比", "%", 1, "50.17",
                                                       "45.23", "4.94", NULL, "4.94"}),
                            "公办园在园幼儿占比50.17%，比上年提高4.94个百分点。");
        assert_string_equal(say(&(struct bulletin_fig){"大班额比例", "%", 1, "1.48", "2.57",
                                                       "-1.09", NULL, "-1.09"}),
                            "大班额比例1.48%，比上年降低1.09个百分点。");
        assert_string_equal(
            say(&(struct bulletin_fig){"辍学率", "%", 1, "0.00", "0.00", "0.00", NULL, "0.00"}),
            "辍学率0.00%，与上年持平。");
        assert_string_equal(
            say(&(struct bulletin_fig){"辍学率", "%", 1, "0.01", NULL, NULL, NULL, NULL}),
            "辍学率0.01%。");
        assert_string_equal(
            say(&(struct bulletin_fig){"生师比", "人/人", 1, "14.62", "14.46", "0.15", NULL, NULL}),
            "生师比14.62:1，比上年增加0.15。");
        assert_string_equal(say(&(struct bulletin_fig){"生均教学及辅助用房面积", "m²", 1, "6.20",
                                                       "6.37", "-0.17", NULL, NULL}),
                            "生均教学及辅助用房面积6.20m²，比上年减少0.17m²。");
        /* A ratio whose denominator is 0 has no value. */
        assert_string_equal(
            say(&(struct bulletin_fig){"学前三年毛入园率", "%", 1, NULL, NULL, NULL, NULL, NULL}),
            "学前三年毛入园率暂无数据。");
}

static void
test_too_small(void **state)
{
        char buf[16];

        (void)state;
        assert_int_equal(bulletin_sentence(buf, sizeof buf,
                                           &(struct bulletin_fig){"在校生数", "人", 0, "1260",
                                                                  "1248", "12", "0.96", NULL}),
                         -1);
        assert_true(strlen(buf) < sizeof buf);
        assert_int_equal(
            bulletin_sentence(buf, 0,
                              &(struct bulletin_fig){"x", "", 0, "1", NULL, NULL, NULL, NULL}),
            -1);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_counts),
            cmocka_unit_test(test_rates),
            cmocka_unit_test(test_too_small),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
