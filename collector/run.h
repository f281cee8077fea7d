/*
 * run: `edustat-collector run`, the long-running collector.
 *
 * It watches SPOOL/incoming/ (collector/spool.h) and takes each complete
 * file through:
 *
 *   read -> outbox (one transaction, with the file's identity) ->
 *   move to processing/ -> deliver -> all batches answered ->
 *   receipt written beside the file in done/ or failed/ -> file moved there ->
 *   file forgotten by the outbox
 *
 * A crash at any point is repaired at the next start: a file still in
 * incoming/ whose identity the outbox knows is moved on, not read again; a
 * file in processing/ the outbox does not know is read again; a delivered
 * file whose receipt was not written yet gets it (under the name recorded
 * before the first attempt).  A file goes to done/ when every record was
 * accepted, to failed/ when some were rejected or refused, or when it could
 * not be read (then its receipt says why).  Warnings (warning rules that
 * fail for a unit and period the file touched) are listed in its receipt
 * and counted in the log line; they never send a file to failed/.
 *
 * It delivers every batch in the outbox, the ones earlier `submit` runs
 * left behind included, and resends unanswered ones with capped exponential
 * backoff (1 s doubling to 60 s, with jitter) for as long as it runs.  The
 * receipt of a `submit` file it completes is logged and kept in the outbox
 * for the next `submit` to print.
 *
 * SIGTERM or SIGINT stops it between two steps: every outbox change is a
 * whole transaction, so what is unanswered simply stays for the next start.
 * It logs to stderr (lib/log.h): a line per file taken and finished, and
 * every minute while batches wait, what waits and the last error.
 */
#ifndef EDUSTAT_RUN_H
#define EDUSTAT_RUN_H

#include <stdint.h>

struct run_opts {
        const char *endpoint;  /* the aggregator */
        const char *collector; /* EDUSTAT_COLLECTOR_NAME */
        const char *outbox;    /* outbox path */
        const char *spool;     /* spool directory */
        int64_t quiet_ms;      /* a file written in place is taken after this still time */
};

/*
 * Run until SIGTERM or SIGINT.  Returns the exit status: 0 after a signal,
 * 1 when the outbox, the spool or the endpoint cannot be used (logged).
 */
int run_main(const struct run_opts *o);

#endif
