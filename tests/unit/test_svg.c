/*
 * Unit tests for tools/svg: the bulletin's charts.  Each chart is written
 * to memory and read back as text: its shapes counted, its texts escaped,
 * its geometry where a hand computation says it must be.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svg.h"

/* The text a writer makes (the caller frees it). */
static char *
render_bars(const struct svg_bars *c)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        svg_bars_write(f, c);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static char *
render_lines(const struct svg_lines *c)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        svg_lines_write(f, c);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static int
count(const char *s, const char *what)
{
        int n = 0;

        for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
                n++;
        return n;
}

static void
test_bars(void **state)
{
        const char *labels[] = {"双台子区", "A<&>\"'B", "C"};
        double values[] = {10, NAN, 5};
        double limits[] = {8, 8, 8};
        char *s;

        (void)state;
        s = render_bars(&(struct svg_bars){.title = "生师比",
                                           .unit = "%",
                                           .ngroups = 3,
                                           .nseries = 1,
                                           .group_labels = labels,
                                           .series_labels = labels,
                                           .values = values,
                                           .limits = limits,
                                           .limit_label = "目标 >= 8"});
        assert_int_equal(count(s, "<svg "), 1);
        assert_int_equal(count(s, "</svg>"), 1);
        /* One bar per value present; a missing value draws nothing. */
        assert_int_equal(count(s, "class=\"bar\""), 2);
        /* The same limit for every group: one line across the plot. */
        assert_int_equal(count(s, "class=\"limit\""), 1);
        assert_non_null(strstr(s, "A&lt;&amp;&gt;&quot;&#39;B"));
        assert_null(strstr(s, "A<&"));
        assert_null(strstr(s, "nan"));
        assert_non_null(strstr(s, "目标 &gt;= 8"));
        /*
         * Hand geometry: the axis runs 0..10 (steps of 2); the plot is
         * 300 - 52 - 80 = 168 high from y = 52, so the bar of 10 starts at
         * y 52.0 and is 168.0 high, the bar of 5 at 136.0 and 84.0 high,
         * and the limit 8 lies at 52 + 168 * 0.2 = 85.6.
         */
        assert_non_null(strstr(s, "y=\"52.0\" width"));
        assert_non_null(strstr(s, "height=\"168.0\""));
        assert_non_null(strstr(s, "y=\"136.0\" width"));
        assert_non_null(strstr(s, "height=\"84.0\""));
        assert_non_null(strstr(s, "y1=\"85.6\""));
        free(s);
}

static void
test_bars_grouped_limits(void **state)
{
        const char *groups[] = {"g1", "g2"}, *series[] = {"s1", "s2", "s3"};
        double values[] = {0.1, 0.2, 0.3, 0.4, NAN, 0.6};
        double limits[] = {0.5, 0.45};
        char *s;

        (void)state;
        s = render_bars(&(struct svg_bars){.title = "差异系数",
                                           .unit = "",
                                           .ngroups = 2,
                                           .nseries = 3,
                                           .group_labels = groups,
                                           .series_labels = series,
                                           .values = values,
                                           .limits = limits,
                                           .limit_label = "上限"});
        assert_int_equal(count(s, "class=\"bar\""), 5);
        /* Different limits: one segment per group. */
        assert_int_equal(count(s, "class=\"limit\""), 2);
        /* A legend entry per series. */
        assert_non_null(strstr(s, ">s3</text>"));
        free(s);
}

static void
test_empty_charts(void **state)
{
        const char *labels[] = {"a", "b"};
        double values[] = {NAN, NAN};
        char *s;

        (void)state;
        s = render_bars(&(struct svg_bars){.title = "t",
                                           .unit = "",
                                           .ngroups = 2,
                                           .nseries = 1,
                                           .group_labels = labels,
                                           .series_labels = labels,
                                           .values = values});
        assert_string_equal(s, "");
        free(s);
        s = render_lines(&(struct svg_lines){.title = "t",
                                             .unit = "",
                                             .npoints = 2,
                                             .nseries = 1,
                                             .point_labels = labels,
                                             .series_labels = labels,
                                             .values = values});
        assert_string_equal(s, "");
        free(s);
}

static void
test_labels(void **state)
{
        const char *few[] = {"每百名学生拥有县级以上骨干教师数", "短"};
        const char *many[] = {"双台子区第一小学", "b", "c", "d", "e", "f", "g", "h", "i"};
        double v2[] = {1, 2}, v9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        char *s;

        (void)state;
        /*
         * Two groups: slots of (720 - 72 - 16) / 2 = 316, 18 characters a
         * line, so the 16-character name is one line and is whole.
         */
        s = render_bars(&(struct svg_bars){.title = "t",
                                           .unit = "",
                                           .ngroups = 2,
                                           .nseries = 1,
                                           .group_labels = few,
                                           .series_labels = few,
                                           .values = v2});
        assert_non_null(strstr(s, ">每百名学生拥有县级以上骨干教师数</tspan>"));
        free(s);
        /* Nine groups: turned, and cut after 7 characters. */
        s = render_bars(&(struct svg_bars){.title = "t",
                                           .unit = "",
                                           .ngroups = 9,
                                           .nseries = 1,
                                           .group_labels = many,
                                           .series_labels = many,
                                           .values = v9});
        assert_non_null(strstr(s, ">双台子区第一小…</text>"));
        assert_non_null(strstr(s, "rotate(-40"));
        free(s);
}

static void
test_lines(void **state)
{
        const char *periods[] = {"2022", "2023", "2024", "2025"}, *names[] = {"入园率", "辍学率"};
        double values[] = {90, NAN, 95, 96, 1, 2, 3, 4};
        char *s;

        (void)state;
        s = render_lines(&(struct svg_lines){.title = "主要比率",
                                             .unit = "%",
                                             .npoints = 4,
                                             .nseries = 2,
                                             .point_labels = periods,
                                             .series_labels = names,
                                             .values = values});
        /* A gap splits the first line in two runs; the second is one. */
        assert_int_equal(count(s, "class=\"line\""), 3);
        assert_int_equal(count(s, "class=\"point\""), 7);
        assert_non_null(strstr(s, ">2025</tspan>"));
        assert_non_null(strstr(s, ">辍学率</text>"));
        free(s);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bars),         cmocka_unit_test(test_bars_grouped_limits),
            cmocka_unit_test(test_empty_charts), cmocka_unit_test(test_labels),
            cmocka_unit_test(test_lines),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
