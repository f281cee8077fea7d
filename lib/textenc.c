/*
 * textenc: BOM, UTF-8 validation and glibc iconv for GB18030 and UTF-16.
 *
 * The UTF-8 check runs on every plain file the collector reads, so it skips
 * ASCII eight bytes at a time and keeps no table; only a byte with the high
 * bit set takes the careful path.
 */
#include "textenc.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int
textenc_parse(const char *name, enum textenc *enc)
{
        static const struct {
                const char *name;
                enum textenc enc;
        } names[] = {
            {"utf-8", TEXTENC_UTF8},   {"utf8", TEXTENC_UTF8},      {"gb18030", TEXTENC_GB18030},
            {"gbk", TEXTENC_GB18030},  {"gb2312", TEXTENC_GB18030}, {"cp936", TEXTENC_GB18030},
            {"utf-16", TEXTENC_UTF16}, {"utf16", TEXTENC_UTF16},    {"auto", TEXTENC_AUTO},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcasecmp(name, names[i].name) == 0) {
                        *enc = names[i].enc;
                        return 0;
                }
        }
        return -1;
}

const char *
textenc_name(enum textenc enc)
{
        switch (enc) {
        case TEXTENC_UTF8:
                return "UTF-8";
        case TEXTENC_GB18030:
                return "GB18030";
        case TEXTENC_UTF16:
                return "UTF-16";
        default:
                return "auto";
        }
}

/* Mark the validator bad at offset at (the first problem wins). */
static int
utf8_bad(struct textenc_utf8 *v, uint64_t at)
{
        if (!v->bad) {
                v->bad = 1;
                v->bad_at = at;
        }
        return -1;
}

int
textenc_utf8_feed(struct textenc_utf8 *v, const void *buf, size_t len)
{
        const unsigned char *s = buf;
        size_t i = 0;

        if (v->bad)
                return -1;
        while (i < len) {
                unsigned char c;

                if (v->need == 0) {
                        /* ASCII runs, a word at a time. */
                        while (len - i >= 8) {
                                uint64_t w;

                                memcpy(&w, s + i, 8);
                                if (w & 0x8080808080808080ULL)
                                        break;
                                i += 8;
                        }
                        while (i < len && s[i] < 0x80)
                                i++;
                        if (i == len)
                                break;
                        c = s[i];
                        v->seq_start = v->offset + i;
                        v->lo = 0x80;
                        v->hi = 0xBF;
                        if (c >= 0xC2 && c <= 0xDF) {
                                v->need = 1;
                        } else if (c >= 0xE0 && c <= 0xEF) {
                                v->need = 2;
                                if (c == 0xE0)
                                        v->lo = 0xA0; /* overlong */
                                else if (c == 0xED)
                                        v->hi = 0x9F; /* surrogates */
                        } else if (c >= 0xF0 && c <= 0xF4) {
                                v->need = 3;
                                if (c == 0xF0)
                                        v->lo = 0x90; /* overlong */
                                else if (c == 0xF4)
                                        v->hi = 0x8F; /* beyond U+10FFFF */
                        } else {
                                v->offset += len;
                                return utf8_bad(v, v->seq_start);
                        }
                        i++;
                        continue;
                }
                c = s[i];
                if (c < v->lo || c > v->hi) {
                        uint64_t at = v->offset + i;

                        v->offset += len;
                        return utf8_bad(v, at);
                }
                v->lo = 0x80;
                v->hi = 0xBF;
                v->need--;
                i++;
        }
        v->offset += len;
        return 0;
}

int
textenc_utf8_end(struct textenc_utf8 *v)
{
        if (v->bad)
                return -1;
        if (v->need > 0)
                return utf8_bad(v, v->seq_start);
        return 0;
}

unsigned long
textenc_line_of(const void *buf, size_t off, enum textenc enc, int big_endian)
{
        const unsigned char *s = buf;
        unsigned long line = 1;
        size_t step = enc == TEXTENC_UTF16 ? 2 : 1;
        int cr = 0;

        for (size_t i = 0; i + step <= off; i += step) {
                unsigned c;

                if (step == 2)
                        c = big_endian ? (unsigned)(s[i] << 8 | s[i + 1])
                                       : (unsigned)(s[i + 1] << 8 | s[i]);
                else
                        c = s[i];
                /* A CR ends a line unless a LF follows, which then ends it. */
                if (cr && c != '\n')
                        line++;
                cr = c == '\r';
                if (c == '\n')
                        line++;
        }
        if (cr)
                line++;
        return line;
}

/*
 * Decode buf[0..len) from the iconv encoding `from` into an owned buffer of
 * at most cap bytes.  Returns 0 with *out and *outlen, -1 with *bad_at set
 * to the offset of the first byte that does not decode, or -2 when the
 * output would pass cap.
 */
static int
iconv_decode(const char *from, const unsigned char *buf, size_t len, size_t cap, char **out,
             size_t *outlen, size_t *bad_at)
{
        iconv_t cd = iconv_open("UTF-8", from);
        /* Each of these encodings grows by at most half when written as UTF-8. */
        size_t want = len / 2 * 3 + 16, room;
        char *dst, *o;
        char *in = (char *)(uintptr_t)buf; /* iconv's prototype is not const */
        size_t inleft = len;
        int rc = 0;

        if (cd == (iconv_t)-1) {
                /* glibc always has these converters; without them nothing decodes. */
                *bad_at = 0;
                return -1;
        }
        if (want > cap + 1)
                want = cap + 1;
        dst = xmalloc(want);
        o = dst;
        room = want;
        if (iconv(cd, &in, &inleft, &o, &room) == (size_t)-1) {
                if (errno == E2BIG) {
                        rc = -2;
                } else {
                        /* EILSEQ: a bad sequence; EINVAL: one cut off at the end. */
                        *bad_at = (size_t)((const unsigned char *)in - buf);
                        rc = -1;
                }
        } else if (iconv(cd, NULL, NULL, &o, &room) == (size_t)-1) {
                rc = -2;
        }
        iconv_close(cd);
        if (rc == 0 && (size_t)(o - dst) > cap)
                rc = -2;
        if (rc < 0) {
                free(dst);
                return rc;
        }
        *out = dst;
        *outlen = (size_t)(o - dst);
        return 0;
}

/* Fill out from an owned converted buffer. */
static void
text_owned(struct textenc_text *out, char *p, size_t len, enum textenc enc, int be)
{
        out->p = out->owned = p;
        out->len = len;
        out->enc = enc;
        out->big_endian = be;
}

int
textenc_to_utf8(const char *name, const void *buf, size_t len, enum textenc enc, size_t cap,
                struct textenc_text *out, char *err, size_t errlen)
{
        const unsigned char *s = buf;
        struct textenc_utf8 v;
        char *conv;
        size_t convlen, gb_bad = 0, u16_bad = 0;
        int be = 0, rc;

        memset(out, 0, sizeof(*out));
        if (len >= 2 && (enc == TEXTENC_AUTO || enc == TEXTENC_UTF16) &&
            ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
                be = s[0] == 0xFE;
                rc = iconv_decode(be ? "UTF-16BE" : "UTF-16LE", s + 2, len - 2, cap, &conv,
                                  &convlen, &u16_bad);
                if (rc == 0) {
                        text_owned(out, conv, convlen, TEXTENC_UTF16, be);
                        return 0;
                }
                if (rc == -2)
                        goto too_big;
                strlcpyf(err, errlen, "%s: not UTF-16 text (first bad byte at line %lu)", name,
                         textenc_line_of(s + 2, u16_bad, TEXTENC_UTF16, be));
                return -1;
        }
        if (enc == TEXTENC_UTF16) {
                rc = iconv_decode("UTF-16LE", s, len, cap, &conv, &convlen, &u16_bad);
                if (rc == 0) {
                        text_owned(out, conv, convlen, TEXTENC_UTF16, 0);
                        return 0;
                }
                if (rc == -2)
                        goto too_big;
                strlcpyf(err, errlen, "%s: not UTF-16 text (first bad byte at line %lu)", name,
                         textenc_line_of(s, u16_bad, TEXTENC_UTF16, 0));
                return -1;
        }
        if (enc == TEXTENC_UTF8 || enc == TEXTENC_AUTO) {
                size_t skip = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

                memset(&v, 0, sizeof(v));
                if (enc == TEXTENC_UTF8 || skip > 0 ||
                    (textenc_utf8_feed(&v, s, len) == 0 && textenc_utf8_end(&v) == 0)) {
                        out->p = (const char *)s + skip;
                        out->len = len - skip;
                        out->enc = TEXTENC_UTF8;
                        return 0;
                }
        }
        rc = iconv_decode("GB18030", s, len, cap, &conv, &convlen, &gb_bad);
        if (rc == 0) {
                text_owned(out, conv, convlen, TEXTENC_GB18030, 0);
                return 0;
        }
        if (rc == -2)
                goto too_big;
        if (enc == TEXTENC_GB18030) {
                strlcpyf(err, errlen, "%s: not GB18030 text (first bad byte at line %lu)", name,
                         textenc_line_of(s, gb_bad, TEXTENC_GB18030, 0));
                return -1;
        }
        /*
         * Neither reads.  The encoding that got further is the likelier one,
         * so its first bad byte is the one worth looking at.
         */
        if (v.bad_at > gb_bad)
                gb_bad = (size_t)v.bad_at;
        strlcpyf(err, errlen, "%s: not UTF-8, UTF-16 or GB18030 text (first bad byte at line %lu)",
                 name, textenc_line_of(s, gb_bad, TEXTENC_GB18030, 0));
        return -1;

too_big:
        strlcpyf(err, errlen, "%s: larger than %zu MB once converted to UTF-8", name, cap >> 20);
        return -1;
}
