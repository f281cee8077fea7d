#include "ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "period.h"
#include "util.h"

/* Quote at most this much of an offending field in a reason. */
#define QUOTE_MAX 64

/* Print field f as a quoted, clipped, printable string into buf. */
static const char *
quote(char *buf, size_t buflen, struct pstr f)
{
        char *t = ingest_printable(f.p ? f.p : "", f.p ? f.len : 0, QUOTE_MAX);

        strlcpyf(buf, buflen, "\"%s\"", t);
        free(t);
        return buf;
}

/*
 * 1 when the NUL-terminated code spells f exactly.  Codes are a few bytes:
 * one loop beats strlen() and memcmp() calls on every record.
 */
static int
code_is(const char *code, struct pstr f)
{
        size_t k = 0;

        while (k < f.len && code[k] != '\0' && code[k] == f.p[k])
                k++;
        return k == f.len && code[k] == '\0';
}

static int refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write the reason and return -1, so a check reads "return refuse(...)". */
static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
        return -1;
}

int
ingest_check(struct state *s, const struct config *cfg, const struct collector *who,
             const struct proto_record *r, struct ingest_key *out, char *why, size_t whylen)
{
        return ingest_check_memo(s, cfg, who, r, NULL, out, why, whylen);
}

int
ingest_check_memo(struct state *s, const struct config *cfg, const struct collector *who,
                  const struct proto_record *r, struct ingest_memo *memo, struct ingest_key *out,
                  char *why, size_t whylen)
{
        char q1[QUOTE_MAX * 3 + 8], q2[QUOTE_MAX * 3 + 8];
        const struct indicator *in;
        int st, allowed, period_known;

        if (r->reason.p != NULL) {
                /*
                 * The collector refused the row itself (it could not split
                 * it, or read its number).  Its claim is kept, printable and
                 * short, and never in the server's own words: a client
                 * cannot plant a "refused by PostgreSQL" row.
                 */
                char *t = ingest_printable(r->reason.p, r->reason.len, INGEST_CLIENT_REASON_MAX);

                const char *lead = t + strspn(t, " ");

                strlcpyf(why, whylen, "%s%s",
                         strncasecmp(lead, "refused by", 10) == 0 ? "the collector says: " : "", t);
                free(t);
                return -1;
        }
        if (memo && memo->unit.p && memo->unit.len == r->unit.len &&
            memcmp(memo->unit.p, r->unit.p, r->unit.len) == 0) {
                out->unit = memo->index;
                allowed = memo->allowed;
        } else {
                out->unit = orgtree_find(cfg->tree, r->unit.p, r->unit.len);
                if (r->unit.len == 0)
                        return refuse(why, whylen, "empty unit");
                if (out->unit < 0)
                        return refuse(why, whylen, "unknown unit %s",
                                      quote(q1, sizeof(q1), r->unit));
                allowed = who == NULL || registry_allows(who, cfg->tree, out->unit);
                if (memo) {
                        memo->unit = r->unit;
                        memo->index = out->unit;
                        memo->allowed = allowed;
                }
        }
        /* The contract's exact wording; the code is a known unit's, so safe to print. */
        if (!allowed)
                return refuse(why, whylen, "not authorized for unit %s",
                              cfg->tree->u[out->unit].code);
        period_known = memo && memo->period.p && memo->period.len == r->period.len &&
                       memcmp(memo->period.p, r->period.p, r->period.len) == 0;
        if (!period_known && !period_valid(r->period.p, r->period.len))
                return refuse(why, whylen,
                              "bad period %s (use YYYY, YYYYS1-S2, YYYYQ1-Q4 or YYYYMM)",
                              quote(q1, sizeof(q1), r->period));
        if (!period_known && cfg->periods != NULL) {
                if (strmap_get(cfg->periods, r->period.p, r->period.len) < 0)
                        return refuse(why, whylen,
                                      "period %s is not open: it is not in periods.csv, the list "
                                      "of periods this server accepts",
                                      quote(q1, sizeof(q1), r->period));
        } else if (!period_known && cfg->period_year_max > 0) {
                /* period_valid() proved four digits of year first. */
                int year = (r->period.p[0] - '0') * 1000 + (r->period.p[1] - '0') * 100 +
                           (r->period.p[2] - '0') * 10 + (r->period.p[3] - '0');

                if (year < cfg->period_year_min || year > cfg->period_year_max)
                        return refuse(why, whylen,
                                      "period %s is outside the years this server accepts "
                                      "(%d to %d)",
                                      quote(q1, sizeof(q1), r->period), cfg->period_year_min,
                                      cfg->period_year_max);
        }
        out->indicator = -1;
        if (memo && cfg->cat->n > 0) {
                /* After the catalogue's last indicator, the next unit's rows start over. */
                int next = (size_t)memo->indicator < cfg->cat->n ? memo->indicator : 0;

                if (code_is(cfg->cat->ind[next].code, r->indicator))
                        out->indicator = next;
                else if (next != 0 && code_is(cfg->cat->ind[0].code, r->indicator))
                        out->indicator = 0;
        }
        if (out->indicator < 0)
                out->indicator = catalog_find(cfg->cat, r->indicator.p, r->indicator.len);
        if (memo && out->indicator >= 0)
                memo->indicator = out->indicator + 1;
        if (out->indicator < 0)
                return refuse(why, whylen, "unknown indicator %s",
                              quote(q1, sizeof(q1), r->indicator));
        in = &cfg->cat->ind[out->indicator];
        if (in->kind == IND_RATIO)
                return refuse(why, whylen,
                              "indicator %s is a ratio and is derived, never submitted; submit "
                              "\"%s\" and \"%s\" instead",
                              quote(q1, sizeof(q1), r->indicator), cfg->cat->ind[in->num].code,
                              cfg->cat->ind[in->den].code);

        st = decimal_parse(r->value.p ? r->value.p : "", r->value.p ? r->value.len : 0, in->scale,
                           &out->mant);
        /* Quoting allocates: only a refusal pays for it. */
        if (st != DECIMAL_OK) {
                decimal_refusal(st, quote(q1, sizeof(q1), r->value),
                                quote(q2, sizeof(q2), r->indicator), in->kind == IND_COUNT,
                                in->scale, why, whylen);
                return -1;
        }
        /*
         * "1.23457E+11" is how Excel shows a long number in a CSV it wrote:
         * the digits it dropped are gone.  A number typed in scientific
         * notation on purpose is as rare as this is common.
         */
        for (uint32_t i = 0; r->value.p != NULL && i < r->value.len; i++)
                if (r->value.p[i] == 'e' || r->value.p[i] == 'E')
                        return refuse(why, whylen,
                                      "value %s is in scientific notation, so Excel has rounded "
                                      "it; format the column as a number and export again",
                                      quote(q1, sizeof(q1), r->value));
        if (period_known) {
                out->period = memo->period_index;
                return 0;
        }
        out->period = state_period_intern(s, r->period.p, r->period.len);
        if (out->period < 0)
                return refuse(why, whylen, "too many distinct periods (limit %d)",
                              STATE_MAX_PERIODS);
        if (memo) {
                memo->period = r->period;
                memo->period_index = out->period;
        }
        return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
        size_t len;
        unsigned cp;

        if (s[0] == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else {
                return 0;
        }
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return len;
}

int
ingest_version_check(uint64_t version, int64_t now_us, long skew_s, char *why, size_t whylen)
{
        static const struct {
                uint64_t below, unit;
                const char *name;
        } spans[] = {
            {120, 1, "seconds"},
            {2 * 3600, 60, "minutes"},
            {2 * 86400, 3600, "hours"},
            {2 * 365 * 86400ull, 86400, "days"},
            {UINT64_MAX, 365 * 86400ull, "years"},
        };
        uint64_t at_us = version / 1024, ahead_s;
        size_t i;

        if (now_us < 0 || at_us <= (uint64_t)now_us + (uint64_t)skew_s * 1000000u)
                return 0;
        ahead_s = (at_us - (uint64_t)now_us + 500000u) / 1000000u;
        for (i = 0; ahead_s >= spans[i].below; i++)
                ;
        /* Rounded: a clock set 3 days ahead reads "3 days", a second or two after. */
        strlcpyf(
            why, whylen, "version is %llu %s ahead of the server clock; fix this machine's clock",
            (unsigned long long)((ahead_s + spans[i].unit / 2) / spans[i].unit), spans[i].name);
        return -1;
}

char *
ingest_printable(const char *src, size_t len, size_t cap)
{
        const unsigned char *s = (const unsigned char *)src;
        char *out = xmalloc(cap * 4 + 8), *o = out;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(s + i, len - i);
                /*
                 * Stop once cap bytes are out: the longest piece (\u00NN, 6
                 * bytes) and "..." then still fit the cap * 4 + 8 allocated.
                 */
                if ((size_t)(o - out) + 4 > cap * 4 || (size_t)(o - out) >= cap) {
                        memcpy(o, "...", 3);
                        o += 3;
                        break;
                }
                if (n == 0) {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                } else if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
                        o += sprintf(o, "\\x%02x", s[i]);
                        i++;
                } else if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
                        /* C1 controls, U+0080..U+009F */
                        o += sprintf(o, "\\u%04x", s[i + 1]);
                        i += 2;
                } else {
                        memcpy(o, s + i, n);
                        o += n;
                        i += n;
                }
        }
        *o = '\0';
        return out;
}

char *
ingest_text(const char *src, size_t len)
{
        const unsigned char *s = (const unsigned char *)src;
        char *out = xmalloc(len * 3 + 1), *o = out;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(s + i, len - i);

                if (n == 0) {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                } else {
                        memcpy(o, s + i, n);
                        o += n;
                        i += n;
                }
        }
        *o = '\0';
        return out;
}
