/*
 * decimal: exact non-negative fixed-point values.
 *
 * Submitted values are decimal text ("1234.5", "2e3", " 17 ").  They are
 * stored as an unsigned 64-bit mantissa at the indicator's scale
 * (10^decimals; 0 for counts), so sums and corrections are exact: no
 * 0.1 + 0.2 drift, and the consistency check can compare with equality.
 * With values capped at 1e15 and scales up to DECIMAL_MAX_SCALE (4) the
 * mantissa always fits: 1e15 * 1e4 < 2^64.  Sums over many units are kept
 * in unsigned __int128 (decimal_u128).
 */
#ifndef EDUSTAT_DECIMAL_H
#define EDUSTAT_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define DECIMAL_MAX_SCALE 4
/* Room for any formatted u128 with a decimal point and NUL. */
#define DECIMAL_BUFSZ 48

__extension__ typedef unsigned __int128 decimal_u128;

enum decimal_status {
        DECIMAL_OK = 0,
        DECIMAL_EMPTY,       /* nothing but blanks */
        DECIMAL_SYNTAX,      /* not a number */
        DECIMAL_NONFINITE,   /* NaN, inf, infinity in any case, with any sign */
        DECIMAL_NEGATIVE,    /* a number below zero ("-0" is zero, accepted) */
        DECIMAL_RANGE,       /* magnitude beyond 1e15 */
        DECIMAL_TOO_PRECISE, /* more significant fraction digits than scale */
};

/*
 * Parse s[0..len) at the given scale (0..DECIMAL_MAX_SCALE).  Accepts
 * optional surrounding blanks, an optional sign, digits with an optional
 * '.', and an optional exponent (e or E, signed, at most 3 digits).
 * Trailing fraction zeros do not count as precision: "3.00" is a valid
 * count.  On DECIMAL_OK sets *mant = value * 10^scale.
 */
EDUSTAT_MUST_USE int decimal_parse(const char *s, size_t len, unsigned scale, uint64_t *mant);

/*
 * Why a value decimal_parse refused with status st (not DECIMAL_OK) is
 * refused, in the words the collector and the aggregator both give a
 * school: "negative value \"-3\"".  qvalue is the value and qcode the
 * indicator's code, each quoted by the caller; count is 1 when the
 * indicator is a count and scale its decimals.  Writes the reason to why.
 */
void decimal_refusal(int st, const char *qvalue, const char *qcode, int count, unsigned scale,
                     char *why, size_t whylen);

/*
 * Write mant / 10^scale as plain decimal text, no exponent, no trailing
 * fraction zeros ("12.5", "0", "1000").  Returns the length written; buf
 * must hold DECIMAL_BUFSZ bytes.
 */
size_t decimal_format(decimal_u128 mant, unsigned scale, char *buf);

/* mant / 10^scale as a long double, for ratios and statistics. */
long double decimal_to_ld(decimal_u128 mant, unsigned scale);

#endif
