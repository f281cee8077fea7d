/*
 * util: allocation with the abort-on-OOM policy stated in util.h, clocks,
 * and small parsers shared by every program.
 */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Logs and aborts: the single exit path of the OOM policy. */
static _Noreturn void
oom(size_t n)
{
        log_warnx("out of memory (%zu bytes)", n);
        abort();
}

void *
xmalloc(size_t n)
{
        /* malloc(0) may return NULL, which would look like failure. */
        void *p = malloc(n ? n : 1);

        if (p == NULL)
                oom(n);
        return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
        void *p;

        if (nmemb == 0 || size == 0)
                nmemb = size = 1;
        if (size > SIZE_MAX / nmemb)
                oom(SIZE_MAX);
        p = calloc(nmemb, size);
        if (p == NULL)
                oom(nmemb * size);
        return p;
}

void *
xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);

        if (q == NULL)
                oom(n);
        return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
        if (size != 0 && nmemb > SIZE_MAX / size)
                oom(SIZE_MAX);
        return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
        return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
        char *p;

        if (len == SIZE_MAX)
                oom(SIZE_MAX);
        p = xmalloc(len + 1);
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

char *
strlcpyf(char *dst, size_t dstlen, const char *fmt, ...)
{
        va_list ap;

        if (dstlen == 0)
                return dst;
        va_start(ap, fmt);
        if (vsnprintf(dst, dstlen, fmt, ap) < 0)
                dst[0] = '\0';
        va_end(ap);
        return dst;
}

void
textbuf_add(struct textbuf *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (t->full)
                return;
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= t->cap - t->len) {
                t->full = 1;
                if (t->cap > t->len)
                        t->buf[t->len] = '\0';
                return;
        }
        t->len += (size_t)n;
}

int64_t
now_ms(void)
{
        return now_us() / 1000;
}

int64_t
now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wallclock_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
env_or(const char *name, const char *def)
{
        const char *v = getenv(name);

        return v != NULL && v[0] != '\0' ? v : def;
}

int
parse_long(const char *s, long min, long max, long *out)
{
        char *end;
        long v;

        /* strtol would skip leading blanks; "exactly a number" does not. */
        if (s == NULL || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

int
utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < len) {
                unsigned c = p[i];
                unsigned need, min;
                uint32_t cp;

                if (c == 0)
                        return 0;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        need = 1, min = 0x80, cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        need = 2, min = 0x800, cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        need = 3, min = 0x10000, cp = c & 0x07;
                } else {
                        /* Continuation bytes, C0/C1 overlong leads, F5..FF. */
                        return 0;
                }
                if (len - i - 1 < need)
                        return 0;
                for (unsigned k = 1; k <= need; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (p[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += need + 1;
        }
        return 1;
}
