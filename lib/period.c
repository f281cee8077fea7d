/*
 * period: validation of the period strings the contract allows.
 */
#include "period.h"

#include <assert.h>

static int
digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

int
period_valid(const char *s, size_t len)
{
        int year;

        if ((len != 4 && len != 6) || !digits(s, 4))
                return 0;
        year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        if (year < 1900 || year > 2199)
                return 0;
        if (len == 4)
                return 1;
        if (s[4] == 'S')
                return s[5] == '1' || s[5] == '2';
        if (s[4] == 'Q')
                return s[5] >= '1' && s[5] <= '4';
        if (digits(s + 4, 2)) {
                int mm = (s[4] - '0') * 10 + (s[5] - '0');

                return mm >= 1 && mm <= 12;
        }
        return 0;
}

void
period_months(const char *s, size_t len, int *first, int *last)
{
        int base, k;

        assert(period_valid(s, len));
        base = ((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0')) * 12;
        if (len == 4) {
                *first = base;
                *last = base + 11;
                return;
        }
        k = s[5] - '0';
        if (s[4] == 'S') {
                *first = base + (k - 1) * 6;
                *last = base + k * 6 - 1;
        } else if (s[4] == 'Q') {
                *first = base + (k - 1) * 3;
                *last = base + k * 3 - 1;
        } else {
                *first = *last = base + (s[4] - '0') * 10 + k - 1;
        }
}

/* p moved by delta years, same kind; 0 when p is invalid or the year leaves 1900..2199. */
static size_t
shift_year(const char *p, size_t len, int delta, char *out)
{
        int year;

        if (!period_valid(p, len))
                return 0;
        year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0') + delta;
        if (year < 1900 || year > 2199)
                return 0;
        out[0] = (char)('0' + year / 1000);
        out[1] = (char)('0' + year / 100 % 10);
        out[2] = (char)('0' + year / 10 % 10);
        out[3] = (char)('0' + year % 10);
        for (size_t i = 4; i < len; i++)
                out[i] = p[i];
        out[len] = '\0';
        return len;
}

size_t
period_prev_year(const char *p, size_t len, char *out)
{
        return shift_year(p, len, -1, out);
}

size_t
period_next_year(const char *p, size_t len, char *out)
{
        return shift_year(p, len, 1, out);
}
