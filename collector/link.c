#include "link.h"

#include <signal.h>
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
