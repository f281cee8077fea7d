#include "link.h"

#include <string.h>

#include "log.h"
#include "security.h"
#include "zsock.h"

void *
link_connect(void *ctx, const char *endpoint, int64_t maxmsg)
{
        struct zsock_curve curve;
        char err[1024];
        void *sock;

        if (security_insecure()) {
                security_warn_insecure("edustat-collector");
                return zsock_dealer_connect_curve(ctx, endpoint, maxmsg, NULL);
        }
        if (security_load(SEC_COLLECTOR, NULL, &curve, err, sizeof(err)) < 0) {
                log_warnx(
                    "%s: the collector needs its key pair (edustat-keygen NAME, then register "
                    "the public key in the aggregator's collectors.csv) and the aggregator's "
                    "public key; see README, Keys",
                    err);
                return NULL;
        }
        sock = zsock_dealer_connect_curve(ctx, endpoint, maxmsg, &curve);
        explicit_bzero(&curve, sizeof(curve));
        return sock;
}
