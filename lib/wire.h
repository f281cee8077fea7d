/*
 * wire: the few ZeroMQ patterns edustat uses, with their options set in
 * one place.
 *
 * Links are DEALER -> ROUTER: the client (collector, aggregator) sends
 * requests and gets replies matched by id, in any order, on one socket; the
 * server (aggregator, sink) sees each peer's routing id.  Every receiving
 * socket has ZMQ_MAXMSGSIZE set, so a peer that sends more is disconnected
 * by libzmq before a byte of it is decoded.  ZMTP heartbeats find dead
 * peers; linger is bounded so shutdown never hangs.
 *
 * The prefix is wire_ because CZMQ exports wire_*, zmsg_* and zframe_*: a
 * program linked with CZMQ and these names would call the wrong function.
 */
#ifndef EDUSTAT_WIRE_H
#define EDUSTAT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "util.h"

/* Cap of one routing id; libzmq's own is 255. */
#define WIRE_MAX_ROUTING_ID 256

struct wire_peer {
        unsigned char id[WIRE_MAX_ROUTING_ID];
        size_t len;
};

/*
 * CURVE keys of one end of a link, Z85 text.  A server sets its own pair
 * (and must run a ZAP handler, lib/zap.h, or it admits any client); a client
 * sets its own pair and the server's public key.
 */
struct wire_curve {
        char public_key[41];
        char secret_key[41];
        char server_key[41]; /* client only */
};

/*
 * As wire_router_bind / wire_dealer_connect, with CURVE when curve is not
 * NULL (plain text when it is).  The server side also sets ZMQ_ZAP_DOMAIN
 * "edustat".  libzmq 4.3.4 hands every CURVE handshake to the ZAP handler
 * when one is bound in the context (verified: unknown keys are refused with
 * or without a domain); without one it admits any key.
 */
EDUSTAT_MUST_USE void *wire_router_bind_curve(void *ctx, const char *endpoint, int64_t maxmsg,
                                              const struct wire_curve *curve);
EDUSTAT_MUST_USE void *wire_dealer_connect_curve(void *ctx, const char *endpoint, int64_t maxmsg,
                                                 const struct wire_curve *curve);

/*
 * wire_router_bind_curve with at most rcvhwm messages queued per
 * connection on the receiving side (each up to maxmsg bytes), so what one
 * peer can make this process hold is about (rcvhwm + 1) x maxmsg: libzmq
 * stops reading a connection whose queue is full, and TCP holds the rest
 * back at the sender.
 */
void *wire_router_bind_hwm(void *ctx, const char *endpoint, int64_t maxmsg,
                           const struct wire_curve *curve, int rcvhwm);

/*
 * A ROUTER bound to endpoint accepting messages up to maxmsg bytes.
 * Returns the socket, or NULL after logging why (endpoint named).
 */
EDUSTAT_MUST_USE void *wire_router_bind(void *ctx, const char *endpoint, int64_t maxmsg);

/* A DEALER connected to endpoint; replies up to maxmsg bytes. */
EDUSTAT_MUST_USE void *wire_dealer_connect(void *ctx, const char *endpoint, int64_t maxmsg);

/*
 * Receive one request on a ROUTER: the peer's id and one payload frame into
 * msg (initialised by the caller, closed by the caller).  Extra frames are
 * read and dropped.  Returns 0, or -1 (EAGAIN with ZMQ_DONTWAIT, EINTR, or a
 * malformed envelope, which is logged and dropped).
 */
EDUSTAT_MUST_USE int wire_router_recv(void *sock, struct wire_peer *peer, zmq_msg_t *msg,
                                      int flags);

/* Send one payload frame to peer through a ROUTER.  Returns 0 or -1. */
EDUSTAT_MUST_USE int wire_router_send(void *sock, const struct wire_peer *peer, const void *buf,
                                      size_t len);

/* Send one frame (DEALER).  Returns 0 or -1. */
EDUSTAT_MUST_USE int wire_send(void *sock, const void *buf, size_t len, int flags);

/*
 * Receive one message of one frame (DEALER) into msg; extra frames are
 * dropped.  Returns 0 or -1 (errno as zmq_msg_recv).
 */
EDUSTAT_MUST_USE int wire_recv(void *sock, zmq_msg_t *msg, int flags);

/* Close a socket with linger 0 and set *sp to NULL; accepts NULL. */
void wire_close(void **sp);

#endif
