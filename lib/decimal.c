/*
 * decimal: parse decimal text into an exact fixed-point mantissa.
 *
 * The parser never accumulates digits before it knows the value fits: it
 * first finds the significant digits (first to last non-zero digit) and the
 * power of ten they are scaled by, decides range and precision from those
 * positions alone, and only then builds the mantissa from at most 20
 * digits, which the 1e15 cap keeps below 2^64.
 */
#include "decimal.h"

#include <string.h>
#include <strings.h>

static int
is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int
is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* 1 when s[0..len) spells nan, inf or infinity in any case. */
static int
is_nonfinite(const char *s, size_t len)
{
        return (len == 3 && strncasecmp(s, "nan", 3) == 0) ||
               (len == 3 && strncasecmp(s, "inf", 3) == 0) ||
               (len == 8 && strncasecmp(s, "infinity", 8) == 0);
}

/* Digit j of the logical digit string: integer part, then fraction. */
static unsigned
digit_at(const char *s, size_t int_start, size_t frac_start, int64_t nint, int64_t j)
{
        char c = j < nint ? s[int_start + (size_t)j] : s[frac_start + (size_t)(j - nint)];

        return (unsigned)(c - '0');
}

int
decimal_parse(const char *s, size_t len, unsigned scale, uint64_t *mant)
{
        size_t b = 0, e = len, i, int_start, int_end, frac_start, frac_end;
        int64_t expo = 0, nint, total, j, first = -1, last = -1, ndig, pow10;
        int negative = 0;
        uint64_t v = 0;

        if (scale > DECIMAL_MAX_SCALE)
                return DECIMAL_SYNTAX;
        while (b < e && is_blank(s[b]))
                b++;
        while (e > b && is_blank(s[e - 1]))
                e--;
        if (b == e)
                return DECIMAL_EMPTY;
        if (s[b] == '+' || s[b] == '-')
                negative = s[b++] == '-';
        if (is_nonfinite(s + b, e - b))
                return DECIMAL_NONFINITE;

        i = int_start = b;
        while (i < e && is_digit(s[i]))
                i++;
        int_end = frac_start = frac_end = i;
        if (i < e && s[i] == '.') {
                frac_start = ++i;
                while (i < e && is_digit(s[i]))
                        i++;
                frac_end = i;
        }
        if (int_end == int_start && frac_end == frac_start)
                return DECIMAL_SYNTAX;
        if (i < e && (s[i] == 'e' || s[i] == 'E')) {
                int eneg = 0;
                size_t edig = 0;

                i++;
                if (i < e && (s[i] == '+' || s[i] == '-'))
                        eneg = s[i++] == '-';
                /* At most three exponent digits keeps expo tiny. */
                while (i < e && is_digit(s[i]) && edig < 4) {
                        expo = expo * 10 + (s[i++] - '0');
                        edig++;
                }
                if (edig == 0 || edig > 3)
                        return DECIMAL_SYNTAX;
                if (eneg)
                        expo = -expo;
        }
        if (i != e)
                return DECIMAL_SYNTAX;

        /*
         * The digits form one logical string: the integer part, then the
         * fraction.  value = D * 10^pow10, where D runs from the first to the
         * last non-zero digit.  Objects are smaller than 2^62 bytes, so all
         * these position differences fit int64_t.
         */
        nint = (int64_t)(int_end - int_start);
        total = nint + (int64_t)(frac_end - frac_start);
        for (j = 0; j < total; j++) {
                if (digit_at(s, int_start, frac_start, nint, j) != 0) {
                        if (first < 0)
                                first = j;
                        last = j;
                }
        }
        if (first < 0) {
                /* Zero, whatever its sign or exponent: "-0" is accepted. */
                *mant = 0;
                return DECIMAL_OK;
        }
        if (negative)
                return DECIMAL_NEGATIVE;
        ndig = last - first + 1;
        pow10 = expo - (total - nint) + (total - 1 - last);
        /* ndig + pow10 is the number of integer digits of the value. */
        if (ndig + pow10 > 16)
                return DECIMAL_RANGE;
        if (ndig + pow10 == 16 &&
            !(ndig == 1 && digit_at(s, int_start, frac_start, nint, first) == 1))
                return DECIMAL_RANGE;
        if (-pow10 > (int64_t)scale)
                return DECIMAL_TOO_PRECISE;

        /* Now ndig <= 20 and value <= 1e15, so v <= 1e19 < 2^64. */
        for (j = first; j <= last; j++)
                v = v * 10 + (uint64_t)digit_at(s, int_start, frac_start, nint, j);
        for (j = 0; j < pow10 + (int64_t)scale; j++)
                v *= 10;
        *mant = v;
        return DECIMAL_OK;
}

size_t
decimal_format(decimal_u128 mant, unsigned scale, char *buf)
{
        char tmp[DECIMAL_BUFSZ];
        decimal_u128 p = 1, ip, fp;
        size_t n = 0, len = 0;

        for (unsigned i = 0; i < scale; i++)
                p *= 10;
        ip = mant / p;
        fp = mant % p;
        do {
                tmp[n++] = (char)('0' + (unsigned)(ip % 10));
                ip /= 10;
        } while (ip != 0);
        while (n > 0)
                buf[len++] = tmp[--n];
        if (fp != 0) {
                char frac[DECIMAL_MAX_SCALE + 8];
                unsigned nf = scale;

                for (unsigned i = scale; i > 0; i--) {
                        frac[i - 1] = (char)('0' + (unsigned)(fp % 10));
                        fp /= 10;
                }
                while (nf > 0 && frac[nf - 1] == '0')
                        nf--;
                buf[len++] = '.';
                memcpy(buf + len, frac, nf);
                len += nf;
        }
        buf[len] = '\0';
        return len;
}

long double
decimal_to_ld(decimal_u128 mant, unsigned scale)
{
        decimal_u128 p = 1;

        for (unsigned i = 0; i < scale; i++)
                p *= 10;
        /* Split so the integer part converts exactly where it can. */
        return (long double)(mant / p) + (long double)(mant % p) / (long double)p;
}
