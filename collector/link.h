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

/* What the last CURVE handshake of a link came to (link_watch_read). */
enum link_state {
        LINK_UNKNOWN = 0,       /* no handshake finished yet */
        LINK_UP,                /* the aggregator accepted this key */
        LINK_REFUSED_KEY,       /* the aggregator refused this key: not in its collectors.csv */
        LINK_REFUSED_HANDSHAKE, /* the handshake failed: most often the wrong aggregator key */
};

/*
 * Watch sock's handshakes: a libzmq socket monitor (a PAIR socket in ctx
 * on an inproc endpoint named after sock).  Returns the monitor socket
 * (owned: close it with wire_close before sock), or NULL when libzmq
 * cannot make one (logged; delivery works without it, only its reasons are
 * poorer).
 */
void *link_watch(void *ctx, void *sock);

/*
 * Read every event the monitor has queued, without waiting, and update
 * *state (left as it is when no handshake event came).  Returns 1 when
 * *state changed, else 0.
 */
int link_watch_read(void *mon, enum link_state *state);

/* What a state means for a clerk, naming endpoint; "" for LINK_UNKNOWN and LINK_UP. */
const char *link_state_why(enum link_state state);

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
