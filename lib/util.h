/*
 * util: the project's out-of-memory policy and a few small helpers.
 *
 * OOM policy (the one place it is stated): edustat never tries to limp on
 * after malloc fails.  Every allocation goes through x*alloc(), which logs
 * "out of memory (N bytes)" and aborts.  Every buffer that grows from input
 * has a cap fixed at creation, so failure here means the machine is truly
 * out of memory, not that a peer sent something huge.  Aborting lets Docker's
 * restart policy and the durable outboxes do their job: nothing
 * acknowledged is lost by a crash.
 */
#ifndef EDUSTAT_UTIL_H
#define EDUSTAT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * EDUSTAT_MUST_USE marks a function whose result says whether it worked
 * (0 or -1, an object or NULL): a caller that ignores it does not build
 * (-Werror).  GCC warns even through a cast to void, so a result ignored on
 * purpose is tested with the reason written beside the test.
 */
#define EDUSTAT_MUST_USE __attribute__((warn_unused_result))

/* Allocate, or abort with a message.  Never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Reallocate to nmemb * size, aborting on overflow of the product. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* Copy len bytes of s and NUL-terminate; s need not be terminated. */
char *xstrndup(const char *s, size_t len);

/* snprintf that always terminates and never fails loudly; returns dst. */
char *strlcpyf(char *dst, size_t dstlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Text appended printf-style into a caller's fixed buffer of cap bytes.
 * While full is 0, buf holds a NUL-terminated text of len bytes.  An
 * append that does not fit whole sets full, and every later append is
 * ignored, so the caller checks full once, after the last.  Nothing is
 * allocated: the buffer is the cap.
 */
struct textbuf {
        char *buf;
        size_t len, cap;
        int full;
};

void textbuf_add(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in milliseconds and microseconds; wall clock in microseconds. */
int64_t now_ms(void);
int64_t now_us(void);
int64_t wallclock_us(void);

/*
 * Environment variable with a default: returns getenv(name) when it is set
 * and non-empty, else def.
 */
const char *env_or(const char *name, const char *def);

/*
 * Parse a whole decimal string as a long within [min, max].  Returns 0 and
 * sets *out, or -1 when s is not exactly such a number.
 */
EDUSTAT_MUST_USE int parse_long(const char *s, long min, long max, long *out);

/* 1 when s[0..len) is valid UTF-8 with no NUL byte, else 0. */
int utf8_valid(const char *s, size_t len);

#endif
