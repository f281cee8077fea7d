/*
 * log: diagnostics to stderr, where Docker and systemd collect them.
 *
 * One line per event: "<prog>[pid]: <level>: message".  log_warn appends
 * ": strerror(errno)" like OpenBSD's log.c; the x variants do not.  fatal
 * and fatalx are for start-up failures and exit(1) after logging; they
 * must never be used on a path a peer's input can reach.
 *
 * Safe from any thread (the main thread and the ZAP handler's): a line is
 * formatted on the caller's stack and written with one write(2), so lines
 * of two threads never interleave.  log_init and log_set_debug belong to
 * the main thread, before the ZAP handler starts.
 */
#ifndef EDUSTAT_LOG_H
#define EDUSTAT_LOG_H

#include <stdarg.h>

/* Set the program name and whether debug lines are printed. */
void log_init(const char *progname, int debug);
/* Change verbosity at run time (EDUSTAT_LOG_LEVEL=debug sets it at start). */
void log_set_debug(int debug);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
