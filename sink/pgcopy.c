/*
 * pgcopy: COPY text and binary encoders.  See pgcopy.h.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pg.h"
#include "pgcopy.h"

/* COPY text encoder. */

static void
pgcopy_flush(struct pgcopy *c)
{
        if (c->failed || c->len == 0) {
                c->len = 0;
                return;
        }
        if (PQputCopyData(c->conn, c->buf, (int)c->len) != 1)
                c->failed = 1;
        c->len = 0;
}

/* Room for n more bytes (n is small: one escaped byte or a number). */
static void
pgcopy_room(struct pgcopy *c, size_t n)
{
        assert(n <= sizeof c->buf);
        if (c->len + n > sizeof c->buf)
                pgcopy_flush(c);
}

static void
pgcopy_sep(struct pgcopy *c)
{
        if (!c->first) {
                pgcopy_room(c, 1);
                c->buf[c->len++] = '\t';
        }
        c->first = 0;
}

enum db_result
pgcopy_begin(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
        PGresult *res;

        c->conn = conn;
        c->failed = 0;
        c->binary = 0;
        c->first = 1;
        c->len = 0;
        c->rows = 0;
        c->bad[0] = '\0';
        res = PQexec(conn, sql);
        if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN)
                return pg_result_fail(conn, res, err, errlen);
        PQclear(res);
        return DB_OK;
}

void
pgcopy_text(struct pgcopy *c, const char *p, size_t len)
{
        size_t i;

        if (p == NULL) {
                pgcopy_null(c);
                return;
        }
        pgcopy_sep(c);
        for (i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)p[i];
                char esc = 0;

                switch (ch) {
                case '\\':
                        esc = '\\';
                        break;
                case '\t':
                        esc = 't';
                        break;
                case '\n':
                        esc = 'n';
                        break;
                case '\r':
                        esc = 'r';
                        break;
                case '\0':
                        /* Written as an escaped backslash then '0': the text
                         * "\0", since PostgreSQL text cannot hold NUL. */
                        pgcopy_room(c, 3);
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '0';
                        continue;
                default:
                        break;
                }
                pgcopy_room(c, 2);
                if (esc != 0) {
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = esc;
                } else {
                        c->buf[c->len++] = (char)ch;
                }
        }
}

void
pgcopy_str(struct pgcopy *c, const char *s)
{
        pgcopy_text(c, s, s != NULL ? strlen(s) : 0);
}

void
pgcopy_null(struct pgcopy *c)
{
        pgcopy_sep(c);
        pgcopy_room(c, 2);
        c->buf[c->len++] = '\\';
        c->buf[c->len++] = 'N';
}

static void
pgcopy_raw(struct pgcopy *c, const char *s, size_t n)
{
        pgcopy_sep(c);
        pgcopy_room(c, n);
        memcpy(c->buf + c->len, s, n);
        c->len += n;
}

void
pgcopy_u64(struct pgcopy *c, unsigned long long v)
{
        char num[24];
        int n = snprintf(num, sizeof num, "%llu", v);

        pgcopy_raw(c, num, (size_t)n);
}

void
pgcopy_bool(struct pgcopy *c, int v)
{
        pgcopy_raw(c, v ? "t" : "f", 1);
}

/* COPY binary encoder: big-endian integers, length-prefixed fields. */

static void
put_be16(struct pgcopy *c, uint16_t v)
{
        c->buf[c->len++] = (char)(v >> 8);
        c->buf[c->len++] = (char)v;
}

static void
put_be32(struct pgcopy *c, uint32_t v)
{
        put_be16(c, (uint16_t)(v >> 16));
        put_be16(c, (uint16_t)v);
}

/* Whether the binary COPY still takes fields (no send failure, no bad field). */
static int
bin_live(const struct pgcopy *c)
{
        return !c->failed && c->bad[0] == '\0';
}

static void
bin_bad(struct pgcopy *c, const char *what, const char *p, size_t len, const char *why)
{
        int n = len > 64 ? 64 : (int)len;

        snprintf(c->bad, sizeof c->bad, "edustat-sink: %s: \"%.*s%s\" %s", what, n, p,
                 len > 64 ? "..." : "", why);
}

enum db_result
pgcopy_begin_binary(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
        /* The signature, a flags field and a header extension length of 0. */
        static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
        enum db_result r = pgcopy_begin(c, conn, sql, err, errlen);

        if (r != DB_OK)
                return r;
        c->binary = 1;
        memcpy(c->buf, header, sizeof header);
        c->len = sizeof header;
        return DB_OK;
}

void
pgcopy_bin_row(struct pgcopy *c, int nfields)
{
        if (!bin_live(c))
                return;
        pgcopy_room(c, 2);
        put_be16(c, (uint16_t)nfields);
        c->rows++;
}

void
pgcopy_bin_null(struct pgcopy *c)
{
        if (!bin_live(c))
                return;
        pgcopy_room(c, 4);
        put_be32(c, 0xffffffffu);
}

void
pgcopy_bin_text(struct pgcopy *c, const char *p, size_t len)
{
        size_t i, nul = 0;

        if (p == NULL) {
                pgcopy_bin_null(c);
                return;
        }
        if (!bin_live(c))
                return;
        for (i = 0; i < len; i++)
                nul += p[i] == '\0';
        if (len + nul > INT32_MAX) {
                bin_bad(c, "text field", p, len, "is too long");
                return;
        }
        pgcopy_room(c, 4);
        put_be32(c, (uint32_t)(len + nul));
        if (nul == 0) {
                while (len > 0) {
                        size_t n;

                        pgcopy_room(c, len < sizeof c->buf ? len : sizeof c->buf);
                        n = sizeof c->buf - c->len < len ? sizeof c->buf - c->len : len;
                        memcpy(c->buf + c->len, p, n);
                        c->len += n;
                        p += n;
                        len -= n;
                }
                return;
        }
        for (i = 0; i < len; i++) {
                pgcopy_room(c, 2);
                if (p[i] == '\0') {
                        c->buf[c->len++] = '\\';
                        c->buf[c->len++] = '0';
                } else {
                        c->buf[c->len++] = p[i];
                }
        }
}

void
pgcopy_bin_int4(struct pgcopy *c, unsigned long long v, const char *what)
{
        char num[24];

        if (!bin_live(c))
                return;
        if (v > INT32_MAX) {
                snprintf(num, sizeof num, "%llu", v);
                bin_bad(c, what, num, strlen(num), "is out of range for integer");
                return;
        }
        pgcopy_room(c, 8);
        put_be32(c, 4);
        put_be32(c, (uint32_t)v);
}

void
pgcopy_bin_float8(struct pgcopy *c, double v)
{
        uint64_t bits;

        if (!bin_live(c))
                return;
        memcpy(&bits, &v, sizeof bits);
        pgcopy_room(c, 12);
        put_be32(c, 8);
        put_be32(c, (uint32_t)(bits >> 32));
        put_be32(c, (uint32_t)bits);
}

/*
 * numeric's binary form (numeric_send): ndigits, weight, sign, dscale, then
 * ndigits base-10000 digits, the first worth 10000^weight.  Leading and
 * trailing zero digits are allowed (numeric_recv strips them), so every
 * decimal digit goes into the group its power of ten falls in.
 */
#define NUMERIC_POS     0x0000
#define NUMERIC_NEG     0x4000
#define NUMERIC_EXP_MAX 1000
#define NUMERIC_GROUPS  ((PGCOPY_NUMERIC_MAX + 2 * NUMERIC_EXP_MAX) / 4 + 4)

/* floor(e / 4) for any sign of e. */
static long
group_of(long e)
{
        return e >= 0 ? e / 4 : -((-e + 3) / 4);
}

void
pgcopy_bin_numeric(struct pgcopy *c, const char *p, size_t len, const char *what)
{
        static const uint16_t pow10[4] = {1, 10, 100, 1000};
        uint16_t groups[NUMERIC_GROUPS];
        const char *digits = NULL, *end = p + len, *q = p;
        size_t ndig = 0, nfrac = 0, i;
        long exp = 0, point, first, last, dscale;
        int neg = 0, seen_point = 0;

        if (!bin_live(c))
                return;
        if (p == NULL) {
                pgcopy_bin_null(c);
                return;
        }
        if (len > PGCOPY_NUMERIC_MAX)
                goto bad;
        if (q < end && (*q == '-' || *q == '+'))
                neg = *q++ == '-';
        digits = q;
        for (; q < end; q++) {
                if (*q >= '0' && *q <= '9') {
                        ndig++;
                        nfrac += seen_point;
                } else if (*q == '.' && !seen_point) {
                        seen_point = 1;
                } else {
                        break;
                }
        }
        if (ndig == 0)
                goto bad;
        if (q < end && (*q == 'e' || *q == 'E')) {
                int eneg = 0, edig = 0;

                q++;
                if (q < end && (*q == '-' || *q == '+'))
                        eneg = *q++ == '-';
                for (; q < end && *q >= '0' && *q <= '9'; q++, edig++)
                        if ((exp = exp * 10 + (*q - '0')) > NUMERIC_EXP_MAX)
                                goto bad;
                if (edig == 0)
                        goto bad;
                if (eneg)
                        exp = -exp;
        }
        if (q != end)
                goto bad;
        /* Digit k (0-based, points skipped) is worth 10^(point - 1 - k). */
        point = (long)(ndig - nfrac) + exp;
        dscale = (long)nfrac - exp;
        if (dscale < 0)
                dscale = 0;
        first = group_of(point - 1);
        last = group_of(point - (long)ndig);
        assert(first - last + 1 <= NUMERIC_GROUPS);
        memset(groups, 0, sizeof(uint16_t) * (size_t)(first - last + 1));
        for (q = digits, i = 0; i < ndig; q++) {
                long e;

                if (*q == '.')
                        continue;
                e = point - 1 - (long)i++;
                groups[first - group_of(e)] += (uint16_t)((*q - '0') * pow10[e - 4 * group_of(e)]);
        }
        pgcopy_room(c, 12);
        put_be32(c, (uint32_t)(8 + 2 * (first - last + 1)));
        put_be16(c, (uint16_t)(first - last + 1));
        put_be16(c, (uint16_t)(int16_t)first);
        put_be16(c, neg ? NUMERIC_NEG : NUMERIC_POS);
        put_be16(c, (uint16_t)dscale);
        for (i = 0; i < (size_t)(first - last + 1); i++) {
                pgcopy_room(c, 2);
                put_be16(c, groups[i]);
        }
        return;
bad:
        bin_bad(c, what, p, len, "is not a decimal number");
}

void
pgcopy_row_end(struct pgcopy *c)
{
        pgcopy_room(c, 1);
        c->buf[c->len++] = '\n';
        c->first = 1;
        c->rows++;
}

enum db_result
pgcopy_end(struct pgcopy *c, char *err, size_t errlen)
{
        enum db_result r = DB_OK;
        PGresult *res;
        int got = 0;

        if (c->binary && c->bad[0] == '\0') {
                pgcopy_room(c, 2);
                put_be16(c, 0xffff); /* the file trailer: a field count of -1 */
        }
        pgcopy_flush(c);
        /* End the COPY even after a send failure: libpq needs the copy state
         * closed before the connection (if it is still up) can be used.  A
         * field that could not be encoded fails it with its description. */
        if (PQputCopyEnd(c->conn, c->failed   ? "edustat-sink: send failed"
                                  : c->bad[0] ? c->bad
                                              : NULL) != 1) {
                pg_error_format(c->conn, NULL, err, errlen);
                return DB_RETRY;
        }
        while ((res = PQgetResult(c->conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && r == DB_OK) {
                        r = pg_failure_kind(c->conn, res);
                        pg_error_format(c->conn, res, err, errlen);
                }
                got = 1;
                PQclear(res);
        }
        /* A chunk that could not be sent means the socket is gone, whatever
         * the server said about the COPY we then aborted. */
        if (c->failed || (r == DB_OK && !got)) {
                pg_error_format(c->conn, NULL, err, errlen);
                r = DB_RETRY;
        }
        return r;
}
