/*
 * security: where each daemon finds its CURVE keys, in one place.
 *
 * By default every link is encrypted and authenticated with CURVE.  Plain
 * text is only for a development demo and must be asked for with
 * EDUSTAT_INSECURE=1; the daemons then say so loudly at start and every
 * minute.  Key files (lib/keys.h) are looked up in EDUSTAT_KEYS (default
 * ./keys), each overridable on its own:
 *
 *   role        own key pair (secret file)        peer keys
 *   collector   EDUSTAT_COLLECTOR_SECRET           EDUSTAT_AGGREGATOR_PUBLIC
 *               ($KEYS/collector.key_secret)       ($KEYS/aggregator.key)
 *   aggregator  EDUSTAT_AGGREGATOR_SECRET          EDUSTAT_SINK_PUBLIC ($KEYS/sink.key);
 *               ($KEYS/aggregator.key_secret)      collectors: EDUSTAT_COLLECTORS
 *                                                  ($EDUSTAT_CONFIG/collectors.csv)
 *   sink        EDUSTAT_SINK_SECRET                EDUSTAT_SINK_CLIENTS: a directory of the
 *               ($KEYS/sink.key_secret)            aggregators' public keys, NAME.key each
 *                                                  ($KEYS/aggregators)
 *
 * `edustat-keygen --init DIR` creates the sink's and one aggregator's files
 * in that layout.
 */
#ifndef EDUSTAT_SECURITY_H
#define EDUSTAT_SECURITY_H

#include <stddef.h>

#include "wire.h"
#include "util.h"

enum security_role { SEC_COLLECTOR, SEC_AGGREGATOR, SEC_SINK };

/* 1 when EDUSTAT_INSECURE asks for plain text ("1", "yes" or "true"). */
int security_insecure(void);

/*
 * Fill the CURVE settings of role: own key pair for every role, and for a
 * client link (collector -> aggregator, aggregator -> sink) the server's
 * public key in `client`.  `server` is the role's own server side (NULL for
 * the collector); either may be NULL when not wanted.  Returns 0, or -1 with
 * "FILE: problem" in err.
 */
EDUSTAT_MUST_USE int security_load(enum security_role role, struct wire_curve *server,
                                   struct wire_curve *client, char *err, size_t errlen);

/* The path of an env-overridable key file: getenv(var) or $EDUSTAT_KEYS/file. */
const char *security_path(const char *var, const char *file, char *buf, size_t len);

/* Log the plain-text warning for prog (at start and then once a minute). */
void security_warn_insecure(const char *prog);

#endif
