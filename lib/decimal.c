/*
 * decimal: parse decimal text into an exact fixed-point mantissa.
 *
 * The parser reads the text once.  It never accumulates more digits than
 * fit: it notes where the significant digits (first to last non-zero digit)
 * lie, builds them into the mantissa only while they are at most 19 (every
 * valid value has no more), decides range and precision from those
 * positions and the exponent alone, and only then scales the mantissa,
 * which the 1e15 cap keeps below 2^64.
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

/* 10^i for i = 0..19: every power that fits a uint64_t. */
static const uint64_t pow10_u64[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/*
 * The significant digits of a run of decimal digits, read in one pass.  A
 * valid value has at most 19 of them (see decimal_parse), so the mantissa
 * is only built while there are at most 19; beyond that only the positions
 * count, which decide range and precision.
 */
struct digits {
        int64_t pos;   /* digits seen so far, integer part then fraction */
        int64_t first; /* position of the first non-zero digit, or -1 */
        int64_t last;  /* position of the last non-zero digit */
        uint64_t d;    /* the digits first..last while there are at most 19 */
        unsigned lead; /* the first non-zero digit */
};

/* Read the digits at s[i..e); returns the index after them. */
static size_t
digits_scan(const char *s, size_t i, size_t e, struct digits *g)
{
        /* In locals, so the loop keeps them in registers. */
        int64_t pos = g->pos, first = g->first, last = g->last;
        uint64_t d = g->d;

        for (; i < e && is_digit(s[i]); i++, pos++) {
                unsigned c = (unsigned)(s[i] - '0');

                if (c == 0)
                        continue;
                if (first < 0) {
                        first = last = pos;
                        d = g->lead = c;
                        continue;
                }
                /* Digits first..pos, the zeros since last included. */
                if (pos - first < 19)
                        d = d * pow10_u64[pos - last] + c;
                last = pos;
        }
        g->pos = pos;
        g->first = first;
        g->last = last;
        g->d = d;
        return i;
}

int
decimal_parse(const char *s, size_t len, unsigned scale, uint64_t *mant)
{
        size_t b = 0, e = len, i;
        int64_t expo = 0, nfrac = 0, ndig, pow10, shift;
        struct digits g = {0, -1, -1, 0, 0};
        int negative = 0;

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
        /* Only a letter can start nan, inf or infinity. */
        if (b < e && !is_digit(s[b]) && s[b] != '.' && is_nonfinite(s + b, e - b))
                return DECIMAL_NONFINITE;

        i = digits_scan(s, b, e, &g);
        if (i < e && s[i] == '.') {
                int64_t nint = g.pos;

                i = digits_scan(s, i + 1, e, &g);
                nfrac = g.pos - nint;
        }
        if (g.pos == 0)
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
        if (g.first < 0) {
                /* Zero, whatever its sign or exponent: "-0" is accepted. */
                *mant = 0;
                return DECIMAL_OK;
        }
        if (negative)
                return DECIMAL_NEGATIVE;
        ndig = g.last - g.first + 1;
        pow10 = expo - nfrac + (g.pos - 1 - g.last);
        /* ndig + pow10 is the number of integer digits of the value. */
        if (ndig + pow10 > 16)
                return DECIMAL_RANGE;
        if (ndig + pow10 == 16 && !(ndig == 1 && g.lead == 1))
                return DECIMAL_RANGE;
        if (-pow10 > (int64_t)scale)
                return DECIMAL_TOO_PRECISE;

        /*
         * Now value <= 1e15 with at most scale fraction digits: ndig <= 19
         * (15 integer digits and 4 decimals, or 1e15 itself), so D was
         * built in full, and D * 10^shift <= 1e19 < 2^64 with shift <= 19.
         */
        shift = pow10 + (int64_t)scale;
        *mant = g.d * pow10_u64[shift];
        return DECIMAL_OK;
}

/*
 * Write v's decimal digits ending just before end, at least width of them
 * (zero-padded); returns where they start.
 */
static char *
u64_digits(uint64_t v, unsigned width, char *end)
{
        static const char pairs[201] = "00010203040506070809"
                                       "10111213141516171819"
                                       "20212223242526272829"
                                       "30313233343536373839"
                                       "40414243444546474849"
                                       "50515253545556575859"
                                       "60616263646566676869"
                                       "70717273747576777879"
                                       "80818283848586878889"
                                       "90919293949596979899";
        char *p = end;

        while (v >= 100) {
                unsigned r = (unsigned)(v % 100);

                v /= 100;
                p -= 2;
                memcpy(p, pairs + 2 * r, 2);
        }
        if (v >= 10) {
                p -= 2;
                memcpy(p, pairs + 2 * v, 2);
        } else {
                *--p = (char)('0' + v);
        }
        while ((unsigned)(end - p) < width)
                *--p = '0';
        return p;
}

size_t
decimal_format(decimal_u128 mant, unsigned scale, char *buf)
{
        char tmp[DECIMAL_BUFSZ], *end = tmp + sizeof(tmp), *p;
        uint64_t fp, pw = pow10_u64[scale];
        decimal_u128 ip;
        size_t len;

        /*
         * Sums almost always fit 64 bits: one 64-bit division splits them.
         * Wider ones are cut into 19-digit chunks, one 128-bit division each,
         * instead of one per digit.
         */
        if ((mant >> 64) == 0) {
                ip = (uint64_t)mant / pw;
                fp = (uint64_t)mant % pw;
        } else {
                ip = mant / pw;
                fp = (uint64_t)(mant % pw);
        }
        p = end;
        while ((ip >> 64) != 0) {
                p = u64_digits((uint64_t)(ip % pow10_u64[19]), 19, p);
                ip /= pow10_u64[19];
        }
        p = u64_digits((uint64_t)ip, 1, p);
        len = (size_t)(end - p);
        memcpy(buf, p, len);
        if (fp != 0) {
                unsigned nf = scale;

                /* No trailing fraction zeros: "12.5", not "12.50". */
                while (fp % 10 == 0) {
                        fp /= 10;
                        nf--;
                }
                buf[len++] = '.';
                u64_digits(fp, nf, buf + len + nf);
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

void
decimal_refusal(int st, const char *qvalue, const char *qcode, int count, unsigned scale, char *why,
                size_t whylen)
{
        switch (st) {
        case DECIMAL_EMPTY:
                strlcpyf(why, whylen, "empty value for %s", qcode);
                break;
        case DECIMAL_NONFINITE:
                strlcpyf(why, whylen, "value %s is not a finite number", qvalue);
                break;
        case DECIMAL_NEGATIVE:
                strlcpyf(why, whylen, "negative value %s", qvalue);
                break;
        case DECIMAL_RANGE:
                strlcpyf(why, whylen, "value %s is beyond ±1e15", qvalue);
                break;
        case DECIMAL_TOO_PRECISE:
                if (count)
                        strlcpyf(why, whylen, "value %s is not a whole number; %s is a count",
                                 qvalue, qcode);
                else
                        strlcpyf(why, whylen, "value %s has more than %u decimals allowed for %s",
                                 qvalue, scale, qcode);
                break;
        default:
                strlcpyf(why, whylen, "value %s is not a number", qvalue);
                break;
        }
}
