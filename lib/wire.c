/*
 * wire: ZeroMQ sockets with edustat's options (see wire.h).
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "log.h"

/*
 * Linger while a socket is open: a context torn down without wire_close
 * still ends within a second.  wire_close itself uses 0.
 */
#define WIRE_LINGER_MS 1000
/* ZMTP heartbeats: a silent peer is dropped after 6 s. */
#define WIRE_HEARTBEAT_IVL_MS     2000
#define WIRE_HEARTBEAT_TIMEOUT_MS 6000
#define WIRE_HEARTBEAT_TTL_MS     6000
/* Messages queued per peer each way; batches are large, so few are needed. */
#define WIRE_HWM 1000

static int
set_int(void *sock, int opt, int value, const char *name, const char *endpoint)
{
        if (zmq_setsockopt(sock, opt, &value, sizeof(value)) == -1) {
                log_warnx("%s: setting %s: %s", endpoint, name, zmq_strerror(errno));
                return -1;
        }
        return 0;
}

/* A socket of type with the options every edustat socket shares. */
static void *
sock_new(void *ctx, int type, const char *endpoint, int64_t maxmsg)
{
        void *sock = zmq_socket(ctx, type);

        if (sock == NULL) {
                log_warnx("%s: zmq_socket: %s", endpoint, zmq_strerror(errno));
                return NULL;
        }
        if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1) {
                log_warnx("%s: setting ZMQ_MAXMSGSIZE: %s", endpoint, zmq_strerror(errno));
                goto bad;
        }
        if (set_int(sock, ZMQ_LINGER, WIRE_LINGER_MS, "ZMQ_LINGER", endpoint) == -1 ||
            set_int(sock, ZMQ_HEARTBEAT_IVL, WIRE_HEARTBEAT_IVL_MS, "ZMQ_HEARTBEAT_IVL",
                    endpoint) == -1 ||
            set_int(sock, ZMQ_HEARTBEAT_TIMEOUT, WIRE_HEARTBEAT_TIMEOUT_MS, "ZMQ_HEARTBEAT_TIMEOUT",
                    endpoint) == -1 ||
            set_int(sock, ZMQ_HEARTBEAT_TTL, WIRE_HEARTBEAT_TTL_MS, "ZMQ_HEARTBEAT_TTL",
                    endpoint) == -1 ||
            set_int(sock, ZMQ_RCVHWM, WIRE_HWM, "ZMQ_RCVHWM", endpoint) == -1 ||
            set_int(sock, ZMQ_SNDHWM, WIRE_HWM, "ZMQ_SNDHWM", endpoint) == -1)
                goto bad;
        return sock;
bad:
        wire_close(&sock);
        return NULL;
}

/* Set the CURVE options of sock before it binds or connects. */
static int
set_curve(void *sock, const struct wire_curve *c, int server, const char *endpoint)
{
        int one = 1;

        if (c == NULL)
                return 0;
        if (server) {
                if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) == -1 ||
                    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40) == -1 ||
                    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "edustat", 7) == -1)
                        goto bad;
                return 0;
        }
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server_key, 40) == -1 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->public_key, 40) == -1 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40) == -1)
                goto bad;
        return 0;
bad:
        log_warnx("%s: CURVE options: %s", endpoint, zmq_strerror(errno));
        return -1;
}

void *
wire_router_bind_curve(void *ctx, const char *endpoint, int64_t maxmsg,
                       const struct wire_curve *curve)
{
        return wire_router_bind_hwm(ctx, endpoint, maxmsg, curve, WIRE_HWM);
}

void *
wire_router_bind_hwm(void *ctx, const char *endpoint, int64_t maxmsg,
                     const struct wire_curve *curve, int rcvhwm)
{
        void *sock = sock_new(ctx, ZMQ_ROUTER, endpoint, maxmsg);

        if (sock == NULL)
                return NULL;
        if (rcvhwm != WIRE_HWM && set_int(sock, ZMQ_RCVHWM, rcvhwm, "ZMQ_RCVHWM", endpoint) == -1)
                goto bad;
        /*
         * Replies to a collector that has gone away are dropped rather than
         * failing the send: it resubmits when it comes back.
         */
        if (set_int(sock, ZMQ_ROUTER_MANDATORY, 0, "ZMQ_ROUTER_MANDATORY", endpoint) == -1 ||
            set_curve(sock, curve, 1, endpoint) == -1)
                goto bad;
        if (zmq_bind(sock, endpoint) == -1) {
                log_warnx("bind %s: %s", endpoint, zmq_strerror(errno));
                goto bad;
        }
        return sock;
bad:
        wire_close(&sock);
        return NULL;
}

void *
wire_router_bind(void *ctx, const char *endpoint, int64_t maxmsg)
{
        return wire_router_bind_curve(ctx, endpoint, maxmsg, NULL);
}

void *
wire_dealer_connect_curve(void *ctx, const char *endpoint, int64_t maxmsg,
                          const struct wire_curve *curve)
{
        void *sock = sock_new(ctx, ZMQ_DEALER, endpoint, maxmsg);

        if (sock == NULL)
                return NULL;
        if (set_curve(sock, curve, 0, endpoint) == -1) {
                wire_close(&sock);
                return NULL;
        }
        if (zmq_connect(sock, endpoint) == -1) {
                log_warnx("connect %s: %s", endpoint, zmq_strerror(errno));
                wire_close(&sock);
                return NULL;
        }
        return sock;
}

void *
wire_dealer_connect(void *ctx, const char *endpoint, int64_t maxmsg)
{
        return wire_dealer_connect_curve(ctx, endpoint, maxmsg, NULL);
}

/*
 * Receive the next frame of a message whose first frame has arrived.
 * libzmq delivers multipart messages whole, so this does not block; it
 * only retries an interrupted call.
 */
static int
recv_part(void *sock, zmq_msg_t *msg)
{
        for (;;) {
                if (zmq_msg_recv(msg, sock, 0) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -1;
        }
}

/* Read and drop the remaining frames of the message msg belongs to. */
static void
drain(void *sock, zmq_msg_t *msg)
{
        int more = zmq_msg_more(msg);

        while (more) {
                zmq_msg_t part;

                zmq_msg_init(&part);
                if (recv_part(sock, &part) == -1) {
                        zmq_msg_close(&part);
                        return;
                }
                more = zmq_msg_more(&part);
                zmq_msg_close(&part);
        }
}

int
wire_router_recv(void *sock, struct wire_peer *peer, zmq_msg_t *msg, int flags)
{
        zmq_msg_t id;
        size_t idlen;

        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, sock, flags) == -1) {
                int e = errno;

                zmq_msg_close(&id);
                errno = e;
                return -1;
        }
        idlen = zmq_msg_size(&id);
        if (!zmq_msg_more(&id)) {
                log_warnx("dropped a message of a routing id and no payload");
                zmq_msg_close(&id);
                errno = EPROTO;
                return -1;
        }
        if (idlen > sizeof(peer->id)) {
                log_warnx("dropped a message with a routing id of %zu bytes", idlen);
                drain(sock, &id);
                zmq_msg_close(&id);
                errno = EPROTO;
                return -1;
        }
        memcpy(peer->id, zmq_msg_data(&id), idlen);
        peer->len = idlen;
        zmq_msg_close(&id);
        if (recv_part(sock, msg) == -1) {
                log_warnx("receiving the payload frame: %s", zmq_strerror(errno));
                return -1;
        }
        if (zmq_msg_more(msg)) {
                log_debug("dropped extra frames of a message from a peer");
                drain(sock, msg);
        }
        return 0;
}

int
wire_router_send(void *sock, const struct wire_peer *peer, const void *buf, size_t len)
{
        if (zmq_send(sock, peer->id, peer->len, ZMQ_SNDMORE) == -1)
                return -1;
        /*
         * The routing frame is queued: finish the message even when a
         * signal arrives, or the next send would be glued to this one.
         */
        for (;;) {
                if (zmq_send(sock, buf, len, 0) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -1;
        }
}

int
wire_send(void *sock, const void *buf, size_t len, int flags)
{
        return zmq_send(sock, buf, len, flags) == -1 ? -1 : 0;
}

int
wire_recv(void *sock, zmq_msg_t *msg, int flags)
{
        if (zmq_msg_recv(msg, sock, flags) == -1)
                return -1;
        if (zmq_msg_more(msg)) {
                log_debug("dropped extra frames of a message from a peer");
                drain(sock, msg);
        }
        return 0;
}

void
wire_close(void **sp)
{
        int zero = 0;

        if (sp == NULL || *sp == NULL)
                return;
        zmq_setsockopt(*sp, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(*sp);
        *sp = NULL;
}
