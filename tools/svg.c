/*
 * svg: the bulletin's charts.  See svg.h.
 *
 * Geometry in a fixed 720 x 300 user space (the viewBox); the page scales
 * it.  Coordinates are printed with one decimal, enough at any print size.
 */
#include "svg.h"

#include <math.h>
#include <string.h>

#define W      720.0
#define H      300.0
#define LEFT   72.0
#define RIGHT  16.0
#define TOP    52.0
#define BOTTOM 80.0

static const char *const palette[SVG_MAX_SERIES] = {
    "#1f5fa8", "#e07b24", "#2e9a4b", "#c23b3b", "#7b52ab", "#8c6d31", "#d45fa3", "#5f6f7f",
};

void
svg_put_text(FILE *f, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
        }
}

/* A round step near range / 5: 1, 2 or 5 times a power of ten. */
static double
nice_step(double range)
{
        double raw = range / 5, p = pow(10, floor(log10(raw))), m = raw / p;

        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

struct axis {
        double lo, hi, step;
};

/* An axis from lo to hi widened to whole steps. */
static struct axis
axis_make(double lo, double hi)
{
        struct axis a;

        if (!(hi > lo))
                hi = lo + (lo == 0 ? 1 : fabs(lo) * 0.1);
        a.step = nice_step(hi - lo);
        a.lo = floor(lo / a.step) * a.step;
        a.hi = ceil(hi / a.step) * a.step;
        return a;
}

static double
axis_y(const struct axis *a, double v)
{
        return TOP + (H - TOP - BOTTOM) * (a->hi - v) / (a->hi - a->lo);
}

static void
open_svg(FILE *f, const char *cls, const char *title, const char *unit)
{
        fprintf(f,
                "<svg class=\"chart %s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
                "%.0f\" role=\"img\" font-family=\"'Noto Sans CJK SC','Noto Sans SC','WenQuanYi "
                "Zen Hei','Source Han Sans SC',sans-serif\" font-size=\"15\">\n<title>",
                cls, W, H);
        svg_put_text(f, title);
        fprintf(f,
                "</title>\n<text class=\"title\" x=\"%.1f\" y=\"20\" font-size=\"17\" "
                "font-weight=\"bold\">",
                LEFT);
        svg_put_text(f, title);
        fputs("</text>\n", f);
        if (unit != NULL && *unit) {
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">(",
                        LEFT - 6, TOP - 18);
                svg_put_text(f, unit);
                fputs(")</text>\n", f);
        }
}

static void
axis_write(FILE *f, const struct axis *a)
{
        for (int k = 0; k <= 50; k++) {
                double v = a->lo + k * a->step, y;

                if (v > a->hi + a->step / 2)
                        break;
                y = axis_y(a, v);
                fprintf(f,
                        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                        "fill=\"#555\">%g</text>\n",
                        LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, fabs(v) < a->step / 1e6 ? 0 : v);
        }
}

static void
legend_item(FILE *f, size_t k, double x, const char *color, const char *label, int dashed)
{
        double y = 40;

        (void)k;
        if (dashed)
                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"2\" stroke-dasharray=\"5,3\"/>\n",
                        x, y - 4, x + 16, y - 4, color);
        else
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"8\" fill=\"%s\"/>\n",
                        x, y - 8, color);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 20, y);
        svg_put_text(f, label);
        fputs("</text>\n", f);
}

/* Bytes of s that hold at most n UTF-8 characters. */
static size_t
utf8_prefix(const char *s, size_t n)
{
        size_t i = 0;

        while (s[i] && n > 0) {
                i++;
                while ((s[i] & 0xC0) == 0x80)
                        i++;
                n--;
        }
        return i;
}

/* Write len bytes of s as XML character data. */
static void
put_text_n(FILE *f, const char *s, size_t len)
{
        char buf[256];

        while (len > 0) {
                size_t k = len < sizeof buf - 1 ? len : sizeof buf - 1;

                memcpy(buf, s, k);
                buf[k] = '\0';
                svg_put_text(f, buf);
                s += k;
                len -= k;
        }
}

/*
 * A label under position x, in a slot width wide: wrapped on up to three
 * lines when the labels are few (a character is about one font size
 * wide), else turned and cut, so that a long Chinese name stays inside
 * the chart.  A cut label ends with "…".
 */
static void
xlabel(FILE *f, double x, const char *label, size_t n, double width)
{
        double y = H - BOTTOM + 16;
        size_t per = width / 17 < 2 ? 2 : (size_t)(width / 17), len = strlen(label), k;

        if (n > 8) {
                k = utf8_prefix(label, 7);
                fprintf(f,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\" "
                        "transform=\"rotate(-40 %.1f %.1f)\">",
                        x, y, x, y);
                put_text_n(f, label, k);
                fputs(k < len ? "…</text>\n" : "</text>\n", f);
                return;
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y);
        for (int line = 0; line < 3 && *label; line++) {
                k = utf8_prefix(label, per);
                fprintf(f, "<tspan x=\"%.1f\" dy=\"%s\">", x, line ? "1.1em" : "0");
                if (line == 2 && label[k] != '\0') {
                        put_text_n(f, label, utf8_prefix(label, per - 1));
                        fputs("…", f);
                } else {
                        put_text_n(f, label, k);
                }
                fputs("</tspan>", f);
                label += k;
        }
        fputs("</text>\n", f);
}

void
svg_bars_write(FILE *f, const struct svg_bars *c)
{
        double lo = 0, hi = 0, gw, bw;
        int any = 0, one_limit = 1;
        struct axis a;

        for (size_t k = 0; k < c->ngroups * c->nseries; k++)
                if (!isnan(c->values[k])) {
                        lo = fmin(lo, c->values[k]);
                        hi = fmax(hi, c->values[k]);
                        any = 1;
                }
        for (size_t g = 0; c->limits != NULL && g < c->ngroups; g++)
                if (!isnan(c->limits[g])) {
                        lo = fmin(lo, c->limits[g]);
                        hi = fmax(hi, c->limits[g]);
                        any = 1;
                        if (g > 0 && c->limits[g] != c->limits[0])
                                one_limit = 0;
                } else {
                        one_limit = 0;
                }
        if (!any || c->ngroups == 0 || c->nseries == 0)
                return;
        a = axis_make(lo, hi);
        open_svg(f, "bars", c->title, c->unit);
        axis_write(f, &a);
        gw = (W - LEFT - RIGHT) / (double)c->ngroups;
        bw = gw * 0.7 / (double)c->nseries;
        for (size_t g = 0; g < c->ngroups; g++) {
                double x0 = LEFT + gw * (double)g + gw * 0.15;

                for (size_t s = 0; s < c->nseries; s++) {
                        double v = c->values[g * c->nseries + s], y, y0;

                        if (isnan(v))
                                continue;
                        y = axis_y(&a, fmax(v, 0));
                        y0 = axis_y(&a, fmin(v, 0));
                        fprintf(f,
                                "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                "height=\"%.1f\" fill=\"%s\"/>\n",
                                x0 + bw * (double)s, y, bw * 0.92, y0 - y,
                                palette[s % SVG_MAX_SERIES]);
                }
                if (c->limits != NULL && !isnan(c->limits[g]) && !one_limit)
                        fprintf(f,
                                "<line class=\"limit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                                "y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\" "
                                "stroke-dasharray=\"5,3\"/>\n",
                                LEFT + gw * (double)g + 2, axis_y(&a, c->limits[g]),
                                LEFT + gw * (double)(g + 1) - 2, axis_y(&a, c->limits[g]));
                xlabel(f, LEFT + gw * ((double)g + 0.5), c->group_labels[g], c->ngroups, gw);
        }
        if (c->limits != NULL && one_limit)
                fprintf(f,
                        "<line class=\"limit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"5,3\"/>\n",
                        LEFT, axis_y(&a, c->limits[0]), W - RIGHT, axis_y(&a, c->limits[0]));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                LEFT, axis_y(&a, 0), W - RIGHT, axis_y(&a, 0));
        {
                double x = W - RIGHT - 130.0 * (double)(c->nseries > 1 ? c->nseries : 0) -
                           (c->limits != NULL ? 150 : 0);

                for (size_t s = 0; c->nseries > 1 && s < c->nseries; s++, x += 130)
                        legend_item(f, s, x, palette[s % SVG_MAX_SERIES], c->series_labels[s], 0);
                for (size_t g = 0; c->limits != NULL && g < c->ngroups; g++)
                        if (!isnan(c->limits[g])) {
                                legend_item(f, 0, x, "#d62728",
                                            c->limit_label ? c->limit_label : "", 1);
                                break;
                        }
        }
        fputs("</svg>\n", f);
}

void
svg_lines_write(FILE *f, const struct svg_lines *c)
{
        double lo = INFINITY, hi = -INFINITY, step;
        struct axis a;

        for (size_t k = 0; k < c->npoints * c->nseries; k++)
                if (!isnan(c->values[k])) {
                        lo = fmin(lo, c->values[k]);
                        hi = fmax(hi, c->values[k]);
                }
        if (isinf(lo) || c->npoints == 0)
                return;
        /* A little room above and below, but no negative axis for values >= 0. */
        a = axis_make(lo >= 0 ? fmax(0, lo - (hi - lo) * 0.1) : lo - (hi - lo) * 0.1,
                      hi + (hi - lo) * 0.1);
        open_svg(f, "lines", c->title, c->unit);
        axis_write(f, &a);
        step = (W - LEFT - RIGHT) / (double)c->npoints;
        for (size_t i = 0; i < c->npoints; i++)
                xlabel(f, LEFT + step * ((double)i + 0.5), c->point_labels[i], c->npoints, step);
        for (size_t s = 0; s < c->nseries; s++) {
                const double *v = c->values + s * c->npoints;
                const char *color = palette[s % SVG_MAX_SERIES];
                int open = 0;

                for (size_t i = 0; i <= c->npoints; i++) {
                        if (i == c->npoints || isnan(v[i])) {
                                if (open)
                                        fprintf(f,
                                                "\" fill=\"none\" stroke=\"%s\" "
                                                "stroke-width=\"2\"/>\n",
                                                color);
                                open = 0;
                                continue;
                        }
                        if (!open)
                                fputs("<polyline class=\"line\" points=\"", f);
                        fprintf(f, "%s%.1f,%.1f", open ? " " : "", LEFT + step * ((double)i + 0.5),
                                axis_y(&a, v[i]));
                        open = 1;
                }
                for (size_t i = 0; i < c->npoints; i++)
                        if (!isnan(v[i]))
                                fprintf(f,
                                        "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                                        "fill=\"%s\"/>\n",
                                        LEFT + step * ((double)i + 0.5), axis_y(&a, v[i]), color);
                legend_item(f, s, LEFT + 160.0 * (double)s, color, c->series_labels[s], 0);
        }
        fputs("</svg>\n", f);
}
