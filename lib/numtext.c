/*
 * numtext: trim, map full-width forms, check thousands groups, refuse
 * exponents.  A value of plain ASCII digits (nearly every value) is
 * recognised in one pass and handed back without a copy.
 */
#include "numtext.h"

#include <string.h>

#include "util.h"

/* Bytes of the blank starting at s[0..n), or 0. */
static size_t
blank_head(const unsigned char *s, size_t n)
{
        if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
                return 1;
        if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
                return 3; /* U+3000 ideographic space */
        if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
                return 2; /* U+00A0 no-break space */
        return 0;
}

/* Bytes of the blank ending at s[n - 1], or 0. */
static size_t
blank_tail(const unsigned char *s, size_t n)
{
        if (n >= 1 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
                return 1;
        if (n >= 3 && s[n - 3] == 0xE3 && s[n - 2] == 0x80 && s[n - 1] == 0x80)
                return 3;
        if (n >= 2 && s[n - 2] == 0xC2 && s[n - 1] == 0xA0)
                return 2;
        return 0;
}

static int
is_digit(unsigned char c)
{
        return c >= '0' && c <= '9';
}

/*
 * The ASCII form of the full-width character at s[0..n) (three bytes,
 * EF BC xx), or 0.
 */
static char
fullwidth(const unsigned char *s, size_t n)
{
        if (n < 3 || s[0] != 0xEF || s[1] != 0xBC)
                return 0;
        if (s[2] >= 0x90 && s[2] <= 0x99)
                return (char)('0' + (s[2] - 0x90));
        switch (s[2]) {
        case 0x8B:
                return '+';
        case 0x8C:
                return ',';
        case 0x8D:
                return '-';
        case 0x8E:
                return '.';
        default:
                return 0;
        }
}

/*
 * 1 when the integer part m[0..n) is digit groups separated by commas, the
 * first of one to three digits and every later one of exactly three.
 */
static int
groups_ok(const char *m, size_t n)
{
        size_t run = 0;
        int first = 1;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && m[i] != ',') {
                        run++;
                        continue;
                }
                if (first ? run < 1 || run > 3 : run != 3)
                        return 0;
                first = 0;
                run = 0;
        }
        return 1;
}

const char *
numtext_normalize(const char *s, size_t len, char *buf, size_t *outlen, char *why, size_t whylen)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t b, k = 0, i = 0, int_start, int_end, digits = 0;
        int plain = 1, commas = 0;

        while ((b = blank_head(u, len)) > 0) {
                u += b;
                len -= b;
        }
        while ((b = blank_tail(u, len)) > 0)
                len -= b;
        s = (const char *)u;
        for (size_t j = 0; j < len && plain; j++)
                plain = is_digit(u[j]) || u[j] == '.' || u[j] == '-' || u[j] == '+';
        if (plain) {
                *outlen = len;
                return s;
        }

        /* Map into buf: full-width forms become ASCII, anything else is kept. */
        for (size_t j = 0; j < len;) {
                char c = fullwidth(u + j, len - j);

                if (c != 0) {
                        buf[k++] = c;
                        j += 3;
                } else {
                        buf[k++] = (char)u[j++];
                }
        }

        /* [sign] digits-and-commas [. digits] [e|E [sign] digits] */
        if (i < k && (buf[i] == '+' || buf[i] == '-'))
                i++;
        int_start = i;
        while (i < k && (is_digit((unsigned char)buf[i]) || buf[i] == ',')) {
                digits += buf[i] != ',';
                commas += buf[i] == ',';
                i++;
        }
        int_end = i;
        if (i < k && buf[i] == '.') {
                i++;
                while (i < k && is_digit((unsigned char)buf[i])) {
                        digits++;
                        i++;
                }
        }
        if (digits > 0 && i < k && (buf[i] == 'e' || buf[i] == 'E')) {
                size_t j = i + 1, exp_digits = 0;

                if (j < k && (buf[j] == '+' || buf[j] == '-'))
                        j++;
                while (j < k && is_digit((unsigned char)buf[j])) {
                        exp_digits++;
                        j++;
                }
                if (exp_digits > 0 && j == k) {
                        strlcpyf(why, whylen, "%s", NUMTEXT_SCIENTIFIC);
                        return NULL;
                }
        }
        if (digits == 0 || i != k) {
                /* Not a number: the aggregator says so, quoting what was typed. */
                *outlen = len;
                return s;
        }
        if (commas > 0) {
                if (!groups_ok(buf + int_start, int_end - int_start)) {
                        size_t show = len;

                        /* Quote at most 64 bytes, cut between characters. */
                        if (show > 64)
                                for (show = 64; show > 0 && (u[show] & 0xC0) == 0x80; show--)
                                        ;
                        strlcpyf(why, whylen,
                                 "value \"%.*s\": a comma may only separate thousands, in groups "
                                 "of three digits (1,260 or 12,345.5); write a decimal point as "
                                 "\".\"",
                                 (int)show, s);
                        return NULL;
                }
                size_t w = int_start;

                for (size_t j = int_start; j < k; j++)
                        if (buf[j] != ',')
                                buf[w++] = buf[j];
                k = w;
        }
        *outlen = k;
        return buf;
}
