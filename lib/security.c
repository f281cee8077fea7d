#include "security.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys.h"
#include "log.h"
#include "util.h"

int
security_insecure(void)
{
        const char *v = getenv("EDUSTAT_INSECURE");

        return v &&
               (strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0);
}

const char *
security_path(const char *var, const char *file, char *buf, size_t len)
{
        const char *v = getenv(var);

        if (v && *v)
                return strlcpyf(buf, len, "%s", v);
        return strlcpyf(buf, len, "%s/%s", env_or("EDUSTAT_KEYS", "./keys"), file);
}

int
security_load(enum security_role role, struct wire_curve *server, struct wire_curve *client,
              char *err, size_t errlen)
{
        static const struct {
                const char *own_var, *own_file, *peer_var, *peer_file;
        } t[] = {
            [SEC_COLLECTOR] = {"EDUSTAT_COLLECTOR_SECRET", "collector.key_secret",
                               "EDUSTAT_AGGREGATOR_PUBLIC", "aggregator.key"},
            [SEC_AGGREGATOR] = {"EDUSTAT_AGGREGATOR_SECRET", "aggregator.key_secret",
                                "EDUSTAT_SINK_PUBLIC", "sink.key"},
            [SEC_SINK] = {"EDUSTAT_SINK_SECRET", "sink.key_secret", NULL, NULL},
        };
        struct keypair own, peer;
        char path[4096];

        if (keys_read(security_path(t[role].own_var, t[role].own_file, path, sizeof(path)), 1, &own,
                      err, errlen) < 0)
                return -1;
        if (server) {
                memset(server, 0, sizeof(*server));
                memcpy(server->public_key, own.public_z85, sizeof(server->public_key));
                memcpy(server->secret_key, own.secret_z85, sizeof(server->secret_key));
        }
        if (client && t[role].peer_var) {
                if (keys_read(
                        security_path(t[role].peer_var, t[role].peer_file, path, sizeof(path)), 0,
                        &peer, err, errlen) < 0)
                        return -1;
                memset(client, 0, sizeof(*client));
                memcpy(client->public_key, own.public_z85, sizeof(client->public_key));
                memcpy(client->secret_key, own.secret_z85, sizeof(client->secret_key));
                memcpy(client->server_key, peer.public_z85, sizeof(client->server_key));
        }
        explicit_bzero(&own, sizeof(own));
        return 0;
}

void
security_warn_insecure(const char *prog)
{
        log_warnx("*** %s: EDUSTAT_INSECURE is set: ZeroMQ links are PLAIN TEXT, unauthenticated "
                  "and anyone who can reach the port can submit figures for any unit. Use this "
                  "only for a development demo on a trusted machine. ***",
                  prog);
}
