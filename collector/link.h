/*
 * link: the collector's socket to the aggregator.
 *
 * CURVE unless EDUSTAT_INSECURE asks for plain text (lib/security.h): the
 * collector proves who it is with its own key pair, and knows the
 * aggregator by its public key, so a machine pretending to be the
 * aggregator cannot read or acknowledge a school's figures.  The keys are
 * read when the link is made and wiped from memory once libzmq has them.
 */
#ifndef EDUSTAT_LINK_H
#define EDUSTAT_LINK_H

#include <stdint.h>

/*
 * A DEALER connected to endpoint, receiving messages of at most maxmsg
 * bytes.  Returns the socket, or NULL after printing why to stderr (a key
 * file that cannot be read names the file and says how to make one).
 */
void *link_connect(void *ctx, const char *endpoint, int64_t maxmsg);

/*
 * Install handler for SIGTERM and SIGINT, without SA_RESTART, so that a
 * signal ends a zmq_poll wait at once (it returns -1 with EINTR).
 */
void link_signals_catch(void (*handler)(int));

/*
 * A new ZeroMQ context, created with SIGTERM and SIGINT blocked: libzmq's
 * threads inherit that mask, so the signals come to the calling thread and
 * interrupt its poll.  Aborts (fatal) when libzmq cannot make one.
 */
void *link_ctx_new(void);

#endif
