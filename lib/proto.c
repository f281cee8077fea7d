/*
 * proto: encoders and decoders of the msgpack wire format (see proto.h).
 *
 * Every frame is read twice.  First a structural walk over the raw bytes
 * (frame_scan) proves that every declared length and element count fits in
 * the bytes that follow, that nothing nests deeper than our messages do and
 * that no container declares more items than its message type allows; it
 * allocates nothing, so a 5-byte array32 header declaring 4G items costs
 * nothing, and it notes where each of the message's items starts.  Second,
 * a cursor (item_read) walks the proven bytes once, tuple by tuple, and the
 * decoders check every element for type, tuple length and string length
 * before storing it straight into the output structs.
 *
 * The second pass used to be msgpack_unpack_next(), which builds a tree of
 * 24-byte msgpack_objects in a zone, one per element, only for the decoders
 * to copy the fields out of it: on a uow of 100,000 values that tree was
 * most of the decoding time.  The cursor keeps msgpack-c's typing (see
 * struct item), so the same frames pass and fail with the same messages.
 * msgpack-c still does all the encoding.
 *
 * Strings stay in the caller's buffer: a pstr points at the string's bytes
 * in the frame, which tests/unit/test_proto.c checks.
 */
#include "proto.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* Deepest container nesting of any message: message, list, tuple. */
#define SCAN_DEPTH 3

/* Items of the longest message (uow): lim_*[0] is never larger. */
#define MSG_ITEMS 11

/*
 * Unsigned wire integers end up in PostgreSQL bigint columns (versions,
 * sequences), so anything above INT64_MAX would make the sink's COPY fail
 * and stall every uow behind it.
 */
#define WIRE_U64_MAX ((uint64_t)INT64_MAX)

/* Most items a container may declare at each nesting level, per message. */
static const uint32_t lim_submit[SCAN_DEPTH] = {6, PROTO_MAX_BATCH, 8};
static const uint32_t lim_ack[SCAN_DEPTH] = {8, PROTO_MAX_BATCH, 6};
static const uint32_t lim_action[SCAN_DEPTH] = {9, 0, 0};
static const uint32_t lim_flat[SCAN_DEPTH] = {4, 0, 0};
static const uint32_t lim_uow[SCAN_DEPTH] = {11, UINT32_MAX, 14};
static const uint32_t lim_rows[SCAN_DEPTH] = {2, UINT32_MAX, 6};
static const uint32_t lim_notes[SCAN_DEPTH] = {2, UINT32_MAX, 3};
static const uint32_t lim_ready[SCAN_DEPTH] = {6, 0, 0};
static const uint32_t lim_ask[SCAN_DEPTH] = {6, 0, 0};
static const uint32_t lim_told[SCAN_DEPTH] = {7, PROTO_MAX_BLOCKERS, 0};

static const char *const type_names[] = {
    [PROTO_SUBMIT] = "submit", [PROTO_ACK] = "ack",         [PROTO_ERROR] = "error",
    [PROTO_HELLO] = "hello",   [PROTO_UOW] = "uow",         [PROTO_ROWS] = "rows",
    [PROTO_READY] = "ready",   [PROTO_OK] = "ok",           [PROTO_FAIL] = "fail",
    [PROTO_FENCED] = "fenced", [PROTO_CHECK] = "check",     [PROTO_CHECKED] = "checked",
    [PROTO_ACTION] = "action", [PROTO_REVIEWS] = "reviews", [PROTO_NOTES] = "notes",
    [PROTO_ASK] = "ask",       [PROTO_TOLD] = "told",
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (err == NULL || errlen == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* Big-endian unsigned integer of n (1, 2, 4 or 8) bytes. */
static uint64_t
load_be(const unsigned char *p, size_t n)
{
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = v << 8 | p[i];
        return v;
}

/* Bytes after the type byte of float 32/64, uint 8..64 and int 8..64 (0xca..0xd3). */
static const unsigned char num_bytes[10] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8};

/*
 * Walk the msgpack encoding in p[0..len) without allocating.  maxcount[d]
 * caps the items of a container nested d levels deep (0 is the message
 * itself).  Returns 0 when the frame is exactly one well-formed object
 * within those limits, else -1 with the offending byte offset in err.
 * at_item[i] gets the offset of the outermost container's item i (the
 * message's items, which no limit lets exceed MSG_ITEMS).
 */
static int
frame_scan(const unsigned char *p, size_t len, const uint32_t maxcount[SCAN_DEPTH],
           size_t at_item[MSG_ITEMS], char *err, size_t errlen)
{
        /* cur: items left in the innermost open container; left[]: the outer ones'. */
        uint64_t left[SCAN_DEPTH + 1], cur = 1;
        int depth = 0;
        size_t off = 0, nitem = 0;

        if (len == 0) {
                seterr(err, errlen, "empty frame");
                return -1;
        }
        /* Lengths and counts are kept in 32 bits (struct item, pstr), and
         * offsets stay far from overflowing. */
        if (len > UINT32_MAX) {
                seterr(err, errlen, "frame of %zu bytes is too large", len);
                return -1;
        }
        for (;;) {
                size_t at = off, lenbytes = 0;
                uint64_t skip = 0, count = 0, extra = 0;
                int container = 0, pairs = 0;
                unsigned b;

                while (cur == 0 && depth > 0)
                        cur = left[--depth];
                if (cur == 0)
                        break;
                /*
                 * Most objects of a frame are numbers, nils and strings
                 * shorter than 256 bytes (a record's fields, ids): take
                 * runs of them here.  A string that overruns the frame,
                 * like anything else, goes to the general case below,
                 * which reports it.  So do the message's own items, whose
                 * offsets are noted there.
                 */
                while (depth != 1 && cur > 0 && off < len) {
                        unsigned c = p[off];

                        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
                                off++;
                        } else if (c >= 0xa0 && c <= 0xbf && (c & 0x1f) < len - off) {
                                off += 1 + (c & 0x1f);
                        } else if (c >= 0xca && c <= 0xd3 && num_bytes[c - 0xca] < len - off) {
                                off += 1 + (size_t)num_bytes[c - 0xca];
                        } else if (c == 0xd9 && len - off >= 2 &&
                                   (size_t)p[off + 1] <= len - off - 2) {
                                /* str8: ids and collector names of 32 bytes or more */
                                off += 2 + (size_t)p[off + 1];
                        } else {
                                break;
                        }
                        cur--;
                }
                if (cur == 0)
                        continue;
                at = off;
                cur--;
                if (depth == 1 && nitem < MSG_ITEMS)
                        at_item[nitem++] = at;
                if (off >= len) {
                        seterr(err, errlen, "byte %zu: frame ends inside the message", off);
                        return -1;
                }
                b = p[off++];
                if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
                        /* fixint, nil, bool: the header is the whole object */
                } else if (b <= 0x8f) {
                        container = pairs = 1;
                        count = b & 0x0f;
                } else if (b <= 0x9f) {
                        container = 1;
                        count = b & 0x0f;
                } else if (b <= 0xbf) {
                        skip = b & 0x1f;
                } else {
                        switch (b) {
                        case 0xc4: /* bin 8/16/32 */
                        case 0xc5:
                        case 0xc6:
                                lenbytes = (size_t)1 << (b - 0xc4);
                                break;
                        case 0xc7: /* ext 8/16/32: length, then a type byte */
                        case 0xc8:
                        case 0xc9:
                                lenbytes = (size_t)1 << (b - 0xc7);
                                extra = 1;
                                break;
                        case 0xca:
                                skip = 4;
                                break;
                        case 0xcb:
                                skip = 8;
                                break;
                        case 0xcc: /* uint 8/16/32/64 */
                        case 0xcd:
                        case 0xce:
                        case 0xcf:
                                skip = (uint64_t)1 << (b - 0xcc);
                                break;
                        case 0xd0: /* int 8/16/32/64 */
                        case 0xd1:
                        case 0xd2:
                        case 0xd3:
                                skip = (uint64_t)1 << (b - 0xd0);
                                break;
                        case 0xd4: /* fixext 1/2/4/8/16, plus the type byte */
                        case 0xd5:
                        case 0xd6:
                        case 0xd7:
                        case 0xd8:
                                skip = ((uint64_t)1 << (b - 0xd4)) + 1;
                                break;
                        case 0xd9: /* str 8/16/32 */
                        case 0xda:
                        case 0xdb:
                                lenbytes = (size_t)1 << (b - 0xd9);
                                break;
                        case 0xdc: /* array 16/32 */
                        case 0xdd:
                                lenbytes = (size_t)2 << (b - 0xdc);
                                container = 1;
                                break;
                        case 0xde: /* map 16/32 */
                        case 0xdf:
                                lenbytes = (size_t)2 << (b - 0xde);
                                container = pairs = 1;
                                break;
                        default:
                                seterr(err, errlen, "byte %zu: invalid type byte 0x%02x", at, b);
                                return -1;
                        }
                }
                if (lenbytes > 0) {
                        uint64_t n;

                        if (lenbytes > len - off) {
                                seterr(err, errlen, "byte %zu: frame ends inside a header", at);
                                return -1;
                        }
                        n = load_be(p + off, lenbytes);
                        off += lenbytes;
                        if (container)
                                count = n;
                        else
                                skip = n + extra;
                }
                if (skip > len - off) {
                        seterr(err, errlen, "byte %zu: declares %llu bytes, only %zu follow", at,
                               (unsigned long long)skip, len - off);
                        return -1;
                }
                off += skip;
                if (!container)
                        continue;
                if (pairs)
                        count *= 2;
                if (depth == SCAN_DEPTH) {
                        seterr(err, errlen, "byte %zu: nested deeper than %d levels", at,
                               SCAN_DEPTH);
                        return -1;
                }
                if (count > maxcount[depth]) {
                        seterr(err, errlen,
                               "byte %zu: %s declares %llu items, at most %lu allowed at depth %d",
                               at, pairs ? "map" : "array", (unsigned long long)count,
                               (unsigned long)maxcount[depth], depth);
                        return -1;
                }
                /* Every item takes at least one byte. */
                if (count > len - off) {
                        seterr(err, errlen, "byte %zu: declares %llu items, only %zu bytes follow",
                               at, (unsigned long long)count, len - off);
                        return -1;
                }
                left[depth++] = cur;
                cur = count;
        }
        if (off != len) {
                seterr(err, errlen, "%zu trailing bytes after the message", len - off);
                return -1;
        }
        return 0;
}

enum proto_type
proto_peek(const void *buf, size_t len)
{
        const unsigned char *p = buf;
        size_t off, n;
        uint64_t count;

        if (len < 2)
                return PROTO_BAD;
        if (p[0] >= 0x90 && p[0] <= 0x9f) {
                count = p[0] & 0x0f;
                off = 1;
        } else if (p[0] == 0xdc && len >= 3) {
                count = load_be(p + 1, 2);
                off = 3;
        } else if (p[0] == 0xdd && len >= 5) {
                count = load_be(p + 1, 4);
                off = 5;
        } else {
                return PROTO_BAD;
        }
        if (count == 0 || off >= len || p[off] < 0xa0 || p[off] > 0xbf)
                return PROTO_BAD;
        n = p[off] & 0x1f;
        off++;
        if (n > len - off)
                return PROTO_BAD;
        for (int t = PROTO_SUBMIT; t <= PROTO_LAST; t++) {
                if (strlen(type_names[t]) == n && memcmp(p + off, type_names[t], n) == 0)
                        return (enum proto_type)t;
        }
        return PROTO_BAD;
}

/*
 * The second pass: a cursor over a frame that frame_scan has accepted.  It
 * checks no bounds, because the scan proved that every length and count
 * fits in the frame, and it never skips a container: the scan noted where
 * each of the message's items starts, and a tuple's items are scalars
 * (a container inside a tuple would be nested too deep).
 *
 * An item is what msgpack-c's unpacker made of one object, without the
 * tree: an integer of any encoding is ITEM_UINT when it is >= 0 (msgpack-c
 * makes a non-negative int8..int64 a POSITIVE_INTEGER too), float32 widens
 * to double, and bool, bin and ext are ITEM_OTHER, which no field accepts.
 */
enum item_kind {
        ITEM_NIL,
        ITEM_UINT,
        ITEM_NINT,
        ITEM_FLOAT,
        ITEM_STR,
        ITEM_ARRAY,
        ITEM_MAP,
        ITEM_OTHER,
        ITEM_ABSENT, /* past the end of a tuple that may be shorter (dec_tuple) */
};

struct item {
        enum item_kind kind;
        uint32_t n; /* bytes of a str, items of an array, pairs of a map */
        union {
                uint64_t u;
                int64_t i;
                double f;
                const unsigned char *p; /* a str's bytes, a container's first item */
        } v;
};

/* Items of the longest tuple (agg): lim_*[2] is never larger. */
#define TUPLE_ITEMS 14

/*
 * The msgpack int of nb (1, 2, 4 or 8) bytes at p, sign-extended.  The
 * narrowing casts of values above the signed range are implementation-
 * defined in C11 (6.3.1.3); GCC and Clang, the compilers here, wrap.
 */
static int64_t
load_int(const unsigned char *p, size_t nb)
{
        uint64_t v = load_be(p, nb);

        switch (nb) {
        case 1:
                return (int8_t)v;
        case 2:
                return (int16_t)v;
        case 4:
                return (int32_t)v;
        default:
                return (int64_t)v;
        }
}

/*
 * Read the object at p into *it.  Returns the byte after it, or after its
 * header for an array or map (it->v.p then points at its first item too).
 */
static const unsigned char *
item_read(const unsigned char *p, struct item *it)
{
        unsigned b = *p++;
        size_t nb;

        /* The common cases first: short strings and small numbers. */
        if (b >= 0xa0 && b <= 0xbf) {
                it->kind = ITEM_STR;
                it->n = b & 0x1f;
                /* Never NULL, even for "": a NULL pstr means nil. */
                it->v.p = p;
                return p + it->n;
        }
        if (b <= 0x7f) {
                it->kind = ITEM_UINT;
                it->v.u = b;
                return p;
        }
        if (b >= 0xe0) {
                it->kind = ITEM_NINT;
                it->v.i = (int64_t)b - 256;
                return p;
        }
        if (b <= 0x9f) {
                it->kind = b <= 0x8f ? ITEM_MAP : ITEM_ARRAY;
                it->n = b & 0x0f;
                it->v.p = p;
                return p;
        }
        switch (b) {
        case 0xc0:
                it->kind = ITEM_NIL;
                return p;
        case 0xca: {
                uint32_t bits = (uint32_t)load_be(p, 4);
                float f;

                memcpy(&f, &bits, sizeof(f));
                it->kind = ITEM_FLOAT;
                it->v.f = f;
                return p + 4;
        }
        case 0xcb: {
                uint64_t bits = load_be(p, 8);

                memcpy(&it->v.f, &bits, sizeof(it->v.f));
                it->kind = ITEM_FLOAT;
                return p + 8;
        }
        case 0xcc: /* uint 8/16/32/64 */
        case 0xcd:
        case 0xce:
        case 0xcf:
                nb = (size_t)1 << (b - 0xcc);
                it->kind = ITEM_UINT;
                it->v.u = load_be(p, nb);
                return p + nb;
        case 0xd0: /* int 8/16/32/64 */
        case 0xd1:
        case 0xd2:
        case 0xd3:
                nb = (size_t)1 << (b - 0xd0);
                it->v.i = load_int(p, nb);
                it->kind = it->v.i < 0 ? ITEM_NINT : ITEM_UINT;
                return p + nb;
        case 0xd9: /* str 8/16/32 */
        case 0xda:
        case 0xdb:
                nb = (size_t)1 << (b - 0xd9);
                it->kind = ITEM_STR;
                it->n = (uint32_t)load_be(p, nb);
                it->v.p = p + nb;
                return p + nb + it->n;
        case 0xdc: /* array 16/32 */
        case 0xdd:
                nb = (size_t)2 << (b - 0xdc);
                it->kind = ITEM_ARRAY;
                it->n = (uint32_t)load_be(p, nb);
                it->v.p = p + nb;
                return p + nb;
        case 0xde: /* map 16/32 */
        case 0xdf:
                nb = (size_t)2 << (b - 0xde);
                it->kind = ITEM_MAP;
                it->n = (uint32_t)load_be(p, nb);
                it->v.p = p + nb;
                return p + nb;
        case 0xc4: /* bin 8/16/32 */
        case 0xc5:
        case 0xc6:
                nb = (size_t)1 << (b - 0xc4);
                it->kind = ITEM_OTHER;
                return p + nb + load_be(p, nb);
        case 0xc7: /* ext 8/16/32: length, type byte, data */
        case 0xc8:
        case 0xc9:
                nb = (size_t)1 << (b - 0xc7);
                it->kind = ITEM_OTHER;
                return p + nb + 1 + load_be(p, nb);
        case 0xd4: /* fixext 1/2/4/8/16: type byte, data */
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
                it->kind = ITEM_OTHER;
                return p + 1 + ((size_t)1 << (b - 0xd4));
        default: /* false, true (0xc1 never passes frame_scan) */
                it->kind = ITEM_OTHER;
                return p;
        }
}

/*
 * Where a decoder is, for error messages: "record 17: unit is not a
 * string".  list is NULL for fields of the message itself.
 */
struct where {
        const char *list;
        uint32_t idx;
        char *err;
        size_t errlen;
        int has_line; /* a record whose line was read: name it by its line */
        uint32_t line;
        const void *ctx; /* what the list's items refer to: a uow's batch table */
};

static void fail(const struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(const struct where *w, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (w->has_line)
                seterr(w->err, w->errlen, "line %lu: %s", (unsigned long)w->line, msg);
        else if (w->list != NULL)
                seterr(w->err, w->errlen, "%s %lu: %s", w->list, (unsigned long)w->idx, msg);
        else
                seterr(w->err, w->errlen, "%s", msg);
}

/* A string of at most cap bytes, or nil when nil_ok (p = NULL). */
static int
dec_str(const struct where *w, const struct item *o, const char *field, uint32_t cap, int nil_ok,
        struct pstr *out)
{
        if (o->kind == ITEM_NIL && nil_ok) {
                out->p = NULL;
                out->len = 0;
                return 0;
        }
        if (o->kind != ITEM_STR) {
                fail(w, "%s is not a string", field);
                return -1;
        }
        if (o->n > cap) {
                fail(w, "%s longer than %lu bytes", field, (unsigned long)cap);
                return -1;
        }
        out->p = (const char *)o->v.p;
        out->len = o->n;
        return 0;
}

/* A non-negative integer no larger than max. */
static int
dec_uint(const struct where *w, const struct item *o, const char *field, uint64_t max,
         uint64_t *out)
{
        if (o->kind == ITEM_NINT) {
                fail(w, "%s is negative", field);
                return -1;
        }
        if (o->kind != ITEM_UINT) {
                fail(w, "%s is not an integer", field);
                return -1;
        }
        if (o->v.u > max) {
                fail(w, "%s %llu out of range", field, (unsigned long long)o->v.u);
                return -1;
        }
        *out = o->v.u;
        return 0;
}

static int
dec_u32(const struct where *w, const struct item *o, const char *field, uint32_t *out)
{
        uint64_t v;

        if (dec_uint(w, o, field, UINT32_MAX, &v) == -1)
                return -1;
        *out = (uint32_t)v;
        return 0;
}

/* A float32/float64, or nil: then *out = 0 and nullbit is set in *nulls. */
static int
dec_float(const struct where *w, const struct item *o, const char *field, unsigned nullbit,
          double *out, unsigned *nulls)
{
        if (o->kind == ITEM_NIL) {
                *out = 0;
                *nulls |= nullbit;
                return 0;
        }
        if (o->kind != ITEM_FLOAT) {
                fail(w, "%s is not a float", field);
                return -1;
        }
        *out = o->v.f;
        return 0;
}

/* A decimal text or nil, which sets nullbit. */
static int
dec_decimal(const struct where *w, const struct item *o, const char *field, unsigned nullbit,
            struct pstr *out, unsigned *nulls)
{
        if (dec_str(w, o, field, PROTO_MAX_TEXT, 1, out) == -1)
                return -1;
        if (out->p == NULL)
                *nulls |= nullbit;
        return 0;
}

/*
 * The protocol version of submit, check, action and hello: min ..
 * PROTO_VERSION are understood; an older one is told to upgrade.
 */
static int
dec_version(const struct where *w, const struct item *o, unsigned min, unsigned *version)
{
        if (o->kind == ITEM_NINT) {
                fail(w, "unsupported protocol version %lld (this server speaks %d)",
                     (long long)o->v.i, PROTO_VERSION);
                return -1;
        }
        if (o->kind != ITEM_UINT) {
                fail(w, "protocol version is not an integer");
                return -1;
        }
        if (o->v.u >= 1 && o->v.u < min) {
                fail(w,
                     "protocol version %llu is no longer accepted (this server speaks %d): "
                     "upgrade the client",
                     (unsigned long long)o->v.u, PROTO_VERSION);
                return -1;
        }
        if (o->v.u < min || o->v.u > PROTO_VERSION) {
                fail(w, "unsupported protocol version %llu (this server speaks %d)",
                     (unsigned long long)o->v.u, PROTO_VERSION);
                return -1;
        }
        if (version != NULL)
                *version = (unsigned)o->v.u;
        return 0;
}

/* An array of at most max items: *first is where its first item starts. */
static int
dec_list(const struct where *w, const struct item *o, const char *field, uint32_t max,
         const unsigned char **first, uint32_t *n)
{
        if (o->kind != ITEM_ARRAY) {
                fail(w, "%s is not an array", field);
                return -1;
        }
        if (o->n > max) {
                fail(w, "%s holds %lu items, at most %lu allowed", field, (unsigned long)o->n,
                     (unsigned long)max);
                return -1;
        }
        *first = o->v.p;
        *n = o->n;
        return 0;
}

/*
 * The tuple at *p, an array of min..max items (a record, a value, ...),
 * read into f[0..max): the items it lacks are ITEM_ABSENT, which no field
 * accepts unless it says so.  *p moves past it.
 */
/* Tuple items are scalars (the scan refuses containers at depth 3), so the
 * cursor never has to skip a nested container. */
_Static_assert(SCAN_DEPTH == 3, "dec_tuple cannot skip nested containers");

static int
dec_tuple(const struct where *w, const unsigned char **p, uint32_t min, uint32_t max,
          struct item *f)
{
        const unsigned char *q;
        struct item t;

        q = item_read(*p, &t);
        if (t.kind != ITEM_ARRAY) {
                fail(w, "not an array");
                return -1;
        }
        if (t.n < min || t.n > max) {
                if (min == max)
                        fail(w, "has %lu items, expected %lu", (unsigned long)t.n,
                             (unsigned long)min);
                else
                        fail(w, "has %lu items, expected %lu to %lu", (unsigned long)t.n,
                             (unsigned long)min, (unsigned long)max);
                return -1;
        }
        for (uint32_t i = 0; i < t.n; i++)
                q = item_read(q, &f[i]);
        for (uint32_t i = t.n; i < max; i++)
                f[i].kind = ITEM_ABSENT;
        *p = q;
        return 0;
}

/*
 * The n tuples of min..max items each starting at p (the items of a list,
 * named list in errors), each decoded by fn into out[i], size bytes apiece.
 */
static int
dec_each_var(struct where *w, const char *list, const unsigned char *p, uint32_t n, uint32_t min,
             uint32_t max, int (*fn)(const struct where *, const struct item *, void *), void *out,
             size_t size)
{
        struct item f[TUPLE_ITEMS];

        assert(min <= max && max <= TUPLE_ITEMS);
        w->list = list;
        for (w->idx = 0; w->idx < n; w->idx++) {
                if (dec_tuple(w, &p, min, max, f) == -1 ||
                    fn(w, f, (char *)out + (size_t)w->idx * size) == -1)
                        return -1;
        }
        return 0;
}

/* dec_each_var for tuples of exactly arity items. */
static int
dec_each(struct where *w, const char *list, const unsigned char *p, uint32_t n, uint32_t arity,
         int (*fn)(const struct where *, const struct item *, void *), void *out, size_t size)
{
        return dec_each_var(w, list, p, n, arity, arity, fn, out, size);
}

/* The message in a frame: its items, it[0] being the type name. */
struct msg {
        enum proto_type type;
        struct item it[MSG_ITEMS];
        uint32_t n; /* items in the message */
};

/* A message type frame_open() takes, with its least and most items. */
struct shape {
        enum proto_type type;
        uint32_t min, max;
};

/*
 * Scan one frame and check that it is a message of one of the types in
 * shapes (a list ended by PROTO_BAD), with between that shape's min and
 * max items.  On success m holds the message's items, their number and the
 * type found.
 */
static int
frame_open(const void *buf, size_t len, const uint32_t lim[SCAN_DEPTH], const struct shape *shapes,
           struct msg *m, char *err, size_t errlen)
{
        const unsigned char *p = buf;
        size_t at[MSG_ITEMS];
        struct item top;
        const struct shape *sh;
        const char *name;
        uint32_t n;

        if (buf == NULL) {
                seterr(err, errlen, "no frame");
                return -1;
        }
        if (frame_scan(p, len, lim, at, err, errlen) == -1)
                return -1;
        item_read(p, &top);
        if (top.kind == ITEM_ARRAY && top.n > 0)
                item_read(p + at[0], &m->it[0]);
        if (top.kind != ITEM_ARRAY || top.n == 0 || m->it[0].kind != ITEM_STR) {
                seterr(err, errlen, "not an array starting with a message type");
                return -1;
        }
        name = (const char *)m->it[0].v.p;
        n = m->it[0].n;
        for (sh = shapes; sh->type != PROTO_BAD; sh++) {
                assert(sh->max <= MSG_ITEMS);
                if (strlen(type_names[sh->type]) == n && memcmp(name, type_names[sh->type], n) == 0)
                        break;
        }
        if (sh->type == PROTO_BAD) {
                char want[128];
                size_t off = 0;

                want[0] = '\0';
                for (sh = shapes; sh->type != PROTO_BAD && off < sizeof(want); sh++)
                        off += (size_t)snprintf(want + off, sizeof(want) - off, "%s\"%s\"",
                                                sh == shapes ? "" : " or ", type_names[sh->type]);
                seterr(err, errlen, "expected message type %s", want);
                return -1;
        }
        m->type = sh->type;
        if (top.n < sh->min || top.n > sh->max) {
                if (sh->min == sh->max)
                        seterr(err, errlen, "%s message has %lu items, expected %lu",
                               type_names[m->type], (unsigned long)top.n, (unsigned long)sh->min);
                else
                        seterr(err, errlen, "%s message has %lu items, expected %lu to %lu",
                               type_names[m->type], (unsigned long)top.n, (unsigned long)sh->min,
                               (unsigned long)sh->max);
                return -1;
        }
        m->n = top.n;
        /* top.n <= lim[0] <= MSG_ITEMS: the scan noted where each item starts. */
        for (uint32_t i = 1; i < top.n; i++)
                item_read(p + at[i], &m->it[i]);
        return 0;
}

/* A time in microseconds since 1970, or nil for 0. */
static int
dec_time(const struct where *w, const struct item *o, const char *field, uint64_t *out)
{
        if (o->kind == ITEM_NIL) {
                *out = 0;
                return 0;
        }
        return dec_uint(w, o, field, WIRE_U64_MAX, out);
}

/*
 * The layout of a tuple whose items are stored as they are, with no check
 * across them: which member of the C struct each item is, in wire order,
 * and what it may hold.  One table serves the decoder (dec_fields) and the
 * encoder (pack_fields), so the two cannot disagree on the order.  The
 * tuples sent by the million are coded by hand (dec_record, tuple_*).
 */
enum field_kind {
        FIELD_STR,  /* struct pstr of at most cap bytes, nil (p NULL) when nil_ok */
        FIELD_U32,  /* uint32_t */
        FIELD_U64,  /* uint64_t, at most WIRE_U64_MAX */
        FIELD_TIME, /* uint64_t, sent as nil when 0 (dec_time) */
};

struct field {
        const char *name; /* the member's name, for error messages */
        enum field_kind kind;
        uint32_t cap;
        int nil_ok;
        size_t off; /* offsetof the member */
};

#define FIELD_S(type, member, cap, nil_ok)                                                         \
        {                                                                                          \
#member, FIELD_STR, cap, nil_ok, offsetof(type, member)                            \
        }
#define FIELD_N(type, member, kind)                                                                \
        {                                                                                          \
#member, kind, 0, 0, offsetof(type, member)                                        \
        }
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Decode f[0..n) into the members of out that fd names, stopping at the first bad item. */
static int
dec_fields(const struct where *w, const struct item *f, const struct field *fd, size_t n, void *out)
{
        for (size_t i = 0; i < n; i++) {
                void *m = (char *)out + fd[i].off;
                int rc;

                switch (fd[i].kind) {
                case FIELD_STR:
                        rc = dec_str(w, &f[i], fd[i].name, fd[i].cap, fd[i].nil_ok, m);
                        break;
                case FIELD_U32:
                        rc = dec_u32(w, &f[i], fd[i].name, m);
                        break;
                case FIELD_U64:
                        rc = dec_uint(w, &f[i], fd[i].name, WIRE_U64_MAX, m);
                        break;
                default:
                        rc = dec_time(w, &f[i], fd[i].name, m);
                        break;
                }
                if (rc == -1)
                        return -1;
        }
        return 0;
}

static const struct field reject_line_fields[] = {
    FIELD_N(struct proto_reject_line, line, FIELD_U32),
    FIELD_S(struct proto_reject_line, reason, PROTO_MAX_TEXT, 0),
};

static const struct field stale_fields[] = {
    FIELD_N(struct proto_stale, line, FIELD_U32),
    FIELD_S(struct proto_stale, value, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_stale, collector, PROTO_MAX_ID, 0),
    FIELD_N(struct proto_stale, version, FIELD_U64),
};

static const struct field warning_fields[] = {
    FIELD_S(struct proto_warning, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_warning, period, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_warning, rule, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_warning, message, PROTO_MAX_TEXT, 0),
    FIELD_S(struct proto_warning, left, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_warning, right, PROTO_MAX_FIELD, 0),
};

static const struct field batch_fields[] = {
    FIELD_S(struct proto_batch, collector, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_batch, batch_id, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_batch, source, PROTO_MAX_TEXT, 1),
};

/* A uow's rejection from line on; the batch index comes before it. */
static const struct field reject_fields[] = {
    FIELD_N(struct proto_reject, line, FIELD_U32),
    FIELD_S(struct proto_reject, unit, PROTO_MAX_FIELD, 1),
    FIELD_S(struct proto_reject, period, PROTO_MAX_FIELD, 1),
    FIELD_S(struct proto_reject, indicator, PROTO_MAX_FIELD, 1),
    FIELD_S(struct proto_reject, raw, PROTO_MAX_TEXT, 1),
    FIELD_S(struct proto_reject, reason, PROTO_MAX_TEXT, 0),
};

static const struct field violation_fields[] = {
    FIELD_S(struct proto_violation, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_violation, period, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_violation, rule, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_violation, severity, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_violation, left, PROTO_MAX_FIELD, 1),
    FIELD_S(struct proto_violation, right, PROTO_MAX_FIELD, 1),
};

/* An action's fields from kind on: f[0..5) after a uow action's batch, f[4..9) of a message. */
static const struct field action_fields[] = {
    FIELD_S(struct proto_action, kind, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_action, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_action, period, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_action, rule, PROTO_MAX_ID, 1),
    FIELD_S(struct proto_action, text, PROTO_MAX_TEXT, 1),
};

static const struct field review_row_fields[] = {
    FIELD_S(struct proto_review_row, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_review_row, period, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_review_row, state, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_review_row, by, PROTO_MAX_ID, 1),
    FIELD_N(struct proto_review_row, at, FIELD_TIME),
    FIELD_S(struct proto_review_row, comment, PROTO_MAX_TEXT, 1),
};

/* An ask's items after its sender. */
static const struct field ask_fields[] = {
    FIELD_S(struct proto_ask, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_ask, period, PROTO_MAX_FIELD, 0),
};

/* A told's items from state on; the batch id comes before them. */
static const struct field told_fields[] = {
    FIELD_S(struct proto_told, state, PROTO_MAX_ID, 0),
    FIELD_S(struct proto_told, by, PROTO_MAX_ID, 1),
    FIELD_N(struct proto_told, at, FIELD_TIME),
    FIELD_S(struct proto_told, comment, PROTO_MAX_TEXT, 1),
};

static const struct field note_row_fields[] = {
    FIELD_S(struct proto_note_row, unit, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_note_row, period, PROTO_MAX_FIELD, 0),
    FIELD_S(struct proto_note_row, rule, PROTO_MAX_ID, 0),
};

/* unit, period, indicator and value, the four strings of a record, value or row. */
static int
dec_keyval(const struct where *w, const struct item *f, int nil_ok, struct pstr *unit,
           struct pstr *period, struct pstr *indicator, struct pstr *value)
{
        if (dec_str(w, &f[0], "unit", PROTO_MAX_FIELD, nil_ok, unit) == -1 ||
            dec_str(w, &f[1], "period", PROTO_MAX_FIELD, nil_ok, period) == -1 ||
            dec_str(w, &f[2], "indicator", PROTO_MAX_FIELD, nil_ok, indicator) == -1 ||
            dec_str(w, &f[3], "value", PROTO_MAX_FIELD, nil_ok, value) == -1)
                return -1;
        return 0;
}

static int
dec_record(const struct where *w, const struct item *f, void *out)
{
        struct proto_record *r = out;
        struct where wl = *w;
        uint64_t line;

        if (dec_uint(w, &f[0], "line", INT32_MAX, &line) == -1)
                return -1;
        /* From here on the sender's own name for the record: its line. */
        wl.has_line = 1;
        wl.line = (uint32_t)line;
        if (dec_uint(&wl, &f[1], "version", WIRE_U64_MAX, &r->version) == -1 ||
            dec_str(&wl, &f[6], "raw", PROTO_MAX_TEXT, 1, &r->raw) == -1 ||
            dec_str(&wl, &f[7], "reason", PROTO_MAX_TEXT, 1, &r->reason) == -1)
                return -1;
        r->line = (uint32_t)line;
        /*
         * A row the collector could not split has a reason and may lack any
         * field; every other row carries all four, so the aggregator can rely
         * on them.
         */
        return dec_keyval(&wl, &f[2], r->reason.p != NULL, &r->unit, &r->period, &r->indicator,
                          &r->value);
}

/*
 * A batch id's content: 1..PROTO_MAX_ID bytes of printable ASCII, no space
 * (dec_str has checked the type and length).  On failure *id is made nil,
 * so that nobody echoes an id that is not one.
 */
static int
check_batch_id(const struct where *w, struct pstr *id)
{
        if (id->p == NULL || id->len == 0) {
                if (w != NULL)
                        fail(w, "batch_id is empty");
                id->p = NULL;
                id->len = 0;
                return -1;
        }
        for (uint32_t i = 0; i < id->len; i++) {
                unsigned char c = (unsigned char)id->p[i];

                if (c < 0x21 || c > 0x7e) {
                        if (w != NULL)
                                fail(w,
                                     "batch_id holds byte 0x%02x: only printable ASCII is "
                                     "allowed",
                                     c);
                        id->p = NULL;
                        id->len = 0;
                        return -1;
                }
        }
        return 0;
}

/*
 * The sender of a submit, check, action or ask, items 1 to 3: the protocol
 * version (min .. PROTO_VERSION), the collector and the batch id.  The id
 * is read first, so that a refusal of anything else can name it; then the
 * version, so that an old client hears "upgrade" even when its id was only
 * valid under the old rules; then the id's content.  On failure *id holds
 * what was read of it: the caller echoes it only if check_batch_id passes.
 */
static int
dec_sender(const struct where *w, const struct msg *m, unsigned min, unsigned *version,
           struct pstr *id, struct pstr *collector)
{
        if (dec_str(w, &m->it[3], "batch_id", PROTO_MAX_ID, 0, id) == -1 ||
            dec_version(w, &m->it[1], min, version) == -1 || check_batch_id(w, id) == -1 ||
            dec_str(w, &m->it[2], "collector", PROTO_MAX_ID, 0, collector) == -1)
                return -1;
        return 0;
}

int
proto_submit_decode(const void *buf, size_t len, struct proto_submit *out, char *err, size_t errlen)
{
        static const struct shape shapes[] = {
            {PROTO_SUBMIT, 6, 6}, {PROTO_CHECK, 6, 6}, {PROTO_BAD, 0, 0}};
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        const unsigned char *recs;
        struct msg m;
        uint32_t n;

        struct pstr id = {NULL, 0};

        memset(out, 0, sizeof(*out));
        if (frame_open(buf, len, lim_submit, shapes, &m, err, errlen) == -1)
                return -1;
        out->dry_run = m.type == PROTO_CHECK;
        /* A dry run is new in version 3; a submit may still be version 2. */
        if (dec_sender(&w, &m, out->dry_run ? PROTO_VERSION : PROTO_SUBMIT_VERSION_MIN,
                       &out->version, &id, &out->collector) == -1 ||
            dec_str(&w, &m.it[4], "source", PROTO_MAX_TEXT, 0, &out->source) == -1 ||
            dec_list(&w, &m.it[5], "records", PROTO_MAX_BATCH, &recs, &n) == -1)
                goto bad;
        out->batch_id = id;
        /* Not zeroed: dec_record() sets every field (thousands per frame). */
        out->rec = n ? xreallocarray(NULL, n, sizeof(*out->rec)) : NULL;
        out->nrec = n;
        if (dec_each(&w, "record", recs, n, 8, dec_record, out->rec, sizeof(*out->rec)) == -1)
                goto bad;
        return 0;
bad:
        proto_submit_free(out);
        /* Only a valid id is echoed (w NULL: the reason already in err stays). */
        if (check_batch_id(NULL, &id) == 0)
                out->batch_id = id;
        return -1;
}

void
proto_submit_free(struct proto_submit *s)
{
        if (s == NULL)
                return;
        free(s->rec);
        memset(s, 0, sizeof(*s));
}

static int
dec_reject_line(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, reject_line_fields, NFIELDS(reject_line_fields), out);
}

static int
dec_stale(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, stale_fields, NFIELDS(stale_fields), out);
}

static int
dec_warning(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, warning_fields, NFIELDS(warning_fields), out);
}

int
proto_ack_decode(const void *buf, size_t len, struct proto_ack *out, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        static const struct shape shapes[] = {
            {PROTO_ACK, 6, 8}, {PROTO_CHECKED, 7, 8}, {PROTO_ERROR, 3, 3}, {PROTO_BAD, 0, 0}};
        const unsigned char *rej, *stale, *warn = NULL;
        struct msg m;
        uint32_t n, ns, nw = 0;
        int v2_more;

        memset(out, 0, sizeof(*out));
        if (frame_open(buf, len, lim_ack, shapes, &m, err, errlen) == -1)
                return -1;
        out->type = m.type;
        /*
         * A seventh item that is an integer: a version-2 ack's count of the
         * stale records it leaves out.  A version-3 ack and a "checked" have
         * their warnings there, and that count eighth.
         */
        v2_more = m.type == PROTO_ACK && m.n == 7 && m.it[6].kind == ITEM_UINT;
        if (m.type == PROTO_ERROR) {
                if (dec_str(&w, &m.it[1], "batch_id", PROTO_MAX_ID, 1, &out->batch_id) == -1 ||
                    dec_str(&w, &m.it[2], "message", PROTO_MAX_TEXT, 0, &out->message) == -1)
                        goto bad;
                return 0;
        }
        if (dec_str(&w, &m.it[1], "batch_id", PROTO_MAX_ID, 0, &out->batch_id) == -1 ||
            dec_u32(&w, &m.it[2], "accepted", &out->accepted) == -1 ||
            dec_u32(&w, &m.it[3], "changed", &out->changed) == -1 ||
            dec_list(&w, &m.it[4], "rejects", PROTO_MAX_BATCH, &rej, &n) == -1 ||
            dec_list(&w, &m.it[5], "stale", PROTO_MAX_BATCH, &stale, &ns) == -1 ||
            (v2_more && dec_u32(&w, &m.it[6], "stale_more", &out->stale_more) == -1) ||
            (m.n >= 7 && !v2_more &&
             dec_list(&w, &m.it[6], "warnings", PROTO_MAX_BATCH, &warn, &nw) == -1) ||
            (m.n == 8 && dec_u32(&w, &m.it[7], "stale_more", &out->stale_more) == -1))
                goto bad;
        out->warn = nw ? xcalloc(nw, sizeof(*out->warn)) : NULL;
        out->nwarn = nw;
        out->rej = n ? xcalloc(n, sizeof(*out->rej)) : NULL;
        out->nrej = n;
        out->stale = ns ? xcalloc(ns, sizeof(*out->stale)) : NULL;
        out->nstale = ns;
        if (dec_each(&w, "reject", rej, n, 2, dec_reject_line, out->rej, sizeof(*out->rej)) == -1 ||
            dec_each(&w, "stale", stale, ns, 4, dec_stale, out->stale, sizeof(*out->stale)) == -1 ||
            dec_each(&w, "warning", warn, nw, 6, dec_warning, out->warn, sizeof(*out->warn)) == -1)
                goto bad;
        return 0;
bad:
        proto_ack_free(out);
        return -1;
}

void
proto_ack_free(struct proto_ack *a)
{
        if (a == NULL)
                return;
        free(a->rej);
        free(a->stale);
        free(a->warn);
        memset(a, 0, sizeof(*a));
}

/*
 * A message from a collector that names its sender (dec_sender) and then
 * the fields of fd, item 4 on: an action or an ask, decoded into a struct
 * of size bytes whose collector and batch_id are at the offsets given.
 */
struct request {
        enum proto_type type;
        const uint32_t *lim;
        const struct field *fd;
        uint32_t nfd;
        size_t size, collector, batch_id;
};

static const struct request action_request = {
    PROTO_ACTION,
    lim_action,
    action_fields,
    NFIELDS(action_fields),
    sizeof(struct proto_action),
    offsetof(struct proto_action, collector),
    offsetof(struct proto_action, batch_id),
};

static const struct request ask_request = {
    PROTO_ASK,
    lim_ask,
    ask_fields,
    NFIELDS(ask_fields),
    sizeof(struct proto_ask),
    offsetof(struct proto_ask, collector),
    offsetof(struct proto_ask, batch_id),
};

/* Decode the request rq into out; on failure out is zeroed but for a valid batch id. */
static int
dec_request(const void *buf, size_t len, const struct request *rq, void *out, char *err,
            size_t errlen)
{
        const struct shape shapes[] = {{rq->type, 4 + rq->nfd, 4 + rq->nfd}, {PROTO_BAD, 0, 0}};
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        struct pstr *batch_id = (struct pstr *)((char *)out + rq->batch_id);
        struct pstr id = {NULL, 0};
        struct msg m;

        memset(out, 0, rq->size);
        if (frame_open(buf, len, rq->lim, shapes, &m, err, errlen) == -1)
                return -1;
        if (dec_sender(&w, &m, PROTO_VERSION, NULL, &id,
                       (struct pstr *)((char *)out + rq->collector)) == -1 ||
            dec_fields(&w, &m.it[4], rq->fd, rq->nfd, out) == -1) {
                memset(out, 0, rq->size);
                if (check_batch_id(NULL, &id) == 0)
                        *batch_id = id;
                return -1;
        }
        *batch_id = id;
        return 0;
}

int
proto_action_decode(const void *buf, size_t len, struct proto_action *out, char *err, size_t errlen)
{
        return dec_request(buf, len, &action_request, out, err, errlen);
}

int
proto_ask_decode(const void *buf, size_t len, struct proto_ask *out, char *err, size_t errlen)
{
        return dec_request(buf, len, &ask_request, out, err, errlen);
}

int
proto_told_decode(const void *buf, size_t len, struct proto_told *out, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        const unsigned char *list;
        struct msg m;
        uint32_t nb;

        memset(out, 0, sizeof(*out));
        if (frame_open(buf, len, lim_told,
                       (const struct shape[]){{PROTO_TOLD, 7, 7}, {PROTO_BAD, 0, 0}}, &m, err,
                       errlen) == -1)
                return -1;
        if (dec_str(&w, &m.it[1], "batch_id", PROTO_MAX_ID, 0, &out->batch_id) == -1 ||
            check_batch_id(&w, &out->batch_id) == -1 ||
            dec_fields(&w, &m.it[2], told_fields, NFIELDS(told_fields), out) == -1 ||
            dec_list(&w, &m.it[6], "blockers", PROTO_MAX_BLOCKERS, &list, &nb) == -1)
                goto bad;
        out->blockers = nb ? xreallocarray(NULL, nb, sizeof(*out->blockers)) : NULL;
        out->nblockers = nb;
        w.list = "blocker";
        /* The scan refused containers in the list: each item is a scalar. */
        for (w.idx = 0; w.idx < nb; w.idx++) {
                struct item it;

                list = item_read(list, &it);
                if (dec_str(&w, &it, "blocker", PROTO_MAX_TEXT, 0, &out->blockers[w.idx]) == -1)
                        goto bad;
        }
        return 0;
bad:
        proto_told_free(out);
        return -1;
}

void
proto_told_free(struct proto_told *t)
{
        if (t == NULL)
                return;
        free(t->blockers);
        memset(t, 0, sizeof(*t));
}

int
proto_hello_decode(const void *buf, size_t len, struct pstr *aggregator, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        struct msg m;

        memset(aggregator, 0, sizeof(*aggregator));
        if (frame_open(buf, len, lim_flat,
                       (const struct shape[]){{PROTO_HELLO, 3, 3}, {PROTO_BAD, 0, 0}}, &m, err,
                       errlen) == -1)
                return -1;
        if (dec_version(&w, &m.it[1], PROTO_VERSION, NULL) == -1 ||
            dec_str(&w, &m.it[2], "aggregator", PROTO_MAX_ID, 0, aggregator) == -1) {
                memset(aggregator, 0, sizeof(*aggregator));
                return -1;
        }
        return 0;
}

/* A uow's batch table, for the values and rejections that refer to it. */
struct batch_table {
        const struct proto_batch *b;
        uint32_t n;
};

static int
dec_batch(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, batch_fields, NFIELDS(batch_fields), out);
}

/* The batch a value or rejection names, by its index in the uow's table. */
static const struct proto_batch *
dec_batch_ref(const struct where *w, const struct item *o)
{
        const struct batch_table *t = w->ctx;
        uint64_t i;

        if (dec_uint(w, o, "batch", UINT32_MAX, &i) == -1)
                return NULL;
        if (i >= t->n) {
                fail(w, "batch %llu out of range (the uow has %lu)", (unsigned long long)i,
                     (unsigned long)t->n);
                return NULL;
        }
        return &t->b[i];
}

static int
dec_value(const struct where *w, const struct item *f, void *out)
{
        struct proto_value *v = out;
        const struct proto_batch *b;
        uint64_t flags;

        if (dec_keyval(w, f, 0, &v->unit, &v->period, &v->indicator, &v->value) == -1 ||
            dec_uint(w, &f[4], "version", WIRE_U64_MAX, &v->version) == -1 ||
            dec_uint(w, &f[5], "flags", PROTO_VALUE_NEW | PROTO_VALUE_FINAL, &flags) == -1 ||
            (b = dec_batch_ref(w, &f[6])) == NULL)
                return -1;
        v->flags = (unsigned)flags;
        v->collector = b->collector;
        v->batch_id = b->batch_id;
        return 0;
}

/*
 * A rejection may come from a row the collector could not split, so its
 * unit, period, indicator and raw text may be nil; whose batch it was and
 * why not are always known.
 */
static int
dec_reject(const struct where *w, const struct item *f, void *out)
{
        struct proto_reject *r = out;
        const struct proto_batch *b;

        if ((b = dec_batch_ref(w, &f[0])) == NULL ||
            dec_fields(w, &f[1], reject_fields, NFIELDS(reject_fields), r) == -1)
                return -1;
        r->collector = b->collector;
        r->source = b->source;
        r->batch_id = b->batch_id;
        return 0;
}

static int
dec_agg(const struct where *w, const struct item *f, void *out)
{
        struct proto_agg *a = out;

        a->nulls = 0;
        if (dec_str(w, &f[0], "unit", PROTO_MAX_FIELD, 0, &a->unit) == -1 ||
            dec_str(w, &f[1], "level", PROTO_MAX_TEXT, 0, &a->level) == -1 ||
            dec_str(w, &f[2], "period", PROTO_MAX_FIELD, 0, &a->period) == -1 ||
            dec_str(w, &f[3], "indicator", PROTO_MAX_FIELD, 0, &a->indicator) == -1 ||
            dec_decimal(w, &f[4], "value", PROTO_AGG_NULL_VALUE, &a->value, &a->nulls) == -1 ||
            dec_decimal(w, &f[5], "numerator", PROTO_AGG_NULL_NUM, &a->numerator, &a->nulls) ==
                -1 ||
            dec_decimal(w, &f[6], "denominator", PROTO_AGG_NULL_DEN, &a->denominator, &a->nulls) ==
                -1 ||
            dec_u32(w, &f[7], "n_reporting", &a->n_reporting) == -1 ||
            dec_float(w, &f[8], "min", PROTO_AGG_NULL_MIN, &a->min, &a->nulls) == -1 ||
            dec_float(w, &f[9], "max", PROTO_AGG_NULL_MAX, &a->max, &a->nulls) == -1 ||
            dec_float(w, &f[10], "mean", PROTO_AGG_NULL_MEAN, &a->mean, &a->nulls) == -1 ||
            dec_float(w, &f[11], "cv", PROTO_AGG_NULL_CV, &a->cv, &a->nulls) == -1 ||
            dec_str(w, &f[12], "dimension", PROTO_MAX_FIELD, 1, &a->dimension) == -1 ||
            dec_str(w, &f[13], "category", PROTO_MAX_FIELD, 1, &a->category) == -1)
                return -1;
        if ((a->dimension.p == NULL) != (a->category.p == NULL)) {
                fail(w, "dimension and category must both be nil or both strings");
                return -1;
        }
        return 0;
}

/* 0 or 1. */
static int
dec_flag(const struct where *w, const struct item *o, const char *field, int *out)
{
        uint32_t v;

        if (dec_u32(w, o, field, &v) == -1)
                return -1;
        if (v > 1) {
                fail(w, "%s is %lu, not 0 or 1", field, (unsigned long)v);
                return -1;
        }
        *out = (int)v;
        return 0;
}

static int
dec_violation(const struct where *w, const struct item *f, void *out)
{
        struct proto_violation *v = out;

        if (dec_fields(w, f, violation_fields, NFIELDS(violation_fields), v) == -1)
                return -1;
        if ((v->left.p == NULL) != (v->right.p == NULL)) {
                fail(w, "left and right must both be nil or both be strings");
                return -1;
        }
        return 0;
}

static int
dec_uow_action(const struct where *w, const struct item *f, void *out)
{
        struct proto_action *a = out;
        const struct proto_batch *b;

        if ((b = dec_batch_ref(w, &f[0])) == NULL ||
            dec_fields(w, &f[1], action_fields, NFIELDS(action_fields), a) == -1)
                return -1;
        a->collector = b->collector;
        a->batch_id = b->batch_id;
        /* An action of before the review round has no time: 0, the sink uses its own. */
        a->at = 0;
        if (f[6].kind != ITEM_ABSENT && dec_uint(w, &f[6], "at", WIRE_U64_MAX, &a->at) == -1)
                return -1;
        return 0;
}

int
proto_uow_decode(const void *buf, size_t len, struct proto_uow *out, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        const unsigned char *bats, *vals, *rejs, *aggs, *viols, *acts;
        struct batch_table table;
        struct msg m;
        uint32_t nb, nv, nr, na, nvi, nac;

        memset(out, 0, sizeof(*out));
        if (frame_open(buf, len, lim_uow,
                       (const struct shape[]){{PROTO_UOW, 11, 11}, {PROTO_BAD, 0, 0}}, &m, err,
                       errlen) == -1)
                return -1;
        if (dec_uint(&w, &m.it[1], "seq", WIRE_U64_MAX, &out->seq) == -1 ||
            dec_uint(&w, &m.it[2], "epoch", WIRE_U64_MAX, &out->epoch) == -1 ||
            dec_str(&w, &m.it[3], "aggregator", PROTO_MAX_ID, 0, &out->aggregator) == -1 ||
            dec_list(&w, &m.it[4], "batches", UINT32_MAX, &bats, &nb) == -1 ||
            dec_list(&w, &m.it[5], "values", UINT32_MAX, &vals, &nv) == -1 ||
            dec_list(&w, &m.it[6], "rejects", UINT32_MAX, &rejs, &nr) == -1 ||
            dec_list(&w, &m.it[7], "aggs", UINT32_MAX, &aggs, &na) == -1 ||
            dec_list(&w, &m.it[8], "violations", UINT32_MAX, &viols, &nvi) == -1 ||
            dec_flag(&w, &m.it[9], "full", &out->violations_full) == -1 ||
            dec_list(&w, &m.it[10], "actions", UINT32_MAX, &acts, &nac) == -1)
                goto bad;
        out->batches = nb ? xreallocarray(NULL, nb, sizeof(*out->batches)) : NULL;
        out->nbatches = nb;
        if (dec_each(&w, "batch", bats, nb, 3, dec_batch, out->batches, sizeof(*out->batches)) ==
            -1)
                goto bad;
        table.b = out->batches;
        table.n = nb;
        w.ctx = &table;
        /* Not zeroed: the dec_ functions set every field (a million per uow). */
        out->values = nv ? xreallocarray(NULL, nv, sizeof(*out->values)) : NULL;
        out->nvalues = nv;
        out->rejects = nr ? xreallocarray(NULL, nr, sizeof(*out->rejects)) : NULL;
        out->nrejects = nr;
        out->aggs = na ? xreallocarray(NULL, na, sizeof(*out->aggs)) : NULL;
        out->naggs = na;
        if (dec_each(&w, "value", vals, nv, 7, dec_value, out->values, sizeof(*out->values)) ==
                -1 ||
            dec_each(&w, "reject", rejs, nr, 7, dec_reject, out->rejects, sizeof(*out->rejects)) ==
                -1 ||
            dec_each(&w, "agg", aggs, na, 14, dec_agg, out->aggs, sizeof(*out->aggs)) == -1)
                goto bad;
        out->violations = nvi ? xreallocarray(NULL, nvi, sizeof(*out->violations)) : NULL;
        out->nviolations = nvi;
        out->actions = nac ? xreallocarray(NULL, nac, sizeof(*out->actions)) : NULL;
        out->nactions = nac;
        if (dec_each(&w, "violation", viols, nvi, 6, dec_violation, out->violations,
                     sizeof(*out->violations)) == -1 ||
            dec_each_var(&w, "action", acts, nac, 6, 7, dec_uow_action, out->actions,
                         sizeof(*out->actions)) == -1)
                goto bad;
        return 0;
bad:
        proto_uow_free(out);
        return -1;
}

void
proto_uow_free(struct proto_uow *uw)
{
        if (uw == NULL)
                return;
        free(uw->batches);
        free(uw->values);
        free(uw->rejects);
        free(uw->aggs);
        free(uw->violations);
        free(uw->actions);
        memset(uw, 0, sizeof(*uw));
}

static int
dec_row(const struct where *w, const struct item *f, void *out)
{
        struct proto_row *row = out;

        if (dec_keyval(w, f, 0, &row->unit, &row->period, &row->indicator, &row->value) == -1 ||
            dec_uint(w, &f[4], "version", WIRE_U64_MAX, &row->version) == -1 ||
            dec_str(w, &f[5], "collector", PROTO_MAX_ID, 0, &row->collector) == -1)
                return -1;
        return 0;
}

static int
dec_review_row(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, review_row_fields, NFIELDS(review_row_fields), out);
}

static int
dec_note_row(const struct where *w, const struct item *f, void *out)
{
        return dec_fields(w, f, note_row_fields, NFIELDS(note_row_fields), out);
}

/*
 * The list of a "rows", "reviews" or "notes" message, each row decoded by
 * fn into an array that is not zeroed: fn sets every field of a row.
 */
static int
dec_state_list(const void *buf, size_t len, enum proto_type type, const uint32_t lim[SCAN_DEPTH],
               uint32_t arity, int (*fn)(const struct where *, const struct item *, void *),
               size_t size, void **rows, uint32_t *n, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        const struct shape shapes[] = {{type, 2, 2}, {PROTO_BAD, 0, 0}};
        const unsigned char *list;
        struct msg m;
        uint32_t nr;
        void *r;

        *rows = NULL;
        *n = 0;
        if (frame_open(buf, len, lim, shapes, &m, err, errlen) == -1 ||
            dec_list(&w, &m.it[1], "rows", UINT32_MAX, &list, &nr) == -1)
                return -1;
        r = nr ? xreallocarray(NULL, nr, size) : NULL;
        if (dec_each(&w, "row", list, nr, arity, fn, r, size) == -1) {
                free(r);
                return -1;
        }
        *rows = r;
        *n = nr;
        return 0;
}

int
proto_rows_decode(const void *buf, size_t len, struct proto_row **rows, uint32_t *n, char *err,
                  size_t errlen)
{
        void *r;
        int rc;

        rc = dec_state_list(buf, len, PROTO_ROWS, lim_rows, 6, dec_row, sizeof(**rows), &r, n, err,
                            errlen);
        *rows = r;
        return rc;
}

int
proto_reviews_decode(const void *buf, size_t len, struct proto_review_row **rows, uint32_t *n,
                     char *err, size_t errlen)
{
        void *r;
        int rc;

        rc = dec_state_list(buf, len, PROTO_REVIEWS, lim_rows, 6, dec_review_row, sizeof(**rows),
                            &r, n, err, errlen);
        *rows = r;
        return rc;
}

int
proto_notes_decode(const void *buf, size_t len, struct proto_note_row **rows, uint32_t *n,
                   char *err, size_t errlen)
{
        void *r;
        int rc;

        rc = dec_state_list(buf, len, PROTO_NOTES, lim_notes, 3, dec_note_row, sizeof(**rows), &r,
                            n, err, errlen);
        *rows = r;
        return rc;
}

int
proto_ready_decode(const void *buf, size_t len, uint64_t *last_seq, uint64_t *nrows,
                   uint64_t *epoch, uint64_t *nreviews, uint64_t *nnotes, char *err, size_t errlen)
{
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        struct msg m;

        *last_seq = *nrows = *epoch = *nreviews = *nnotes = 0;
        if (frame_open(buf, len, lim_ready,
                       (const struct shape[]){{PROTO_READY, 6, 6}, {PROTO_BAD, 0, 0}}, &m, err,
                       errlen) == -1)
                return -1;
        if (dec_uint(&w, &m.it[1], "last_seq", WIRE_U64_MAX, last_seq) == -1 ||
            dec_uint(&w, &m.it[2], "nrows", WIRE_U64_MAX, nrows) == -1 ||
            dec_uint(&w, &m.it[3], "epoch", WIRE_U64_MAX, epoch) == -1 ||
            dec_uint(&w, &m.it[4], "nreviews", WIRE_U64_MAX, nreviews) == -1 ||
            dec_uint(&w, &m.it[5], "nnotes", WIRE_U64_MAX, nnotes) == -1) {
                *last_seq = *nrows = *epoch = *nreviews = *nnotes = 0;
                return -1;
        }
        return 0;
}

int
proto_result_decode(const void *buf, size_t len, enum proto_type *type, uint64_t *seq,
                    struct pstr *message, char *err, size_t errlen)
{
        static const struct shape shapes[] = {
            {PROTO_OK, 2, 2}, {PROTO_FAIL, 3, 3}, {PROTO_FENCED, 3, 3}, {PROTO_BAD, 0, 0}};
        struct where w = {NULL, 0, err, errlen, 0, 0, NULL};
        struct msg m;
        int rc;

        *seq = 0;
        *type = PROTO_BAD;
        memset(message, 0, sizeof(*message));
        rc = frame_open(buf, len, lim_flat, shapes, &m, err, errlen);
        if (rc == -1)
                return -1;
        *type = m.type;
        if (dec_uint(&w, &m.it[1], "seq", WIRE_U64_MAX, seq) == -1 ||
            (m.type != PROTO_OK &&
             dec_str(&w, &m.it[2], "message", PROTO_MAX_TEXT, 0, message) == -1)) {
                *seq = 0;
                *type = PROTO_BAD;
                memset(message, 0, sizeof(*message));
                return -1;
        }
        return 0;
}

/*
 * Packing only fails when the buffer behind the packer cannot grow, which
 * for an sbuffer means out of memory: util.h's policy is to abort.
 */
static void
pack_ok(int rc)
{
        if (rc != 0) {
                log_warnx("out of memory while packing a message");
                abort();
        }
}

static void
pack_pstr(msgpack_packer *pk, struct pstr s)
{
        if (s.p == NULL) {
                pack_ok(msgpack_pack_nil(pk));
                return;
        }
        pack_ok(msgpack_pack_str(pk, s.len));
        pack_ok(msgpack_pack_str_body(pk, s.p, s.len));
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
        pack_pstr(pk, pstr_of(s));
}

static void
pack_u64(msgpack_packer *pk, uint64_t v)
{
        pack_ok(msgpack_pack_uint64(pk, v));
}

static void
pack_array(msgpack_packer *pk, uint32_t n)
{
        pack_ok(msgpack_pack_array(pk, n));
}

/* A time in microseconds since 1970, nil for 0 (see dec_time). */
static void
pack_time(msgpack_packer *pk, uint64_t t)
{
        if (t == 0)
                pack_ok(msgpack_pack_nil(pk));
        else
                pack_u64(pk, t);
}

/* The members of in that fd names, in its order (see dec_fields). */
static void
pack_fields(msgpack_packer *pk, const struct field *fd, size_t n, const void *in)
{
        for (size_t i = 0; i < n; i++) {
                const void *m = (const char *)in + fd[i].off;

                switch (fd[i].kind) {
                case FIELD_STR:
                        pack_pstr(pk, *(const struct pstr *)m);
                        break;
                case FIELD_U32:
                        pack_u64(pk, *(const uint32_t *)m);
                        break;
                case FIELD_U64:
                        pack_u64(pk, *(const uint64_t *)m);
                        break;
                default:
                        pack_time(pk, *(const uint64_t *)m);
                        break;
                }
        }
}

/* A tuple of exactly the fields of fd. */
static void
pack_tuple(msgpack_packer *pk, const struct field *fd, size_t n, const void *in)
{
        pack_array(pk, (uint32_t)n);
        pack_fields(pk, fd, n, in);
}

/* The array header and the type name that open every message. */
static void
pack_head(msgpack_packer *pk, enum proto_type type, uint32_t nitems)
{
        pack_array(pk, nitems);
        pack_cstr(pk, type_names[type]);
}

/*
 * The tuples sent by the million (records, value rows, aggregate rows,
 * state rows) are encoded into one buffer and handed to the packer in a
 * single write: msgpack-c's pack functions call the packer's write callback
 * once per header and once per string body, which costs more than the
 * encoding itself.  The bytes are exactly what msgpack-c writes: the
 * smallest form of every header, as msgpack_pack_array/_str/_uint64 choose
 * it, and doubles always as float64 (0xcb).
 */
#define TUPLE_STACK 2048

struct tuple {
        unsigned char *p, *heap;
        size_t n;
        unsigned char stack[TUPLE_STACK];
};

/* Room for one item: a string (or nil) of s, or any number. */
static size_t
tuple_room_str(struct pstr s)
{
        return s.p ? 5 + (size_t)s.len : 1;
}
#define TUPLE_ROOM_NUM 9

/* Start a tuple of nitems items needing at most room bytes after the header. */
static void
tuple_begin(struct tuple *t, uint32_t nitems, size_t room)
{
        t->heap = NULL;
        t->p = t->stack;
        if (room + 5 > sizeof(t->stack))
                t->p = t->heap = xmalloc(room + 5);
        t->n = 0;
        if (nitems < 16) {
                t->p[t->n++] = (unsigned char)(0x90 | nitems);
        } else if (nitems < 65536) {
                t->p[t->n++] = 0xdc;
                t->p[t->n++] = (unsigned char)(nitems >> 8);
                t->p[t->n++] = (unsigned char)nitems;
        } else {
                t->p[t->n++] = 0xdd;
                for (int i = 3; i >= 0; i--)
                        t->p[t->n++] = (unsigned char)(nitems >> (8 * i));
        }
}

static void
tuple_be(struct tuple *t, unsigned char type, uint64_t v, int bytes)
{
        t->p[t->n++] = type;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* The low bytes of v, most significant first: one store, not a loop. */
        uint64_t be = __builtin_bswap64(v << (64 - 8 * bytes));

        memcpy(t->p + t->n, &be, (size_t)bytes);
        t->n += (size_t)bytes;
#else
        for (int i = bytes - 1; i >= 0; i--)
                t->p[t->n++] = (unsigned char)(v >> (8 * i));
#endif
}

static void
tuple_u64(struct tuple *t, uint64_t v)
{
        if (v < 128)
                t->p[t->n++] = (unsigned char)v;
        else if (v < 256)
                tuple_be(t, 0xcc, v, 1);
        else if (v < 65536)
                tuple_be(t, 0xcd, v, 2);
        else if (v < ((uint64_t)1 << 32))
                tuple_be(t, 0xce, v, 4);
        else
                tuple_be(t, 0xcf, v, 8);
}

/*
 * memcpy(d, s, n) for the short strings of a tuple (codes, periods, values,
 * ids): fixed-size moves the compiler inlines, overlapping for lengths in
 * between, instead of a call per string.  Reads and writes exactly n bytes.
 */
static void
copy_short(unsigned char *d, const char *s, size_t n)
{
        if (n >= 8 && n <= 16) {
                memcpy(d, s, 8);
                memcpy(d + n - 8, s + n - 8, 8);
        } else if (n >= 4 && n < 8) {
                memcpy(d, s, 4);
                memcpy(d + n - 4, s + n - 4, 4);
        } else if (n > 0 && n < 4) {
                d[0] = (unsigned char)s[0];
                d[n / 2] = (unsigned char)s[n / 2];
                d[n - 1] = (unsigned char)s[n - 1];
        } else if (n > 16) {
                memcpy(d, s, n);
        }
}

static void
tuple_str(struct tuple *t, struct pstr s)
{
        if (s.p == NULL) {
                t->p[t->n++] = 0xc0;
                return;
        }
        if (s.len < 32)
                t->p[t->n++] = (unsigned char)(0xa0 | s.len);
        else if (s.len < 256)
                tuple_be(t, 0xd9, s.len, 1);
        else if (s.len < 65536)
                tuple_be(t, 0xda, s.len, 2);
        else
                tuple_be(t, 0xdb, s.len, 4);
        copy_short(t->p + t->n, s.p, s.len);
        t->n += s.len;
}

/* A float64, or nil when nullbit is set in nulls. */
static void
tuple_float(struct tuple *t, double v, unsigned nulls, unsigned nullbit)
{
        uint64_t bits;

        if (nulls & nullbit) {
                t->p[t->n++] = 0xc0;
                return;
        }
        memcpy(&bits, &v, sizeof(bits));
        tuple_be(t, 0xcb, bits, 8);
}

/* A decimal text, or nil when nullbit is set or the text is nil. */
static void
tuple_decimal(struct tuple *t, struct pstr s, unsigned nulls, unsigned nullbit)
{
        if (nulls & nullbit)
                t->p[t->n++] = 0xc0;
        else
                tuple_str(t, s);
}

static void
tuple_end(msgpack_packer *pk, struct tuple *t)
{
        pack_ok(pk->callback(pk->data, (const char *)t->p, t->n));
        free(t->heap);
}

/* The head of a submit or a check, up to its records' array header. */
static void
submit_head(msgpack_packer *pk, enum proto_type type, const char *collector, const char *batch_id,
            const char *source, uint32_t nrec)
{
        pack_head(pk, type, 6);
        pack_u64(pk, PROTO_VERSION);
        pack_cstr(pk, collector);
        pack_cstr(pk, batch_id);
        pack_cstr(pk, source);
        pack_array(pk, nrec);
}

void
proto_submit_begin(msgpack_packer *pk, const char *collector, const char *batch_id,
                   const char *source, uint32_t nrec)
{
        submit_head(pk, PROTO_SUBMIT, collector, batch_id, source, nrec);
}

void
proto_record_pack(msgpack_packer *pk, const struct proto_record *r)
{
        struct tuple t;

        tuple_begin(&t, 8,
                    2 * TUPLE_ROOM_NUM + tuple_room_str(r->unit) + tuple_room_str(r->period) +
                        tuple_room_str(r->indicator) + tuple_room_str(r->value) +
                        tuple_room_str(r->raw) + tuple_room_str(r->reason));
        tuple_u64(&t, r->line);
        tuple_u64(&t, r->version);
        tuple_str(&t, r->unit);
        tuple_str(&t, r->period);
        tuple_str(&t, r->indicator);
        tuple_str(&t, r->value);
        tuple_str(&t, r->raw);
        tuple_str(&t, r->reason);
        tuple_end(pk, &t);
}

void
proto_ack_begin(msgpack_packer *pk, struct pstr batch_id, uint32_t accepted, uint32_t changed,
                uint32_t nrej)
{
        proto_ack_begin_more(pk, batch_id, accepted, changed, nrej, 0);
}

void
proto_ack_stale_more_pack(msgpack_packer *pk, uint32_t stale_more)
{
        pack_u64(pk, stale_more);
}

/* The head of an ack or a "checked" of nitems items, up to its rejects' array header. */
static void
ack_head(msgpack_packer *pk, enum proto_type type, uint32_t nitems, struct pstr batch_id,
         uint32_t accepted, uint32_t changed, uint32_t nrej)
{
        pack_head(pk, type, nitems);
        pack_pstr(pk, batch_id);
        pack_u64(pk, accepted);
        pack_u64(pk, changed);
        pack_array(pk, nrej);
}

void
proto_ack_begin_more(msgpack_packer *pk, struct pstr batch_id, uint32_t accepted, uint32_t changed,
                     uint32_t nrej, uint32_t stale_more)
{
        ack_head(pk, PROTO_ACK, stale_more > 0 ? 7 : 6, batch_id, accepted, changed, nrej);
}

void
proto_reject_line_pack(msgpack_packer *pk, uint32_t line, struct pstr reason)
{
        struct proto_reject_line r = {line, reason};

        pack_tuple(pk, reject_line_fields, NFIELDS(reject_line_fields), &r);
}

void
proto_ack_stale_begin(msgpack_packer *pk, uint32_t nstale)
{
        pack_array(pk, nstale);
}

void
proto_stale_pack(msgpack_packer *pk, const struct proto_stale *st)
{
        pack_tuple(pk, stale_fields, NFIELDS(stale_fields), st);
}

void
proto_error_pack(msgpack_packer *pk, struct pstr batch_id, const char *message)
{
        pack_head(pk, PROTO_ERROR, 3);
        pack_pstr(pk, batch_id);
        pack_cstr(pk, message);
}

void
proto_check_begin(msgpack_packer *pk, const char *collector, const char *batch_id,
                  const char *source, uint32_t nrec)
{
        submit_head(pk, PROTO_CHECK, collector, batch_id, source, nrec);
}

void
proto_action_pack(msgpack_packer *pk, const struct proto_action *a)
{
        pack_head(pk, PROTO_ACTION, 9);
        pack_u64(pk, PROTO_VERSION);
        pack_pstr(pk, a->collector);
        pack_pstr(pk, a->batch_id);
        pack_fields(pk, action_fields, NFIELDS(action_fields), a);
}

void
proto_ask_pack(msgpack_packer *pk, const struct proto_ask *a)
{
        pack_head(pk, PROTO_ASK, 6);
        pack_u64(pk, PROTO_VERSION);
        pack_pstr(pk, a->collector);
        pack_pstr(pk, a->batch_id);
        pack_fields(pk, ask_fields, NFIELDS(ask_fields), a);
}

void
proto_told_pack(msgpack_packer *pk, const struct proto_told *t)
{
        assert(t->nblockers <= PROTO_MAX_BLOCKERS);
        pack_head(pk, PROTO_TOLD, 7);
        pack_pstr(pk, t->batch_id);
        pack_fields(pk, told_fields, NFIELDS(told_fields), t);
        pack_array(pk, t->nblockers);
        for (uint32_t i = 0; i < t->nblockers; i++)
                pack_pstr(pk, t->blockers[i]);
}

void
proto_ack3_begin(msgpack_packer *pk, enum proto_type type, struct pstr batch_id, uint32_t accepted,
                 uint32_t changed, uint32_t nrej, uint32_t stale_more)
{
        assert(type == PROTO_ACK || type == PROTO_CHECKED);
        ack_head(pk, type, stale_more > 0 ? 8 : 7, batch_id, accepted, changed, nrej);
}

void
proto_ack_warnings_begin(msgpack_packer *pk, uint32_t nwarn)
{
        pack_array(pk, nwarn);
}

void
proto_warning_pack(msgpack_packer *pk, const struct proto_warning *wn)
{
        pack_tuple(pk, warning_fields, NFIELDS(warning_fields), wn);
}

void
proto_hello_pack(msgpack_packer *pk, const char *aggregator)
{
        pack_head(pk, PROTO_HELLO, 3);
        pack_u64(pk, PROTO_VERSION);
        pack_cstr(pk, aggregator);
}

void
proto_uow_begin(msgpack_packer *pk, uint64_t seq, uint64_t epoch, const char *aggregator,
                uint32_t nbatches)
{
        pack_head(pk, PROTO_UOW, 11);
        pack_u64(pk, seq);
        pack_u64(pk, epoch);
        pack_cstr(pk, aggregator);
        pack_array(pk, nbatches);
}

void
proto_uow_batch_pack(msgpack_packer *pk, const struct proto_batch *b)
{
        pack_tuple(pk, batch_fields, NFIELDS(batch_fields), b);
}

void
proto_uow_values_begin(msgpack_packer *pk, uint32_t nvalues)
{
        pack_array(pk, nvalues);
}

void
proto_value_pack(msgpack_packer *pk, const struct proto_value *v, uint32_t batch)
{
        struct tuple t;

        tuple_begin(&t, 7,
                    3 * TUPLE_ROOM_NUM + tuple_room_str(v->unit) + tuple_room_str(v->period) +
                        tuple_room_str(v->indicator) + tuple_room_str(v->value));
        tuple_str(&t, v->unit);
        tuple_str(&t, v->period);
        tuple_str(&t, v->indicator);
        tuple_str(&t, v->value);
        tuple_u64(&t, v->version);
        tuple_u64(&t, v->flags);
        tuple_u64(&t, batch);
        tuple_end(pk, &t);
}

void
proto_uow_rejects_begin(msgpack_packer *pk, uint32_t nrejects)
{
        pack_array(pk, nrejects);
}

void
proto_reject_pack(msgpack_packer *pk, const struct proto_reject *r, uint32_t batch)
{
        pack_array(pk, 1 + NFIELDS(reject_fields));
        pack_u64(pk, batch);
        pack_fields(pk, reject_fields, NFIELDS(reject_fields), r);
}

void
proto_uow_aggs_begin(msgpack_packer *pk, uint32_t naggs)
{
        pack_array(pk, naggs);
}

void
proto_agg_pack(msgpack_packer *pk, const struct proto_agg *a)
{
        struct tuple t;

        tuple_begin(&t, 14,
                    5 * TUPLE_ROOM_NUM + tuple_room_str(a->unit) + tuple_room_str(a->level) +
                        tuple_room_str(a->period) + tuple_room_str(a->indicator) +
                        tuple_room_str(a->value) + tuple_room_str(a->numerator) +
                        tuple_room_str(a->denominator) + tuple_room_str(a->dimension) +
                        tuple_room_str(a->category));
        tuple_str(&t, a->unit);
        tuple_str(&t, a->level);
        tuple_str(&t, a->period);
        tuple_str(&t, a->indicator);
        tuple_decimal(&t, a->value, a->nulls, PROTO_AGG_NULL_VALUE);
        tuple_decimal(&t, a->numerator, a->nulls, PROTO_AGG_NULL_NUM);
        tuple_decimal(&t, a->denominator, a->nulls, PROTO_AGG_NULL_DEN);
        tuple_u64(&t, a->n_reporting);
        tuple_float(&t, a->min, a->nulls, PROTO_AGG_NULL_MIN);
        tuple_float(&t, a->max, a->nulls, PROTO_AGG_NULL_MAX);
        tuple_float(&t, a->mean, a->nulls, PROTO_AGG_NULL_MEAN);
        tuple_float(&t, a->cv, a->nulls, PROTO_AGG_NULL_CV);
        tuple_str(&t, a->dimension);
        tuple_str(&t, a->category);
        tuple_end(pk, &t);
}

void
proto_uow_violations_begin(msgpack_packer *pk, uint32_t nviolations)
{
        pack_array(pk, nviolations);
}

void
proto_violation_pack(msgpack_packer *pk, const struct proto_violation *v)
{
        pack_tuple(pk, violation_fields, NFIELDS(violation_fields), v);
}

void
proto_uow_actions_begin(msgpack_packer *pk, int full, uint32_t nactions)
{
        pack_u64(pk, full ? 1 : 0);
        pack_array(pk, nactions);
}

void
proto_uow_action_pack(msgpack_packer *pk, const struct proto_action *a, uint32_t batch)
{
        /* The batch index, the fields, and at as an integer even when 0. */
        pack_array(pk, 2 + NFIELDS(action_fields));
        pack_u64(pk, batch);
        pack_fields(pk, action_fields, NFIELDS(action_fields), a);
        pack_u64(pk, a->at);
}

void
proto_rows_begin(msgpack_packer *pk, uint32_t n)
{
        pack_head(pk, PROTO_ROWS, 2);
        pack_array(pk, n);
}

void
proto_row_pack(msgpack_packer *pk, const struct proto_row *r)
{
        struct tuple t;

        tuple_begin(&t, 6,
                    TUPLE_ROOM_NUM + tuple_room_str(r->unit) + tuple_room_str(r->period) +
                        tuple_room_str(r->indicator) + tuple_room_str(r->value) +
                        tuple_room_str(r->collector));
        tuple_str(&t, r->unit);
        tuple_str(&t, r->period);
        tuple_str(&t, r->indicator);
        tuple_str(&t, r->value);
        tuple_u64(&t, r->version);
        tuple_str(&t, r->collector);
        tuple_end(pk, &t);
}

void
proto_reviews_begin(msgpack_packer *pk, uint32_t n)
{
        pack_head(pk, PROTO_REVIEWS, 2);
        pack_array(pk, n);
}

void
proto_review_row_pack(msgpack_packer *pk, const struct proto_review_row *r)
{
        pack_tuple(pk, review_row_fields, NFIELDS(review_row_fields), r);
}

void
proto_notes_begin(msgpack_packer *pk, uint32_t n)
{
        pack_head(pk, PROTO_NOTES, 2);
        pack_array(pk, n);
}

void
proto_note_row_pack(msgpack_packer *pk, const struct proto_note_row *r)
{
        pack_tuple(pk, note_row_fields, NFIELDS(note_row_fields), r);
}

void
proto_ready_pack(msgpack_packer *pk, uint64_t last_seq, uint64_t nrows, uint64_t epoch,
                 uint64_t nreviews, uint64_t nnotes)
{
        pack_head(pk, PROTO_READY, 6);
        pack_u64(pk, last_seq);
        pack_u64(pk, nrows);
        pack_u64(pk, epoch);
        pack_u64(pk, nreviews);
        pack_u64(pk, nnotes);
}

void
proto_ok_pack(msgpack_packer *pk, uint64_t seq)
{
        pack_head(pk, PROTO_OK, 2);
        pack_u64(pk, seq);
}

/* A refusal of the uow seq: "fail" or "fenced". */
static void
refusal_pack(msgpack_packer *pk, enum proto_type type, uint64_t seq, const char *message)
{
        pack_head(pk, type, 3);
        pack_u64(pk, seq);
        pack_cstr(pk, message);
}

void
proto_fail_pack(msgpack_packer *pk, uint64_t seq, const char *message)
{
        refusal_pack(pk, PROTO_FAIL, seq, message);
}

void
proto_fenced_pack(msgpack_packer *pk, uint64_t seq, const char *message)
{
        refusal_pack(pk, PROTO_FENCED, seq, message);
}

struct pstr
pstr_of(const char *s)
{
        struct pstr p = {s, 0};

        if (s != NULL)
                p.len = (uint32_t)strlen(s);
        return p;
}
