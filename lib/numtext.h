/*
 * numtext: a number as it is typed in China, made into the plain ASCII
 * decimal text the aggregator parses (lib/decimal.h).
 *
 * Chinese input methods switch to full-width characters, and Excel shows
 * large numbers with thousands separators or in scientific notation, so a
 * school's cell can hold "１２６０", "1,260" or "1.23457E+11".  The
 * collector normalises a value before it is packed, so that the aggregator
 * still decides every value rule (the decimal-place rule included) on one
 * plain text:
 *   - surrounding blanks are trimmed: ASCII white space, the ideographic
 *     space U+3000 and the no-break space U+00A0 (Excel pastes it);
 *   - full-width digits ０-９, point ．(U+FF0E), minus －(U+FF0D), plus
 *     ＋(U+FF0B) and comma ，(U+FF0C) read as their ASCII forms;
 *   - a comma is a thousands separator, accepted only in exact groups of
 *     three digits before the point: "1,260" and "12,345.5" read as "1260"
 *     and "12345.5"; "12,5", "1,26" and "1,2345" are refused;
 *   - exponent notation ("1.23457E+11", "1e5") is refused: Excel writes it
 *     for a number it has already rounded to six digits.
 * Text that is not shaped like a number ("abc", "N/A", "1.2.3") is handed
 * back trimmed and otherwise as typed: the aggregator's "not a number"
 * reason then quotes what the school wrote.
 */
#ifndef EDUSTAT_NUMTEXT_H
#define EDUSTAT_NUMTEXT_H

#include <stddef.h>

/* The refusal of exponent notation, word for word. */
#define NUMTEXT_SCIENTIFIC                                                                         \
        "the value is in scientific notation, so Excel has rounded it; format the column as a "    \
        "number and export again"

/*
 * Normalise s[0..len) (UTF-8).  buf must hold len bytes; it is used only
 * when the text changes.  Returns the normalised text, which is s itself
 * (trimmed) or buf, and sets *outlen; or returns NULL with the reason in
 * why (NUL-terminated, cut at whylen).  The result is never longer than
 * the input and is not NUL-terminated.
 */
const char *numtext_normalize(const char *s, size_t len, char *buf, size_t *outlen, char *why,
                              size_t whylen);

#endif
