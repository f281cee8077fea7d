#!/usr/bin/env bash
#
# Fault scenario 2: kill -9 of the sink mid-transaction, then restart.
#
#   sink_kill.sh BUILD_ROOT SOURCE_ROOT
#
# The aggregator gathers large units of work (EDUSTAT_FLUSH_MS=200), so each
# commit takes a while.  Each iteration waits for the sink's PostgreSQL
# session to be inside a transaction (pg_stat_activity: xact_start set),
# waits a random 0-5 ms more, and kills the sink with SIGKILL; the server
# rolls the transaction back.  The sink starts again after a random pause
# and the aggregator resends every unit of work the sink had not
# acknowledged (EDUSTAT_RESEND_MS=2000 keeps the wait short).  The kills
# that landed inside a transaction are counted twice: seen in
# pg_stat_activity just before, and confirmed by the server's log line
# "unexpected EOF on client connection with an open transaction" after.
# See lib.sh for the checks.
export EDUSTAT_FLUSH_MS=200 EDUSTAT_RESEND_MS=2000
PERIODS=${PERIODS:-6}
RUNS_PER_ITER=8
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# open_eofs: how often the server saw a client vanish mid-transaction.
open_eofs() {
        grep -c 'unexpected EOF on client connection with an open transaction' \
                "$PG_DIR/pg.log" 2>/dev/null
}

fault_init sink_kill "$@"
fault_start
INTXN=0
CONFIRMED=0
for it in $(seq 1 "$ITER"); do
        lanes_start
        rand 100 800
        sleep_ms "$R"
        hit=0
        t=$(now_ms)
        while [ $(($(now_ms) - t)) -lt 10000 ]; do
                if sink_in_txn; then
                        hit=1
                        break
                fi
        done
        eofs=$(open_eofs)
        rand 0 5
        sleep_ms "$R"
        stack_kill9 "$SINK_PID"
        FAULTS=$((FAULTS + 1))
        if [ "$hit" = 1 ]; then
                INTXN=$((INTXN + 1))
                what="inside a transaction (+$R ms)"
        else
                what="no transaction seen within 10 s"
        fi
        for _ in $(seq 1 20); do
                [ "$(open_eofs)" -gt "$eofs" ] && break
                sleep 0.05
        done
        if [ "$(open_eofs)" -gt "$eofs" ]; then
                CONFIRMED=$((CONFIRMED + 1))
                what="$what, aborted by the server"
        fi
        rand 200 1500
        note "iteration $it: killed the sink $what; down for $R ms"
        sleep_ms "$R"
        stack_start_sink
        rand 500 1500
        sleep_ms "$R"
        lanes_stop
        iteration_end "$it"
done
note "$INTXN of $FAULTS kills found the sink inside a transaction;" \
        "the server aborted an open transaction of the killed sink $CONFIRMED times"
# One kill in a few lands after the commit it aimed at; none in several is a
# broken test.
if [ "$CONFIRMED" = 0 ] && [ "$ITER" -ge 3 ]; then
        fail "no kill landed inside a transaction"
fi
fault_finish
