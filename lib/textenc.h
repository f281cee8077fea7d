/*
 * textenc: the text encodings school and office files come in, turned into
 * the UTF-8 the rest of edustat reads.
 *
 * Excel and WPS on a Chinese Windows save "CSV" in the ANSI code page, which
 * is GBK (code page 936); "Unicode text" is UTF-16LE with a byte-order mark
 * and tabs; newer tools write UTF-8 with or without a BOM.  Detection, in
 * this order:
 *   1. a byte-order mark: UTF-8 (EF BB BF), UTF-16LE (FF FE), UTF-16BE (FE FF);
 *   2. the whole input is valid UTF-8 (plain ASCII is);
 *   3. the whole input is valid GB18030, the superset of GB2312 and GBK
 *      (two-byte and four-byte sequences), decoded with glibc's iconv.
 * Anything else is refused with `NAME: not UTF-8, UTF-16 or GB18030 text
 * (first bad byte at line L)`.  A caller may force one encoding instead
 * (the collector's --encoding).
 *
 * UTF-8 input is never copied: the text handed back points into the input,
 * past a BOM, so the common case costs one validation pass.  Converted text
 * is capped (the caller says how large it may grow).  Conversion keeps every
 * line break, so line numbers counted in the output are the input's.
 *
 * Line numbers in messages count LF, CR LF and a lone CR as one line end
 * each, as lib/csvread does.
 */
#ifndef EDUSTAT_TEXTENC_H
#define EDUSTAT_TEXTENC_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum textenc {
        TEXTENC_AUTO = 0, /* detect as above */
        TEXTENC_UTF8,
        TEXTENC_GB18030,
        TEXTENC_UTF16, /* the BOM gives the byte order; without one, little-endian */
};

/*
 * The result of a conversion.  p[0..len) is UTF-8 (not NUL-terminated); it
 * points into the caller's input when nothing had to be converted, else into
 * owned, which the caller frees.  enc says what the input was (never AUTO);
 * for UTF-16 big_endian says which order.
 */
struct textenc_text {
        const char *p;
        size_t len;
        char *owned;
        enum textenc enc;
        int big_endian;
};

/*
 * Parse an encoding name as the collector's --encoding takes it: "utf-8",
 * "gb18030" or "utf-16", in any case; "utf8", "gbk", "gb2312" and "utf16"
 * are accepted too (GBK and GB2312 decode as their superset GB18030).
 * Returns 0 with *enc set, or -1 for an unknown name.
 */
EDUSTAT_MUST_USE int textenc_parse(const char *name, enum textenc *enc);

/* "auto", "UTF-8", "GB18030" or "UTF-16". */
const char *textenc_name(enum textenc enc);

/*
 * A streaming UTF-8 validator, so a file can be checked chunk by chunk
 * without holding it: zero the struct, feed every chunk in order with
 * textenc_utf8_feed, then call textenc_utf8_end.  NUL bytes count as valid
 * here (csvread refuses them row by row with a better message).
 */
struct textenc_utf8 {
        uint64_t offset; /* bytes fed so far */
        uint64_t bad_at; /* offset of the first bad byte, when bad */
        int bad;
        unsigned need;        /* continuation bytes still expected */
        unsigned char lo, hi; /* the range the next continuation byte must be in */
        uint64_t seq_start;   /* offset of the open sequence's lead byte */
};

/* Feed len bytes.  Returns 0 while the input is valid so far, -1 once not. */
int textenc_utf8_feed(struct textenc_utf8 *v, const void *buf, size_t len);

/* End of input: a sequence left open is bad.  Returns 0 when valid, else -1. */
int textenc_utf8_end(struct textenc_utf8 *v);

/*
 * Detect (enc TEXTENC_AUTO) or take the encoding of buf[0..len) and make
 * its UTF-8 text in *out.  The converted text may hold at most cap bytes.
 * name is used in messages only.  Returns 0, or -1 with a message naming
 * the file in err: the refusal above (for a forced encoding `NAME: not
 * GB18030 text (first bad byte at line L)`), or `NAME: larger than N MB
 * once converted to UTF-8`.  A forced TEXTENC_UTF8 input is not validated
 * here (csvread checks every field); only its BOM is skipped.
 */
int textenc_to_utf8(const char *name, const void *buf, size_t len, enum textenc enc, size_t cap,
                    struct textenc_text *out, char *err, size_t errlen);

/*
 * The line (1-based) that byte offset off of buf lies on, counting line
 * ends in the given encoding (for UTF-16, in that byte order).
 */
unsigned long textenc_line_of(const void *buf, size_t off, enum textenc enc, int big_endian);

#endif
