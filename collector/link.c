#include "link.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "log.h"
#include "security.h"
#include "wire.h"

void *
link_connect(void *ctx, const char *endpoint, int64_t maxmsg)
{
        struct wire_curve curve;
        char err[1024];
        void *sock;

        if (security_insecure()) {
                security_warn_insecure("edustat-collector");
                return wire_dealer_connect_curve(ctx, endpoint, maxmsg, NULL);
        }
        if (security_load(SEC_COLLECTOR, NULL, &curve, err, sizeof(err)) < 0) {
                log_warnx(
                    "%s: the collector needs its key pair (edustat-keygen NAME, then register "
                    "the public key in the aggregator's collectors.csv) and the aggregator's "
                    "public key; see README, Keys",
                    err);
                return NULL;
        }
        sock = wire_dealer_connect_curve(ctx, endpoint, maxmsg, &curve);
        explicit_bzero(&curve, sizeof(curve));
        return sock;
}

void
link_signals_catch(void (*handler)(int))
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
}

void *
link_ctx_new(void)
{
        sigset_t block, old;
        void *ctx;

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &old);
        ctx = zmq_ctx_new();
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (ctx == NULL)
                fatal("zmq_ctx_new");
        return ctx;
}

void *
link_watch(void *ctx, void *sock)
{
        char ep[64];
        void *mon;

        snprintf(ep, sizeof(ep), "inproc://edustat-link-monitor-%p", sock);
        if (zmq_socket_monitor(sock, ep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) < 0) {
                log_warnx("cannot watch the link's handshakes: %s", zmq_strerror(errno));
                return NULL;
        }
        if ((mon = zmq_socket(ctx, ZMQ_PAIR)) == NULL) {
                log_warnx("cannot watch the link's handshakes: %s", zmq_strerror(errno));
                zmq_socket_monitor(sock, NULL, 0);
                return NULL;
        }
        if (zmq_connect(mon, ep) < 0) {
                log_warnx("cannot watch the link's handshakes: %s", zmq_strerror(errno));
                zmq_close(mon);
                zmq_socket_monitor(sock, NULL, 0);
                return NULL;
        }
        return mon;
}

int
link_watch_read(void *mon, enum link_state *state)
{
        enum link_state was = *state;

        for (;;) {
                zmq_msg_t ev;
                uint16_t event;
                int more;

                zmq_msg_init(&ev);
                if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&ev);
                        break;
                }
                /* Frame 1: 16-bit event and 32-bit value; frame 2: the endpoint. */
                if (zmq_msg_size(&ev) >= sizeof(event)) {
                        memcpy(&event, zmq_msg_data(&ev), sizeof(event));
                        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                                *state = LINK_UP;
                        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                                *state = LINK_REFUSED_KEY;
                        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                                 event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
                                *state = LINK_REFUSED_HANDSHAKE;
                }
                more = zmq_msg_more(&ev);
                zmq_msg_close(&ev);
                while (more) {
                        zmq_msg_init(&ev);
                        if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
                                zmq_msg_close(&ev);
                                break;
                        }
                        more = zmq_msg_more(&ev);
                        zmq_msg_close(&ev);
                }
        }
        return *state != was;
}

const char *
link_state_why(enum link_state state)
{
        switch (state) {
        case LINK_REFUSED_KEY:
                return "the aggregator refused this key (not registered in collectors.csv): "
                       "send the public key (collector.key, or what edustat-keygen printed) to "
                       "the aggregator's operator to be registered";
        case LINK_REFUSED_HANDSHAKE:
                return "the secure handshake with the aggregator failed: check that "
                       "EDUSTAT_AGGREGATOR_PUBLIC (aggregator.key) is this aggregator's public "
                       "key and that both sides use CURVE";
        default:
                return "";
        }
}
