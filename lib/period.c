/*
 * period: validation of the period strings the contract allows.
 */
#include "period.h"

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
