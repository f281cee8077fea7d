#!/bin/bash
#
# edustat-demo-round: the compose collector's entry point.
#
# Submits the sample city's simulated round from $EDUSTAT_DEMO (2023, 2024, then the
# 2024 corrections, then 2025S1, as scripts/demo.sh does), logs a one-line
# summary per step, then becomes `edustat-collector run` over the spool
# $EDUSTAT_SPOOL (the drop folder of `edustat-collector run`): a CSV file dropped into its incoming/ is
# delivered and moved to done/ or failed/ with a receipt beside it.  From
# then on $EDUSTAT_STATE/demo-round/ready exists: the compose healthcheck.
#
# Each finished step leaves a marker in $EDUSTAT_STATE (a volume), so a
# restarted container does not submit the round again: resending is safe,
# but resending the 2024 files after the corrections would bring the old
# values back until the corrections came again, and add history rows.
# A step that was not confirmed (collector exit 3: aggregator unreachable or
# restarting) is resent, up to EDUSTAT_DEMO_TRIES times; its batches wait in
# the outbox meanwhile, and `run` delivers whatever is left there.
#
# Environment: EDUSTAT_DEMO_ROUND (1; 0 skips the round), EDUSTAT_DEMO
# (/usr/share/edustat/demo), EDUSTAT_STATE (/var/lib/edustat),
# EDUSTAT_DEMO_TRIES (5), and the collector's own EDUSTAT_AGGREGATOR,
# EDUSTAT_TIMEOUT, EDUSTAT_COLLECTOR_NAME, EDUSTAT_OUTBOX, EDUSTAT_SPOOL.
set -u -o pipefail

DEMO=${EDUSTAT_DEMO:-/usr/share/edustat/demo}
STATE=${EDUSTAT_STATE:-/var/lib/edustat}/demo-round
TRIES=${EDUSTAT_DEMO_TRIES:-5}

# docker stop sends SIGTERM to PID 1, which has no default action for it
# (until serve execs the collector, which handles it).
trap 'echo "demo-round: stopping"; exit 0' TERM INT

say() {
        echo "demo-round: $*"
}

# The marker $STATE/ready is the compose healthcheck: the round is done (or
# skipped), so a test or an operator can wait for "healthy".  Then the
# spool collector takes over as PID 1 and handles SIGTERM itself.
serve() {
        touch "$STATE/ready" || exit 1
        say "serving the spool ${EDUSTAT_SPOOL:-./spool} (drop CSV files into its incoming/)"
        exec edustat-collector run
}

# step NAME [collector args...] FILE...: submit once, until confirmed.
step() {
        local name=$1 out rc try
        shift
        if [ -e "$STATE/$name.done" ]; then
                say "$name: already submitted (marker $STATE/$name.done)"
                return 0
        fi
        out=$(mktemp) || exit 1
        for ((try = 1; ; try++)); do
                : >"$out"
                # Receipts to a file for the summary; rejections (stderr)
                # straight to the container log.  In the background, so
                # docker stop is not held up until the submission ends.
                edustat-collector submit "$@" >"$out" &
                wait $!
                rc=$?
                if [ "$rc" -le 1 ]; then
                        break
                fi
                if [ "$rc" -ne 3 ] || [ "$try" -ge "$TRIES" ]; then
                        say "$name: edustat-collector failed with exit $rc (try $try of $TRIES)"
                        tail -n 5 "$out"
                        rm -f "$out"
                        exit 1
                fi
                say "$name: delivery not confirmed (try $try of $TRIES); resending"
                sleep 5
        done
        awk -v step="$name" -v rc="$rc" '
        / records, [0-9]+ accepted \([0-9]+ changed\), [0-9]+ rejected(, [0-9]+ warnings?)?$/ {
                # a receipt ends with ", N warnings" when rules.csv warned (审核)
                line = $0
                sub(/, [0-9]+ warnings?$/, "", line)
                n = split(line, w, " ")
                files++; rec += w[n-7]; acc += w[n-5]; chg += substr(w[n-3], 2); rej += w[n-1]
        }
        END {
                printf "demo-round: %s: %d files, %d records, %d accepted (%d changed), %d rejected (exit %d)\n",
                    step, files, rec, acc, chg, rej, rc
        }' "$out"
        rm -f "$out"
        touch "$STATE/$name.done"
}

mkdir -p "$STATE" || exit 1
rm -f "$STATE/ready"
if [ "${EDUSTAT_DEMO_ROUND:-1}" != 1 ]; then
        say "EDUSTAT_DEMO_ROUND=${EDUSTAT_DEMO_ROUND}: no demo round"
        serve
fi
shopt -s nullglob
say "submitting the round in $DEMO to ${EDUSTAT_AGGREGATOR:-tcp://127.0.0.1:5560}"
step 2023 "$DEMO"/2023/*.csv
step 2024 "$DEMO"/2024/*.csv
step corrections "$DEMO"/corrections/*.csv
step 2025S1 "$DEMO"/2025S1/*.csv
# Files without unit/period columns: the flags give them.
for f in "$DEMO"/2025S1/by-flag/*.csv; do
        step "2025S1-$(basename "$f" .csv)" --unit "$(basename "$f" .csv)" --period 2025S1 "$f"
done
say "round done"
serve
