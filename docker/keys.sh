#!/bin/sh
#
# edustat-compose-keys: the compose stack's one-shot key set-up.
#
# On the first start, makes every CURVE key pair the stack needs in the keys
# volume ($EDUSTAT_KEYS): the sink's and the aggregator's (edustat-keygen
# --init), and one for the bundled collector, registered in
# $EDUSTAT_COLLECTORS for the sample city's root unit so it may submit the
# demo round.  Later starts find the keys and change nothing: keys in use
# stay in use.  Register remote schools by adding lines to that file (their
# public keys from `edustat-keygen NAME` on their machines) and restarting
# the aggregator; hand each school keys/aggregator.key.
set -eu
KEYS=${EDUSTAT_KEYS:-/etc/edustat/keys}
REG=${EDUSTAT_COLLECTORS:-$KEYS/collectors.csv}
ROOT=${EDUSTAT_DEMO_UNITS:-211100}

if [ -e "$KEYS/sink.key_secret" ]; then
        echo "keys: present in $KEYS; nothing to do"
        exit 0
fi
edustat-keygen --init "$KEYS"
pub=$(edustat-keygen collector "$KEYS" | awk '{print $NF}')
if [ ! -e "$REG" ]; then
        printf 'public_key,name,units\n%s,compose-collector,%s\n' "$pub" "$ROOT" >"$REG"
fi
echo "keys: made in $KEYS; collectors registered in $REG"
