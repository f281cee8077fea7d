/*
 * period: the reporting periods the contract allows.
 *
 *   YYYY        a school year or calendar year  (2024)
 *   YYYYS1/S2   a half year / term             (2025S1)
 *   YYYYQ1..Q4  a quarter                      (2025Q3)
 *   YYYYMM      a month, MM 01..12             (202509)
 *
 * Years run 1900..2199; anything else is a typo, not a period.
 */
#ifndef EDUSTAT_PERIOD_H
#define EDUSTAT_PERIOD_H

#include <stddef.h>

/* 1 when s[0..len) is a valid period, else 0. */
int period_valid(const char *s, size_t len);

/*
 * The months a period covers, counted from January of year 0: 2024 covers
 * 2024 * 12 + 0 .. 2024 * 12 + 11, 2025S2 its last six months, 2025Q3 its
 * months 6..8, 202503 month 2.  s[0..len) must be period_valid (asserted).
 * The same numbering as edustat.period_first_month and period_last_month
 * (sink/sql, migration 14), so the sink's checks and the views agree.
 */
void period_months(const char *s, size_t len, int *first, int *last);

/*
 * The period one year before p[0..len) in the same kind of period (2025 ->
 * 2024, 2025S1 -> 2024S1, 2025Q3 -> 2024Q3, 202503 -> 202403), written
 * into out with a NUL (out holds PERIOD_BUFSZ bytes).  Returns its length,
 * or 0 when p is not a valid period or has no year before it (1900).
 */
#define PERIOD_BUFSZ 8
size_t period_prev_year(const char *p, size_t len, char *out);

/* The period one year after p, likewise (0 for 2199 or an invalid p). */
size_t period_next_year(const char *p, size_t len, char *out);

#endif
