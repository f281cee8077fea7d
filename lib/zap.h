/*
 * zap: the ZeroMQ authentication handler (RFC 27) for CURVE servers.
 *
 * A CURVE server in libzmq 4.3.4 admits *any* client key unless a ZAP
 * handler answers on inproc://zeromq.zap.01 of the same context, so this is
 * not optional.  zap_start() runs the handler in its own thread: for each
 * CURVE handshake it asks admit() whether the client's public key is known
 * and, if so, under which name.  The name becomes the connection's User-Id,
 * which the server reads from every message with zmq_msg_gets(msg,
 * "User-Id") and authorizes by.  A refused key gets no connection at all;
 * the refusal is logged with the peer's address (at most ZAP_LOG_PER_SEC
 * lines a second, so a scan cannot flood the log).
 *
 * The handler's thread is the only thread of ours beside a daemon's main
 * thread (docs/ARCHITECTURE.md, Threads).  It reads arg through admit()
 * and logs; arg must not change between zap_start and zap_stop.
 */
#ifndef EDUSTAT_ZAP_H
#define EDUSTAT_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ZAP_LOG_PER_SEC 10
#define ZAP_MAX_USER    64

struct zap;

/*
 * admit: return 1 and write the user id (NUL-terminated, < ZAP_MAX_USER + 1
 * bytes) into user when key may connect, else 0.  Called on the handler's
 * thread; it must only read shared data.
 */
typedef int (*zap_admit_fn)(void *arg, const uint8_t key[32], char *user, size_t userlen);

/*
 * Bind the handler in ctx and start its thread.  what names the server in
 * log lines ("aggregator").  Must be called before the CURVE server socket
 * binds.  Returns the handler, or NULL after logging why.
 */
EDUSTAT_MUST_USE struct zap *zap_start(void *ctx, const char *what, zap_admit_fn admit, void *arg);

/* Number of handshakes refused so far. */
uint64_t zap_refused(const struct zap *z);

/* Stop the thread, close its socket and free; accepts NULL, sets *zp = NULL. */
void zap_stop(struct zap **zp);

#endif
