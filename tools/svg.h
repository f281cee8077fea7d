/*
 * svg: the bulletin's charts as inline SVG, written by hand so that the
 * HTML needs no script, no library and nothing from the network.
 *
 * Two charts: bars (groups of bars, one bar per series in each group, with
 * an optional limit drawn across each group: a target or a 差异系数 limit)
 * and lines (series over periods).  Values are doubles because they only
 * place shapes; the figures a reader reads are printed by the caller from
 * the database's decimal text.  A missing value is NAN: no bar, a gap in
 * a line.  Every text is XML-escaped.  The output is one <svg> element
 * with a viewBox, so it scales to its container and prints crisply.
 *
 * Nothing here allocates; errors of the stream are the caller's to check
 * (ferror).
 */
#ifndef EDUSTAT_TOOLS_SVG_H
#define EDUSTAT_TOOLS_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Most groups, series and points a chart draws; the caller cuts to fit. */
#define SVG_MAX_GROUPS 64
#define SVG_MAX_SERIES 8

/* A bar chart: ngroups groups of nseries bars each. */
struct svg_bars {
        const char *title;                /* above the chart */
        const char *unit;                 /* unit of measure, beside the axis; "" for none */
        size_t ngroups, nseries;          /* 1..SVG_MAX_GROUPS, 1..SVG_MAX_SERIES */
        const char *const *group_labels;  /* ngroups labels under the groups */
        const char *const *series_labels; /* nseries names in the legend (none when 1) */
        const double *values;             /* ngroups * nseries, group-major; NAN: missing */
        const double *limits;             /* ngroups limits, NAN: none; or NULL for none */
        const char *limit_label;          /* the legend of the limit line, e.g. 目标 */
};

/* A line chart: nseries lines over npoints periods. */
struct svg_lines {
        const char *title;
        const char *unit;
        size_t npoints, nseries;          /* 1..SVG_MAX_GROUPS, 1..SVG_MAX_SERIES */
        const char *const *point_labels;  /* npoints labels (periods) */
        const char *const *series_labels; /* nseries names */
        const double *values;             /* nseries * npoints, series-major; NAN: gap */
};

/* Write s as XML character data (& < > " ' escaped) to f. */
void svg_put_text(FILE *f, const char *s);

/*
 * Write the bar chart c as one <svg class="chart bars"> element.  Each bar
 * is a <rect class="bar">, each limit a <line class="limit">.  The value
 * axis runs from 0 (or the least negative value) to the largest value or
 * limit.  Nothing is written for a chart with no value and no limit.
 */
void svg_bars_write(FILE *f, const struct svg_bars *c);

/*
 * Write the line chart c as one <svg class="chart lines"> element: each
 * series a <polyline class="line"> per unbroken run and a <circle
 * class="point"> per value.  Nothing is written for a chart with no value.
 */
void svg_lines_write(FILE *f, const struct svg_lines *c);

#endif
