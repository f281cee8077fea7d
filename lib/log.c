/*
 * log: one line per event on stderr, written with a single write(2) so
 * lines from concurrent processes sharing the stream do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Longer messages are cut; a log line is not the place for a whole row. */
#define LOG_LINE_MAX 4096

static const char *log_prog = "edustat";
static int log_debug_on = -1; /* -1: not decided yet, read the environment */

static int
debug_enabled(void)
{
        if (log_debug_on < 0) {
                const char *lvl = getenv("EDUSTAT_LOG_LEVEL");

                log_debug_on = lvl != NULL && strcasecmp(lvl, "debug") == 0;
        }
        return log_debug_on;
}

void
log_init(const char *progname, int debug)
{
        const char *lvl = getenv("EDUSTAT_LOG_LEVEL");

        if (progname != NULL && progname[0] != '\0')
                log_prog = progname;
        log_debug_on = debug || (lvl != NULL && strcasecmp(lvl, "debug") == 0);
}

void
log_set_debug(int debug)
{
        log_debug_on = debug != 0;
}

/* Formats "<prog>[pid]: <level>: msg[: strerror]" and writes it at once. */
static void
log_emit(const char *level, int with_errno, int saved_errno, const char *fmt, va_list ap)
{
        char msg[LOG_LINE_MAX];
        char line[LOG_LINE_MAX + 512];
        size_t len;
        int n;

        if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
                msg[0] = '\0';
        if (with_errno)
                n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s: %s\n", log_prog, (long)getpid(),
                             level, msg, strerror(saved_errno));
        else
                n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s\n", log_prog, (long)getpid(),
                             level, msg);
        if (n < 0)
                return;
        len = (size_t)n;
        if (len >= sizeof(line)) {
                /* Cut, but still one whole line. */
                len = sizeof(line) - 1;
                line[len - 1] = '\n';
        }
        for (size_t off = 0; off < len;) {
                ssize_t w = write(STDERR_FILENO, line + off, len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
}

void
log_warn(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        log_emit("warning", 1, saved, fmt, ap);
        va_end(ap);
        errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        log_emit("warning", 0, 0, fmt, ap);
        va_end(ap);
        errno = saved;
}

void
log_info(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        log_emit("info", 0, 0, fmt, ap);
        va_end(ap);
        errno = saved;
}

void
log_debug(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        if (!debug_enabled())
                return;
        va_start(ap, fmt);
        log_emit("debug", 0, 0, fmt, ap);
        va_end(ap);
        errno = saved;
}

void
fatal(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        log_emit("fatal", 1, saved, fmt, ap);
        va_end(ap);
        exit(1);
}

void
fatalx(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_emit("fatal", 0, 0, fmt, ap);
        va_end(ap);
        exit(1);
}
